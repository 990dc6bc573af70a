//! The AKS provisioner's pure decisions: what a spec may ask of AKS, the ARM bodies a spec becomes, the spec a
//! live cluster amounts to, what differs, the upgrade steps. No I/O here; every function is unit-tested.

use jiff::Timestamp;
use wooo_core::model::{
    Capacity, CloudKind, Cluster, ClusterAccess, ClusterAuth, ClusterId, ClusterSpec, ClusterStatus, ConditionType,
    DiskSpec, EndpointAccess, MANAGED_BY_VALUE, NetworkSpec, NodePoolSpec, NodePoolStatus, OWNER_TAG, SecretString,
    Taint, TaintEffect,
};
use wooo_core::validate::KubernetesVersion;
use wooo_core::{Error, FieldViolation, Result};

use super::CLUSTER_TAG;
use super::api::{ApiAccess, ClusterInfo, ClusterPut, PoolInfo, PoolMode, PoolPut, ProvisioningState, Tags};
use super::error::PROVIDER;

/// The taint AKS puts on every spot pool's nodes. It is reported in the observed spec and never removed.
pub(crate) const SPOT_TAINT_KEY: &str = "kubernetes.azure.com/scalesetpriority";
/// AKS' limit of agent pools per cluster.
pub(crate) const MAX_POOLS: u32 = 100;
/// The default OS disk of an agent pool when the spec leaves the size at wooo's default.
const OS_DISK_TYPES: &[&str] = &["Managed", "Ephemeral"];

/// The taint AKS adds to spot pools.
pub(crate) fn spot_taint() -> Taint {
    Taint { key: SPOT_TAINT_KEY.into(), value: Some("spot".into()), effect: TaintEffect::NoSchedule }
}

/// Validates what AKS adds to wooo's own validation, collecting every violation: provider and location, pool
/// names AKS accepts (lowercase letters and digits, a letter first, at most 12), a first pool that can be the
/// system pool (on-demand, at least one node), disk types AKS knows, zones `1`–`3`, and the network inputs AKS
/// takes (no VPC of wooo's making: AKS creates its own VNet).
pub(crate) fn validate(spec: &ClusterSpec, location: &str) -> Result<()> {
    wooo_core::validate::cluster_spec(spec)?;
    let mut v: Vec<FieldViolation> = Vec::new();
    let mut bad = |field: String, reason: String| v.push(FieldViolation { field, reason });
    if spec.provider != CloudKind::Azure {
        bad("provider".into(), format!("this provisioner creates AKS clusters (`azure`), not `{}`", spec.provider));
    }
    if spec.region != location {
        bad("region".into(), format!("this provisioner works in {location}, the spec asks for {}", spec.region));
    }
    let n = &spec.network;
    if n.network_id.is_some() || !n.subnet_ids.is_empty() || n.vpc_cidr.is_some() {
        let field = if n.network_id.is_some() {
            "network.network_id"
        } else if !n.subnet_ids.is_empty() {
            "network.subnet_ids"
        } else {
            "network.vpc_cidr"
        };
        bad(field.into(), "AKS creates the cluster's virtual network itself; bringing one is not supported yet".into());
    }
    if spec.node_pools.len() > MAX_POOLS as usize {
        bad("node_pools".into(), format!("AKS allows at most {MAX_POOLS} agent pools per cluster"));
    }
    for (i, p) in spec.node_pools.iter().enumerate() {
        let f = |name: &str| format!("node_pools[{i}].{name}");
        let name_ok = p.name.len() <= 12
            && p.name.starts_with(|c: char| c.is_ascii_lowercase())
            && p.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !name_ok {
            bad(f("name"), "AKS agent pool names are 1 to 12 lowercase letters and digits, a letter first".into());
        }
        if p.instance_types.len() > 1 {
            bad(f("instance_types"), "an AKS agent pool has one VM size".into());
        }
        if let Some(kind) = &p.disk.kind
            && !OS_DISK_TYPES.contains(&kind.as_str())
        {
            bad(f("disk.kind"), format!("AKS OS disk types are {OS_DISK_TYPES:?}, not `{kind}`"));
        }
        for (j, z) in p.zones.iter().enumerate() {
            if !["1", "2", "3"].contains(&z.as_str()) {
                bad(format!("node_pools[{i}].zones[{j}]"), format!("Azure zones are `1`, `2` or `3`, not `{z}`"));
            }
        }
        if i == 0 && p.capacity == Capacity::Spot {
            bad(f("capacity"), "the first pool is the AKS system pool, which cannot be spot".into());
        }
        if i == 0 && p.min == 0 {
            bad(f("min"), "the first pool is the AKS system pool, which needs at least one node".into());
        }
    }
    Error::from_violations(v).map_or(Ok(()), Err)
}

