//! Cluster plans: the pure diff between a spec and the cluster as it is.
//!
//! [`cluster`] compares a desired [`ClusterSpec`] with the spec a provider reports for the running cluster and
//! lists what applying it changes, in the order the changes would be made:
//!
//! 1. the cluster itself (target `cluster`): `Create`, `Replace`, `UpdateInPlace` or `NoOp`;
//! 2. node pools that stay or are added (target `node_pool/<name>`), sorted by name;
//! 3. node pools that go away (`Delete`), last, so new capacity exists before old capacity is removed.
//!
//! Field paths in [`PlannedChange::fields`] are spec paths. Cluster fields are written as in the spec
//! (`region`, `network.pod_cidr`, `kubernetes_version`, `tags["team"]`); node pool fields are prefixed with the
//! pool's target (`node_pool/web.max`, `node_pool/web.disk.size_gib`, `node_pool/web.labels["team"]`). Map
//! entries are listed one key at a time; lists whose order means nothing (subnet ids, public access CIDRs,
//! zones, taints) are compared as sets.
//!
//! The plan does not validate the spec (call [`crate::validate::cluster_spec`] first); it only refuses what no
//! provider can do.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::model::{
    ChangeAction, Cluster, ClusterPlan, ClusterSpec, Labels, NodePoolSpec, OWNER_TAG, PlannedChange, Taint,
};
use crate::validate::KubernetesVersion;

/// The target of the cluster change.
const CLUSTER: &str = "cluster";

/// What applying `desired` to `current` (None: no cluster yet) changes, in order.
///
/// Provider, region, network id, subnets and the VPC, pod and service CIDRs cannot change on a running
/// cluster: changing any of them replaces the cluster and every node pool with it (a Kubernetes "downgrade" is
/// then allowed, as the new cluster starts fresh). Endpoint access, public access CIDRs, tags and Kubernetes
/// upgrades change in place. wooo's ownership tag ([`OWNER_TAG`]), which providers add and report back, is not
/// compared.
///
/// ```
/// use wooo_core::model::{ChangeAction, ClusterSpec, from_yaml};
/// let spec: ClusterSpec = from_yaml(r#"
/// name: demo
/// provider: sim
/// region: us-east-1
/// kubernetes_version: "1.33"
/// node_pools: [{name: general, instance_types: [m5.large], min: 1, max: 3}]
/// "#).unwrap();
/// let plan = wooo_core::plan::cluster(&spec, None).unwrap();
/// let targets: Vec<_> = plan.changes.iter().map(|c| (c.target.as_str(), c.action)).collect();
/// assert_eq!(targets, [("cluster", ChangeAction::Create), ("node_pool/general", ChangeAction::Create)]);
/// ```
///
/// # Errors
/// [`crate::Error::InvalidSpec`] for changes no provider can make: a Kubernetes downgrade of a cluster that is
/// kept (field `kubernetes_version`), an unparseable desired version (same field), or a `current` cluster with
/// another name (field `name`).
pub fn cluster(desired: &ClusterSpec, current: Option<&Cluster>) -> Result<ClusterPlan> {
    cluster_with(desired, current, &PlanRules::default())
}

/// How a provider's clusters differ from the plain rules of [`cluster`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanRules {
    /// A node pool's size after creation belongs to the cluster autoscaler (EKS managed node groups, AKS and
    /// GKE autoscaled pools): `desired` is used when the pool is created and never compared afterwards, so a
    /// re-apply does not fight the autoscaler. `min` and `max` are still compared.
    pub autoscaler_owns_desired: bool,
}

