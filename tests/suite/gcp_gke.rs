//! `gcp::Gke` against a scripted GKE REST server (wiremock on 127.0.0.1) whose peer is Google's own API
//! definition: every request body wooo sends is checked against the `container:v1` discovery document's
//! request schema of the method it calls (unknown fields, wrong types and unknown enum values rejected), and
//! every body the server answers with is checked against the method's response schema, so the flows below run
//! on payloads shaped exactly as Google defines them: Cluster, NodePool, Operation, and `google.rpc.Status`
//! errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wooo_core::model::{Capacity, ClusterSpec, from_yaml};
use wooo_core::prelude::*;
use wooo_core::{ErrorKind, WaitOptions};
use wooo_providers::gcp::{Gke, GkeBuilder};
use wooo_tests::discovery::Discovery;

const PROJECT: &str = "wooo-test-project";
const TOKEN: &str = "ya29.test-access-token";
/// Operation reads before an operation is DONE.
const POLLS: u32 = 2;

/// What a finished operation does to the project.
type Effect = Box<dyn FnOnce(&mut State) + Send>;

struct Op {
    body: Value,
    polls_left: u32,
    effect: Option<Effect>,
    /// The `google.rpc.Status` it ends with.
    error: Option<Value>,
}

#[derive(Default)]
struct State {
    clusters: BTreeMap<String, Value>,
    /// (cluster, pool) → NodePool
    pools: BTreeMap<(String, String), Value>,
    ops: BTreeMap<String, Op>,
    next_op: u32,
    /// Every request: (method id, body).
    calls: Vec<(String, Value)>,
    /// Request bodies the discovery document refuses, and responses it would refuse.
    violations: Vec<String>,
    /// Requests without the bearer token.
    unauthenticated: u32,
    /// Scripted: the next call of this method id answers with this HTTP status and `google.rpc.Status` body.
    fail_next: Vec<(String, u16, Value)>,
    /// Scripted: the next call of this method id takes effect, but its answer is lost (a 503 `UNAVAILABLE`
    /// reaches the client instead).
    lose_next: Vec<String>,
    /// Scripted: the next operation of this type ends with this `google.rpc.Status`.
    op_errors: Vec<(String, Value)>,
}

impl State {
    fn writes(&self) -> Vec<String> {
        self.calls
            .iter()
            .map(|(m, _)| m.trim_start_matches("container.projects.locations.").to_string())
            .filter(|m| !m.ends_with(".get") && !m.ends_with(".list"))
            .collect()
    }

    fn count(&self, id: &str) -> usize {
        self.calls.iter().filter(|(m, _)| m.ends_with(id)).count()
    }

    fn start(&mut self, location: &str, kind: &str, target: &str, effect: Effect) -> Value {
        self.next_op += 1;
        let name = format!("operation-1764756000000-{:04}", self.next_op);
        let body = json!({
            "name": name,
            "zone": location,
            "location": location,
            "operationType": kind,
            "status": "RUNNING",
            "selfLink": format!("https://container.googleapis.com/v1/projects/{PROJECT}/locations/{location}/operations/{name}"),
            "targetLink": format!("https://container.googleapis.com/v1/{target}"),
            "startTime": "2026-12-03T10:00:00.000000Z",
        });
        let error = self.op_errors.iter().position(|(k, _)| k == kind).map(|i| self.op_errors.remove(i).1);
        self.ops.insert(name, Op { body: body.clone(), polls_left: POLLS, effect: Some(effect), error });
        body
    }
}

/// The scripted GKE server.
#[derive(Clone)]
struct Gcp {
    state: Arc<Mutex<State>>,
    doc: Arc<Discovery>,
}