/// The tags wooo puts on what it creates for `cluster`, plus the spec's own tags.
pub(crate) fn owned_tags(spec: &ClusterSpec) -> Tags {
    let mut tags = spec.tags.clone();
    tags.insert(OWNER_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    tags.insert(CLUSTER_TAG.to_string(), spec.name.clone());
    tags
}

/// Whether a resource carries wooo's ownership tag.
pub(crate) fn owned(tags: &Tags) -> bool {
    tags.get(OWNER_TAG).is_some_and(|v| v == MANAGED_BY_VALUE)
}

/// Whether wooo created resource group `tags` for `cluster` (and so deletes it with the cluster).
pub(crate) fn group_made_for(tags: &Tags, cluster: &str) -> bool {
    owned(tags) && tags.get(CLUSTER_TAG).is_some_and(|c| c == cluster)
}

/// `key=value:Effect`, as AKS writes `nodeTaints`.
pub(crate) fn format_taint(t: &Taint) -> String {
    let effect = match t.effect {
        TaintEffect::NoSchedule => "NoSchedule",
        TaintEffect::PreferNoSchedule => "PreferNoSchedule",
        TaintEffect::NoExecute => "NoExecute",
    };
    match &t.value {
        Some(v) => format!("{}={v}:{effect}", t.key),
        None => format!("{}:{effect}", t.key),
    }
}

/// Parses a `nodeTaints` entry; `None` for one that is not `key[=value]:Effect`.
pub(crate) fn parse_taint(s: &str) -> Option<Taint> {
    let (kv, effect) = s.rsplit_once(':')?;
    let effect = match effect {
        "NoSchedule" => TaintEffect::NoSchedule,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        _ => return None,
    };
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (kv.to_string(), None),
    };
    Some(Taint { key, value, effect })
}

/// The agent pool a spec pool becomes. The first pool of a spec is the system pool; a spot pool carries the
/// taint AKS adds anyway, so a re-apply never asks AKS to drop it. `with_count`: send the node count (at
/// creation, or when the autoscaler is off); otherwise the autoscaler owns it.
pub(crate) fn pool_put(spec: &ClusterSpec, index: usize, version: &str, with_count: bool) -> PoolPut {
    let p = &spec.node_pools[index];
    let autoscale = (p.min < p.max).then_some((p.min, p.max));
    let mut taints = p.taints.clone();
    if p.capacity == Capacity::Spot && !taints.iter().any(|t| t.key == SPOT_TAINT_KEY) {
        taints.push(spot_taint());
    }
    let mut zones = p.zones.clone();
    zones.sort();
    PoolPut {
        name: p.name.clone(),
        mode: if index == 0 { PoolMode::System } else { PoolMode::User },
        vm_size: p.instance_types[0].clone(),
        count: (with_count || autoscale.is_none()).then(|| p.desired_count()),
        autoscale,
        labels: p.labels.clone(),
        taints,
        os_disk_gib: p.disk.size_gib,
        os_disk_type: p.disk.kind.clone(),
        version: Some(version.to_string()),
        spot_max_price: (p.capacity == Capacity::Spot).then_some(-1.0),
        zones,
        tags: owned_tags(spec),
    }
}

/// The API server exposure a spec asks for.
pub(crate) fn api_access(network: &NetworkSpec) -> ApiAccess {
    let private = network.endpoint_access == EndpointAccess::Private;
    let mut ranges = if private { Vec::new() } else { network.public_access_cidrs.clone() };
    ranges.retain(|c| c != "0.0.0.0/0");
    ranges.sort();
    ApiAccess { private, authorized_ranges: ranges }
}

/// The managed cluster a new spec becomes (every pool in it, the system pool first).
pub(crate) fn cluster_put(spec: &ClusterSpec) -> ClusterPut {
    ClusterPut {
        name: spec.name.clone(),
        location: spec.region.clone(),
        version: spec.kubernetes_version.clone(),
        dns_prefix: spec.name.clone(),
        access: api_access(&spec.network),
        pod_cidr: spec.network.pod_cidr.clone(),
        service_cidr: spec.network.service_cidr.clone(),
        tags: owned_tags(spec),
        pools: (0..spec.node_pools.len()).map(|i| pool_put(spec, i, &spec.kubernetes_version, true)).collect(),
    }
}

