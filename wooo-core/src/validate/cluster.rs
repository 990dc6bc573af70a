//! Cluster spec rules.

use std::collections::HashMap;

use super::checks::{cidrs_overlap, dns1123_label, ipv4_cidr, kubernetes_version, label_key, label_value};
use super::{Violations, at, index, key, parse_ipv4_cidr};
use crate::model::{ClusterSpec, EndpointAccess, Labels, NetworkSpec, NodePoolSpec, OWNER_TAG};

/// Cluster names stay short so provider-derived names (`<cluster>-<pool>-ng`, role names) fit their limits.
const MAX_CLUSTER_NAME: usize = 40;
const MAX_POOL_NAME: usize = 32;
const MAX_POOL_NODES: u32 = 1000;
const DISK_GIB: std::ops::RangeInclusive<u32> = 20..=16384;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;
/// Label prefixes reserved for Kubernetes itself; the NodeRestriction admission plugin stops kubelets from
/// setting them, so node pools carrying them fail to register.
const RESERVED_NODE_LABEL_PREFIXES: &[&str] = &["kubernetes.io", "k8s.io"];

pub(super) fn cluster(v: &mut Violations, spec: &ClusterSpec) {
    v.check("name", dns1123_label(&spec.name, MAX_CLUSTER_NAME));
    if spec.region.is_empty() || !spec.region.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        v.add("region", "must be a non-empty region name of lower-case letters, digits and '-'");
    }
    v.check("kubernetes_version", kubernetes_version(&spec.kubernetes_version));
    if spec.node_pools.is_empty() {
        v.add("node_pools", "must list at least one node pool");
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, pool) in spec.node_pools.iter().enumerate() {
        let p = index("node_pools", i);
        node_pool(v, &p, pool);
        let first = *names.entry(&pool.name).or_insert(i);
        if first != i {
            v.add(at(&p, "name"), format!("duplicates the name of node_pools[{first}]"));
        }
    }
    network(v, &spec.network);
    tags(v, &spec.tags);
}

fn node_pool(v: &mut Violations, p: &str, pool: &NodePoolSpec) {
    v.check(at(p, "name"), dns1123_label(&pool.name, MAX_POOL_NAME));
    let types = at(p, "instance_types");
    if pool.instance_types.is_empty() {
        v.add(&types, "must list at least one instance type");
    }
    for (j, t) in pool.instance_types.iter().enumerate() {
        if t.is_empty() || t.chars().any(char::is_whitespace) {
            v.add(index(&types, j), "must be a non-empty instance type without whitespace");
        } else if let Some(first) = pool.instance_types[..j].iter().position(|o| o == t) {
            v.add(index(&types, j), format!("duplicates instance_types[{first}]"));
        }
    }
    sizes(v, p, pool);
    for (k, value) in &pool.labels {
        let field = key(&at(p, "labels"), k);
        if let Err(reason) = label_key(k) {
            v.add(field, reason);
        } else if let Some(prefix) = k.split_once('/').map(|(prefix, _)| prefix)
            && RESERVED_NODE_LABEL_PREFIXES.contains(&prefix)
        {
            v.add(field, format!("the `{prefix}/` prefix is reserved for Kubernetes; kubelets may not set it"));
        } else {
            v.check(field, label_value(value));
        }
    }
    for (j, taint) in pool.taints.iter().enumerate() {
        let t = index(&at(p, "taints"), j);
        v.check(at(&t, "key"), label_key(&taint.key));
        if let Some(value) = &taint.value {
            v.check(at(&t, "value"), label_value(value));
        }
    }
    if !DISK_GIB.contains(&pool.disk.size_gib) {
        v.add(
            at(p, "disk.size_gib"),
            format!("must be {} to {} GiB, got {}", DISK_GIB.start(), DISK_GIB.end(), pool.disk.size_gib),
        );
    }
    let zones = at(p, "zones");
    for (j, zone) in pool.zones.iter().enumerate() {
        if zone.trim().is_empty() {
            v.add(index(&zones, j), "must not be empty");
        } else if let Some(first) = pool.zones[..j].iter().position(|z| z == zone) {
            v.add(index(&zones, j), format!("duplicates zones[{first}]"));
        }
    }
}