fn status(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

fn error(code: u16, name: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(status(code, name, message))
}

impl Respond for Gcp {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.state.lock().unwrap();
        let path = req.url.path().to_string();
        let Some(method) = self.doc.method(req.method.as_str(), &path) else {
            s.violations.push(format!("{} {path}: no such method in container:v1", req.method));
            return error(404, "NOT_FOUND", "no such method");
        };
        let body: Value =
            if req.body.is_empty() { Value::Null } else { serde_json::from_slice(&req.body).unwrap_or(Value::Null) };
        s.calls.push((method.id.clone(), body.clone()));
        let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) {
            s.unauthenticated += 1;
        }
        let int_enums = wooo_tests::discovery::int_enums(req.url.query());
        if let Some(schema) = &method.request {
            let bad = self.doc.check_encoded(schema, &body, int_enums);
            if !bad.is_empty() {
                s.violations.extend(bad.iter().map(|b| format!("{}: {b}", method.id)));
                return error(400, "INVALID_ARGUMENT", &format!("Invalid JSON payload received. {}", bad.join("; ")));
            }
        }
        if let Some(i) = s.fail_next.iter().position(|(m, _, _)| method.id.ends_with(m.as_str())) {
            let (_, code, body) = s.fail_next.remove(i);
            return ResponseTemplate::new(code).set_body_json(body);
        }
        let (code, answer) = handle(&mut s, &method.id, &path, &body);
        if let Some(i) = s.lose_next.iter().position(|m| method.id.ends_with(m.as_str())) {
            s.lose_next.remove(i);
            return error(503, "UNAVAILABLE", "The service is currently unavailable.");
        }
        if code == 200
            && let Some(schema) = &method.response
        {
            let bad = self.doc.check_encoded(schema, &answer, int_enums);
            s.violations.extend(bad.iter().map(|b| format!("response of {}: {b}", method.id)));
        }
        ResponseTemplate::new(code).set_body_json(answer)
    }
}

/// `v1/projects/P/locations/L/clusters/C/nodePools/N:verb` → (location, cluster, pool).
fn parts(path: &str) -> (String, String, String) {
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let clean = |s: Option<&&str>| s.map(|s| s.split(':').next().unwrap_or_default().to_string()).unwrap_or_default();
    (clean(seg.get(4)), clean(seg.get(6)), clean(seg.get(8)))
}

