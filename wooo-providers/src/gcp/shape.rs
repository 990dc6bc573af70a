//! The GKE provisioner's decisions, pure: what a spec means on GKE (validation, label encoding, node pool names
//! and sizes), what the live project means as a spec (reconstruction, status), and what to send to change one
//! into the other. Unit-tested without any Google call.

use jiff::Timestamp;
use wooo_core::model::{
    Capacity, CloudKind, Cluster, ClusterSpec, ClusterStatus, ConditionType, DiskSpec, EndpointAccess,
    MANAGED_BY_VALUE, NetworkSpec, NodePoolSpec, NodePoolStatus, OWNER_TAG,
};
use wooo_core::validate::KubernetesVersion;
use wooo_core::{Error, FieldViolation, Result};

use super::CLUSTER_LABEL;
use super::api::{ClusterInfo, Labels, NewCluster, NewNodePool, NodePoolInfo, NodePoolUpdate, State};

/// The node pool resource label naming the wooo pool it implements (decoded: `wooo.dev/node-pool`).
pub(crate) const NODE_POOL_LABEL: &str = "wooo.dev/node-pool";
/// The node pool resource label holding the zones the spec asked for (`_`-separated), when it asked.
pub(crate) const ZONES_LABEL: &str = "wooo.dev/zones";
/// Node labels GKE sets itself (`cloud.google.com/gke-spot`, `cloud.google.com/gke-nodepool`, …): reported,
/// never removed by a re-apply.
pub(crate) const GKE_LABEL_PREFIX: &str = "cloud.google.com/";
/// The disk types GKE node pools take.
pub(crate) const DISK_TYPES: &[&str] = &["pd-standard", "pd-balanced", "pd-ssd", "pd-extreme", "hyperdisk-balanced"];
/// Zones of a regional cluster whose pools name none: GKE's default, three zones of the region.
pub(crate) const REGIONAL_DEFAULT_ZONES: u32 = 3;
/// Longest cluster name GKE takes.
const MAX_CLUSTER_NAME: usize = 40;
/// Longest node pool name GKE takes; wooo's pool names leave room for `-<generation>` (9 characters).
const MAX_POOL_NAME: usize = 40 - 9;

/// Where a GKE cluster lives: a region (a regional cluster, control plane in three zones) or a zone (zonal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// `europe-west1` or `europe-west1-b`, as the API paths take it.
    pub name: String,
    /// The region: `europe-west1` either way.
    pub region: String,
    /// Whether `name` is a zone.
    pub zonal: bool,
}

/// Parses a GKE location: `<area>-<direction><n>` (a region) or that plus `-<letter>` (a zone).
pub(crate) fn location(name: &str) -> Result<Location> {
    let bad = || Error::invalid_spec("location", format!("`{name}` is not a Google Cloud region or zone"));
    let parts: Vec<&str> = name.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let region_tail = |p: &str| {
        p.len() >= 2
            && p.bytes().last().is_some_and(|b| b.is_ascii_digit())
            && p.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
    };
    match parts.as_slice() {
        [area, tail] if lower(area) && region_tail(tail) => {
            Ok(Location { name: name.to_string(), region: name.to_string(), zonal: false })
        }
        [area, tail, zone] if lower(area) && region_tail(tail) && zone.len() == 1 && lower(zone) => {
            Ok(Location { name: name.to_string(), region: format!("{area}-{tail}"), zonal: true })
        }
        _ => Err(bad()),
    }
}

// --- labels ----------------------------------------------------------------------------------------------

/// Whether `c` may appear in a GKE label (lower-case letters, including international ones, digits, `_`, `-`).
fn label_char(c: char) -> bool {
    c.is_lowercase()
        || c.is_ascii_digit()
        || c == '_'
        || c == '-'
        || (!c.is_ascii() && c.is_alphanumeric() && !c.is_uppercase())
}

/// Checks a GKE resource label key (1 to 63 characters, a lower-case letter first, then label characters).
pub(crate) fn check_label_key(k: &str) -> std::result::Result<(), String> {
    let n = k.chars().count();
    if n == 0 || n > 63 {
        return Err(format!("GKE label keys have 1 to 63 characters, `{k}` has {n}"));
    }
    if !k.chars().next().is_some_and(|c| c.is_lowercase()) {
        return Err(format!("GKE label keys start with a lower-case letter: `{k}`"));
    }
    if let Some(c) = k.chars().find(|c| !label_char(*c)) {
        return Err(format!(
            "GKE label keys take lower-case letters, digits, `_` and `-` only (no `.`, `/` or capitals): `{k}` has `{c}`"
        ));
    }
    Ok(())
}

