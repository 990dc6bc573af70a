use wooo_core::model::{Capacity, Taint, TaintEffect, from_yaml};

use super::super::api::Autoscaling;
use super::*;

pub(crate) const SPEC: &str = r#"
name: shop
provider: gcp
region: europe-west1
kubernetes_version: "1.32"
node_pools:
  - name: web
    instance_types: [e2-standard-4]
    min: 3
    max: 9
    desired: 4
    labels: {tier: web}
    taints: [{key: dedicated, value: web, effect: NoSchedule}]
  - name: batch
    instance_types: [n2-standard-8]
    min: 0
    max: 10
    capacity: spot
    disk: {size_gib: 100, kind: pd-ssd}
    zones: [europe-west1-c, europe-west1-b]
tags: {team: shop}
"#;

pub(crate) fn spec() -> ClusterSpec {
    from_yaml(SPEC).expect("spec parses")
}

pub(crate) fn region() -> Location {
    location("europe-west1").expect("region")
}

fn fields(r: Result<()>) -> Vec<String> {
    r.expect_err("should be refused").violations().into_iter().map(|v| v.field).collect()
}

#[test]
fn locations_are_regions_or_zones() {
    let r = region();
    assert_eq!((r.region.as_str(), r.zonal), ("europe-west1", false));
    let z = location("us-central1-a").unwrap();
    assert_eq!((z.region.as_str(), z.zonal), ("us-central1", true));
    assert!(location("northamerica-northeast1").is_ok());
    for bad in ["", "europe", "Europe-west1", "europe-west1-bb", "europe-west", "a-b-c-d"] {
        assert_eq!(location(bad).unwrap_err().violations()[0].field, "location", "{bad}");
    }
}

#[test]
fn validation_names_every_gke_specific_field() {
    assert!(validate(&spec(), &region()).is_ok());
    let mut s = spec();
    s.provider = CloudKind::Aws;
    s.region = "europe-west4".into();
    s.kubernetes_version = "1.32.4".into();
    s.network.vpc_cidr = Some("10.0.0.0/16".into());
    s.network.subnet_ids = vec!["a".into(), "b".into()];
    s.tags.insert("Team".into(), "x".into());
    s.tags.insert("cost.center".into(), "x".into());
    s.tags.insert("owner".into(), "Alice".into());
    s.node_pools[0].instance_types.push("e2-standard-8".into());
    s.node_pools[0].name = "abcdefghijklmnopqrstuvwxyz012345".into();
    s.node_pools[1].disk.kind = Some("gp3".into());
    s.node_pools[1].zones[0] = "us-east1-b".into();
    let f = fields(validate(&s, &region()));
    for want in [
        "provider",
        "region",
        "kubernetes_version",
        "network.vpc_cidr",
        "network.subnet_ids",
        "tags[\"Team\"]",
        "tags[\"cost.center\"]",
        "tags[\"owner\"]",
        "node_pools[0].name",
        "node_pools[0].instance_types",
        "node_pools[1].disk.kind",
        "node_pools[1].zones[0]",
    ] {
        assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
    }
    // A zonal cluster's pools run in its zone.
    let zonal = location("europe-west1-b").unwrap();
    assert_eq!(fields(validate(&spec(), &zonal)), ["node_pools[1].zones[0]"]);
}

#[test]
fn gke_label_charset_is_enforced_and_wooo_keys_round_trip() {
    assert!(check_label_key("team").is_ok());
    assert!(check_label_key("équipe_1").is_ok());
    for bad in ["", "Team", "1team", "a.b", "a/b", &"k".repeat(64)] {
        assert!(check_label_key(bad).is_err(), "{bad}");
    }
    assert!(check_label_value("").is_ok());
    assert!(check_label_value("Prod").is_err());
    let mut labels = owned_labels(&spec());
    let sent = encode_labels(&labels);
    assert_eq!(sent.get("wooo-dev_managed-by").map(String::as_str), Some("wooo"));
    assert_eq!(sent.get("wooo-dev_cluster").map(String::as_str), Some("shop"));
    for (k, v) in &sent {
        assert!(check_label_key(k).is_ok() && check_label_value(v).is_ok(), "{k}={v} is not a GKE label");
    }
    assert_eq!(decode_labels(&sent), labels);
    assert!(owned(&labels));
    labels.remove(OWNER_TAG);
    assert!(!owned(&labels));
}