fn handle(s: &mut State, id: &str, path: &str, body: &Value) -> (u16, Value) {
    let (location, cluster, pool) = parts(path);
    let parent = format!("projects/{PROJECT}/locations/{location}");
    let cluster_path = format!("{parent}/clusters/{cluster}");
    let not_found = |what: &str| (404, status(404, "NOT_FOUND", &format!("Not found: {what}.")));
    let method = id.trim_start_matches("container.projects.locations.");
    match method {
        "clusters.get" => match s.clusters.get(&cluster) {
            Some(c) => (200, c.clone()),
            None => not_found(&cluster_path),
        },
        "clusters.list" => (200, json!({"clusters": s.clusters.values().cloned().collect::<Vec<_>>()})),
        "clusters.create" => {
            let mut c = body["cluster"].clone();
            let name = c["name"].as_str().unwrap_or_default().to_string();
            if s.clusters.contains_key(&name) {
                return (409, status(409, "ALREADY_EXISTS", &format!("Already exists: {parent}/clusters/{name}.")));
            }
            let zonal = location.matches('-').count() == 2;
            let zones: Vec<String> = if zonal {
                vec![location.clone()]
            } else {
                ["b", "c", "d"].iter().map(|z| format!("{location}-{z}")).collect()
            };
            let version = format!("{}.9-gke.1100", c["initialClusterVersion"].as_str().unwrap_or("1.33"));
            let pools = c["nodePools"].as_array().cloned().unwrap_or_default();
            let obj = c.as_object_mut().unwrap();
            obj.remove("nodePools");
            obj.insert("status".into(), json!("PROVISIONING"));
            obj.insert("currentMasterVersion".into(), json!(version));
            obj.insert("endpoint".into(), json!("34.78.10.20"));
            obj.insert(
                "masterAuth".into(),
                json!({"clusterCaCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="}),
            );
            obj.insert("locations".into(), json!(zones));
            obj.insert("location".into(), json!(location));
            obj.insert("zone".into(), json!(location));
            obj.insert("labelFingerprint".into(), json!("a9dc16a7"));
            obj.insert(
                "selfLink".into(),
                json!(format!("https://container.googleapis.com/v1/{parent}/clusters/{name}")),
            );
            obj.insert("createTime".into(), json!("2026-12-03T10:00:00+00:00"));
            if obj.get("network").is_none_or(|n| n == "") {
                obj.insert("network".into(), json!("default"));
            }
            s.clusters.insert(name.clone(), c);
            for p in pools {
                let p = live_pool(p, &zones, &version);
                s.pools.insert((name.clone(), p["name"].as_str().unwrap().to_string()), p);
            }
            let n = name.clone();
            let op = s.start(
                &location,
                "CREATE_CLUSTER",
                &format!("{parent}/clusters/{name}"),
                Box::new(move |s: &mut State| {
                    s.clusters.get_mut(&n).unwrap()["status"] = json!("RUNNING");
                    for ((c, _), p) in s.pools.iter_mut() {
                        if c == &n {
                            p["status"] = json!("RUNNING");
                        }
                    }
                }),
            );
            (200, op)
        }
        "clusters.delete" => {
            let Some(c) = s.clusters.get_mut(&cluster) else { return not_found(&cluster_path) };
            c["status"] = json!("STOPPING");
            let n = cluster.clone();
            let op = s.start(
                &location,
                "DELETE_CLUSTER",
                &cluster_path,
                Box::new(move |s: &mut State| {
                    s.clusters.remove(&n);
                    s.pools.retain(|(c, _), _| c != &n);
                }),
            );
            (200, op)
        }
        "clusters.updateMaster" => {
            let version = format!("{}.3-gke.1000", body["masterVersion"].as_str().unwrap_or_default());
            let n = cluster.clone();
            let op = s.start(
                &location,
                "UPGRADE_MASTER",
                &cluster_path,
                Box::new(move |s: &mut State| {
                    s.clusters.get_mut(&n).unwrap()["currentMasterVersion"] = json!(version);
                }),
            );
            (200, op)
        }
        "clusters.setResourceLabels" => {
            let Some(c) = s.clusters.get_mut(&cluster) else { return not_found(&cluster_path) };
            if body["labelFingerprint"] != c["labelFingerprint"] {
                return (
                    400,
                    status(400, "FAILED_PRECONDITION", "Labels could not be set due to fingerprint mismatch."),
                );
            }
            c["resourceLabels"] = body["resourceLabels"].clone();
            c["labelFingerprint"] = json!("b1e5f0c2");
            let op = s.start(&location, "SET_LABELS", &cluster_path, Box::new(|_: &mut State| {}));
            (200, op)
        }
        "operations.get" => {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            let Some(op) = s.ops.get_mut(&name) else { return not_found(&name) };
            if op.polls_left > 0 {
                op.polls_left -= 1;
                return (200, op.body.clone());
            }
            op.body["status"] = json!("DONE");
            op.body["endTime"] = json!("2026-12-03T10:08:00.000000Z");
            if let Some(e) = op.error.take() {
                op.body["error"] = e;
                op.effect = None;
            }
            let (body, effect) = (op.body.clone(), op.effect.take());
            if let Some(effect) = effect {
                effect(s);
            }
            (200, body)
        }
        "operations.list" => (200, json!({"operations": s.ops.values().map(|o| o.body.clone()).collect::<Vec<_>>()})),
        "clusters.nodePools.list" => {
            if !s.clusters.contains_key(&cluster) {
                return not_found(&cluster_path);
            }
            let pools: Vec<Value> =
                s.pools.iter().filter(|((c, _), _)| c == &cluster).map(|(_, p)| p.clone()).collect();
            (200, json!({"nodePools": pools}))
        }
        "clusters.nodePools.get" => match s.pools.get(&(cluster.clone(), pool.clone())) {
            Some(p) => (200, p.clone()),
            None => not_found(&format!("{cluster_path}/nodePools/{pool}")),
        },
        "clusters.nodePools.create" => {
            let Some(c) = s.clusters.get(&cluster) else { return not_found(&cluster_path) };
            let zones: Vec<String> = serde_json::from_value(c["locations"].clone()).unwrap_or_default();
            let version = c["currentMasterVersion"].as_str().unwrap_or_default().to_string();
            let mut p = live_pool(body["nodePool"].clone(), &zones, &version);
            p["status"] = json!("PROVISIONING");
            let name = p["name"].as_str().unwrap().to_string();
            if s.pools.contains_key(&(cluster.clone(), name.clone())) {
                return (409, status(409, "ALREADY_EXISTS", "Already exists: node pool."));
            }
            s.pools.insert((cluster.clone(), name.clone()), p);
            let key = (cluster.clone(), name.clone());
            let op = s.start(
                &location,
                "CREATE_NODE_POOL",
                &format!("{cluster_path}/nodePools/{name}"),
                Box::new(move |s: &mut State| {
                    if let Some(p) = s.pools.get_mut(&key) {
                        p["status"] = json!("RUNNING");
                    }
                }),
            );
            (200, op)
        }
        "clusters.nodePools.delete"
        | "clusters.nodePools.update"
        | "clusters.nodePools.setAutoscaling"
        | "clusters.nodePools.setSize" => {
            let key = (cluster.clone(), pool.clone());
            if !s.pools.contains_key(&key) {
                return not_found(&format!("{cluster_path}/nodePools/{pool}"));
            }
            let body = body.clone();
            let (kind, effect): (&str, Effect) = match method {
                "clusters.nodePools.delete" => (
                    "DELETE_NODE_POOL",
                    Box::new(move |s: &mut State| {
                        s.pools.remove(&key);
                    }),
                ),
                "clusters.nodePools.update" => (
                    "UPGRADE_NODES",
                    Box::new(move |s: &mut State| {
                        let p = s.pools.get_mut(&key).unwrap();
                        p["version"] = json!(format!(
                            "{}.3-gke.1000",
                            body["nodeVersion"]
                                .as_str()
                                .unwrap_or_default()
                                .split('.')
                                .take(2)
                                .collect::<Vec<_>>()
                                .join(".")
                        ));
                        if let Some(l) = body.get("labels") {
                            p["config"]["labels"] = l["labels"].clone();
                        }
                        if let Some(t) = body.get("taints") {
                            p["config"]["taints"] = t.get("taints").cloned().unwrap_or(json!([]));
                        }
                    }),
                ),
                "clusters.nodePools.setAutoscaling" => (
                    "SET_NODE_POOL_SIZE",
                    Box::new(move |s: &mut State| {
                        s.pools.get_mut(&key).unwrap()["autoscaling"] = body["autoscaling"].clone();
                    }),
                ),
                _ => (
                    "SET_NODE_POOL_SIZE",
                    Box::new(move |s: &mut State| {
                        // GKE keeps no current size on the pool; the scripted server records it where wooo reads it.
                        s.pools.get_mut(&key).unwrap()["initialNodeCount"] = body["nodeCount"].clone();
                    }),
                ),
            };
            let op = s.start(&location, kind, &format!("{cluster_path}/nodePools/{pool}"), effect);
            (200, op)
        }
        other => (501, status(501, "UNIMPLEMENTED", &format!("the scripted server does not do {other}"))),
    }
}

