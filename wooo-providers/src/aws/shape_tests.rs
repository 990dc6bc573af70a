use wooo_core::model::{Capacity, Taint, TaintEffect, from_yaml};

use super::*;

pub(crate) const SPEC: &str = r#"
name: shop
provider: aws
region: us-east-1
kubernetes_version: "1.32"
node_pools:
  - name: web
    instance_types: [m5.large, m5a.large]
    min: 2
    max: 6
    desired: 3
    labels: {tier: web}
    taints: [{key: dedicated, value: web, effect: NoSchedule}]
  - name: batch
    instance_types: [c6g.large]
    min: 0
    max: 10
    capacity: spot
tags: {team: shop}
"#;

pub(crate) fn spec() -> ClusterSpec {
    from_yaml(SPEC).expect("spec parses")
}

fn fields(r: Result<()>) -> Vec<String> {
    r.expect_err("should be refused").violations().into_iter().map(|v| v.field).collect()
}

#[test]
fn validation_names_every_eks_specific_field() {
    assert!(validate(&spec(), "us-east-1").is_ok());
    let mut s = spec();
    s.provider = CloudKind::Azure;
    s.kubernetes_version = "1.32.4".into();
    s.network.pod_cidr = Some("10.244.0.0/16".into());
    s.node_pools[0].disk.kind = Some("gp3".into());
    s.node_pools[1].zones = vec!["eu-west-1a".into()];
    assert_eq!(
        fields(validate(&s, "us-east-1")),
        ["provider", "kubernetes_version", "network.pod_cidr", "node_pools[0].disk.kind", "node_pools[1].zones[0]"]
    );
    assert_eq!(fields(validate(&spec(), "eu-west-1")), ["region"]);
    let mut s = spec();
    s.network.subnet_ids = vec!["subnet-1".into()];
    s.network.vpc_cidr = Some("10.0.0.0/16".into());
    assert_eq!(fields(validate(&s, "us-east-1")), ["network.subnet_ids", "network.vpc_cidr"]);
    let mut s = spec();
    s.network.vpc_cidr = Some("10.0.0.0/8".into());
    assert_eq!(fields(validate(&s, "us-east-1")), ["network.vpc_cidr"]);
    let mut s = spec();
    s.network.network_id = Some("vpc-1".into());
    assert_eq!(fields(validate(&s, "us-east-1")), ["network.network_id"]);
}

fn facts() -> Vec<InstanceTypeInfo> {
    let t = |name: &str, arch: &str, gpus: bool| InstanceTypeInfo {
        name: name.into(),
        architectures: vec![arch.into()],
        vcpus: 2,
        memory_mib: 8192,
        gpus,
    };
    vec![
        t("m5.large", "x86_64", false),
        t("m5a.large", "x86_64", false),
        t("c6g.large", "arm64", false),
        t("m6g.large", "arm64", false),
        t("g5.xlarge", "x86_64", true),
    ]
}

fn offered() -> Vec<String> {
    ["m5.large", "m5a.large", "c6g.large", "m6g.large", "g5.xlarge"].map(String::from).to_vec()
}

#[test]
fn ami_types_follow_the_architecture_and_gpus() {
    assert_eq!(ami_types(&spec(), &offered(), &facts()).unwrap(), ["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"]);
    let mut s = spec();
    s.node_pools[0].instance_types = vec!["g5.xlarge".into()];
    assert_eq!(ami_types(&s, &offered(), &facts()).unwrap()[0], "AL2023_x86_64_NVIDIA");
}

#[test]
fn instance_types_are_checked_against_offerings_and_one_architecture() {
    let mut s = spec();
    s.node_pools[0].instance_types = vec!["m5.large".into(), "m6g.large".into()];
    let err = ami_types(&s, &offered(), &facts()).unwrap_err();
    let v = err.violations();
    assert_eq!(v[0].field, "node_pools[0].instance_types");
    assert!(v[0].reason.contains("m5.large (x86_64), m6g.large (arm64)"), "{}", v[0].reason);
    let mut s = spec();
    s.node_pools[1].instance_types = vec!["c6g.large".into(), "zz9.huge".into()];
    let only_some: Vec<String> = vec!["m5.large".into(), "m5a.large".into()];
    let v = ami_types(&s, &only_some, &facts()).unwrap_err().violations();
    assert_eq!(v[0].field, "node_pools[1].instance_types[0]");
    assert!(v[0].reason.contains("not offered in us-east-1"), "{}", v[0].reason);
    assert_eq!(v[1].field, "node_pools[1].instance_types[1]");
    assert!(v[1].reason.contains("not an EC2 instance type"), "{}", v[1].reason);
}

