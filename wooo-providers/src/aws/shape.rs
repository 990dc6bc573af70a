//! The EKS provisioner's decisions, pure: what a spec means on EKS (validation, node group names, the network
//! layout, the AMI type), what the live account means as a spec (reconstruction, status), and what to send to
//! change one into the other. Unit-tested without any AWS call.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use jiff::Timestamp;
use wooo_core::model::{
    CloudKind, Cluster, ClusterSpec, ClusterStatus, ConditionType, DiskSpec, EndpointAccess, MANAGED_BY_VALUE,
    NetworkSpec, NodePoolSpec, NodePoolStatus, OWNER_TAG,
};
use wooo_core::validate::KubernetesVersion;
use wooo_core::{Error, FieldViolation, Result};

use super::api::{
    ClusterInfo, ClusterState, EndpointConfig, InstanceTypeInfo, NodeGroupConfigUpdate, NodeGroupInfo, NodeGroupState,
    Tags,
};
use super::{CLUSTER_TAG, NODE_POOL_TAG};

/// The cluster tag saying wooo created the cluster's network (value `managed`) or was given subnets (`given`).
pub(crate) const NETWORK_TAG: &str = "wooo.dev/network";
/// The cluster tag holding the CIDR of a network wooo created.
pub(crate) const VPC_CIDR_TAG: &str = "wooo.dev/vpc-cidr";
/// The node group tag holding the pool's zones (space-separated: AWS tags allow no comma).
pub(crate) const ZONES_TAG: &str = "wooo.dev/zones";
/// The VPC CIDR wooo uses when the spec gives none (eksctl's default).
pub(crate) const DEFAULT_VPC_CIDR: &str = "192.168.0.0/16";
/// Most managed node groups per cluster (the EKS quota).
pub(crate) const MAX_NODE_GROUPS: u32 = 30;
/// Most instance types per managed node group.
const MAX_INSTANCE_TYPES: usize = 20;
/// Most taints per managed node group.
const MAX_TAINTS: usize = 50;
/// Zones wooo spreads a network it creates over, at most.
const MAX_ZONES: usize = 3;

/// The IAM role names wooo gives a cluster.
pub(crate) fn cluster_role_name(cluster: &str) -> String {
    format!("wooo-{cluster}-cluster")
}

/// The IAM role names wooo gives a cluster's nodes.
pub(crate) fn node_role_name(cluster: &str) -> String {
    format!("wooo-{cluster}-node")
}

/// The AWS-managed policies of the cluster role.
pub(crate) const CLUSTER_POLICIES: &[&str] = &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"];
/// The AWS-managed policies of the node role.
pub(crate) const NODE_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];

/// Validates what EKS adds to wooo's own validation, collecting every violation: the provider and region of
/// this provisioner, a minor version (EKS picks patches), no pod CIDR (the VPC CNI gives pods VPC addresses),
/// subnets in at least two zones or none, no disk type (managed node groups without a launch template have
/// none), EKS' limits on instance types and taints, pool names that leave room for the generation suffix, and
/// pool zones within the region.
pub(crate) fn validate(spec: &ClusterSpec, region: &str) -> Result<()> {
    wooo_core::validate::cluster_spec(spec)?;
    let mut v: Vec<FieldViolation> = Vec::new();
    let mut bad = |field: String, reason: String| v.push(FieldViolation { field, reason });
    if spec.provider != CloudKind::Aws {
        bad("provider".into(), format!("this provisioner creates EKS clusters (`aws`), not `{}`", spec.provider));
    }
    if spec.region != region {
        bad("region".into(), format!("this provisioner works in {region}, the spec asks for {}", spec.region));
    }
    if KubernetesVersion::parse(&spec.kubernetes_version).is_ok_and(|k| k.patch.is_some()) {
        bad("kubernetes_version".into(), "EKS takes a minor version (`1.33`) and picks the patch itself".into());
    }
    let n = &spec.network;
    if n.pod_cidr.is_some() {
        bad("network.pod_cidr".into(), "EKS pods get VPC addresses (the VPC CNI): there is no pod CIDR to set".into());
    }
    if !n.subnet_ids.is_empty() && n.subnet_ids.len() < 2 {
        bad("network.subnet_ids".into(), "EKS needs subnets in at least two availability zones".into());
    }
    if !n.subnet_ids.is_empty() && n.vpc_cidr.is_some() {
        bad(
            "network.vpc_cidr".into(),
            "a CIDR is for a network wooo creates; with subnet_ids wooo creates none".into(),
        );
    }
    if n.subnet_ids.is_empty() && n.network_id.is_some() {
        bad("network.network_id".into(), "an existing VPC needs its subnet_ids too".into());
    }
    if let Some(cidr) = &n.vpc_cidr
        && let Err(reason) = parse_cidr(cidr).and_then(|(_, prefix)| check_prefix(prefix))
    {
        bad("network.vpc_cidr".into(), reason);
    }
    if spec.node_pools.len() > MAX_NODE_GROUPS as usize {
        bad("node_pools".into(), format!("EKS allows at most {MAX_NODE_GROUPS} managed node groups per cluster"));
    }
    for (i, p) in spec.node_pools.iter().enumerate() {
        let f = |name: &str| format!("node_pools[{i}].{name}");
        if p.name.len() > 54 {
            bad(f("name"), "at most 54 characters: the node group name adds a 9-character generation".into());
        }
        if p.instance_types.len() > MAX_INSTANCE_TYPES {
            bad(f("instance_types"), format!("EKS allows at most {MAX_INSTANCE_TYPES} instance types per group"));
        }
        if p.taints.len() > MAX_TAINTS {
            bad(f("taints"), format!("EKS allows at most {MAX_TAINTS} taints per group"));
        }
        if p.disk.kind.is_some() {
            bad(f("disk.kind"), "EKS managed node groups take a disk size only (the AMI's volume type is used)".into());
        }
        for (j, z) in p.zones.iter().enumerate() {
            if !z.starts_with(region) {
                bad(format!("node_pools[{i}].zones[{j}]"), format!("`{z}` is not a zone of {region}"));
            }
        }
    }
    Error::from_violations(v).map_or(Ok(()), Err)
}