/// A NodePool as GKE reports it after a create: what was sent, plus what GKE fills in (status, version,
/// locations, image type, default disk type, and the `cloud.google.com/gke-spot` node label of Spot pools).
fn live_pool(mut p: Value, zones: &[String], version: &str) -> Value {
    let obj = p.as_object_mut().unwrap();
    obj.insert("status".into(), json!("PROVISIONING"));
    obj.insert("version".into(), json!(version));
    if obj.get("locations").is_none_or(|l| l.as_array().is_none_or(Vec::is_empty)) {
        obj.insert("locations".into(), json!(zones));
    }
    obj.insert("selfLink".into(), json!("https://container.googleapis.com/v1/pool"));
    let config = obj.entry("config").or_insert(json!({}));
    config["imageType"] = json!("COS_CONTAINERD");
    if config.get("diskType").is_none_or(|d| d == "") {
        config["diskType"] = json!("pd-balanced");
    }
    if config["spot"] == json!(true) || config["preemptible"] == json!(true) {
        config["labels"]["cloud.google.com/gke-spot"] = json!("true");
    }
    p
}

async fn server() -> (MockServer, Gcp) {
    let gcp = Gcp { state: Arc::new(Mutex::new(State::default())), doc: Arc::new(Discovery::container()) };
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(gcp.clone()).mount(&server).await;
    (server, gcp)
}