#[test]
fn pool_names_change_only_with_what_cannot_change_in_place() {
    let s = spec();
    let base = gke_pool_name(&s.node_pools[0]);
    assert!(base.starts_with("web-") && base.len() == "web-".len() + 8, "{base}");
    let mut p = s.node_pools[0].clone();
    p.labels.insert("x".into(), "y".into());
    p.min = 1;
    p.taints.clear();
    assert_eq!(gke_pool_name(&p), base, "labels, taints and bounds change in place");
    for change in [
        |p: &mut NodePoolSpec| p.instance_types = vec!["e2-standard-8".into()],
        |p: &mut NodePoolSpec| p.capacity = Capacity::Spot,
        |p: &mut NodePoolSpec| p.disk.size_gib = 200,
        |p: &mut NodePoolSpec| p.zones = vec!["europe-west1-d".into()],
    ] {
        let mut p = s.node_pools[0].clone();
        change(&mut p);
        assert_ne!(gke_pool_name(&p), base);
    }
    // Zones are a set.
    let mut p = s.node_pools[1].clone();
    let a = gke_pool_name(&p);
    p.zones.reverse();
    assert_eq!(gke_pool_name(&p), a);
}

#[test]
fn new_pools_spread_the_desired_size_over_zones_and_send_total_bounds() {
    let s = spec();
    let web = new_node_pool(&s.node_pools[0], &region(), "");
    // 4 nodes over the regional default of 3 zones: 2 per zone (rounded up).
    assert_eq!((web.initial_node_count, web.total_min, web.total_max), (2, 3, 9));
    assert!(!web.spot && web.locations.is_empty());
    let batch = new_node_pool(&s.node_pools[1], &region(), "1.32");
    assert!(batch.spot);
    assert_eq!((batch.disk_type.as_str(), batch.disk_size_gb, batch.version.as_str()), ("pd-ssd", 100, "1.32"));
    // min 0: no nodes at creation.
    assert_eq!(batch.initial_node_count, 0);
    let labels = decode_labels(&batch.resource_labels);
    assert_eq!(labels[NODE_POOL_LABEL], "batch");
    assert_eq!(labels[ZONES_LABEL], "europe-west1-b_europe-west1-c");
    let zonal = new_node_pool(&s.node_pools[0], &location("europe-west1-b").unwrap(), "");
    assert_eq!(zonal.initial_node_count, 4);
}

pub(crate) fn live_pool(pool: &NewNodePool, zones: &[&str]) -> NodePoolInfo {
    NodePoolInfo {
        name: pool.name.clone(),
        status: Some(State::Running),
        machine_type: pool.machine_type.clone(),
        disk_size_gb: pool.disk_size_gb,
        disk_type: if pool.disk_type.is_empty() { "pd-balanced".into() } else { pool.disk_type.clone() },
        image_type: "COS_CONTAINERD".into(),
        spot: pool.spot,
        labels: pool.labels.clone(),
        taints: pool.taints.clone(),
        resource_labels: pool.resource_labels.clone(),
        autoscaling: Autoscaling {
            enabled: true,
            total_min: pool.total_min,
            total_max: pool.total_max,
            ..Default::default()
        },
        initial_node_count: pool.initial_node_count,
        locations: zones.iter().map(|z| z.to_string()).collect(),
        version: "1.32.9-gke.100".into(),
        ..NodePoolInfo::default()
    }
}

pub(crate) fn live_cluster(spec: &ClusterSpec) -> ClusterInfo {
    ClusterInfo {
        name: spec.name.clone(),
        status: Some(State::Running),
        master_version: "1.32.9-gke.100".into(),
        endpoint: "34.1.2.3".into(),
        ca_data: "Q0E=".into(),
        network: "default".into(),
        subnetwork: "default".into(),
        pod_cidr: "10.4.0.0/14".into(),
        service_cidr: "34.118.224.0/20".into(),
        resource_labels: encode_labels(&owned_labels(spec)),
        label_fingerprint: "abcd".into(),
        locations: vec!["europe-west1-b".into(), "europe-west1-c".into(), "europe-west1-d".into()],
        create_time: "2026-12-03T10:00:00+00:00".into(),
        ..ClusterInfo::default()
    }
}