fn sizes(v: &mut Violations, p: &str, pool: &NodePoolSpec) {
    if pool.max == 0 {
        v.add(at(p, "max"), "must be at least 1");
    } else if pool.max > MAX_POOL_NODES {
        v.add(at(p, "max"), format!("must be at most {MAX_POOL_NODES}, got {}", pool.max));
    }
    if pool.min > pool.max {
        v.add(at(p, "min"), format!("must not exceed max ({}), got {}", pool.max, pool.min));
    } else if let Some(desired) = pool.desired
        && !(pool.min..=pool.max).contains(&desired)
    {
        v.add(at(p, "desired"), format!("must be between min ({}) and max ({}), got {desired}", pool.min, pool.max));
    }
}

fn network(v: &mut Violations, n: &NetworkSpec) {
    if n.network_id.as_deref().is_some_and(|id| id.trim().is_empty()) {
        v.add("network.network_id", "must not be empty when set");
    }
    for (j, subnet) in n.subnet_ids.iter().enumerate() {
        if subnet.trim().is_empty() {
            v.add(index("network.subnet_ids", j), "must not be empty");
        }
    }
    let mut parsed = Vec::new();
    for (name, cidr) in [("vpc_cidr", &n.vpc_cidr), ("pod_cidr", &n.pod_cidr), ("service_cidr", &n.service_cidr)] {
        let Some(cidr) = cidr else { continue };
        let field = at("network", name);
        match parse_ipv4_cidr(cidr) {
            Ok(net) => {
                if let Some((other, other_cidr, _)) = parsed.iter().find(|(_, _, o)| cidrs_overlap(*o, net)) {
                    v.add(field, format!("{cidr} overlaps {other} ({other_cidr})"));
                }
                parsed.push((name, cidr, net));
            }
            Err(reason) => v.add(field, reason),
        }
    }
    for (j, cidr) in n.public_access_cidrs.iter().enumerate() {
        v.check(index("network.public_access_cidrs", j), ipv4_cidr(cidr));
    }
    if n.endpoint_access == EndpointAccess::Private && !n.public_access_cidrs.is_empty() {
        v.add(
            "network.public_access_cidrs",
            "must be empty when endpoint_access is private (there is no public endpoint)",
        );
    }
}

