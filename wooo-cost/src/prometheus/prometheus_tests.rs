//! Unit tests of the Prometheus source: the pure shape, and the client over a scripted transport.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use jiff::SignedDuration;
use wooo_core::ErrorKind;
use wooo_core::model::{Capacity, Cpu, Memory, WorkloadRef};

use super::shape::{self, classify, container_facts, node_facts, parse, samples, workloads_of};
use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + secs).unwrap()
}

fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        points: points.iter().map(|&(s, v)| (t(s), v)).collect(),
    }
}

/// Answers each call with the next scripted `(status, body)` (or a transport failure) and records the calls.
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<VecDeque<std::result::Result<(u16, String), String>>>,
    calls: Mutex<Vec<(String, BTreeMap<String, String>)>>,
}

impl Scripted {
    fn new(answers: Vec<std::result::Result<(u16, String), String>>) -> Arc<Self> {
        Arc::new(Self { answers: Mutex::new(answers.into()), calls: Mutex::default() })
    }

    fn calls(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn post_form(
        &self,
        path: &str,
        form: &[(&'static str, String)],
    ) -> std::result::Result<(u16, Vec<u8>), String> {
        self.calls
            .lock()
            .unwrap()
            .push((path.to_string(), form.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()));
        match self.answers.lock().unwrap().pop_front().expect("a scripted answer for every call") {
            Ok((status, body)) => Ok((status, body.into_bytes())),
            Err(e) => Err(e),
        }
    }
}

fn matrix(result: &str) -> std::result::Result<(u16, String), String> {
    Ok((200, format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}"#)))
}

fn client(transport: Arc<Scripted>, step_secs: u64, max_points: u32) -> PrometheusUsage {
    PrometheusUsage::builder("http://127.0.0.1:9/prom/")
        .step(Duration::from_secs(step_secs))
        .max_points(max_points)
        .backoff(Duration::from_millis(10))
        .build()
        .unwrap()
        .with_transport(transport)
}

#[test]
fn pages_cover_every_step_before_the_end_in_pages_of_max_points() {
    let w = TimeWindow::new(t(0), t(25 * 60));
    let pages = pages(&w, Duration::from_secs(300), 2);
    assert_eq!(pages, vec![(t(0), t(300)), (t(600), t(900)), (t(1200), t(1200))], "points at 0, 5, 10, 15, 20 min");
    // The end is exclusive: 30 days at 5 minutes is 8,640 points, one page of 10,000.
    let month = TimeWindow::new(t(0), t(30 * 86_400));
    assert_eq!(super::pages(&month, Duration::from_secs(300), 10_000), vec![(t(0), t(30 * 86_400 - 300))]);
    let two = super::pages(&month, Duration::from_secs(300), 8_000);
    assert_eq!(two, vec![(t(0), t(7_999 * 300)), (t(8_000 * 300), t(8_639 * 300))]);
    assert!(super::pages(&TimeWindow::new(t(5), t(5)), Duration::from_secs(60), 10).is_empty());
}

#[test]
fn api_times_and_matchers_are_exact() {
    assert_eq!(api_time(t(0) + SignedDuration::from_millis(250)), "1750000000.250");
    assert_eq!(shape::matcher("cluster", "a\"b\\c"), r#",cluster="a\"b\\c""#);
    let q = Queries::new(shape::matcher("cluster", "prod"), Duration::from_secs(300));
    assert_eq!(
        q.cpu(),
        r#"sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD",cluster="prod"}[300s]))"#
    );
    assert_eq!(q.pod_owners(), r#"max by (namespace, pod, owner_kind, owner_name) (kube_pod_owner{cluster="prod"})"#);
    let none = Queries::new(String::new(), Duration::from_secs(300));
    assert_eq!(none.node_labels(), "kube_node_labels{}");
    assert_eq!(
        none.oom_killed(Duration::from_secs(86_400)),
        r#"max by (namespace, pod, container) (max_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}[86400s]))"#
    );
}

#[test]
fn answers_are_read_and_failures_classified() {
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"x","pod":"a"},"values":[[1750000000,"1.5"],[1750000060.5,"NaN"],[1750000120,"2"]]}]}}"#;
    let got = parse(200, body.as_bytes()).unwrap();
    assert_eq!(got, vec![series(&[("pod", "a")], &[(0, 1.5), (120, 2.0)])], "NaN dropped, __name__ dropped");
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"node":"n"},"value":[1750000000,"4"]}]}}"#;
    assert_eq!(parse(200, vector.as_bytes()).unwrap()[0].last(), Some(4.0));
    let bad = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
    let err = parse(400, bad.as_bytes()).unwrap_err();
    assert_eq!((err.kind(), err.violations()[0].field.as_str()), (ErrorKind::InvalidSpec, "query"));
    let timeout = r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
    assert_eq!(parse(503, timeout.as_bytes()).unwrap_err().kind(), ErrorKind::Transient);
    assert_eq!(parse(502, b"<html>bad gateway</html>").unwrap_err().kind(), ErrorKind::Transient);
    assert_eq!(parse(200, b"not json").unwrap_err().kind(), ErrorKind::Provider);
    assert_eq!(classify(429, None, "").kind(), ErrorKind::Throttled);
    assert_eq!(classify(0, None, "connection refused").kind(), ErrorKind::Transient);
    assert_eq!(classify(401, None, "").kind(), ErrorKind::Unauthenticated);
    assert_eq!(classify(403, None, "").kind(), ErrorKind::PermissionDenied);
    assert_eq!(classify(422, Some("execution"), "many-to-many").kind(), ErrorKind::Provider);
}