#[test]
fn node_group_generations_change_only_with_what_cannot_change_in_place() {
    let base = spec().node_pools[0].clone();
    let name = node_group_name(&base, "AL2023_x86_64_STANDARD");
    assert!(name.starts_with("web-") && name.len() == "web-".len() + 8, "{name}");
    let same = |f: fn(&mut NodePoolSpec)| {
        let mut p = base.clone();
        f(&mut p);
        node_group_name(&p, "AL2023_x86_64_STANDARD") == name
    };
    assert!(same(|p| p.min = 0));
    assert!(same(|p| p.max = 60));
    assert!(same(|p| p.desired = Some(5)));
    assert!(same(|p| {
        p.labels.insert("x".into(), "y".into());
    }));
    assert!(same(|p| p.taints.clear()));
    assert!(!same(|p| p.instance_types.reverse()));
    assert!(!same(|p| p.capacity = Capacity::Spot));
    assert!(!same(|p| p.disk.size_gib = 100));
    assert!(!same(|p| p.zones = vec!["us-east-1a".into()]));
    assert_ne!(node_group_name(&base, "AL2023_ARM_64_STANDARD"), name);
}

#[test]
fn network_layout_splits_the_vpc_in_eighths_publics_first() {
    let zones: Vec<String> = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"].map(String::from).to_vec();
    let layout = network_layout("192.168.0.0/16", &zones).unwrap();
    let got: Vec<(&str, &str, bool)> = layout.iter().map(|s| (s.role.as_str(), s.cidr.as_str(), s.public)).collect();
    assert_eq!(
        got,
        [
            ("public-us-east-1a", "192.168.0.0/19", true),
            ("public-us-east-1b", "192.168.32.0/19", true),
            ("public-us-east-1c", "192.168.64.0/19", true),
            ("private-us-east-1a", "192.168.96.0/19", false),
            ("private-us-east-1b", "192.168.128.0/19", false),
            ("private-us-east-1c", "192.168.160.0/19", false),
        ]
    );
    let two = network_layout("10.1.0.0/24", &zones[..2]).unwrap();
    assert_eq!(
        two.iter().map(|s| s.cidr.as_str()).collect::<Vec<_>>(),
        ["10.1.0.0/27", "10.1.0.32/27", "10.1.0.64/27", "10.1.0.96/27"]
    );
    assert_eq!(network_layout("10.0.0.0/16", &zones[..1]).unwrap_err().violations()[0].field, "region");
    assert_eq!(network_layout("10.0.0.1/16", &zones).unwrap_err().violations()[0].field, "network.vpc_cidr");
    assert_eq!(network_layout("10.0.0.0/25", &zones).unwrap_err().violations()[0].field, "network.vpc_cidr");
}

fn active_cluster(tags: &[(&str, &str)]) -> ClusterInfo {
    ClusterInfo {
        name: "shop".into(),
        arn: "arn:aws:eks:us-east-1:123456789012:cluster/shop".into(),
        status: Some(ClusterState::Active),
        version: Some("1.32".into()),
        endpoint: Some("https://ABC.gr7.us-east-1.eks.amazonaws.com".into()),
        ca_data: Some("Q0E=".into()),
        vpc_id: Some("vpc-1".into()),
        subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
        endpoint_public: true,
        endpoint_private: true,
        public_access_cidrs: vec!["0.0.0.0/0".into()],
        service_cidr: Some("10.100.0.0/16".into()),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..ClusterInfo::default()
    }
}

pub(crate) fn group_for(pool: &NodePoolSpec, ami: &str, desired: u32) -> NodeGroupInfo {
    let mut tags: Tags = [(OWNER_TAG.to_string(), "wooo".to_string())].into();
    tags.insert(NODE_POOL_TAG.into(), pool.name.clone());
    NodeGroupInfo {
        cluster: "shop".into(),
        name: node_group_name(pool, ami),
        status: Some(NodeGroupState::Active),
        capacity: pool.capacity,
        instance_types: pool.instance_types.clone(),
        ami_type: Some(ami.into()),
        disk_size_gib: Some(pool.disk.size_gib),
        labels: pool.labels.clone(),
        taints: pool.taints.clone(),
        scaling: super::super::api::Scaling { min: pool.min, max: pool.max, desired },
        version: Some("1.32".into()),
        tags,
        ..NodeGroupInfo::default()
    }
}