/// The agent pool a live pool amounts to as a PUT body: what a re-PUT would send to leave it as it is.
pub(crate) fn live_put(p: &PoolInfo) -> PoolPut {
    let autoscale = match (p.autoscaling, p.min, p.max) {
        (true, Some(min), Some(max)) => Some((min, max)),
        _ => None,
    };
    let mut zones = p.zones.clone();
    zones.sort();
    PoolPut {
        name: p.name.clone(),
        mode: p.mode,
        vm_size: p.vm_size.clone(),
        count: Some(p.count),
        autoscale,
        labels: p.labels.clone(),
        taints: p.taints.clone(),
        os_disk_gib: p.os_disk_gib.unwrap_or(128),
        os_disk_type: p.os_disk_type.clone(),
        version: p.version.clone(),
        spot_max_price: p.spot.then(|| p.spot_max_price.unwrap_or(-1.0)),
        zones,
        tags: p.tags.clone(),
    }
}

/// Whether the live pool differs from the desired PUT in what can change in place (count when sent, autoscaler
/// bounds, labels, taints as sets, tags).
pub(crate) fn pool_differs(live: &PoolInfo, want: &PoolPut) -> bool {
    let have = live_put(live);
    let same_taints = have.taints.len() == want.taints.len() && want.taints.iter().all(|t| have.taints.contains(t));
    let count_differs = want.count.is_some_and(|c| c != have.count.unwrap_or(0));
    have.autoscale != want.autoscale
        || count_differs
        || have.labels != want.labels
        || !same_taints
        || want.tags.iter().any(|(k, v)| have.tags.get(k) != Some(v))
}

/// The pool a live agent pool amounts to. The spot taint AKS adds is part of it.
pub(crate) fn observed_pool(p: &PoolInfo) -> NodePoolSpec {
    let (min, max) = match (p.autoscaling, p.min, p.max) {
        (true, Some(min), Some(max)) => (min, max),
        _ => (p.count, p.count),
    };
    let mut zones = p.zones.clone();
    zones.sort();
    NodePoolSpec {
        name: p.name.clone(),
        instance_types: vec![p.vm_size.clone()],
        min,
        max,
        desired: Some(p.count),
        capacity: if p.spot { Capacity::Spot } else { Capacity::OnDemand },
        labels: p.labels.clone(),
        taints: p.taints.clone(),
        disk: DiskSpec { size_gib: p.os_disk_gib.unwrap_or(128), kind: p.os_disk_type.clone() },
        zones,
    }
}

/// The spec the live cluster amounts to: the system pools first, then the others by name.
pub(crate) fn observed_spec(info: &ClusterInfo, pools: &[PoolInfo]) -> ClusterSpec {
    let endpoint_access = if info.access.private { EndpointAccess::Private } else { EndpointAccess::Public };
    let network = NetworkSpec {
        pod_cidr: info.pod_cidr.clone(),
        service_cidr: info.service_cidr.clone(),
        endpoint_access,
        public_access_cidrs: info.access.authorized_ranges.clone(),
        ..NetworkSpec::default()
    };
    let mut sorted: Vec<&PoolInfo> = pools.iter().collect();
    sorted.sort_by_key(|p| (p.mode != PoolMode::System, p.name.clone()));
    let tags =
        info.tags.iter().filter(|(k, _)| k.as_str() != CLUSTER_TAG).map(|(k, v)| (k.clone(), v.clone())).collect();
    ClusterSpec {
        name: info.name.clone(),
        provider: CloudKind::Azure,
        region: info.location.clone(),
        kubernetes_version: info.current_version.clone().or_else(|| info.version.clone()).unwrap_or_default(),
        node_pools: sorted.into_iter().map(observed_pool).collect(),
        network,
        tags,
    }
}