fn quick() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(30),
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        jitter_percent: 0,
    }
}

async fn gke(server: &MockServer, location: &str) -> Gke {
    GkeBuilder::new()
        .project(PROJECT)
        .location(location)
        .credentials(wooo_providers::gcp::testing::static_token_credentials(TOKEN))
        .endpoint_url(server.uri())
        .wait(quick())
        .attempts(3)
        .build()
        .await
        .expect("builds")
}

const SPEC: &str = r#"
name: shop
provider: gcp
region: europe-west1
kubernetes_version: "1.32"
node_pools:
  - name: web
    instance_types: [e2-standard-4]
    min: 3
    max: 9
    labels: {tier: web}
    taints: [{key: dedicated, value: web, effect: NoSchedule}]
  - name: batch
    instance_types: [n2-standard-8]
    min: 0
    max: 6
    capacity: spot
    disk: {size_gib: 100, kind: pd-ssd}
tags: {team: shop}
"#;

fn spec() -> ClusterSpec {
    from_yaml(SPEC).expect("spec")
}

fn assert_clean(gcp: &Gcp) {
    let s = gcp.state.lock().unwrap();
    assert!(s.violations.is_empty(), "bodies the discovery document refuses: {:#?}", s.violations);
    assert_eq!(s.unauthenticated, 0, "every request carries the access token");
}

#[tokio::test]
async fn create_polls_the_operation_until_done_reapply_writes_nothing_and_delete_leaves_nothing() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1").await;
    let s = spec();
    let c = gke.apply(&s, &Progress::none()).await.expect("created");
    assert!(c.is_ready(), "{:?}", c.status);
    assert!(c.status.owned);
    assert_eq!(c.status.endpoint.as_deref(), Some("https://34.78.10.20"));
    {
        let st = gcp.state.lock().unwrap();
        assert_eq!(st.writes(), ["clusters.create"]);
        assert_eq!(st.count("operations.get") as u32, POLLS + 1, "polled RUNNING twice, then DONE");
        // What was sent: GKE labels in GKE's charset, total autoscaling bounds, spot, the pool label.
        let sent = &st.calls.iter().find(|(m, _)| m.ends_with("clusters.create")).unwrap().1["cluster"];
        assert_eq!(sent["resourceLabels"]["wooo-dev_managed-by"], "wooo");
        assert_eq!(sent["resourceLabels"]["team"], "shop");
        let batch = sent["nodePools"].as_array().unwrap().iter().find(|p| p["config"]["spot"] == true).unwrap();
        assert_eq!(batch["autoscaling"]["totalMaxNodeCount"], 6);
        assert_eq!(batch["config"]["diskType"], "pd-ssd");
        assert_eq!(batch["config"]["resourceLabels"]["wooo-dev_node-pool"], "batch");
    }
    // GKE's spot label is reported back, and a re-apply neither removes it nor writes anything.
    let batch = c.spec.node_pool("batch").unwrap();
    assert_eq!(batch.capacity, Capacity::Spot);
    assert_eq!(batch.labels.get("cloud.google.com/gke-spot").map(String::as_str), Some("true"));
    gcp.state.lock().unwrap().calls.clear();
    assert!(gke.plan(&s).await.unwrap().is_noop());
    gke.apply(&s, &Progress::none()).await.expect("re-applied");
    assert_eq!(gcp.state.lock().unwrap().writes(), Vec::<String>::new(), "0 writes on an unchanged re-apply");

    // A label change on the spot pool keeps GKE's label in the set sent.
    let mut relabeled = s.clone();
    relabeled.node_pools[1].labels.insert("team".into(), "data".into());
    gke.apply(&relabeled, &Progress::none()).await.expect("relabeled");
    {
        let st = gcp.state.lock().unwrap();
        let update = &st.calls.iter().find(|(m, _)| m.ends_with("nodePools.update")).unwrap().1;
        assert_eq!(update["labels"]["labels"]["cloud.google.com/gke-spot"], "true");
        assert_eq!(update["labels"]["labels"]["team"], "data");
    }

    gke.delete(&s.id(), &DeleteOptions::default()).await.expect("deleted");
    let st = gcp.state.lock().unwrap();
    assert!(st.clusters.is_empty() && st.pools.is_empty(), "nothing left");
    let writes = st.writes();
    assert_eq!(writes[writes.len() - 2..], ["clusters.nodePools.delete", "clusters.delete"]);
    drop(st);
    assert_clean(&gcp);
}