/// Checks a GKE resource label value (0 to 63 label characters).
pub(crate) fn check_label_value(v: &str) -> std::result::Result<(), String> {
    let n = v.chars().count();
    if n > 63 {
        return Err(format!("GKE label values have at most 63 characters, this one has {n}"));
    }
    if let Some(c) = v.chars().find(|c| !label_char(*c)) {
        return Err(format!("GKE label values take lower-case letters, digits, `_` and `-` only: `{v}` has `{c}`"));
    }
    Ok(())
}

/// wooo's own label keys (`wooo.dev/managed-by`) in GKE's charset: `wooo.dev/` becomes `wooo-dev_`, and any
/// other `.` a `-`, `/` a `_`. [`decode_key`] reverses it for wooo's keys; user keys are validated, not encoded.
pub(crate) fn encode_key(k: &str) -> String {
    match k.strip_prefix("wooo.dev/") {
        Some(rest) => format!("wooo-dev_{rest}"),
        None => k.replace('.', "-").replace('/', "_"),
    }
}

/// The wooo key an encoded GKE label key stands for (other keys unchanged).
pub(crate) fn decode_key(k: &str) -> String {
    match k.strip_prefix("wooo-dev_") {
        Some(rest) => format!("wooo.dev/{rest}"),
        None => k.to_string(),
    }
}

/// Labels as GKE gets them: wooo's keys encoded.
pub(crate) fn encode_labels(labels: &Labels) -> Labels {
    labels.iter().map(|(k, v)| (encode_key(k), v.clone())).collect()
}

/// Labels as wooo reads them: wooo's keys decoded.
pub(crate) fn decode_labels(labels: &Labels) -> Labels {
    labels.iter().map(|(k, v)| (decode_key(k), v.clone())).collect()
}

/// The resource labels wooo puts on a cluster, decoded: the spec's tags, the ownership label and the cluster.
pub(crate) fn owned_labels(spec: &ClusterSpec) -> Labels {
    let mut labels = spec.tags.clone();
    labels.insert(OWNER_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    labels.insert(CLUSTER_LABEL.to_string(), spec.name.clone());
    labels
}

/// Whether decoded labels carry wooo's ownership label.
pub(crate) fn owned(labels: &Labels) -> bool {
    labels.get(OWNER_TAG).is_some_and(|v| v == MANAGED_BY_VALUE)
}

// --- validation ------------------------------------------------------------------------------------------

/// Validates what GKE adds to wooo's own validation, collecting every violation: provider and region of this
/// provisioner, GKE's cluster and pool names, a minor version, one machine type per pool, disk types and
/// sizes, zones of the region, at most one subnetwork, no VPC CIDR (GKE runs in an existing VPC network), and
/// tags GKE accepts as labels.
pub(crate) fn validate(spec: &ClusterSpec, loc: &Location) -> Result<()> {
    wooo_core::validate::cluster_spec(spec)?;
    let mut v: Vec<FieldViolation> = Vec::new();
    let mut bad = |field: String, reason: String| v.push(FieldViolation { field, reason });
    if spec.provider != CloudKind::Gcp {
        bad("provider".into(), format!("this provisioner creates GKE clusters (`gcp`), not `{}`", spec.provider));
    }
    if spec.region != loc.region {
        bad("region".into(), format!("this provisioner works in {}, the spec asks for {}", loc.region, spec.region));
    }
    if spec.name.len() > MAX_CLUSTER_NAME || !spec.name.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) {
        bad(
            "name".into(),
            format!("GKE cluster names have at most {MAX_CLUSTER_NAME} characters and start with a letter"),
        );
    }
    if KubernetesVersion::parse(&spec.kubernetes_version).is_ok_and(|k| k.patch.is_some()) {
        bad("kubernetes_version".into(), "GKE takes a minor version (`1.33`) and picks the patch itself".into());
    }
    let n = &spec.network;
    if n.vpc_cidr.is_some() {
        bad(
            "network.vpc_cidr".into(),
            "GKE clusters run in an existing VPC network (`network_id`), wooo creates none".into(),
        );
    }
    if n.subnet_ids.len() > 1 {
        bad("network.subnet_ids".into(), "a GKE cluster takes one subnetwork".into());
    }
    for (k, value) in &spec.tags {
        if let Err(reason) = check_label_key(k) {
            bad(format!("tags[\"{k}\"]"), reason);
        } else if let Err(reason) = check_label_value(value) {
            bad(format!("tags[\"{k}\"]"), reason);
        }
        if k.starts_with("wooo-dev_") {
            bad(format!("tags[\"{k}\"]"), "the `wooo-dev_` prefix is wooo's own".into());
        }
    }
    if spec.node_pools.is_empty() {
        bad("node_pools".into(), "a GKE cluster is created with at least one node pool".into());
    }
    for (i, p) in spec.node_pools.iter().enumerate() {
        let f = |name: &str| format!("node_pools[{i}].{name}");
        if p.name.len() > MAX_POOL_NAME {
            bad(
                f("name"),
                format!("at most {MAX_POOL_NAME} characters: the GKE pool name adds a 9-character generation"),
            );
        }
        if p.instance_types.len() != 1 {
            bad(f("instance_types"), "a GKE node pool runs one machine type".into());
        }
        if p.disk.size_gib < 10 {
            bad(f("disk.size_gib"), "GKE node disks are at least 10 GiB".into());
        }
        if let Some(kind) = &p.disk.kind
            && !DISK_TYPES.contains(&kind.as_str())
        {
            bad(f("disk.kind"), format!("`{kind}` is not a GKE node disk type ({})", DISK_TYPES.join(", ")));
        }
        for (j, z) in p.zones.iter().enumerate() {
            let ok = location(z).is_ok_and(|l| l.zonal && l.region == loc.region);
            if !ok {
                bad(format!("node_pools[{i}].zones[{j}]"), format!("`{z}` is not a zone of {}", loc.region));
            } else if loc.zonal && z != &loc.name {
                bad(format!("node_pools[{i}].zones[{j}]"), format!("a zonal cluster's pools run in {} only", loc.name));
            }
        }
    }
    Error::from_violations(v).map_or(Ok(()), Err)
}