/// Makes the observed spec comparable with the desired one where "absent" means "AKS' default" (CIDRs the spec
/// leaves out, an OS disk type, public-and-private access AKS spells public), and where AKS adds what it owns
/// (the spot taint on a spot pool the spec does not list).
pub(crate) fn normalize(observed: &mut ClusterSpec, desired: &ClusterSpec) {
    let (o, d) = (&mut observed.network, &desired.network);
    if d.pod_cidr.is_none() {
        o.pod_cidr = None;
    }
    if d.service_cidr.is_none() {
        o.service_cidr = None;
    }
    if d.endpoint_access == EndpointAccess::PublicAndPrivate && o.endpoint_access == EndpointAccess::Public {
        o.endpoint_access = EndpointAccess::PublicAndPrivate;
    }
    let mut cidrs = d.public_access_cidrs.clone();
    cidrs.retain(|c| c != "0.0.0.0/0");
    if cidrs.is_empty() && o.public_access_cidrs.is_empty() {
        o.public_access_cidrs = d.public_access_cidrs.clone();
    }
    for pool in &mut observed.node_pools {
        let Some(want) = desired.node_pool(&pool.name) else { continue };
        if want.disk.kind.is_none() {
            pool.disk.kind = None;
        }
        if want.capacity == Capacity::Spot && !want.taints.iter().any(|t| t.key == SPOT_TAINT_KEY) {
            pool.taints.retain(|t| t.key != SPOT_TAINT_KEY);
        }
    }
}

/// Whether a pool's (or cluster's) state means AKS is working on it.
fn busy(state: &Option<ProvisioningState>) -> bool {
    !matches!(state, Some(ProvisioningState::Succeeded))
}

/// The state word for messages.
pub(crate) fn state_word(state: &Option<ProvisioningState>) -> String {
    match state {
        None => "unknown".into(),
        Some(ProvisioningState::Other(s)) => s.clone(),
        Some(s) => format!("{s:?}"),
    }
}

/// The API server URL of a cluster (its public FQDN, else the private one).
pub(crate) fn endpoint(info: &ClusterInfo) -> Option<String> {
    info.fqdn.as_ref().or(info.private_fqdn.as_ref()).map(|f| format!("https://{f}:443"))
}

/// The cluster as wooo reports it: the observed spec and a status from ARM's provisioning states.
pub(crate) fn cluster(info: &ClusterInfo, pools: &[PoolInfo], now: Timestamp) -> Cluster {
    let spec = observed_spec(info, pools);
    let mut status = ClusterStatus {
        endpoint: endpoint(info),
        kubernetes_version: info.current_version.clone().or_else(|| info.version.clone()),
        platform_version: pools.iter().find_map(|p| p.node_image_version.clone()),
        owned: owned(&info.tags),
        ..ClusterStatus::default()
    };
    for p in pools {
        let ready = !busy(&p.provisioning_state);
        status.node_pools.push(NodePoolStatus {
            name: p.name.clone(),
            // ARM reports no node readiness: a Succeeded pool has its count (ask Kubernetes for more).
            ready_nodes: if ready { p.count } else { 0 },
            desired_nodes: p.count,
            updating: !ready,
        });
    }
    let mut set = |kind, on: bool, reason: &str, message: String| status.set_condition(kind, on, reason, message, now);
    let failed_pool = pools.iter().find(|p| p.provisioning_state == Some(ProvisioningState::Failed));
    let busy_pool = pools.iter().find(|p| busy(&p.provisioning_state));
    match &info.provisioning_state {
        Some(ProvisioningState::Failed) => {
            set(ConditionType::Failed, true, "ProvisioningFailed", "the last operation on the cluster failed".into());
            set(ConditionType::Available, false, "Failed", "the cluster failed".into());
        }
        Some(ProvisioningState::Deleting) => {
            set(ConditionType::Deleting, true, "Deleting", "AKS is deleting the cluster".into());
            set(ConditionType::Available, false, "Deleting", "the cluster is being deleted".into());
        }
        Some(ProvisioningState::Succeeded) => {
            if let Some(p) = failed_pool {
                set(ConditionType::Failed, true, "AgentPoolFailed", format!("agent pool {} failed", p.name));
                set(ConditionType::Available, false, "AgentPoolFailed", format!("agent pool {} failed", p.name));
            } else if let Some(p) = busy_pool {
                let message = format!("agent pool {} is {}", p.name, state_word(&p.provisioning_state));
                set(ConditionType::Provisioning, true, "AgentPoolUpdating", message.clone());
                set(ConditionType::Available, false, "AgentPoolUpdating", message);
            } else {
                set(ConditionType::Available, true, "Succeeded", "the cluster is running".into());
                set(ConditionType::Provisioning, false, "Succeeded", "nothing in progress".into());
            }
        }
        other => {
            let message = format!("the cluster is {}", state_word(other));
            set(ConditionType::Provisioning, true, "ClusterProvisioning", message.clone());
            set(ConditionType::Available, false, "ClusterProvisioning", message);
        }
    }
    Cluster { id: spec.id(), spec, status }
}