fn tags(v: &mut Violations, tags: &Labels) {
    for (k, value) in tags {
        let field = key("tags", k);
        let len = k.chars().count();
        if k == OWNER_TAG {
            v.add(field, format!("`{OWNER_TAG}` is reserved: wooo sets it to mark what it owns"));
        } else if !(1..=MAX_TAG_KEY).contains(&len) {
            v.add(field, format!("tag keys must be 1 to {MAX_TAG_KEY} characters, got {len}"));
        } else if value.chars().count() > MAX_TAG_VALUE {
            v.add(field, format!("tag values must be at most {MAX_TAG_VALUE} characters"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::cluster_spec;
    use super::super::tests::fields;
    use crate::model::{ClusterSpec, EndpointAccess, OWNER_TAG, Taint, TaintEffect, from_yaml};

    const VALID: &str = r#"
name: demo
provider: aws
region: eu-west-1
kubernetes_version: "1.33"
node_pools:
  - name: general
    instance_types: [m5.large, m5a.large]
    min: 2
    max: 5
    desired: 3
    labels: {team: shop, "example.com/tier": web, "node-role.kubernetes.io/worker": ""}
    taints:
      - {key: dedicated, value: web, effect: NoSchedule}
    disk: {size_gib: 100, kind: gp3}
    zones: [eu-west-1a, eu-west-1b]
  - name: spot
    instance_types: [c5.large]
    min: 0
    max: 10
    capacity: spot
network:
  vpc_cidr: 10.0.0.0/16
  pod_cidr: 10.100.0.0/16
  service_cidr: 172.20.0.0/16
  endpoint_access: public_and_private
  public_access_cidrs: [203.0.113.0/24]
tags: {team: shop, cost-center: "42"}
"#;

    fn valid() -> ClusterSpec {
        from_yaml(VALID).unwrap()
    }

    #[test]
    fn valid_spec_from_yaml_passes() {
        assert_eq!(fields(cluster_spec(&valid())), Vec::<String>::new());
        let mut minimal = valid();
        minimal.network = Default::default();
        minimal.tags.clear();
        minimal.node_pools.truncate(1);
        assert!(cluster_spec(&minimal).is_ok());
    }

    type Case = (&'static str, fn(&mut ClusterSpec), &'static [&'static str]);

    #[test]
    fn each_rule_names_its_field() {
        let cases: &[Case] = &[
            ("name not a label", |s| s.name = "Demo".into(), &["name"]),
            ("name too long", |s| s.name = "a".repeat(41), &["name"]),
            ("region empty", |s| s.region.clear(), &["region"]),
            ("region upper-case", |s| s.region = "EU West".into(), &["region"]),
            ("version malformed", |s| s.kubernetes_version = "latest".into(), &["kubernetes_version"]),
            ("version too old", |s| s.kubernetes_version = "1.27".into(), &["kubernetes_version"]),
            ("version too new", |s| s.kubernetes_version = "1.37.1".into(), &["kubernetes_version"]),
            ("no pools", |s| s.node_pools.clear(), &["node_pools"]),
            ("pool name invalid", |s| s.node_pools[1].name = "spot_pool".into(), &["node_pools[1].name"]),
            ("pool name too long", |s| s.node_pools[0].name = "p".repeat(33), &["node_pools[0].name"]),
            ("pool name duplicate", |s| s.node_pools[1].name = "general".into(), &["node_pools[1].name"]),
            ("no instance types", |s| s.node_pools[1].instance_types.clear(), &["node_pools[1].instance_types"]),
            (
                "instance type with space",
                |s| s.node_pools[0].instance_types.push("m5 large".into()),
                &["node_pools[0].instance_types[2]"],
            ),
            (
                "instance type empty",
                |s| s.node_pools[0].instance_types[1].clear(),
                &["node_pools[0].instance_types[1]"],
            ),
            (
                "instance type duplicate",
                |s| s.node_pools[0].instance_types.push("m5.large".into()),
                &["node_pools[0].instance_types[2]"],
            ),
            ("max zero", |s| s.node_pools[1].max = 0, &["node_pools[1].max"]),
            ("max too large", |s| s.node_pools[1].max = 1001, &["node_pools[1].max"]),
            ("min above max", |s| s.node_pools[1].min = 11, &["node_pools[1].min"]),
            ("desired above max", |s| s.node_pools[0].desired = Some(6), &["node_pools[0].desired"]),
            ("desired below min", |s| s.node_pools[0].desired = Some(1), &["node_pools[0].desired"]),
            (
                "label key invalid",
                |s| _ = s.node_pools[0].labels.insert("bad key".into(), "v".into()),
                &[r#"node_pools[0].labels["bad key"]"#],
            ),
            (
                "label value invalid",
                |s| _ = s.node_pools[0].labels.insert("team".into(), "-shop".into()),
                &[r#"node_pools[0].labels["team"]"#],
            ),
            (
                "label kubernetes.io prefix",
                |s| _ = s.node_pools[0].labels.insert("kubernetes.io/role".into(), "web".into()),
                &[r#"node_pools[0].labels["kubernetes.io/role"]"#],
            ),
            (
                "label k8s.io prefix",
                |s| _ = s.node_pools[0].labels.insert("k8s.io/x".into(), "y".into()),
                &[r#"node_pools[0].labels["k8s.io/x"]"#],
            ),
            ("taint key invalid", |s| s.node_pools[0].taints[0].key = "a/b/c".into(), &["node_pools[0].taints[0].key"]),
            (
                "taint value invalid",
                |s| {
                    s.node_pools[1].taints.push(Taint {
                        key: "spot".into(),
                        value: Some("yes please".into()),
                        effect: TaintEffect::NoExecute,
                    })
                },
                &["node_pools[1].taints[0].value"],
            ),
            ("disk too small", |s| s.node_pools[0].disk.size_gib = 19, &["node_pools[0].disk.size_gib"]),
            ("disk too large", |s| s.node_pools[0].disk.size_gib = 16385, &["node_pools[0].disk.size_gib"]),
            ("zone empty", |s| s.node_pools[0].zones[0].clear(), &["node_pools[0].zones[0]"]),
            ("zone duplicate", |s| s.node_pools[0].zones[1] = "eu-west-1a".into(), &["node_pools[0].zones[1]"]),
            ("network id empty", |s| s.network.network_id = Some(" ".into()), &["network.network_id"]),
            (
                "subnet id empty",
                |s| s.network.subnet_ids = vec!["subnet-1".into(), "".into()],
                &["network.subnet_ids[1]"],
            ),
            ("vpc cidr invalid", |s| s.network.vpc_cidr = Some("10.0.0.0/33".into()), &["network.vpc_cidr"]),
            ("pod cidr host bits", |s| s.network.pod_cidr = Some("10.100.0.1/16".into()), &["network.pod_cidr"]),
            ("service cidr invalid", |s| s.network.service_cidr = Some("nope".into()), &["network.service_cidr"]),
            ("pod overlaps vpc", |s| s.network.pod_cidr = Some("10.0.128.0/17".into()), &["network.pod_cidr"]),
            ("service overlaps vpc", |s| s.network.service_cidr = Some("10.0.0.0/8".into()), &["network.service_cidr"]),
            (
                "service overlaps pod",
                |s| s.network.service_cidr = Some("10.100.5.0/24".into()),
                &["network.service_cidr"],
            ),
            (
                "public cidr invalid",
                |s| s.network.public_access_cidrs.push("1.2.3.4".into()),
                &["network.public_access_cidrs[1]"],
            ),
            (
                "public cidrs with private endpoint",
                |s| s.network.endpoint_access = EndpointAccess::Private,
                &["network.public_access_cidrs"],
            ),
            ("tag key empty", |s| _ = s.tags.insert(String::new(), "v".into()), &[r#"tags[""]"#]),
            ("tag value too long", |s| _ = s.tags.insert("team".into(), "v".repeat(257)), &[r#"tags["team"]"#]),
            (
                "owner tag reserved",
                |s| _ = s.tags.insert(OWNER_TAG.into(), "me".into()),
                &[r#"tags["wooo.dev/managed-by"]"#],
            ),
        ];
        for (name, mutate, expected) in cases {
            let mut spec = valid();
            mutate(&mut spec);
            assert_eq!(fields(cluster_spec(&spec)), *expected, "case `{name}`");
        }
    }

    #[test]
    fn tag_key_length_is_limited() {
        let mut spec = valid();
        let long = "k".repeat(129);
        spec.tags.insert(long.clone(), "v".into());
        assert_eq!(fields(cluster_spec(&spec)), [format!("tags[{long:?}]")]);
    }

    #[test]
    fn limits_are_inclusive() {
        let mut spec = valid();
        spec.name = "a".repeat(40);
        spec.node_pools[0].name = "p".repeat(32);
        spec.node_pools[0].disk.size_gib = 20;
        spec.node_pools[1].disk.size_gib = 16384;
        spec.node_pools[1].max = 1000;
        spec.node_pools[1].min = 1000;
        spec.tags.insert("k".repeat(128), "v".repeat(256));
        spec.network.endpoint_access = EndpointAccess::Public;
        assert!(cluster_spec(&spec).is_ok(), "{:?}", cluster_spec(&spec));
    }

    #[test]
    fn three_problems_are_all_reported_in_field_order() {
        let mut spec = valid();
        spec.name = "Bad_Name".into();
        spec.node_pools[1].instance_types.clear();
        spec.network.service_cidr = Some("10.0.1.0/24".into());
        let err = cluster_spec(&spec).unwrap_err();
        assert_eq!(
            err.violations().iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            ["name", "node_pools[1].instance_types", "network.service_cidr"]
        );
        let overlap = &err.violations()[2].reason;
        assert!(overlap.contains("overlaps vpc_cidr (10.0.0.0/16)"), "{overlap}");
        assert!(err.to_string().contains("and 2 more"), "{err}");
    }

    #[test]
    fn min_above_max_is_reported_once() {
        let mut spec = valid();
        spec.node_pools[0].min = 9;
        spec.node_pools[0].desired = Some(7);
        assert_eq!(fields(cluster_spec(&spec)), ["node_pools[0].min"]);
    }
}