// --- node pools ------------------------------------------------------------------------------------------

/// The first `bytes` bytes of the SHA-256 of `text`, in hex.
pub(crate) fn digest_hex(text: &str, bytes: usize) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..bytes].iter().map(|b| format!("{b:02x}")).collect()
}

/// The GKE node pool implementing a pool: `<pool>-<generation>`, the generation a digest of what wooo does not
/// change in place (machine type, capacity, disk, zones). A change to any of them is a new generation: the new
/// pool is created before the old one is deleted.
pub(crate) fn gke_pool_name(pool: &NodePoolSpec) -> String {
    let mut zones = pool.zones.clone();
    zones.sort();
    let key = format!(
        "{}|{}|{}|{}|{}",
        pool.instance_types.join(","),
        pool.capacity,
        pool.disk.size_gib,
        pool.disk.kind.as_deref().unwrap_or(""),
        zones.join(",")
    );
    format!("{}-{}", pool.name, digest_hex(&key, 4))
}

/// The zones a pool's nodes spread over: its own, else the cluster's (a zonal cluster: one; a regional one:
/// GKE's default three).
pub(crate) fn zone_count(pool: &NodePoolSpec, loc: &Location) -> u32 {
    if !pool.zones.is_empty() {
        pool.zones.len() as u32
    } else if loc.zonal {
        1
    } else {
        REGIONAL_DEFAULT_ZONES
    }
}

/// What GKE is sent to create a pool. GKE sizes pools per zone at creation: the desired total is divided over
/// the zones, rounded up. Autoscaling bounds are sent as totals (`totalMinNodeCount`, `totalMaxNodeCount`).
pub(crate) fn new_node_pool(pool: &NodePoolSpec, loc: &Location, version: &str) -> NewNodePool {
    let zones = zone_count(pool, loc);
    let mut resource_labels = Labels::new();
    resource_labels.insert(NODE_POOL_LABEL.to_string(), pool.name.clone());
    if !pool.zones.is_empty() {
        let mut z = pool.zones.clone();
        z.sort();
        resource_labels.insert(ZONES_LABEL.to_string(), z.join("_"));
    }
    NewNodePool {
        name: gke_pool_name(pool),
        machine_type: pool.instance_types.first().cloned().unwrap_or_default(),
        disk_size_gb: pool.disk.size_gib,
        disk_type: pool.disk.kind.clone().unwrap_or_default(),
        spot: pool.capacity == Capacity::Spot,
        labels: pool.labels.clone(),
        taints: pool.taints.clone(),
        resource_labels: encode_labels(&resource_labels),
        total_min: pool.min,
        total_max: pool.max,
        initial_node_count: pool.desired_count().div_ceil(zones).max(u32::from(pool.min > 0)),
        locations: pool.zones.clone(),
        version: version.to_string(),
    }
}

