//! `wooo_cost::prometheus::PrometheusUsage` (feature `prometheus`) against a real Prometheus server: the test
//! writes cAdvisor and kube-state-metrics series as OpenMetrics text, turns them into TSDB blocks with
//! `promtool tsdb create-blocks-from openmetrics`, starts `prometheus` over them on a free port of 127.0.0.1
//! (stopped on drop, also when a test fails) with a query log, and asserts the samples and facts read back and
//! the exact queries the server ran (from its query log).

#[cfg(feature = "prometheus")]
mod with_prometheus {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use jiff::Timestamp;
    use wooo_core::model::{Capacity, ClusterId, Cpu, Memory, TimeWindow, WorkloadRef};
    use wooo_cost::prometheus::{NodeFacts, PrometheusUsage};
    use wooo_cost::sources::UsageSource;

    /// The first sample of the data: 2025-06-15T15:06:40Z.
    const T0: i64 = 1_750_000_000;
    const MIB: f64 = 1024.0 * 1024.0;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(T0 + secs).unwrap()
    }

    /// A Prometheus server over blocks written from OpenMetrics text; killed and its folder removed on drop.
    struct Server {
        child: Child,
        dir: PathBuf,
        port: u16,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl Server {
        fn start(prometheus: &Path, promtool: &Path, openmetrics: &str) -> Server {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
            let dir = std::env::temp_dir().join(format!("wooo-prometheus-{}-{nanos}", std::process::id()));
            let data = dir.join("data");
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(dir.join("input.om"), openmetrics).unwrap();
            let out = Command::new(promtool)
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(dir.join("input.om"))
                .arg(&data)
                .output()
                .unwrap();
            assert!(out.status.success(), "promtool: {}", String::from_utf8_lossy(&out.stderr));
            let config = format!("global:\n  query_log_file: {}\n", dir.join("query.log").display());
            std::fs::write(dir.join("prometheus.yml"), config).unwrap();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = Command::new(prometheus)
                .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
                .spawn()
                .unwrap();
            let server = Server { child, dir, port };
            server.wait_ready();
            server
        }

        fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        fn wait_ready(&self) {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                    let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
            panic!("prometheus did not become ready: {log}");
        }

        /// `(query, start, end, step)` of every query the server ran, in order.
        fn queries(&self) -> Vec<(String, String, String, u64)> {
            let log = std::fs::read_to_string(self.dir.join("query.log")).unwrap_or_default();
            log.lines()
                .map(|line| {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    let p = &v["params"];
                    (
                        p["query"].as_str().unwrap().to_string(),
                        p["start"].as_str().unwrap().to_string(),
                        p["end"].as_str().unwrap().to_string(),
                        p["step"].as_u64().unwrap(),
                    )
                })
                .collect()
        }
    }

    /// One hour of series every 30 s: two pods of Deployment `web` (through ReplicaSet `web-7d9`) using 0.25 and
    /// 0.125 cores and 100 and 150 MiB, pod `db-0` of StatefulSet `db` using 1 core and 1 GiB (restarted 3
    /// times, last terminated by the OOM killer), the pod-level cgroup series that must not count, requests,
    /// limits, and one spot m5.large node.
    fn openmetrics() -> String {
        let mut out = String::new();
        let times: Vec<i64> = (0..=120).map(|i| T0 + i * 30).collect();
        let mut family = |name: &str, series: &[(&str, &dyn Fn(i64) -> f64)]| {
            for (labels, value) in series {
                for &t in &times {
                    out.push_str(&format!("{name}{{{labels}}} {} {t}\n", value(t - T0)));
                }
            }
        };
        family(
            "container_cpu_usage_seconds_total",
            &[
                (r#"namespace="shop",pod="web-7d9-a",container="web""#, &|s| 0.25 * s as f64),
                (r#"namespace="shop",pod="web-7d9-b",container="web""#, &|s| 0.125 * s as f64),
                (r#"namespace="shop",pod="db-0",container="pg""#, &|s| 1.0 * s as f64),
                (r#"namespace="shop",pod="db-0",container="""#, &|s| 9.0 * s as f64),
                (r#"namespace="shop",pod="db-0",container="POD""#, &|s| 5.0 * s as f64),
            ],
        );
        family(
            "container_memory_working_set_bytes",
            &[
                (r#"namespace="shop",pod="web-7d9-a",container="web""#, &|_| 100.0 * MIB),
                (r#"namespace="shop",pod="web-7d9-b",container="web""#, &|_| 150.0 * MIB),
                (r#"namespace="shop",pod="db-0",container="pg""#, &|_| 1024.0 * MIB),
                (r#"namespace="shop",pod="db-0",container="""#, &|_| 9999.0 * MIB),
            ],
        );
        family(
            "kube_pod_owner",
            &[
                (
                    r#"namespace="shop",pod="web-7d9-a",owner_kind="ReplicaSet",owner_name="web-7d9",owner_is_controller="true""#,
                    &|_| 1.0,
                ),
                (
                    r#"namespace="shop",pod="web-7d9-b",owner_kind="ReplicaSet",owner_name="web-7d9",owner_is_controller="true""#,
                    &|_| 1.0,
                ),
                (
                    r#"namespace="shop",pod="db-0",owner_kind="StatefulSet",owner_name="db",owner_is_controller="true""#,
                    &|_| 1.0,
                ),
            ],
        );
        family(
            "kube_replicaset_owner",
            &[(
                r#"namespace="shop",replicaset="web-7d9",owner_kind="Deployment",owner_name="web",owner_is_controller="true""#,
                &|_| 1.0,
            )],
        );
        family(
            "kube_pod_container_resource_requests",
            &[
                (r#"namespace="shop",pod="db-0",container="pg",node="n1",resource="cpu",unit="core""#, &|_| 1.5),
                (r#"namespace="shop",pod="db-0",container="pg",node="n1",resource="memory",unit="byte""#, &|_| {
                    1024.0 * MIB
                }),
            ],
        );
        family(
            "kube_pod_container_resource_limits",
            &[(r#"namespace="shop",pod="db-0",container="pg",node="n1",resource="memory",unit="byte""#, &|_| {
                2048.0 * MIB
            })],
        );
        family(
            "kube_pod_container_status_restarts_total",
            &[(r#"namespace="shop",pod="db-0",container="pg""#, &|s| if s < 1500 { 0.0 } else { 3.0 })],
        );
        family(
            "kube_pod_container_status_last_terminated_reason",
            &[(r#"namespace="shop",pod="db-0",container="pg",reason="OOMKilled""#, &|_| 1.0)],
        );
        family(
            "kube_node_status_capacity",
            &[
                (r#"node="n1",resource="cpu",unit="core""#, &|_| 2.0),
                (r#"node="n1",resource="memory",unit="byte""#, &|_| 8192.0 * MIB),
            ],
        );
        family(
            "kube_node_labels",
            &[(
                r#"node="n1",label_node_kubernetes_io_instance_type="m5.large",label_topology_kubernetes_io_zone="us-east-1a",label_karpenter_sh_capacity_type="spot""#,
                &|_| 1.0,
            )],
        );
        out.push_str("# EOF\n");
        out
    }

    fn server() -> Option<Server> {
        let prometheus = wooo_tests::peer("prometheus")?;
        let promtool = wooo_tests::peer("promtool")?;
        Some(Server::start(&prometheus, &promtool, &openmetrics()))
    }

    fn rfc3339(secs: i64) -> String {
        at(secs).strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn usage_is_read_per_workload_page_by_page_with_the_exact_queries() {
        let Some(server) = server() else { return };
        let prom = PrometheusUsage::builder(server.url()).step(Duration::from_secs(60)).max_points(4).build().unwrap();
        let cluster = ClusterId::new("prod");
        // Ten evaluation times: +600 s … +1140 s (the end is exclusive), in pages of 4, 4 and 2.
        let window = TimeWindow::new(at(600), at(1200));
        let samples = prom.usage(&cluster, &window).await.unwrap();
        assert_eq!(samples.len(), 20, "two workloads × ten times: {samples:?}");
        let web: Vec<_> = samples.iter().filter(|s| s.workload == WorkloadRef::new("shop", "web")).collect();
        let db: Vec<_> = samples.iter().filter(|s| s.workload == WorkloadRef::new("shop", "db")).collect();
        assert_eq!(web.iter().map(|s| s.at).collect::<Vec<_>>(), (0..10).map(|i| at(600 + 60 * i)).collect::<Vec<_>>());
        for s in &web {
            assert_eq!((s.cpu, s.memory), (Cpu::from_millis(375), Memory::from_mib(250)), "both pods summed: {s:?}");
        }
        for s in &db {
            assert_eq!((s.cpu, s.memory), (Cpu::from_millis(1000), Memory::from_gib(1)), "no cgroup series: {s:?}");
        }

        let q = prom.queries(&cluster);
        let pages = [(600, 780), (840, 1020), (1080, 1140)];
        let expected: Vec<(String, String, String, u64)> = [q.cpu(), q.memory(), q.pod_owners(), q.replicaset_owners()]
            .iter()
            .flat_map(|query| pages.iter().map(move |&(s, e)| (query.clone(), rfc3339(s), rfc3339(e), 60)))
            .collect();
        assert_eq!(server.queries(), expected, "the queries the server ran, in order");
        assert_eq!(
            expected[0].0,
            r#"sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[300s]))"#
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn container_and_node_facts_are_read() {
        let Some(server) = server() else { return };
        let prom = PrometheusUsage::builder(server.url()).step(Duration::from_secs(300)).build().unwrap();
        let cluster = ClusterId::new("prod");
        let window = TimeWindow::new(at(600), at(3000));
        let facts = prom.container_facts(&cluster, &window).await.unwrap();
        assert_eq!(facts.len(), 1, "{facts:?}");
        let pg = &facts[0];
        assert_eq!(
            (pg.workload.clone(), pg.pod.as_str(), pg.container.as_str()),
            (WorkloadRef::new("shop", "db"), "db-0", "pg")
        );
        assert_eq!((pg.cpu_request, pg.memory_request), (Some(Cpu::from_millis(1500)), Some(Memory::from_gib(1))));
        assert_eq!((pg.cpu_limit, pg.memory_limit), (None, Some(Memory::from_gib(2))));
        assert!(pg.oom_killed);
        assert_eq!(pg.restarts, 3, "0 → 3 inside the window");

        let nodes = prom.nodes(&cluster, at(3000)).await.unwrap();
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
        let q = prom.queries(&cluster);
        let instant = |query: String, secs: i64| (query, rfc3339(secs), rfc3339(secs), 0);
        let ran = server.queries();
        let length = Duration::from_secs(2400);
        assert_eq!(
            ran[..4].to_vec(),
            vec![
                instant(q.requests(length), 3000),
                instant(q.limits(length), 3000),
                instant(q.restarts(length), 3000),
                instant(q.oom_killed(length), 3000),
            ]
        );
        assert_eq!(
            ran[ran.len() - 2..].to_vec(),
            vec![instant(q.node_capacity(), 3000), instant(q.node_labels(), 3000)]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_query_names_the_field_and_a_missing_server_is_transient() {
        let Some(server) = server() else { return };
        let prom = PrometheusUsage::builder(server.url()).build().unwrap();
        let err = prom.query("sum(", at(600)).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "query", "{err}");
        assert_eq!(server.queries().len(), 0, "refused before it ran");

        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let gone = PrometheusUsage::builder(format!("http://127.0.0.1:{port}"))
            .attempts(2)
            .backoff(Duration::from_millis(1))
            .build()
            .unwrap();
        let err = gone.query("up", at(600)).await.unwrap_err();
        assert_eq!(err.kind(), wooo_core::ErrorKind::Transient, "{err}");
    }
}

#[cfg(not(feature = "prometheus"))]
#[test]
fn prometheus_suite_needs_its_feature() {
    eprintln!(
        "SKIPPING: the Prometheus usage suite needs `--features prometheus` (scripts/test.sh enables every feature)"
    );
}