/// Checks the pools' instance types against what EC2 reports for the region: every type offered, one CPU
/// architecture per pool. Returns each pool's AMI type, in pool order.
pub(crate) fn ami_types(spec: &ClusterSpec, offered: &[String], facts: &[InstanceTypeInfo]) -> Result<Vec<String>> {
    let mut v: Vec<FieldViolation> = Vec::new();
    let mut out = Vec::new();
    for (i, p) in spec.node_pools.iter().enumerate() {
        let mut arches: Vec<(String, &str)> = Vec::new();
        let mut gpus = false;
        for (j, t) in p.instance_types.iter().enumerate() {
            let field = format!("node_pools[{i}].instance_types[{j}]");
            let Some(info) = facts.iter().find(|f| &f.name == t) else {
                v.push(FieldViolation { field, reason: format!("`{t}` is not an EC2 instance type") });
                continue;
            };
            if !offered.contains(t) {
                v.push(FieldViolation { field, reason: format!("`{t}` is not offered in {}", spec.region) });
                continue;
            }
            let arch = if info.architectures.iter().any(|a| a == "arm64") { "arm64" } else { "x86_64" };
            arches.push((arch.to_string(), t));
            gpus |= info.gpus;
        }
        let kinds: BTreeSet<&str> = arches.iter().map(|(a, _)| a.as_str()).collect();
        if kinds.len() > 1 {
            let list: Vec<String> = arches.iter().map(|(a, t)| format!("{t} ({a})")).collect();
            v.push(FieldViolation {
                field: format!("node_pools[{i}].instance_types"),
                reason: format!("one pool runs one CPU architecture; these mix: {}", list.join(", ")),
            });
        }
        out.push(match (kinds.first().copied(), gpus) {
            (Some("arm64"), _) => "AL2023_ARM_64_STANDARD".to_string(),
            (_, true) => "AL2023_x86_64_NVIDIA".to_string(),
            _ => "AL2023_x86_64_STANDARD".to_string(),
        });
    }
    Error::from_violations(v).map_or(Ok(out), Err)
}

/// The node group implementing a pool: `<pool>-<generation>`, the generation a digest of everything that
/// cannot change in place (instance types, capacity, disk, zones, AMI type). A change to any of them is a new
/// generation: the new group is created and ready before the old one is deleted.
pub(crate) fn node_group_name(pool: &NodePoolSpec, ami_type: &str) -> String {
    let mut zones = pool.zones.clone();
    zones.sort();
    let key = format!(
        "{}|{}|{}|{}|{}",
        pool.instance_types.join(","),
        pool.capacity,
        pool.disk.size_gib,
        zones.join(","),
        ami_type
    );
    format!("{}-{}", pool.name, digest_hex(&key, 4))
}

/// The first `bytes` bytes of the SHA-256 of `text`, in hex.
pub(crate) fn digest_hex(text: &str, bytes: usize) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..bytes].iter().map(|b| format!("{b:02x}")).collect()
}