/// The wooo pool a GKE node pool implements: its pool label, else (a pool wooo did not create) its own name.
pub(crate) fn pool_name(p: &NodePoolInfo) -> String {
    decode_labels(&p.resource_labels).get(NODE_POOL_LABEL).cloned().unwrap_or_else(|| p.name.clone())
}

/// Total autoscaling bounds of a pool: the totals when set, else the per-zone bounds times its zones.
pub(crate) fn total_bounds(p: &NodePoolInfo) -> (u32, u32) {
    let a = p.autoscaling;
    if a.total_max > 0 {
        (a.total_min, a.total_max)
    } else if a.enabled {
        let zones = p.locations.len().max(1) as u32;
        (a.min_per_zone * zones, a.max_per_zone * zones)
    } else {
        let n = p.initial_node_count * p.locations.len().max(1) as u32;
        (n, n)
    }
}

/// The pool a GKE node pool amounts to. Spot capacity is `spot` or the older `preemptible`; GKE's own node
/// labels (`cloud.google.com/gke-spot`) are reported as they are.
pub(crate) fn observed_pool(p: &NodePoolInfo) -> NodePoolSpec {
    let labels = decode_labels(&p.resource_labels);
    let zones = labels.get(ZONES_LABEL).map(|z| z.split('_').map(str::to_string).collect()).unwrap_or_default();
    let (min, max) = total_bounds(p);
    NodePoolSpec {
        name: pool_name(p),
        instance_types: vec![p.machine_type.clone()],
        min,
        max,
        desired: Some(p.initial_node_count * p.locations.len().max(1) as u32),
        capacity: if p.spot || p.preemptible { Capacity::Spot } else { Capacity::OnDemand },
        labels: p.labels.clone(),
        taints: p.taints.clone(),
        disk: DiskSpec { size_gib: p.disk_size_gb, kind: (!p.disk_type.is_empty()).then(|| p.disk_type.clone()) },
        zones,
    }
}

/// `1.33` of `1.33.5-gke.1200`.
pub(crate) fn minor(version: &str) -> String {
    let mut parts = version.split(['.', '-']);
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => version.to_string(),
    }
}

/// The labels and taints `nodePools.update` must send to turn the live pool into the spec's, or `None` when
/// nothing differs. GKE's own labels on the live pool are kept in the set sent (the update replaces the set).
pub(crate) fn node_pool_update(live: &NodePoolInfo, pool: &NodePoolSpec) -> Option<NodePoolUpdate> {
    let mut want = pool.labels.clone();
    for (k, v) in &live.labels {
        if k.starts_with(GKE_LABEL_PREFIX) && !want.contains_key(k) {
            want.insert(k.clone(), v.clone());
        }
    }
    let labels = (want != live.labels).then_some(want);
    let same_taints = live.taints.len() == pool.taints.len() && pool.taints.iter().all(|t| live.taints.contains(t));
    let taints = (!same_taints).then(|| pool.taints.clone());
    if labels.is_none() && taints.is_none() {
        return None;
    }
    Some(NodePoolUpdate { version: live.version.clone(), image_type: live.image_type.clone(), labels, taints })
}

/// The total autoscaling bounds to set, or `None` when the live pool has them.
pub(crate) fn autoscaling_change(live: &NodePoolInfo, pool: &NodePoolSpec) -> Option<(u32, u32)> {
    let a = live.autoscaling;
    let same = a.enabled && a.total_min == pool.min && a.total_max == pool.max && a.total_max > 0;
    (!same).then_some((pool.min, pool.max))
}

// --- clusters --------------------------------------------------------------------------------------------