/// The live pools GKE reports for the spec, with GKE's own spot label on spot pools.
pub(crate) fn live_pools(spec: &ClusterSpec) -> Vec<NodePoolInfo> {
    spec.node_pools
        .iter()
        .map(|p| {
            let mut live =
                live_pool(&new_node_pool(p, &region(), ""), &["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
            if p.capacity == Capacity::Spot {
                live.labels.insert("cloud.google.com/gke-spot".into(), "true".into());
            }
            live
        })
        .collect()
}

#[test]
fn an_unchanged_cluster_plans_nothing_and_gke_labels_are_reported_but_not_fixed() {
    let s = spec();
    let pools = live_pools(&s);
    let mut c = cluster("europe-west1", &live_cluster(&s), &pools, Timestamp::now());
    assert!(c.is_ready(), "{:?}", c.status);
    assert!(c.status.owned);
    assert_eq!(c.status.endpoint.as_deref(), Some("https://34.1.2.3"));
    assert_eq!(c.spec.kubernetes_version, "1.32");
    let batch = c.spec.node_pool("batch").unwrap();
    assert_eq!(batch.capacity, Capacity::Spot);
    assert_eq!(batch.labels.get("cloud.google.com/gke-spot").map(String::as_str), Some("true"), "reported back");
    normalize(&mut c.spec, &s);
    let plan = wooo_core::plan::cluster_with(&s, Some(&c), &PlanRulesForTest::rules()).unwrap();
    assert!(plan.is_noop(), "{plan}");
    // And an update of the spot pool's labels keeps GKE's label in the set it sends.
    let mut want = s.node_pools[1].clone();
    want.labels.insert("team".into(), "data".into());
    let u = node_pool_update(&pools[1], &want).expect("labels differ");
    let sent = u.labels.expect("labels sent");
    assert_eq!(sent.get("cloud.google.com/gke-spot").map(String::as_str), Some("true"));
    assert_eq!(sent.get("team").map(String::as_str), Some("data"));
    assert!(u.taints.is_none());
    assert_eq!((u.version.as_str(), u.image_type.as_str()), ("1.32.9-gke.100", "COS_CONTAINERD"));
    assert!(node_pool_update(&pools[1], &s.node_pools[1]).is_none());
}

struct PlanRulesForTest;
impl PlanRulesForTest {
    fn rules() -> wooo_core::plan::PlanRules {
        wooo_core::plan::PlanRules { autoscaler_owns_desired: true }
    }
}

#[test]
fn legacy_preemptible_and_per_zone_bounds_read_back() {
    let mut p = live_pools(&spec()).remove(0);
    p.spot = false;
    p.preemptible = true;
    p.autoscaling = Autoscaling { enabled: true, min_per_zone: 1, max_per_zone: 3, total_min: 0, total_max: 0 };
    let pool = observed_pool(&p);
    assert_eq!(pool.capacity, Capacity::Spot);
    assert_eq!((pool.min, pool.max), (3, 9), "per-zone bounds times three zones");
    // Per-zone bounds are not what wooo writes: the same totals are set once, as totals.
    assert_eq!(autoscaling_change(&p, &spec().node_pools[0]), Some((3, 9)));
    p.autoscaling = Autoscaling { enabled: true, total_min: 3, total_max: 9, ..Default::default() };
    assert_eq!(autoscaling_change(&p, &spec().node_pools[0]), None);
}

#[test]
fn taint_changes_send_the_whole_set() {
    let pools = live_pools(&spec());
    let mut want = spec().node_pools[0].clone();
    want.taints = vec![Taint { key: "dedicated".into(), value: Some("api".into()), effect: TaintEffect::NoExecute }];
    let u = node_pool_update(&pools[0], &want).expect("taints differ");
    assert_eq!(u.taints.as_deref(), Some(want.taints.as_slice()));
    assert!(u.labels.is_none());
}

#[test]
fn status_follows_cluster_and_pool_states() {
    let s = spec();
    let mut info = live_cluster(&s);
    let mut pools = live_pools(&s);
    pools[0].status = Some(State::Provisioning);
    let c = cluster("europe-west1", &info, &pools, Timestamp::now());
    assert!(!c.is_ready());
    assert!(c.status.condition(ConditionType::Provisioning).is_some_and(|c| c.status));
    pools[0].status = Some(State::Error);
    pools[0].status_message = "quota".into();
    let c = cluster("europe-west1", &info, &pools, Timestamp::now());
    assert!(c.failure().is_some_and(|f| f.message.contains("quota")));
    info.status = Some(State::Stopping);
    let c = cluster("europe-west1", &info, &pools, Timestamp::now());
    assert!(c.status.condition(ConditionType::Deleting).is_some_and(|c| c.status));
}

#[test]
fn versions_and_upgrade_steps() {
    assert_eq!(minor("1.33.5-gke.1200"), "1.33");
    assert_eq!(minor("1.33"), "1.33");
    assert_eq!(upgrade_steps("1.31.2-gke.1", "1.33"), ["1.32", "1.33"]);
    assert!(upgrade_steps("1.33.2-gke.1", "1.33").is_empty());
}

#[test]
fn a_new_cluster_carries_encoded_labels_channel_network_and_pools() {
    let mut s = spec();
    s.network.public_access_cidrs = vec!["203.0.113.0/24".into()];
    s.network.pod_cidr = Some("10.8.0.0/14".into());
    let c = new_cluster(&s, &region(), "REGULAR");
    assert_eq!(c.node_pools.len(), 2);
    assert_eq!(c.release_channel, "REGULAR");
    assert_eq!(c.authorized_cidrs, ["203.0.113.0/24"]);
    assert_eq!(c.pod_cidr, "10.8.0.0/14");
    assert!(c.locations.is_empty(), "a regional cluster takes the region's default zones");
    assert!(c.resource_labels.contains_key("wooo-dev_managed-by"));
    let zonal = new_cluster(&s, &location("europe-west1-b").unwrap(), "");
    assert_eq!(zonal.locations, ["europe-west1-b"]);
}