/// [`cluster`] under a provider's [`PlanRules`].
///
/// ```
/// use wooo_core::model::{Cluster, ClusterSpec, ClusterStatus, from_yaml};
/// use wooo_core::plan::{PlanRules, cluster_with};
/// let spec: ClusterSpec = from_yaml(r#"
/// name: demo
/// provider: aws
/// region: us-east-1
/// kubernetes_version: "1.33"
/// node_pools: [{name: general, instance_types: [m5.large], min: 1, max: 9, desired: 2}]
/// "#).unwrap();
/// // The autoscaler has since grown the pool to 7 nodes.
/// let mut live = spec.clone();
/// live.node_pools[0].desired = Some(7);
/// let current = Cluster { id: spec.id(), spec: live, status: ClusterStatus::default() };
/// let rules = PlanRules { autoscaler_owns_desired: true };
/// assert!(cluster_with(&spec, Some(&current), &rules).unwrap().is_noop());
/// assert!(!wooo_core::plan::cluster(&spec, Some(&current)).unwrap().is_noop());
/// ```
///
/// # Errors
/// As [`cluster`].
pub fn cluster_with(desired: &ClusterSpec, current: Option<&Cluster>, rules: &PlanRules) -> Result<ClusterPlan> {
    let version = KubernetesVersion::parse(&desired.kubernetes_version)
        .map_err(|reason| Error::invalid_spec("kubernetes_version", reason))?;
    let mut pools: Vec<&NodePoolSpec> = desired.node_pools.iter().collect();
    pools.sort_by(|a, b| a.name.cmp(&b.name));

    let Some(current) = current else {
        let mut changes = vec![change(
            CLUSTER,
            ChangeAction::Create,
            Vec::new(),
            format!("new {} cluster in {} running Kubernetes {version}", desired.provider, desired.region),
        )];
        changes.extend(pools.iter().map(|p| create_pool(p)));
        return Ok(ClusterPlan { cluster: desired.id(), changes });
    };
    if current.id != desired.id() {
        return Err(Error::invalid_spec(
            "name",
            format!("the spec is for cluster `{}` but was compared with cluster `{}`", desired.name, current.id),
        ));
    }

    let cluster_change = cluster_change(desired, &current.spec, version)?;
    let cluster_replaced = cluster_change.action == ChangeAction::Replace;
    let mut changes = vec![cluster_change];
    for pool in pools {
        changes.push(match current.spec.node_pool(&pool.name) {
            None => create_pool(pool),
            Some(old) => pool_change(old, pool, cluster_replaced, rules),
        });
    }
    let mut gone: Vec<&NodePoolSpec> =
        current.spec.node_pools.iter().filter(|p| desired.node_pool(&p.name).is_none()).collect();
    gone.sort_by(|a, b| a.name.cmp(&b.name));
    changes.extend(
        gone.into_iter().map(|p| {
            change(&pool_target(&p.name), ChangeAction::Delete, Vec::new(), "no longer in the spec".to_string())
        }),
    );
    Ok(ClusterPlan { cluster: desired.id(), changes })
}

fn change(target: &str, action: ChangeAction, fields: Vec<String>, reason: String) -> PlannedChange {
    PlannedChange { target: target.to_string(), action, fields, reason }
}

fn pool_target(name: &str) -> String {
    format!("node_pool/{name}")
}

fn create_pool(p: &NodePoolSpec) -> PlannedChange {
    change(
        &pool_target(&p.name),
        ChangeAction::Create,
        Vec::new(),
        format!("new {} node pool of {} to {} × {}", p.capacity, p.min, p.max, p.instance_types.join(" | ")),
    )
}

fn cluster_change(desired: &ClusterSpec, current: &ClusterSpec, version: KubernetesVersion) -> Result<PlannedChange> {
    let (d, c) = (&desired.network, &current.network);
    let mut replace = Vec::new();
    push_if(&mut replace, desired.provider != current.provider, "provider");
    push_if(&mut replace, desired.region != current.region, "region");
    push_if(&mut replace, d.network_id != c.network_id, "network.network_id");
    push_if(&mut replace, !same_set(&d.subnet_ids, &c.subnet_ids), "network.subnet_ids");
    push_if(&mut replace, d.vpc_cidr != c.vpc_cidr, "network.vpc_cidr");
    push_if(&mut replace, d.pod_cidr != c.pod_cidr, "network.pod_cidr");
    push_if(&mut replace, d.service_cidr != c.service_cidr, "network.service_cidr");

    let mut update = Vec::new();
    push_if(&mut update, d.endpoint_access != c.endpoint_access, "network.endpoint_access");
    push_if(&mut update, !same_set(&d.public_access_cidrs, &c.public_access_cidrs), "network.public_access_cidrs");
    update.extend(map_diff("tags", &desired.tags, &current.tags, Some(OWNER_TAG)));

    if !replace.is_empty() {
        let reason =
            format!("{} cannot change in place: the cluster is deleted and created again", names(&replace, ""));
        let mut fields = replace;
        fields.extend(update);
        push_if(&mut fields, desired.kubernetes_version != current.kubernetes_version, "kubernetes_version");
        return Ok(change(CLUSTER, ChangeAction::Replace, fields, reason));
    }

    let mut reasons = Vec::new();
    if !update.is_empty() {
        reasons.push(format!("{} change in place", names(&update, "")));
    }
    if let Some(upgrade) = version_change(version, &current.kubernetes_version)? {
        update.insert(0, "kubernetes_version".to_string());
        reasons.insert(0, upgrade);
    }
    Ok(if update.is_empty() {
        change(CLUSTER, ChangeAction::NoOp, Vec::new(), "up to date".to_string())
    } else {
        change(CLUSTER, ChangeAction::UpdateInPlace, update, reasons.join("; "))
    })
}