/// Health issues in words, or that there are none.
pub(crate) fn issues(list: &[String]) -> String {
    if list.is_empty() { "no health issues reported".to_string() } else { list.join("; ") }
}

/// A cluster's, node group's or update's state in words (`creating`, `active`, …).
pub(crate) fn state_word<S: std::fmt::Debug>(state: &Option<S>) -> String {
    state.as_ref().map_or("unknown".to_string(), |s| format!("{s:?}").to_lowercase())
}

/// One subnet of a network wooo creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubnetPlan {
    /// `public-<zone>` or `private-<zone>`.
    pub role: String,
    pub cidr: String,
    pub zone: String,
    pub public: bool,
}

/// The subnets of a network wooo creates in `cidr` (a /16 to /24) over the first two or three `zones`: a
/// public and a private subnet per zone, each an eighth of the VPC (eksctl's layout), publics first.
pub(crate) fn network_layout(cidr: &str, zones: &[String]) -> Result<Vec<SubnetPlan>> {
    let (base, prefix) = parse_cidr(cidr).map_err(|r| Error::invalid_spec("network.vpc_cidr", r))?;
    check_prefix(prefix).map_err(|r| Error::invalid_spec("network.vpc_cidr", r))?;
    if zones.len() < 2 {
        return Err(Error::invalid_spec(
            "region",
            format!("EKS needs two availability zones; the region has {}", zones.len()),
        ));
    }
    let zones = &zones[..zones.len().min(MAX_ZONES)];
    let size = 1u32 << (32 - (prefix + 3));
    let mut out = Vec::new();
    for (public, offset) in [(true, 0), (false, zones.len())] {
        for (k, zone) in zones.iter().enumerate() {
            let start = Ipv4Addr::from(u32::from(base) + size * (offset + k) as u32);
            let kind = if public { "public" } else { "private" };
            out.push(SubnetPlan {
                role: format!("{kind}-{zone}"),
                cidr: format!("{start}/{}", prefix + 3),
                zone: zone.clone(),
                public,
            });
        }
    }
    Ok(out)
}

fn parse_cidr(cidr: &str) -> std::result::Result<(Ipv4Addr, u32), String> {
    let (addr, prefix) = cidr.split_once('/').ok_or_else(|| format!("`{cidr}` is not an IPv4 CIDR"))?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| format!("`{cidr}` is not an IPv4 CIDR"))?;
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(|| format!("`{cidr}` has a bad prefix"))?;
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    if u32::from(addr) & !mask != 0 {
        return Err(format!("`{cidr}` has host bits set"));
    }
    Ok((addr, prefix))
}

fn check_prefix(prefix: u32) -> std::result::Result<(), String> {
    if (16..=24).contains(&prefix) {
        Ok(())
    } else {
        Err(format!("a VPC wooo creates is a /16 to a /24 (EKS allows /16 to /28, nodes need room), not /{prefix}"))
    }
}