#[test]
fn a_cluster_wooo_made_reads_back_as_its_spec() {
    let s = spec();
    let info = active_cluster(&[
        (OWNER_TAG, "wooo"),
        (CLUSTER_TAG, "shop"),
        (NETWORK_TAG, "managed"),
        (VPC_CIDR_TAG, DEFAULT_VPC_CIDR),
        ("team", "shop"),
    ]);
    let groups = vec![
        group_for(&s.node_pools[0], "AL2023_x86_64_STANDARD", 5),
        group_for(&s.node_pools[1], "AL2023_ARM_64_STANDARD", 0),
    ];
    let mut observed = observed_spec("us-east-1", &info, &groups);
    assert_eq!(observed.tags.get("team").map(String::as_str), Some("shop"));
    assert!(!observed.tags.contains_key(NETWORK_TAG), "bookkeeping tags are not the user's");
    assert_eq!(observed.node_pools[1].desired, Some(5), "the live size is reported");
    normalize(&mut observed, &s);
    let current = Cluster { id: s.id(), spec: observed, status: ClusterStatus::default() };
    let rules = wooo_core::plan::PlanRules { autoscaler_owns_desired: true };
    let plan = wooo_core::plan::cluster_with(&s, Some(&current), &rules).unwrap();
    assert!(plan.is_noop(), "{plan}");
}

#[test]
fn status_follows_the_cluster_and_its_groups() {
    let s = spec();
    let info = active_cluster(&[(OWNER_TAG, "wooo")]);
    let mut group = group_for(&s.node_pools[0], "AL2023_x86_64_STANDARD", 3);
    let now = Timestamp::now();
    let c = cluster("us-east-1", &info, std::slice::from_ref(&group), now);
    assert!(c.is_ready() && c.status.owned);
    assert_eq!(c.status.node_pools[0].ready_nodes, 3);
    group.status = Some(NodeGroupState::Creating);
    let c = cluster("us-east-1", &info, std::slice::from_ref(&group), now);
    assert!(!c.is_ready() && c.failure().is_none());
    assert_eq!(c.status.node_pools[0].ready_nodes, 0);
    group.status = Some(NodeGroupState::Degraded);
    group.health_issues = vec!["InsufficientFreeAddresses: subnet-a has no free addresses".into()];
    let c = cluster("us-east-1", &info, std::slice::from_ref(&group), now);
    let failed = c.failure().expect("failed");
    assert_eq!(failed.reason, "NodeGroupDegraded");
    assert!(failed.message.contains("InsufficientFreeAddresses"), "{}", failed.message);
    let mut info = active_cluster(&[]);
    info.status = Some(ClusterState::Failed);
    info.health_issues = vec!["Ec2SubnetInvalidConfiguration: no route".into()];
    let c = cluster("us-east-1", &info, &[], now);
    assert!(c.failure().unwrap().message.contains("Ec2SubnetInvalidConfiguration"));
    assert!(!c.status.owned);
    info.status = Some(ClusterState::Creating);
    let c = cluster("us-east-1", &info, &[], now);
    assert!(c.status.condition(ConditionType::Provisioning).unwrap().status);
}

#[test]
fn node_group_updates_send_only_differences_and_never_fight_the_autoscaler() {
    let s = spec();
    let pool = s.node_pools[0].clone();
    let live = group_for(&pool, "AL2023_x86_64_STANDARD", 5);
    assert_eq!(node_group_update(&live, &pool), None, "same config: nothing to send, whatever the size");
    let mut want = pool.clone();
    want.labels = [("tier".to_string(), "frontend".to_string()), ("new".to_string(), "1".to_string())].into();
    want.taints = vec![
        Taint { key: "dedicated".into(), value: Some("frontend".into()), effect: TaintEffect::NoSchedule },
        Taint { key: "spot".into(), value: None, effect: TaintEffect::NoExecute },
    ];
    want.max = 8;
    let u = node_group_update(&live, &want).expect("an update");
    assert_eq!(u.add_labels.len(), 2);
    assert!(u.remove_labels.is_empty());
    assert_eq!(u.add_taints.len(), 2);
    assert!(u.remove_taints.is_empty(), "a changed value is an add: EKS keys taints by key and effect");
    assert_eq!((u.min, u.max, u.desired), (Some(2), Some(8), None), "desired stays the autoscaler's");
    want.max = 4;
    let u = node_group_update(&live, &want).expect("an update");
    assert_eq!(u.desired, Some(4), "a size outside the new bounds is clamped into them");
    want.labels.clear();
    want.taints.clear();
    let u = node_group_update(&live, &want).expect("an update");
    assert_eq!(u.remove_labels, ["tier"]);
    assert_eq!(u.remove_taints.len(), 1);
}

#[test]
fn upgrades_go_one_minor_at_a_time() {
    assert_eq!(upgrade_steps("1.30", "1.33"), ["1.31", "1.32", "1.33"]);
    assert!(upgrade_steps("1.33", "1.33").is_empty());
    assert!(upgrade_steps("1.33", "1.32").is_empty());
}