#[tokio::test]
async fn an_invented_field_fails_the_discovery_check_and_the_server_refuses_it() {
    let doc = Discovery::container();
    let good = json!({"cluster": {"name": "x", "nodePools": [{"name": "p", "config": {"machineType": "e2-medium", "spot": true}, "initialNodeCount": 1}]}});
    assert_eq!(doc.check("CreateClusterRequest", &good), Vec::<String>::new());
    let invented = json!({"cluster": {"name": "x", "nodePools": [{"name": "p", "config": {"spotInstance": true}}]}});
    let bad = doc.check("CreateClusterRequest", &invented);
    assert_eq!(bad, ["$.cluster.nodePools[0].config.spotInstance: no such field in the schema"]);
    // Wrong types, unknown enum values and int64 not carried as a string fail too.
    assert_eq!(doc.check("NodePool", &json!({"initialNodeCount": "3"})).len(), 1);
    assert_eq!(doc.check("NodeTaint", &json!({"effect": "NoSchedule"})).len(), 1, "the REST enum is NO_SCHEDULE");
    assert!(doc.check("NodeTaint", &json!({"effect": "NO_SCHEDULE"})).is_empty());
    // With `$alt=json;enum-encoding=int` (what the Rust client asks for) the enum's numbers count too.
    assert!(doc.check_encoded("NodeTaint", &json!({"effect": 1}), true).is_empty());
    assert_eq!(doc.check_encoded("NodeTaint", &json!({"effect": 9}), true).len(), 1);
    assert_eq!(doc.check("NodeTaint", &json!({"effect": 1})).len(), 1);
    assert_eq!(doc.check("UpdateNodePoolRequest", &json!({"diskSizeGb": 100})).len(), 1, "int64 is a JSON string");

    // The scripted server applies the same check to what it receives.
    let (server, gcp) = server().await;
    let client = reqwest_free_post(&server.uri(), &invented).await;
    assert_eq!(client, 400);
    let v = gcp.state.lock().unwrap().violations.clone();
    assert!(v.iter().any(|v| v.contains("spotInstance")), "{v:?}");
}

/// POSTs a clusters.create body with a plain TCP client (no HTTP library in the tests' tree for this); the
/// status code.
async fn reqwest_free_post(base: &str, body: &Value) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let body = body.to_string();
    let request = format!(
        "POST /v1/projects/{PROJECT}/locations/europe-west1/clusters HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn an_operation_ending_in_a_quota_error_and_a_refused_create_are_clear_and_not_retried() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1").await;
    let s = spec();
    gke.apply(&s, &Progress::none()).await.expect("created");
    gcp.state.lock().unwrap().op_errors.push((
        "CREATE_NODE_POOL".into(),
        json!({"code": 8, "message": "Insufficient regional quota to satisfy request: resource \"CPUS\": request requires '32.0' and is short '8.0'. project has a quota of '24.0' with '24.0' available."}),
    ));
    let mut more = s.clone();
    let mut gpu = s.node_pools[0].clone();
    gpu.name = "big".into();
    gpu.instance_types = vec!["n2-standard-32".into()];
    more.node_pools.push(gpu);
    let err = gke.apply(&more, &Progress::none()).await.expect_err("quota");
    assert_eq!(err.kind(), ErrorKind::Provider, "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("RESOURCE_EXHAUSTED") && text.contains("CPUS") && text.contains("quota is exhausted"),
        "{text}"
    );

    // A create refused outright with RESOURCE_EXHAUSTED is sent once.
    gcp.state.lock().unwrap().fail_next.push((
        "clusters.create".into(),
        429,
        status(
            429,
            "RESOURCE_EXHAUSTED",
            "Insufficient project quota to satisfy request: resource \"IN_USE_ADDRESSES\"",
        ),
    ));
    let mut other = s.clone();
    other.name = "other".into();
    let err = gke.apply(&other, &Progress::none()).await.expect_err("quota");
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("IN_USE_ADDRESSES"), "{err}");
    assert_eq!(gcp.state.lock().unwrap().count("clusters.create"), 2, "one create per apply, no retry of a quota");
    assert_clean(&gcp);
}

