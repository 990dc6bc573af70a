//! `aws::Eks` against a real moto server (EKS, EC2, IAM, STS): the provisioner conformance suite, nothing left
//! behind, no write on an unchanged re-apply, checks before any write, and convergence through a proxy that
//! fails a share of requests before and after moto saw them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use wooo_core::conformance;
use wooo_core::model::{CloudKind, ClusterSpec, from_yaml};
use wooo_core::prelude::*;
use wooo_providers::aws::testing::{Moto, sdk_config};
use wooo_providers::aws::{CLUSTER_TAG, Eks, EksBuilder};
use wooo_tests::fault_proxy::{FaultProxy, is_write};

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(120),
        interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(200),
        jitter_percent: 10,
    }
}

fn eks(endpoint: &str) -> Eks {
    EksBuilder::with_sdk_config(sdk_config(endpoint)).wait(wait()).attempts(8).build().expect("builds")
}

fn spec(name: &str) -> ClusterSpec {
    from_yaml(&format!(
        r#"
name: {name}
provider: aws
region: us-east-1
kubernetes_version: "1.32"
node_pools:
  - name: general
    instance_types: [m5.large]
    min: 1
    max: 4
    desired: 2
  - name: spot
    instance_types: [m5.large, m5a.large]
    min: 0
    max: 6
    capacity: spot
    labels: {{lifecycle: spot}}
    taints: [{{key: spot, value: "true", effect: NoSchedule}}]
tags: {{team: platform}}
"#
    ))
    .expect("spec")
}

fn addr(moto: &Moto) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], moto.port()))
}

/// What wooo created in EC2 and IAM for `cluster`, by kind, as moto holds it now.
async fn leftovers(moto: &Moto, cluster: &str) -> Vec<String> {
    let config = sdk_config(&moto.endpoint());
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let filter = aws_sdk_ec2::types::Filter::builder().name(format!("tag:{CLUSTER_TAG}")).values(cluster).build();
    let mut out = Vec::new();
    for v in ec2.describe_vpcs().filters(filter.clone()).send().await.expect("vpcs").vpcs() {
        out.push(format!("vpc {}", v.vpc_id().unwrap_or_default()));
    }
    for s in ec2.describe_subnets().filters(filter.clone()).send().await.expect("subnets").subnets() {
        out.push(format!("subnet {}", s.subnet_id().unwrap_or_default()));
    }
    let igws = ec2.describe_internet_gateways().filters(filter.clone()).send().await.expect("igws");
    for g in igws.internet_gateways() {
        out.push(format!("igw {}", g.internet_gateway_id().unwrap_or_default()));
    }
    let tables = ec2.describe_route_tables().filters(filter.clone()).send().await.expect("route tables");
    for t in tables.route_tables() {
        out.push(format!("route table {}", t.route_table_id().unwrap_or_default()));
    }
    for a in ec2.describe_addresses().filters(filter.clone()).send().await.expect("addresses").addresses() {
        out.push(format!("address {}", a.allocation_id().unwrap_or_default()));
    }
    let nats = ec2.describe_nat_gateways().filter(filter).send().await.expect("nat gateways");
    for n in nats.nat_gateways().iter().filter(|n| n.state().is_none_or(|s| s.as_str() != "deleted")) {
        out.push(format!("nat {}", n.nat_gateway_id().unwrap_or_default()));
    }
    let iam = aws_sdk_iam::Client::new(&config);
    for r in iam.list_roles().send().await.expect("roles").roles() {
        if r.role_name().contains(&format!("wooo-{cluster}-")) {
            out.push(format!("role {}", r.role_name()));
        }
    }
    out.sort();
    out
}