/// The minor versions a control plane passes through from `running` to `desired`, one minor at a time; the
/// last step is `desired` as written (a patch version when the spec names one).
pub(crate) fn upgrade_steps(running: &str, desired: &str) -> Vec<String> {
    let running = running.trim_start_matches('v');
    let (Ok(from), Ok(to)) = (KubernetesVersion::parse(running), KubernetesVersion::parse(desired)) else {
        return Vec::new();
    };
    let mut steps: Vec<String> = (from.minor + 1..to.minor).map(|m| format!("1.{m}")).collect();
    if to.minor > from.minor || (to.minor == from.minor && to.patch.is_some() && to.patch != from.patch) {
        steps.push(desired.to_string());
    }
    steps
}

/// Whether a pool's Kubernetes version lags `version` (compared by minor, and by patch when both have one).
pub(crate) fn lags(pool_version: Option<&str>, version: &str) -> bool {
    let Some(have) = pool_version else { return true };
    match (KubernetesVersion::parse(have), KubernetesVersion::parse(version)) {
        (Ok(h), Ok(w)) => h.minor < w.minor || (h.minor == w.minor && w.patch.is_some() && h.patch != w.patch),
        _ => have != version,
    }
}

/// The cluster's access from the kubeconfig ARM returned: its current context's server, CA and credentials
/// (a token, or a client certificate and key), parsed with kube-rs' kubeconfig type.
///
/// # Errors
/// [`Error::Provider`] when the kubeconfig cannot be read or has no usable context (the message never contains
/// the kubeconfig's secrets).
pub(crate) fn access_from_kubeconfig(id: &ClusterId, yaml: &SecretString) -> Result<ClusterAccess> {
    let fail = |why: &str| Error::Provider {
        provider: PROVIDER,
        message: format!("the kubeconfig AKS returned for {id}: {why}"),
        source: None,
    };
    let config = ::kube::config::Kubeconfig::from_yaml(yaml.expose()).map_err(|_| fail("not a kubeconfig"))?;
    let context_name = config
        .current_context
        .clone()
        .or_else(|| config.contexts.first().map(|c| c.name.clone()))
        .ok_or_else(|| fail("no context"))?;
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
        .ok_or_else(|| fail("its current context is missing"))?;
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.clone())
        .ok_or_else(|| fail("the context's cluster is missing"))?;
    let user = context
        .user
        .as_ref()
        .and_then(|u| config.auth_infos.iter().find(|a| &a.name == u))
        .and_then(|a| a.auth_info.clone())
        .ok_or_else(|| fail("the context's user is missing"))?;
    let server = cluster.server.clone().ok_or_else(|| fail("the cluster has no server"))?;
    // kube-rs keeps secrets in its own secret type and writes them out when serialized: read them from there.
    let secrets = serde_json::to_value(&user).map_err(|_| fail("its user cannot be read"))?;
    let secret = |key: &str| secrets.get(key).and_then(|v| v.as_str()).map(SecretString::new);
    let auth = if let Some(token) = secret("token") {
        ClusterAuth::Token(token)
    } else if let (Some(cert), Some(key)) = (&user.client_certificate_data, secret("client-key-data")) {
        ClusterAuth::ClientCertificate { cert_data: cert.clone(), key_data: key }
    } else if let Some(exec) = &user.exec {
        ClusterAuth::Exec {
            command: exec.command.clone().unwrap_or_default(),
            args: exec.args.clone().unwrap_or_default(),
            env: exec
                .env
                .iter()
                .flatten()
                .filter_map(|e| Some((e.get("name")?.clone(), e.get("value")?.clone())))
                .collect(),
        }
    } else {
        return Err(fail("its user has no token, client certificate or exec plugin"));
    };
    Ok(ClusterAccess { cluster: id.clone(), endpoint: server, ca_data: cluster.certificate_authority_data, auth })
}

#[cfg(test)]
#[path = "shape_tests.rs"]
pub(crate) mod tests;