/// What `clusters.create` is sent for a spec: the cluster with its node pools.
pub(crate) fn new_cluster(spec: &ClusterSpec, loc: &Location, release_channel: &str) -> NewCluster {
    let n = &spec.network;
    let mut cidrs =
        if n.endpoint_access == EndpointAccess::Private { Vec::new() } else { n.public_access_cidrs.clone() };
    cidrs.sort();
    cidrs.retain(|c| c != "0.0.0.0/0");
    let mut zones: Vec<String> = Vec::new();
    if loc.zonal {
        zones.push(loc.name.clone());
    }
    NewCluster {
        name: spec.name.clone(),
        version: spec.kubernetes_version.clone(),
        network: n.network_id.clone().unwrap_or_default(),
        subnetwork: n.subnet_ids.first().cloned().unwrap_or_default(),
        pod_cidr: n.pod_cidr.clone().unwrap_or_default(),
        service_cidr: n.service_cidr.clone().unwrap_or_default(),
        private_endpoint: n.endpoint_access == EndpointAccess::Private,
        authorized_cidrs: cidrs,
        resource_labels: encode_labels(&owned_labels(spec)),
        release_channel: release_channel.to_string(),
        locations: zones,
        node_pools: spec.node_pools.iter().map(|p| new_node_pool(p, loc, "")).collect(),
    }
}