/// The tags wooo puts on everything it creates for `cluster`, plus the spec's own tags.
pub(crate) fn owned_tags(spec: &ClusterSpec) -> Tags {
    let mut tags = spec.tags.clone();
    tags.insert(OWNER_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    tags.insert(CLUSTER_TAG.to_string(), spec.name.clone());
    tags
}

/// Whether a cluster or node group carries wooo's ownership tag.
pub(crate) fn owned(tags: &Tags) -> bool {
    tags.get(OWNER_TAG).is_some_and(|v| v == MANAGED_BY_VALUE)
}

/// The endpoint exposure a spec asks for.
pub(crate) fn endpoint_config(network: &NetworkSpec) -> EndpointConfig {
    let (public, private) = match network.endpoint_access {
        EndpointAccess::Public => (true, false),
        EndpointAccess::Private => (false, true),
        EndpointAccess::PublicAndPrivate => (true, true),
    };
    let mut cidrs = if public { network.public_access_cidrs.clone() } else { Vec::new() };
    cidrs.sort();
    EndpointConfig { public, private, public_access_cidrs: cidrs }
}

/// The spec the live cluster and its node groups amount to, as far as EKS can tell.
pub(crate) fn observed_spec(region: &str, info: &ClusterInfo, groups: &[NodeGroupInfo]) -> ClusterSpec {
    let managed = info.tags.get(NETWORK_TAG).is_some_and(|v| v == "managed");
    let mut cidrs: Vec<String> =
        info.public_access_cidrs.iter().filter(|c| c.as_str() != "0.0.0.0/0").cloned().collect();
    cidrs.sort();
    let endpoint_access = match (info.endpoint_public, info.endpoint_private) {
        (true, false) => EndpointAccess::Public,
        (false, true) => EndpointAccess::Private,
        _ => EndpointAccess::PublicAndPrivate,
    };
    let network = NetworkSpec {
        network_id: if managed { None } else { info.vpc_id.clone() },
        subnet_ids: if managed { Vec::new() } else { info.subnet_ids.clone() },
        vpc_cidr: if managed { info.tags.get(VPC_CIDR_TAG).cloned() } else { None },
        pod_cidr: None,
        service_cidr: info.service_cidr.clone(),
        endpoint_access,
        public_access_cidrs: if info.endpoint_public { cidrs } else { Vec::new() },
    };
    let tags = info.tags.iter().filter(|(k, _)| !internal_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut pools: Vec<NodePoolSpec> = Vec::new();
    for g in groups {
        let pool = observed_pool(g);
        if !pools.iter().any(|p| p.name == pool.name) {
            pools.push(pool);
        }
    }
    pools.sort_by(|a, b| a.name.cmp(&b.name));
    ClusterSpec {
        name: info.name.clone(),
        provider: CloudKind::Aws,
        region: region.to_string(),
        kubernetes_version: info.version.clone().unwrap_or_default(),
        node_pools: pools,
        network,
        tags,
    }
}

/// wooo's bookkeeping tags, not the user's (the ownership tag stays: plans ignore it, readers want it).
fn internal_tag(key: &str) -> bool {
    key != OWNER_TAG && key.starts_with("wooo.dev/")
}

/// The wooo pool a node group implements: its pool tag, else (a group wooo did not create) its own name.
pub(crate) fn pool_name(g: &NodeGroupInfo) -> String {
    g.tags.get(NODE_POOL_TAG).cloned().unwrap_or_else(|| g.name.clone())
}

/// The pool a node group amounts to.
pub(crate) fn observed_pool(g: &NodeGroupInfo) -> NodePoolSpec {
    let zones = g.tags.get(ZONES_TAG).map(|z| z.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    NodePoolSpec {
        name: pool_name(g),
        instance_types: g.instance_types.clone(),
        min: g.scaling.min,
        max: g.scaling.max,
        desired: Some(g.scaling.desired),
        capacity: g.capacity,
        labels: g.labels.clone(),
        taints: g.taints.clone(),
        disk: DiskSpec { size_gib: g.disk_size_gib.unwrap_or(20), kind: None },
        zones,
    }
}

/// Makes the observed spec comparable with the desired one where "absent" means "the provider's default":
/// a network id, a service CIDR or a VPC CIDR the desired spec leaves out is whatever EKS or wooo chose.
pub(crate) fn normalize(observed: &mut ClusterSpec, desired: &ClusterSpec) {
    let (o, d) = (&mut observed.network, &desired.network);
    if d.network_id.is_none() {
        o.network_id = None;
    }
    if d.service_cidr.is_none() {
        o.service_cidr = None;
    }
    if d.vpc_cidr.is_none() && o.vpc_cidr.as_deref() == Some(DEFAULT_VPC_CIDR) {
        o.vpc_cidr = None;
    }
    // Spec CIDRs are a set; the observed list is sorted.
    let mut cidrs = d.public_access_cidrs.clone();
    cidrs.sort();
    if cidrs.iter().any(|c| c == "0.0.0.0/0") && o.public_access_cidrs.is_empty() {
        o.public_access_cidrs = d.public_access_cidrs.clone();
    }
}

/// The cluster as wooo reports it: the observed spec and a status from EKS' states.
pub(crate) fn cluster(region: &str, info: &ClusterInfo, groups: &[NodeGroupInfo], now: Timestamp) -> Cluster {
    let spec = observed_spec(region, info, groups);
    let mut status = ClusterStatus {
        endpoint: info.endpoint.clone(),
        ca_data: info.ca_data.clone(),
        kubernetes_version: info.version.clone(),
        platform_version: info.platform_version.clone(),
        created_at: info.created_at,
        owned: owned(&info.tags),
        ..ClusterStatus::default()
    };
    for g in groups {
        let active = g.status == Some(NodeGroupState::Active);
        status.node_pools.push(NodePoolStatus {
            name: pool_name(g),
            // EKS reports no node readiness: an ACTIVE group has its desired nodes (ask Kubernetes for more).
            ready_nodes: if active { g.scaling.desired } else { 0 },
            desired_nodes: g.scaling.desired,
            updating: !active,
        });
    }
    let failed_group = groups.iter().find(|g| {
        matches!(g.status, Some(NodeGroupState::CreateFailed | NodeGroupState::DeleteFailed | NodeGroupState::Degraded))
    });
    let busy_group = groups.iter().find(|g| g.status != Some(NodeGroupState::Active));
    let set = |s: &mut ClusterStatus, kind, on: bool, reason: &str, message: String| {
        s.set_condition(kind, on, reason, message, now);
    };
    match &info.status {
        Some(ClusterState::Failed) => {
            set(&mut status, ConditionType::Failed, true, "CreateFailed", issues(&info.health_issues));
            set(&mut status, ConditionType::Available, false, "Failed", "the cluster failed".into());
        }
        Some(ClusterState::Deleting) => {
            set(&mut status, ConditionType::Deleting, true, "Deleting", "EKS is deleting the cluster".into());
            set(&mut status, ConditionType::Available, false, "Deleting", "the cluster is being deleted".into());
        }
        Some(ClusterState::Active) => {
            if let Some(g) = failed_group {
                let reason = match g.status {
                    Some(NodeGroupState::Degraded) => "NodeGroupDegraded",
                    Some(NodeGroupState::DeleteFailed) => "NodeGroupDeleteFailed",
                    _ => "NodeGroupCreateFailed",
                };
                let message = format!("node group {}: {}", g.name, issues(&g.health_issues));
                set(&mut status, ConditionType::Failed, true, reason, message);
                set(&mut status, ConditionType::Available, false, reason, format!("node group {} failed", g.name));
            } else if let Some(g) = busy_group {
                let state = state_word(&g.status);
                let message = format!("node group {} is {state}", g.name);
                set(&mut status, ConditionType::Provisioning, true, "NodeGroupUpdating", message.clone());
                set(&mut status, ConditionType::Available, false, "NodeGroupUpdating", message);
            } else {
                set(&mut status, ConditionType::Available, true, "Active", "the cluster is active".into());
                set(&mut status, ConditionType::Provisioning, false, "Active", "nothing in progress".into());
            }
        }
        other => {
            let state = state_word(other);
            let message = format!("the cluster is {state}");
            set(&mut status, ConditionType::Provisioning, true, "ClusterProvisioning", message.clone());
            set(&mut status, ConditionType::Available, false, "ClusterProvisioning", message);
        }
    }
    Cluster { id: spec.id(), spec, status }
}

/// What UpdateNodegroupConfig must send to turn the live group into the pool, or `None` when nothing differs.
/// `desired` is sent only when the new bounds exclude the live size (EKS would refuse the bounds otherwise);
/// it is then clamped into them. The cluster autoscaler owns it the rest of the time.
pub(crate) fn node_group_update(live: &NodeGroupInfo, pool: &NodePoolSpec) -> Option<NodeGroupConfigUpdate> {
    let mut u = NodeGroupConfigUpdate::default();
    for (k, v) in &pool.labels {
        if live.labels.get(k) != Some(v) {
            u.add_labels.insert(k.clone(), v.clone());
        }
    }
    u.remove_labels = live.labels.keys().filter(|k| !pool.labels.contains_key(*k)).cloned().collect();
    u.add_taints = pool.taints.iter().filter(|t| !live.taints.contains(t)).cloned().collect();
    // EKS keys taints by key and effect: a changed value is an add, not a remove.
    u.remove_taints = live
        .taints
        .iter()
        .filter(|t| !pool.taints.iter().any(|p| p.key == t.key && p.effect == t.effect))
        .cloned()
        .collect();
    let s = live.scaling;
    if s.min != pool.min || s.max != pool.max {
        u.min = Some(pool.min);
        u.max = Some(pool.max);
        if s.desired < pool.min || s.desired > pool.max {
            u.desired = Some(s.desired.clamp(pool.min, pool.max));
        }
    }
    let empty = u.add_labels.is_empty()
        && u.remove_labels.is_empty()
        && u.add_taints.is_empty()
        && u.remove_taints.is_empty()
        && u.min.is_none();
    (!empty).then_some(u)
}

/// The minor versions a control plane passes through from `running` to `desired` (one minor at a time).
pub(crate) fn upgrade_steps(running: &str, desired: &str) -> Vec<String> {
    let (Ok(from), Ok(to)) = (KubernetesVersion::parse(running), KubernetesVersion::parse(desired)) else {
        return Vec::new();
    };
    (from.minor + 1..=to.minor).map(|m| format!("1.{m}")).collect()
}

#[cfg(test)]
#[path = "shape_tests.rs"]
pub(crate) mod tests;