#[tokio::test(start_paused = true)]
async fn range_queries_page_retry_transient_errors_and_stitch_series() {
    let transport = Scripted::new(vec![
        Err("connection reset".into()),
        Ok((503, r#"{"status":"error","errorType":"unavailable","error":"starting"}"#.into())),
        matrix(r#"{"metric":{"pod":"a"},"values":[[1750000000,"1"],[1750000060,"2"]]}"#),
        matrix(
            r#"{"metric":{"pod":"a"},"values":[[1750000120,"3"]]},{"metric":{"pod":"b"},"values":[[1750000120,"9"]]}"#,
        ),
    ]);
    let prom = client(transport.clone(), 60, 2);
    let got = prom.query_range("up", &TimeWindow::new(t(0), t(180))).await.unwrap();
    assert_eq!(
        got,
        vec![series(&[("pod", "a")], &[(0, 1.0), (60, 2.0), (120, 3.0)]), series(&[("pod", "b")], &[(120, 9.0)])]
    );
    let calls = transport.calls();
    assert_eq!(calls.len(), 4, "two failures retried, then two pages");
    let form = |start: &str, end: &str| -> BTreeMap<String, String> {
        [("query", "up"), ("start", start), ("end", end), ("step", "60")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(calls[0], ("/api/v1/query_range".to_string(), form("1750000000.000", "1750000060.000")));
    assert_eq!(calls[2], calls[0], "the retry sends the same page");
    assert_eq!(calls[3].1, form("1750000120.000", "1750000120.000"));
}

#[tokio::test(start_paused = true)]
async fn refused_queries_and_exhausted_attempts_are_errors() {
    let transport = Scripted::new(vec![Ok((400, r#"{"status":"error","errorType":"bad_data","error":"bad"}"#.into()))]);
    let err = client(transport.clone(), 60, 100).query_range("sum(", &TimeWindow::new(t(0), t(60))).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "query");
    assert_eq!(transport.calls().len(), 1, "never retried");

    let transport = Scripted::new((0..4).map(|_| Err("refused".to_string())).collect());
    let err = client(transport.clone(), 60, 100).query("up", t(0)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(transport.calls().len(), 4, "the default 4 attempts");
    assert_eq!(transport.calls()[0].1.get("time").map(String::as_str), Some("1750000000.000"));

    let err = client(Scripted::new(vec![]), 60, 100).query_range("up", &TimeWindow::new(t(5), t(5))).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "window");
}

#[test]
fn pods_join_to_workloads_and_sum_into_samples() {
    let pods = [
        series(
            &[("namespace", "shop"), ("pod", "web-7d9-a"), ("owner_kind", "ReplicaSet"), ("owner_name", "web-7d9")],
            &[(0, 1.0)],
        ),
        series(
            &[("namespace", "shop"), ("pod", "web-7d9-b"), ("owner_kind", "ReplicaSet"), ("owner_name", "web-7d9")],
            &[(0, 1.0)],
        ),
        series(
            &[("namespace", "shop"), ("pod", "db-0"), ("owner_kind", "StatefulSet"), ("owner_name", "db")],
            &[(0, 1.0)],
        ),
        series(
            &[("namespace", "shop"), ("pod", "lonely"), ("owner_kind", "<none>"), ("owner_name", "<none>")],
            &[(0, 1.0)],
        ),
    ];
    let rs = [series(
        &[("namespace", "shop"), ("replicaset", "web-7d9"), ("owner_kind", "Deployment"), ("owner_name", "web")],
        &[(0, 1.0)],
    )];
    let owners = workloads_of(&pods, &rs);
    assert_eq!(owners[&("shop".to_string(), "web-7d9-b".to_string())], "web");
    assert_eq!(owners[&("shop".to_string(), "db-0".to_string())], "db");
    assert_eq!(owners[&("shop".to_string(), "lonely".to_string())], "lonely");

    let cpu = [
        series(&[("namespace", "shop"), ("pod", "web-7d9-a")], &[(0, 0.25), (60, 0.5)]),
        series(&[("namespace", "shop"), ("pod", "web-7d9-b")], &[(0, 0.125), (60, 0.5)]),
        series(&[("namespace", "shop"), ("pod", "db-0")], &[(0, 1.0)]),
    ];
    let memory = [
        series(&[("namespace", "shop"), ("pod", "web-7d9-a")], &[(0, 1_000_000.0), (60, 2_000_000.0)]),
        series(&[("namespace", "shop"), ("pod", "web-7d9-b")], &[(0, 500_000.0)]),
    ];
    let got = samples(&cpu, &memory, &owners);
    let web = WorkloadRef::new("shop", "web");
    assert_eq!(got.len(), 2, "db has no memory sample: no sample for it");
    assert_eq!(
        (got[0].workload.clone(), got[0].at, got[0].cpu, got[0].memory),
        (web.clone(), t(0), Cpu::from_millis(375), Memory::from_bytes(1_500_000))
    );
    assert_eq!((got[1].at, got[1].cpu, got[1].memory), (t(60), Cpu::from_millis(1000), Memory::from_bytes(2_000_000)));
}

#[test]
fn container_and_node_facts_are_joined() {
    let c = |kind: &str, res: &str, v: f64| {
        let mut labels = vec![("namespace", "shop"), ("pod", "db-0"), ("container", "pg")];
        if !res.is_empty() {
            labels.push(("resource", res));
        }
        let _ = kind;
        series(&labels, &[(0, v)])
    };
    let owners = BTreeMap::from([(("shop".to_string(), "db-0".to_string()), "db".to_string())]);
    let facts = container_facts(
        &[c("req", "cpu", 0.5), c("req", "memory", 1_073_741_824.0)],
        &[c("lim", "memory", 2_147_483_648.0)],
        &[c("restarts", "", 2.9)],
        &[c("oom", "", 1.0)],
        &owners,
    );
    assert_eq!(facts.len(), 1);
    let f = &facts[0];
    assert_eq!(f.workload, WorkloadRef::new("shop", "db"));
    assert_eq!((f.cpu_request, f.memory_request), (Some(Cpu::from_millis(500)), Some(Memory::from_gib(1))));
    assert_eq!((f.cpu_limit, f.memory_limit), (None, Some(Memory::from_gib(2))));
    assert_eq!((f.restarts, f.oom_killed), (3, true));

    let capacity = [
        series(&[("node", "n1"), ("resource", "cpu")], &[(0, 2.0)]),
        series(&[("node", "n1"), ("resource", "memory")], &[(0, 8_589_934_592.0)]),
    ];
    let labels = [series(
        &[
            ("node", "n1"),
            ("label_node_kubernetes_io_instance_type", "m5.large"),
            ("label_topology_kubernetes_io_zone", "us-east-1a"),
            ("label_karpenter_sh_capacity_type", "spot"),
        ],
        &[(0, 1.0)],
    )];
    let nodes = node_facts(&capacity, &labels);
    assert_eq!(
        nodes,
        vec![NodeFacts {
            name: "n1".into(),
            instance_type: "m5.large".into(),
            capacity: Capacity::Spot,
            zone: "us-east-1a".into(),
            cpu: Cpu::from_cores(2),
            memory: Memory::from_gib(8),
        }]
    );
}

#[test]
fn the_builder_names_the_field_and_hides_the_token() {
    let field = |b: PrometheusUsageBuilder| b.build().unwrap_err().violations()[0].field.clone();
    assert_eq!(field(PrometheusUsage::builder("ftp://x")), "url");
    assert_eq!(field(PrometheusUsage::builder("http://")), "url");
    assert_eq!(field(PrometheusUsage::builder("http://x").step(Duration::from_millis(10))), "step");
    assert_eq!(field(PrometheusUsage::builder("http://x").max_points(11_001)), "max_points");
    assert_eq!(field(PrometheusUsage::builder("http://x").attempts(0)), "attempts");
    assert_eq!(field(PrometheusUsage::builder("http://x").cluster_label("1bad")), "cluster_label");
    let b = PrometheusUsage::builder("https://x/").bearer_token("s3cr3t-token");
    assert!(!format!("{b:?}").contains("s3cr3t"), "{b:?}");
    let p = b.build().unwrap();
    assert!(!format!("{p:?}").contains("s3cr3t") && format!("{p:?}").contains("https://x"), "{p:?}");
}