fn kinds(resources: &[String]) -> BTreeSet<String> {
    resources.iter().map(|r| r.rsplit_once(' ').map_or(r.clone(), |(k, _)| k.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eks_passes_the_provisioner_conformance_suite_on_moto() {
    let Some(moto) = Moto::start() else { return };
    let eks = eks(&moto.endpoint());
    let spec = conformance::sample_cluster_spec("conformance-eks", CloudKind::Aws, "us-east-1", "m5.large");
    conformance::provisioner_lifecycle(&eks, &spec, &wait()).await;
    assert!(leftovers(&moto, "conformance-eks").await.is_empty(), "nothing left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_with_its_own_network_leaves_nothing_behind() {
    let Some(moto) = Moto::start() else { return };
    let eks = eks(&moto.endpoint());
    let spec = spec("shop");
    let cluster = eks.ensure(&spec, &wait(), &Progress::none()).await.expect("ensure");
    assert!(cluster.is_ready() && cluster.status.owned);
    assert_eq!(cluster.status.kubernetes_version.as_deref(), Some("1.32"));
    let spot = cluster.spec.node_pool("spot").expect("spot pool");
    assert_eq!(spot.capacity, Capacity::Spot);
    assert_eq!(spot.instance_types, ["m5.large", "m5a.large"]);
    assert_eq!(spot.labels.get("lifecycle").map(String::as_str), Some("spot"));
    assert_eq!(spot.taints.len(), 1);
    let made = leftovers(&moto, "shop").await;
    let expected: BTreeSet<String> =
        ["address", "igw", "nat", "role", "route table", "subnet", "vpc"].map(String::from).into();
    assert_eq!(kinds(&made), expected, "{made:?}");
    assert_eq!(made.iter().filter(|r| r.starts_with("vpc ")).count(), 1);
    assert!(made.iter().filter(|r| r.starts_with("subnet ")).count() >= 4, "two zones, public and private");
    assert_eq!(made.iter().filter(|r| r.starts_with("role ")).count(), 2);
    assert!(eks.plan(&spec).await.expect("plan").is_noop(), "a created cluster plans as a no-op");

    eks.delete(&spec.id(), &DeleteOptions::default()).await.expect("delete");
    assert_eq!(leftovers(&moto, "shop").await, Vec::<String>::new(), "nothing left behind");
    assert_eq!(eks.get(&spec.id()).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_re_apply_sends_no_write_and_bad_input_none_at_all() {
    let Some(moto) = Moto::start() else { return };
    let proxy = FaultProxy::start(addr(&moto), 0, 1).await;
    let eks = eks(&proxy.endpoint());
    let spec = spec("steady");

    let mut bad = spec.clone();
    bad.node_pools[0].instance_types = vec!["m5.large".into(), "m6g.large".into()];
    let err = eks.apply(&bad, &Progress::none()).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "node_pools[0].instance_types", "{err}");
    assert!(err.to_string().contains("m6g.large (arm64)"), "{err}");
    let mut bad = spec.clone();
    bad.node_pools[1].instance_types = vec!["zz9.huge".into()];
    assert_eq!(
        eks.apply(&bad, &Progress::none()).await.unwrap_err().violations()[0].field,
        "node_pools[1].instance_types[0]"
    );
    let writes: Vec<String> = proxy.seen().into_iter().map(|s| s.action).filter(|a| is_write(a)).collect();
    assert!(writes.is_empty(), "no write before the checks pass: {writes:?}");

    eks.apply(&spec, &Progress::none()).await.expect("apply");
    let first = proxy.seen().into_iter().filter(|s| is_write(&s.action)).count();
    assert!(first > 10, "the first apply wrote the network, roles, cluster and groups ({first} writes)");
    proxy.clear();
    eks.apply(&spec, &Progress::none()).await.expect("re-apply");
    let seen = proxy.seen();
    let writes: Vec<&str> = seen.iter().map(|s| s.action.as_str()).filter(|a| is_write(a)).collect();
    assert!(writes.is_empty(), "an unchanged re-apply writes nothing: {writes:?}");
    eprintln!("writes: first apply {first}, unchanged re-apply {}; reads on re-apply {}", writes.len(), seen.len());
    eks.delete(&spec.id(), &DeleteOptions::default()).await.expect("delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_and_delete_converge_through_faults_without_duplicates() {
    let Some(moto) = Moto::start() else { return };
    let proxy = FaultProxy::start(addr(&moto), 25, 0x5eed).await;
    let eks = eks(&proxy.endpoint());
    let spec = spec("faulty");
    let cluster = eks.ensure(&spec, &wait(), &Progress::none()).await.expect("ensure converges through faults");
    assert!(cluster.is_ready());
    let made = leftovers(&moto, "faulty").await;
    assert_eq!(made.iter().filter(|r| r.starts_with("vpc ")).count(), 1, "one VPC: {made:?}");
    assert_eq!(made.iter().filter(|r| r.starts_with("igw ")).count(), 1, "one internet gateway: {made:?}");
    assert_eq!(made.iter().filter(|r| r.starts_with("nat ")).count(), 1, "one NAT gateway: {made:?}");
    assert_eq!(made.iter().filter(|r| r.starts_with("role ")).count(), 2, "two roles: {made:?}");
    let clusters = eks.list().await.expect("list");
    assert_eq!(clusters.iter().filter(|c| c.id.as_str() == "faulty").count(), 1);
    assert_eq!(cluster.spec.node_pools.len(), 2, "one group per pool");
    let faults = proxy.seen();
    let after = faults.iter().filter(|s| !matches!(s.fault, wooo_tests::fault_proxy::Fault::None)).count();
    assert!(after >= 10, "faults were injected: {after} of {}", faults.len());

    eks.delete(&spec.id(), &DeleteOptions::default()).await.expect("delete converges through faults");
    proxy.set_percent(0);
    assert_eq!(leftovers(&moto, "faulty").await, Vec::<String>::new());
    let seen = proxy.seen();
    let lost = seen.iter().filter(|s| s.fault.forwarded() && s.fault != wooo_tests::fault_proxy::Fault::None).count();
    eprintln!("fault proxy: {} requests, {} faulted, {lost} after the effect", seen.len(), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_eks_example_plans_applies_and_deletes_on_moto() {
    use wooo_examples::aws::{Mode, USAGE, run};
    let Some(moto) = Moto::start() else { return };
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/eks-cluster.yaml");
    let builder = || EksBuilder::with_sdk_config(sdk_config(&moto.endpoint())).wait(wait());
    let text = |out: Vec<u8>| String::from_utf8(out).expect("utf-8");

    let mut out = Vec::new();
    run(builder(), &spec, Mode::Plan, &mut out).await.expect("plan");
    let plan = text(out);
    assert!(plan.contains("+ cluster (Create)"), "{plan}");
    assert!(plan.contains("+ node_pool/batch (Create): new spot node pool"), "{plan}");

    let mut out = Vec::new();
    run(builder(), &spec, Mode::Apply, &mut out).await.expect("apply");
    let applied = text(out);
    assert!(applied.contains("cluster shop-eks ready: Kubernetes 1.33"), "{applied}");
    assert!(applied.contains("creating node group general-"), "progress is printed: {applied}");

    let mut out = Vec::new();
    run(builder(), &spec, Mode::Plan, &mut out).await.expect("plan again");
    let again = text(out);
    assert!(again.contains("= cluster (NoOp)") && !again.contains("(Create)"), "{again}");

    let mut out = Vec::new();
    run(builder(), &spec, Mode::Delete, &mut out).await.expect("delete");
    assert!(text(out).contains("deleted"));
    assert!(leftovers(&moto, "shop-eks").await.is_empty());
    let usage = Mode::parse_with(&["a.yaml".into(), "--apply".into(), "--delete".into()], USAGE).unwrap_err();
    assert_eq!(usage.violations()[0].field, "<arguments>");
}