/// The in-place version change from `running` to `desired`, if any. Kubernetes control planes move one minor at
/// a time and never back, so a skip is spelt out as steps and a downgrade is refused.
fn version_change(desired: KubernetesVersion, running: &str) -> Result<Option<String>> {
    let Some(current) = parse_running(running) else {
        return Ok(Some(format!("running version `{running}` is not recognised: set Kubernetes {desired}")));
    };
    if desired.minor < current.minor {
        return Err(Error::invalid_spec(
            "kubernetes_version",
            format!(
                "cannot downgrade Kubernetes from {current} to {desired}: clusters only upgrade (create a new \
                 cluster to go back)"
            ),
        ));
    }
    if desired.minor > current.minor {
        let from = format!("1.{}", current.minor);
        if desired.minor == current.minor + 1 {
            return Ok(Some(format!("upgrade {from} → {desired}")));
        }
        let mut steps: Vec<String> = (current.minor + 1..desired.minor).map(|m| format!("1.{m}")).collect();
        steps.push(desired.to_string());
        return Ok(Some(format!("upgrade {from} → {desired} in steps {}", steps.join(", "))));
    }
    Ok(match desired.patch {
        Some(patch) if Some(patch) != current.patch => Some(format!("patch {current} → {desired}")),
        _ => None,
    })
}

/// Providers report versions with decorations (`v1.33.2`, `1.33.2-eks-1234`, `v1.33.2+k3s1`); the plan only
/// needs the minor and patch.
fn parse_running(s: &str) -> Option<KubernetesVersion> {
    let s = s.trim().strip_prefix('v').unwrap_or(s.trim());
    let core = s.split(['-', '+']).next().unwrap_or(s);
    KubernetesVersion::parse(core).ok()
}

fn pool_change(old: &NodePoolSpec, new: &NodePoolSpec, cluster_replaced: bool, rules: &PlanRules) -> PlannedChange {
    let target = pool_target(&new.name);
    let prefix = format!("{target}.");
    let field = |f: &str| format!("{prefix}{f}");
    let mut replace = Vec::new();
    push_if(&mut replace, old.instance_types != new.instance_types, &field("instance_types"));
    push_if(&mut replace, old.capacity != new.capacity, &field("capacity"));
    push_if(&mut replace, old.disk.size_gib != new.disk.size_gib, &field("disk.size_gib"));
    push_if(&mut replace, old.disk.kind != new.disk.kind, &field("disk.kind"));
    push_if(&mut replace, !same_set(&old.zones, &new.zones), &field("zones"));

    let mut update = Vec::new();
    push_if(&mut update, old.min != new.min, &field("min"));
    push_if(&mut update, old.max != new.max, &field("max"));
    // `desired: None` means `min`; compare what each side asks for, not how it was written.
    let desired_differs = old.desired_count() != new.desired_count();
    push_if(&mut update, desired_differs && !rules.autoscaler_owns_desired, &field("desired"));
    update.extend(map_diff(&field("labels"), &new.labels, &old.labels, None));
    push_if(&mut update, !same_taints(&old.taints, &new.taints), &field("taints"));

    if cluster_replaced {
        let mut fields = replace;
        fields.extend(update);
        return change(&target, ChangeAction::Replace, fields, "replaced with its cluster".to_string());
    }
    if !replace.is_empty() {
        let reason =
            format!("{} cannot change in place: the pool is deleted and created again", names(&replace, &prefix));
        let mut fields = replace;
        fields.extend(update);
        return change(&target, ChangeAction::Replace, fields, reason);
    }
    if !update.is_empty() {
        let reason = format!("{} change in place", names(&update, &prefix));
        return change(&target, ChangeAction::UpdateInPlace, update, reason);
    }
    change(&target, ChangeAction::NoOp, Vec::new(), "up to date".to_string())
}