#[tokio::test]
async fn not_found_busy_and_unavailable_map_from_google_rpc_status() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1").await;
    let s = spec();
    assert_eq!(gke.get(&s.id()).await.unwrap_err().kind(), ErrorKind::NotFound);
    // UNAVAILABLE is retried.
    gcp.state.lock().unwrap().fail_next.push((
        "clusters.get".into(),
        503,
        status(503, "UNAVAILABLE", "The service is currently unavailable."),
    ));
    gke.apply(&s, &Progress::none()).await.expect("created after a retried read");
    // FAILED_PRECONDITION (an operation is running): waited out, then sent again.
    {
        let mut st = gcp.state.lock().unwrap();
        st.start(
            "europe-west1",
            "UPGRADE_NODES",
            &format!("projects/{PROJECT}/locations/europe-west1/clusters/shop"),
            Box::new(|_: &mut State| {}),
        );
        st.fail_next.push((
            "clusters.setResourceLabels".into(),
            400,
            status(
                400,
                "FAILED_PRECONDITION",
                "Cluster is running incompatible operation operation-1764756000000-0099.",
            ),
        ));
        st.calls.clear();
    }
    let mut relabeled = s.clone();
    relabeled.tags.insert("env".into(), "prod".into());
    gke.apply(&relabeled, &Progress::none()).await.expect("applied after the running operation");
    let st = gcp.state.lock().unwrap();
    assert_eq!(st.count("setResourceLabels"), 2);
    assert!(st.count("operations.list") >= 1, "looked for the running operation");
    assert_eq!(st.clusters["shop"]["resourceLabels"]["env"], "prod");
    drop(st);
    assert_clean(&gcp);
}

fn not_found_shop() -> (String, u16, Value) {
    let path = format!("projects/{PROJECT}/locations/europe-west1/clusters/shop");
    ("clusters.get".into(), 404, status(404, "NOT_FOUND", &format!("Not found: {path}.")))
}

#[tokio::test]
async fn a_lost_create_answer_then_already_exists_adopts_the_cluster_wooo_made_once() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1").await;
    let s = spec();
    {
        let mut st = gcp.state.lock().unwrap();
        // The first create makes the cluster but its answer is lost; the look after it does not see the new
        // cluster yet (the look before the create finds nothing either), so the create is sent again and
        // answered ALREADY_EXISTS.
        st.lose_next.push("clusters.create".into());
        st.fail_next.extend([not_found_shop(), not_found_shop()]);
    }
    let c = gke.apply(&s, &Progress::none()).await.expect("adopted");
    assert!(c.is_ready() && c.status.owned, "{:?}", c.status);
    assert_eq!(c.spec.node_pools.len(), 2);
    {
        let st = gcp.state.lock().unwrap();
        assert_eq!(st.writes(), ["clusters.create", "clusters.create"], "sent again once, nothing else written");
        assert_eq!(st.clusters.len(), 1);
        let creates = st.ops.values().filter(|o| o.body["operationType"] == "CREATE_CLUSTER").count();
        assert_eq!(creates, 1, "one cluster made, no duplicate");
        assert_eq!(st.clusters["shop"]["status"], "RUNNING");
        assert_eq!(st.clusters["shop"]["resourceLabels"]["wooo-dev_managed-by"], "wooo");
        assert!(st.count("operations.list") >= 1, "looked for the first attempt's operation");
        assert!(st.fail_next.is_empty() && st.lose_next.is_empty(), "every scripted fault was met");
    }
    // Converged: the plan is empty and a re-apply writes nothing.
    gcp.state.lock().unwrap().calls.clear();
    assert!(gke.plan(&s).await.unwrap().is_noop());
    gke.apply(&s, &Progress::none()).await.expect("re-applied");
    assert_eq!(gcp.state.lock().unwrap().writes(), Vec::<String>::new());
    assert_clean(&gcp);
}