/// The spec the live cluster and its pools amount to, as far as GKE can tell.
pub(crate) fn observed_spec(region: &str, info: &ClusterInfo, pools: &[NodePoolInfo]) -> ClusterSpec {
    let labels = decode_labels(&info.resource_labels);
    let tags = labels
        .iter()
        .filter(|(k, _)| k.as_str() == OWNER_TAG || !k.starts_with("wooo.dev/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut cidrs = info.authorized_cidrs.clone();
    cidrs.sort();
    let network = NetworkSpec {
        network_id: (!info.network.is_empty()).then(|| info.network.clone()),
        subnet_ids: if info.subnetwork.is_empty() { Vec::new() } else { vec![info.subnetwork.clone()] },
        vpc_cidr: None,
        pod_cidr: (!info.pod_cidr.is_empty()).then(|| info.pod_cidr.clone()),
        service_cidr: (!info.service_cidr.is_empty()).then(|| info.service_cidr.clone()),
        endpoint_access: if info.private_endpoint { EndpointAccess::Private } else { EndpointAccess::PublicAndPrivate },
        public_access_cidrs: cidrs,
    };
    let mut out: Vec<NodePoolSpec> = Vec::new();
    for p in pools {
        let pool = observed_pool(p);
        if !out.iter().any(|o| o.name == pool.name) {
            out.push(pool);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    ClusterSpec {
        name: info.name.clone(),
        provider: CloudKind::Gcp,
        region: region.to_string(),
        kubernetes_version: minor(&info.master_version),
        node_pools: out,
        network,
        tags,
    }
}

/// Makes the observed spec comparable with the desired one where "absent" means "GKE's default" (network,
/// subnetwork, CIDRs, disk type, zones), a public endpoint is public whichever of `public` /
/// `public_and_private` the spec says, and GKE's own node labels are not the user's to remove.
pub(crate) fn normalize(observed: &mut ClusterSpec, desired: &ClusterSpec) {
    let (o, d) = (&mut observed.network, &desired.network);
    if d.network_id.is_none() {
        o.network_id = None;
    }
    if d.subnet_ids.is_empty() {
        o.subnet_ids.clear();
    }
    if d.pod_cidr.is_none() {
        o.pod_cidr = None;
    }
    if d.service_cidr.is_none() {
        o.service_cidr = None;
    }
    if d.endpoint_access != EndpointAccess::Private && o.endpoint_access != EndpointAccess::Private {
        o.endpoint_access = d.endpoint_access;
    }
    if d.public_access_cidrs.iter().all(|c| c == "0.0.0.0/0") && o.public_access_cidrs.is_empty() {
        o.public_access_cidrs = d.public_access_cidrs.clone();
    }
    for pool in &mut observed.node_pools {
        let Some(want) = desired.node_pool(&pool.name) else { continue };
        pool.labels.retain(|k, _| !k.starts_with(GKE_LABEL_PREFIX) || want.labels.contains_key(k));
        if want.disk.kind.is_none() {
            pool.disk.kind = None;
        }
    }
}

/// A cluster's or pool's state in words.
pub(crate) fn state_word(state: &Option<State>) -> String {
    state.as_ref().map_or("unknown".to_string(), |s| format!("{s:?}").to_lowercase())
}

/// The cluster as wooo reports it: the observed spec and a status from GKE's states.
pub(crate) fn cluster(region: &str, info: &ClusterInfo, pools: &[NodePoolInfo], now: Timestamp) -> Cluster {
    let spec = observed_spec(region, info, pools);
    let mut status = ClusterStatus {
        endpoint: (!info.endpoint.is_empty()).then(|| endpoint_url(&info.endpoint)),
        ca_data: (!info.ca_data.is_empty()).then(|| info.ca_data.clone()),
        kubernetes_version: (!info.master_version.is_empty()).then(|| info.master_version.clone()),
        platform_version: None,
        created_at: info.create_time.parse().ok(),
        owned: owned(&decode_labels(&info.resource_labels)),
        ..ClusterStatus::default()
    };
    for p in pools {
        let running = p.status == Some(State::Running);
        let desired = p.initial_node_count * p.locations.len().max(1) as u32;
        status.node_pools.push(NodePoolStatus {
            name: pool_name(p),
            // GKE reports no node readiness on the pool: a RUNNING pool has its nodes (ask Kubernetes for more).
            ready_nodes: if running { desired } else { 0 },
            desired_nodes: desired,
            updating: !running,
        });
    }
    let set = |s: &mut ClusterStatus, kind, on: bool, reason: &str, message: String| {
        s.set_condition(kind, on, reason, message, now);
    };
    let failed_pool = pools.iter().find(|p| matches!(p.status, Some(State::Error | State::RunningWithError)));
    let busy_pool = pools.iter().find(|p| p.status != Some(State::Running));
    match &info.status {
        Some(State::Error | State::Degraded) => {
            set(&mut status, ConditionType::Failed, true, "ClusterError", info.status_message.clone());
            set(&mut status, ConditionType::Available, false, "ClusterError", "the cluster failed".into());
        }
        Some(State::Stopping) => {
            set(&mut status, ConditionType::Deleting, true, "Stopping", "GKE is deleting the cluster".into());
            set(&mut status, ConditionType::Available, false, "Stopping", "the cluster is being deleted".into());
        }
        Some(State::Running) => {
            if let Some(p) = failed_pool {
                let message = format!("node pool {}: {}", p.name, p.status_message);
                set(&mut status, ConditionType::Failed, true, "NodePoolError", message);
                set(
                    &mut status,
                    ConditionType::Available,
                    false,
                    "NodePoolError",
                    format!("node pool {} failed", p.name),
                );
            } else if let Some(p) = busy_pool {
                let message = format!("node pool {} is {}", p.name, state_word(&p.status));
                set(&mut status, ConditionType::Provisioning, true, "NodePoolUpdating", message.clone());
                set(&mut status, ConditionType::Available, false, "NodePoolUpdating", message);
            } else {
                set(&mut status, ConditionType::Available, true, "Running", "the cluster is running".into());
                set(&mut status, ConditionType::Provisioning, false, "Running", "nothing in progress".into());
            }
        }
        other => {
            let message = format!("the cluster is {}", state_word(other));
            set(&mut status, ConditionType::Provisioning, true, "ClusterProvisioning", message.clone());
            set(&mut status, ConditionType::Available, false, "ClusterProvisioning", message);
        }
    }
    Cluster { id: spec.id(), spec, status }
}

/// The API server URL of a cluster endpoint (GKE reports an address without a scheme).
pub(crate) fn endpoint_url(endpoint: &str) -> String {
    if endpoint.starts_with("https://") || endpoint.starts_with("http://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    }
}

/// The minor versions a control plane passes through from `running` (`1.33.5-gke.1200`) to `desired` (`1.35`).
pub(crate) fn upgrade_steps(running: &str, desired: &str) -> Vec<String> {
    let (Ok(from), Ok(to)) = (KubernetesVersion::parse(&minor(running)), KubernetesVersion::parse(desired)) else {
        return Vec::new();
    };
    (from.minor + 1..=to.minor).map(|m| format!("1.{m}")).collect()
}

#[cfg(test)]
#[path = "shape_tests.rs"]
pub(crate) mod tests;