fn push_if(fields: &mut Vec<String>, differs: bool, field: &str) {
    if differs {
        fields.push(field.to_string());
    }
}

/// `prefix["key"]` for every key whose value differs (added, removed or changed), in key order.
fn map_diff(prefix: &str, a: &Labels, b: &Labels, ignore: Option<&str>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| Some(k.as_str()) != ignore && a.get(*k) != b.get(*k))
        .map(|k| format!("{prefix}[{k:?}]"))
        .collect()
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

fn same_taints(a: &[Taint], b: &[Taint]) -> bool {
    a.len() == b.len() && a.iter().all(|t| b.contains(t)) && b.iter().all(|t| a.contains(t))
}

/// Field names for a reason: without the target prefix, one entry per map (`labels`, not every key).
fn names(fields: &[String], prefix: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for f in fields {
        let short = f.strip_prefix(prefix).unwrap_or(f);
        let short = short.split_once('[').map_or(short, |(map, _)| map);
        if !out.contains(&short) {
            out.push(short);
        }
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capacity, CloudKind, ClusterStatus, EndpointAccess, TaintEffect, from_yaml};

    const SPEC: &str = r#"
name: demo
provider: aws
region: eu-west-1
kubernetes_version: "1.32"
node_pools:
  - name: web
    instance_types: [m5.large]
    min: 2
    max: 5
    labels: {team: shop}
    taints: [{key: dedicated, value: web, effect: NoSchedule}, {key: zone, effect: NoExecute}]
    zones: [eu-west-1a, eu-west-1b]
  - name: batch
    instance_types: [c5.large]
    min: 0
    max: 10
    capacity: spot
network:
  subnet_ids: [subnet-a, subnet-b]
  vpc_cidr: 10.0.0.0/16
  public_access_cidrs: [203.0.113.0/24, 198.51.100.0/24]
tags: {team: shop}
"#;

    fn spec() -> ClusterSpec {
        from_yaml(SPEC).unwrap()
    }

    fn running(spec: ClusterSpec) -> Cluster {
        Cluster { id: spec.id(), spec, status: ClusterStatus::default() }
    }

    fn plan_for(mutate: impl FnOnce(&mut ClusterSpec)) -> Result<ClusterPlan> {
        let mut desired = spec();
        mutate(&mut desired);
        cluster(&desired, Some(&running(spec())))
    }

    fn actions(plan: &ClusterPlan) -> Vec<(&str, ChangeAction)> {
        plan.changes.iter().map(|c| (c.target.as_str(), c.action)).collect()
    }

    fn the<'a>(plan: &'a ClusterPlan, target: &str) -> &'a PlannedChange {
        plan.changes.iter().find(|c| c.target == target).unwrap_or_else(|| panic!("no change for {target}: {plan}"))
    }

    use ChangeAction::{Create, Delete, NoOp, Replace, UpdateInPlace};

    /// A change to the desired spec and what the plan should say about it.
    type SpecCase<T> = (fn(&mut ClusterSpec), T);
    /// A change to the desired `web` pool and what the plan should say about it.
    type PoolCase<T> = (fn(&mut NodePoolSpec), T);

    #[test]
    fn no_cluster_creates_cluster_then_pools_by_name() {
        let plan = cluster(&spec(), None).unwrap();
        assert_eq!(plan.cluster.as_str(), "demo");
        assert_eq!(actions(&plan), [("cluster", Create), ("node_pool/batch", Create), ("node_pool/web", Create)]);
        assert!(!plan.is_noop());
        assert!(!plan.is_destructive());
        assert!(plan.changes[1].reason.contains("spot"), "{plan}");
    }

    #[test]
    fn same_spec_is_a_noop() {
        let plan = plan_for(|_| {}).unwrap();
        assert_eq!(actions(&plan), [("cluster", NoOp), ("node_pool/batch", NoOp), ("node_pool/web", NoOp)]);
        assert!(plan.is_noop());
        assert!(!plan.is_destructive());
    }

    #[test]
    fn order_and_ownership_tag_and_set_fields_do_not_count() {
        let mut current = spec();
        current.tags.insert(OWNER_TAG.into(), "wooo".into());
        current.node_pools.reverse();
        current.network.subnet_ids.reverse();
        current.network.public_access_cidrs.reverse();
        current.node_pools[1].zones.reverse();
        current.node_pools[1].taints.reverse();
        // `desired: None` asks for `min`, like an explicit `desired` equal to `min`.
        current.node_pools[1].desired = Some(2);
        let plan = cluster(&spec(), Some(&running(current))).unwrap();
        assert!(plan.is_noop(), "{plan}");
    }

    #[test]
    fn provider_or_region_change_replaces_cluster_and_every_pool() {
        for (mutate, field) in [
            (Box::new(|s: &mut ClusterSpec| s.provider = CloudKind::Gcp) as Box<dyn Fn(&mut ClusterSpec)>, "provider"),
            (Box::new(|s: &mut ClusterSpec| s.region = "eu-central-1".into()), "region"),
        ] {
            let plan = plan_for(|s| {
                mutate(s);
                s.node_pools.push(NodePoolSpec { name: "api".into(), ..s.node_pools[0].clone() });
                s.node_pools.retain(|p| p.name != "batch");
            })
            .unwrap();
            assert_eq!(
                actions(&plan),
                [
                    ("cluster", Replace),
                    ("node_pool/api", Create),
                    ("node_pool/web", Replace),
                    ("node_pool/batch", Delete)
                ]
            );
            assert_eq!(plan.changes[0].fields, [field]);
            assert!(plan.changes[0].reason.contains(field), "{plan}");
            assert!(plan.changes[0].reason.contains("created again"), "{plan}");
            assert_eq!(the(&plan, "node_pool/web").reason, "replaced with its cluster");
            assert!(plan.is_destructive());
            assert!(!plan.is_noop());
        }
    }

    #[test]
    fn network_changes_replace_the_cluster() {
        let cases: [SpecCase<&str>; 5] = [
            (|s| s.network.network_id = Some("vpc-123".into()), "network.network_id"),
            (|s| s.network.subnet_ids.push("subnet-c".into()), "network.subnet_ids"),
            (|s| s.network.vpc_cidr = Some("10.1.0.0/16".into()), "network.vpc_cidr"),
            (|s| s.network.pod_cidr = Some("10.100.0.0/16".into()), "network.pod_cidr"),
            (|s| s.network.service_cidr = Some("172.20.0.0/16".into()), "network.service_cidr"),
        ];
        for (mutate, field) in cases {
            let plan = plan_for(mutate).unwrap();
            assert_eq!(plan.changes[0].action, Replace, "{field}: {plan}");
            assert_eq!(plan.changes[0].fields, [field]);
            assert!(plan.changes[1..].iter().all(|c| c.action == Replace), "{plan}");
            assert!(plan.is_destructive());
        }
    }

    #[test]
    fn replacement_lists_in_place_fields_too_and_allows_a_lower_version() {
        let plan = plan_for(|s| {
            s.region = "us-east-1".into();
            s.kubernetes_version = "1.30".into();
            s.tags.insert("env".into(), "prod".into());
        })
        .unwrap();
        assert_eq!(plan.changes[0].action, Replace);
        assert_eq!(plan.changes[0].fields, ["region", r#"tags["env"]"#, "kubernetes_version"]);
    }

    #[test]
    fn access_and_tags_update_in_place() {
        let cases: [SpecCase<&[&str]>; 4] = [
            (|s| s.network.endpoint_access = EndpointAccess::Public, &["network.endpoint_access"]),
            (
                |s| {
                    s.network.public_access_cidrs.pop();
                },
                &["network.public_access_cidrs"],
            ),
            (|s| _ = s.tags.insert("env".into(), "prod".into()), &[r#"tags["env"]"#]),
            (
                |s| {
                    s.tags.clear();
                    s.tags.insert("cost".into(), "1".into());
                },
                &[r#"tags["cost"]"#, r#"tags["team"]"#],
            ),
        ];
        for (mutate, fields) in cases {
            let plan = plan_for(mutate).unwrap();
            assert_eq!(plan.changes[0].action, UpdateInPlace, "{plan}");
            assert_eq!(plan.changes[0].fields, fields);
            assert!(plan.changes[0].reason.ends_with("change in place"), "{plan}");
            assert!(plan.changes[1..].iter().all(|c| c.action == NoOp), "{plan}");
            assert!(!plan.is_destructive());
        }
    }

    #[test]
    fn kubernetes_versions() {
        let version = |v: &'static str| plan_for(move |s| s.kubernetes_version = v.into());
        assert!(version("1.32").unwrap().is_noop());

        let plan = version("1.33").unwrap();
        assert_eq!(plan.changes[0].action, UpdateInPlace);
        assert_eq!(plan.changes[0].fields, ["kubernetes_version"]);
        assert_eq!(plan.changes[0].reason, "upgrade 1.32 → 1.33");
        assert!(!plan.is_destructive());

        let plan = version("1.35").unwrap();
        assert_eq!(plan.changes[0].reason, "upgrade 1.32 → 1.35 in steps 1.33, 1.34, 1.35");

        let plan = version("1.32.4").unwrap();
        assert_eq!(plan.changes[0].action, UpdateInPlace);
        assert_eq!(plan.changes[0].reason, "patch 1.32 → 1.32.4");

        let err = version("1.31").unwrap_err();
        assert_eq!(err.violations()[0].field, "kubernetes_version");
        assert!(err.to_string().contains("downgrade"), "{err}");
        assert_eq!(version("1.31.9").unwrap_err().violations()[0].field, "kubernetes_version");
        assert_eq!(version("latest").unwrap_err().violations()[0].field, "kubernetes_version");
        assert_eq!(
            cluster(&ClusterSpec { kubernetes_version: "2".into(), ..spec() }, None).unwrap_err().kind(),
            crate::ErrorKind::InvalidSpec
        );
    }

    #[test]
    fn running_versions_compare_by_minor_and_patch() {
        let against = |desired: &str, current: &str| {
            let mut cur = spec();
            cur.kubernetes_version = current.into();
            let mut want = spec();
            want.kubernetes_version = desired.into();
            cluster(&want, Some(&running(cur)))
        };
        // A minor-only spec accepts any patch of that minor.
        assert!(against("1.32", "1.32.7").unwrap().is_noop());
        assert!(against("1.32.7", "1.32.7").unwrap().is_noop());
        assert!(against("1.32.7", "v1.32.7-eks-1234").unwrap().is_noop());
        assert!(against("1.32.7", "v1.32.7+k3s1").unwrap().is_noop());
        // A patch-only difference, either way, is an in-place update.
        assert_eq!(against("1.32.5", "1.32.7").unwrap().changes[0].reason, "patch 1.32.7 → 1.32.5");
        assert_eq!(against("1.33", "1.32.7").unwrap().changes[0].reason, "upgrade 1.32 → 1.33");
        let odd = against("1.33", "unknown").unwrap();
        assert_eq!(odd.changes[0].action, UpdateInPlace);
        assert!(odd.changes[0].reason.contains("not recognised"), "{odd}");
        assert!(against("1.32", "1.33.1").is_err());
    }

    #[test]
    fn version_upgrade_and_other_in_place_changes_share_one_change() {
        let plan = plan_for(|s| {
            s.kubernetes_version = "1.34".into();
            s.tags.insert("env".into(), "prod".into());
        })
        .unwrap();
        assert_eq!(plan.changes[0].fields, ["kubernetes_version", r#"tags["env"]"#]);
        assert_eq!(plan.changes[0].reason, "upgrade 1.32 → 1.34 in steps 1.33, 1.34; tags change in place");
    }

    #[test]
    fn pool_changes_that_need_new_nodes_replace_the_pool() {
        let cases: [PoolCase<&str>; 5] = [
            (|p| p.instance_types.push("m5a.large".into()), "instance_types"),
            (|p| p.capacity = Capacity::Spot, "capacity"),
            (|p| p.disk.size_gib = 200, "disk.size_gib"),
            (|p| p.disk.kind = Some("gp3".into()), "disk.kind"),
            (|p| p.zones.push("eu-west-1c".into()), "zones"),
        ];
        for (mutate, field) in cases {
            let plan = plan_for(|s| mutate(&mut s.node_pools[0])).unwrap();
            let web = the(&plan, "node_pool/web");
            assert_eq!(web.action, Replace, "{field}: {plan}");
            assert_eq!(web.fields, [format!("node_pool/web.{field}")]);
            assert!(web.reason.starts_with(&format!("{field} cannot change in place")), "{plan}");
            assert_eq!(the(&plan, "cluster").action, NoOp);
            assert_eq!(the(&plan, "node_pool/batch").action, NoOp);
            assert!(plan.is_destructive());
        }
    }

    #[test]
    fn instance_type_order_is_a_preference_and_counts() {
        let mut current = spec();
        current.node_pools[0].instance_types = vec!["m5.large".into(), "m5a.large".into()];
        let mut desired = spec();
        desired.node_pools[0].instance_types = vec!["m5a.large".into(), "m5.large".into()];
        let plan = cluster(&desired, Some(&running(current))).unwrap();
        assert_eq!(the(&plan, "node_pool/web").fields, ["node_pool/web.instance_types"]);
    }

    #[test]
    fn pool_sizes_labels_and_taints_update_in_place() {
        let cases: [PoolCase<&[&str]>; 7] = [
            (|p| p.min = 1, &["node_pool/web.min", "node_pool/web.desired"]),
            (|p| p.max = 8, &["node_pool/web.max"]),
            (|p| p.desired = Some(4), &["node_pool/web.desired"]),
            (|p| _ = p.labels.insert("tier".into(), "front".into()), &[r#"node_pool/web.labels["tier"]"#]),
            (|p| p.labels.clear(), &[r#"node_pool/web.labels["team"]"#]),
            (
                |p| {
                    p.taints.pop();
                },
                &["node_pool/web.taints"],
            ),
            (|p| p.taints[0].effect = TaintEffect::PreferNoSchedule, &["node_pool/web.taints"]),
        ];
        for (mutate, fields) in cases {
            let plan = plan_for(|s| mutate(&mut s.node_pools[0])).unwrap();
            let web = the(&plan, "node_pool/web");
            assert_eq!(web.action, UpdateInPlace, "{plan}");
            assert_eq!(web.fields, fields);
            assert!(web.reason.ends_with("change in place"), "{plan}");
            assert!(!plan.is_destructive());
            assert!(!plan.is_noop());
        }
        let plan = plan_for(|s| {
            s.node_pools[0].min = 3;
            s.node_pools[0].max = 6;
            s.node_pools[0].labels.insert("a".into(), "b".into());
            s.node_pools[0].labels.insert("c".into(), "d".into());
        })
        .unwrap();
        assert_eq!(the(&plan, "node_pool/web").reason, "min, max, desired, labels change in place");
    }

    #[test]
    fn replacing_a_pool_lists_its_in_place_fields_too() {
        let plan = plan_for(|s| {
            s.node_pools[0].capacity = Capacity::Spot;
            s.node_pools[0].max = 9;
        })
        .unwrap();
        let web = the(&plan, "node_pool/web");
        assert_eq!(web.action, Replace);
        assert_eq!(web.fields, ["node_pool/web.capacity", "node_pool/web.max"]);
        assert!(web.reason.starts_with("capacity cannot change in place"), "{plan}");
    }

    #[test]
    fn new_pools_are_created_in_name_order_and_gone_pools_deleted_last() {
        let plan = plan_for(|s| {
            s.node_pools.retain(|p| p.name != "batch");
            let mut gpu = s.node_pools[0].clone();
            gpu.name = "gpu".into();
            let mut arm = s.node_pools[0].clone();
            arm.name = "arm".into();
            s.node_pools.push(gpu);
            s.node_pools.push(arm);
            s.node_pools[0].max = 6;
        })
        .unwrap();
        assert_eq!(
            actions(&plan),
            [
                ("cluster", NoOp),
                ("node_pool/arm", Create),
                ("node_pool/gpu", Create),
                ("node_pool/web", UpdateInPlace),
                ("node_pool/batch", Delete),
            ]
        );
        assert!(plan.is_destructive());
        assert_eq!(the(&plan, "node_pool/batch").reason, "no longer in the spec");
        assert!(plan.to_string().contains("- node_pool/batch (Delete)"), "{plan}");
    }

    #[test]
    fn comparing_with_another_cluster_is_refused() {
        let mut other = spec();
        other.name = "other".into();
        let err = cluster(&spec(), Some(&running(other))).unwrap_err();
        assert_eq!(err.violations()[0].field, "name");
    }
}