#[tokio::test]
async fn already_exists_for_a_cluster_wooo_did_not_make_is_refused_and_left_alone() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1").await;
    let foreign = json!({
        "name": "shop",
        "status": "RUNNING",
        "location": "europe-west1",
        "currentMasterVersion": "1.32.9-gke.1100",
        "resourceLabels": {"owner": "data-team"},
        "labelFingerprint": "0c1d2e3f",
    });
    {
        let mut st = gcp.state.lock().unwrap();
        // Someone else's cluster of that name appears between wooo's look and its create.
        st.clusters.insert("shop".into(), foreign.clone());
        st.fail_next.push(not_found_shop());
    }
    let err = gke.apply(&spec(), &Progress::none()).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let message = err.to_string();
    assert!(message.contains("cluster shop already exists and was not created by wooo"), "{message}");
    assert!(message.contains("wooo-dev_managed-by"), "{message}");
    let st = gcp.state.lock().unwrap();
    assert_eq!(st.writes(), ["clusters.create"], "answered ALREADY_EXISTS; nothing written after it");
    assert_eq!(st.clusters["shop"], foreign, "the other cluster is untouched");
    assert!(st.pools.is_empty() && st.ops.is_empty());
    drop(st);
    assert_clean(&gcp);
}

#[tokio::test]
async fn upgrades_step_one_minor_at_a_time_master_then_pools() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1-b").await;
    let mut s = spec();
    s.kubernetes_version = "1.31".into();
    gke.apply(&s, &Progress::none()).await.expect("created");
    gcp.state.lock().unwrap().calls.clear();
    s.kubernetes_version = "1.33".into();
    let c = gke.apply(&s, &Progress::none()).await.expect("upgraded");
    assert_eq!(c.spec.kubernetes_version, "1.33");
    let st = gcp.state.lock().unwrap();
    let steps: Vec<String> = st
        .calls
        .iter()
        .filter(|(m, _)| m.ends_with("updateMaster") || m.ends_with("nodePools.update"))
        .map(|(m, b)| {
            format!(
                "{} {}",
                m.rsplit('.').next().unwrap(),
                b["masterVersion"].as_str().or(b["nodeVersion"].as_str()).unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        steps,
        ["updateMaster 1.32", "update 1.32", "update 1.32", "updateMaster 1.33", "update 1.33", "update 1.33"]
    );
    drop(st);
    assert_clean(&gcp);
}

#[tokio::test]
async fn conformance_lifecycle_on_the_scripted_server() {
    let (server, gcp) = server().await;
    let gke = gke(&server, "europe-west1-b").await;
    let spec: ClusterSpec = from_yaml(
        r#"
name: conformance
provider: gcp
region: europe-west1
kubernetes_version: "1.33"
node_pools:
  - name: general
    instance_types: [e2-standard-2]
    min: 1
    max: 3
"#,
    )
    .unwrap();
    wooo_core::conformance::provisioner_lifecycle(&gke, &spec, &quick()).await;
    assert_clean(&gcp);
}

#[tokio::test]
async fn the_example_plans_applies_and_deletes_the_shipped_spec() {
    use wooo_examples::gcp::{Mode, run};
    let (server, gcp) = server().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/gke-cluster.yaml");
    let builder = || {
        GkeBuilder::new()
            .project(PROJECT)
            .credentials(wooo_providers::gcp::testing::static_token_credentials(TOKEN))
            .endpoint_url(server.uri())
            .wait(quick())
    };
    let mut out = Vec::new();
    run(builder(), &path, Mode::Plan, &mut out).await.expect("plan");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("plan for cluster shop-gke") && text.contains("node_pool/batch"), "{text}");
    let mut out = Vec::new();
    run(builder(), &path, Mode::Apply, &mut out).await.expect("apply");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("cluster shop-gke ready"), "{text}");
    assert_eq!(
        gcp.state.lock().unwrap().clusters["shop-gke"]["masterAuthorizedNetworksConfig"]["cidrBlocks"][0]["cidrBlock"],
        "203.0.113.0/24"
    );
    let mut out = Vec::new();
    run(builder(), &path, Mode::Delete, &mut out).await.expect("delete");
    assert!(gcp.state.lock().unwrap().clusters.is_empty());
    assert_clean(&gcp);
}
