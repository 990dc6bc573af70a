//! An in-memory Kubernetes API server for tests and benches (feature `testing`): kube-fake-client (server-side
//! apply with managed fields, resource versions, label selectors, status subresources), plus the Namespace
//! routes and the watches kube-fake-client 0.3 cannot serve, behind a client that records every request, with a
//! task that plays the Deployment controller (conditions included, as the real one sets them).
//!
//! ```
//! use wooo_providers::kube::testing::{fake_cluster, spawn_controller};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let (client, log) = fake_cluster().await;
//! let controller = spawn_controller(client.clone());
//! // … drive a KubeDeployer with `client`, then look at what it sent:
//! assert!(log.lock().unwrap().is_empty());
//! controller.abort();
//! # }
//! ```
#![allow(clippy::missing_panics_doc)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use kube::client::Body;
use kube_fake_client::ClientBuilder;
use serde_json::json;
use tower_test::mock;

/// An in-memory API server where Deployments have a status subresource, as on a real one.
///
/// # Panics
/// When kube-fake-client cannot build its client.
pub async fn fake() -> kube::Client {
    ClientBuilder::new().with_status_subresource::<Deployment>().build().await.expect("fake client")
}

/// One request as it went over the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// URL query.
    pub query: String,
    /// `Content-Type` header.
    pub content_type: String,
}

impl Seen {
    /// What `req` shows.
    pub fn of(req: &Request<Body>) -> Self {
        Self {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            query: req.uri().query().unwrap_or_default().to_string(),
            content_type: req
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// Whether the request changes state.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// Every request seen, in order.
pub type Log = Arc<Mutex<Vec<Seen>>>;
/// Answers a request instead of the fake when it returns a response.
pub type Intercept = Box<dyn Fn(&Seen) -> Option<Response<Body>> + Send + Sync>;

/// Namespaces for the tests. kube-fake-client 0.3 cannot route the paths of the cluster-scoped Namespace
/// kind (`/api/v1/namespaces/<name>` parses as an incomplete namespaced path and is refused), so the recording
/// client answers them itself: GET, LIST, POST, and server-side apply as the fake does it (merge, new
/// resourceVersion on every write).
#[derive(Default)]
struct Namespaces {
    objects: std::collections::BTreeMap<String, serde_json::Value>,
    version: u64,
}

impl Namespaces {
    fn handle(&mut self, s: &Seen, body: &[u8]) -> Option<Response<Body>> {
        let rest = s.path.strip_prefix("/api/v1/namespaces")?;
        let name = rest.strip_prefix('/').unwrap_or_default();
        if name.contains('/') {
            return None;
        }
        let answer = match (s.method.as_str(), name) {
            ("GET", "") => json_response(
                200,
                &json!({"kind": "NamespaceList", "apiVersion": "v1",
                "metadata": {"resourceVersion": self.version.to_string()}, "items": self.objects.values().collect::<Vec<_>>()}),
            ),
            ("GET", name) => match self.objects.get(name) {
                Some(ns) => json_response(200, ns),
                None => json_response(404, &not_found_status(&format!("namespaces \"{name}\""))),
            },
            ("POST", "") | ("PATCH", _) => {
                let patch: serde_json::Value = serde_json::from_slice(body).unwrap();
                let name = if name.is_empty() {
                    patch["metadata"]["name"].as_str().unwrap().to_string()
                } else {
                    name.to_string()
                };
                let mut ns = self.objects.remove(&name).unwrap_or_else(|| {
                    json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "uid": format!("uid-{name}"), "generation": 1}})
                });
                merge(&mut ns, &patch);
                self.version += 1;
                ns["metadata"]["resourceVersion"] = json!(self.version.to_string());
                self.objects.insert(name, ns.clone());
                json_response(if s.method == "POST" { 201 } else { 200 }, &ns)
            }
            _ => return None,
        };
        Some(answer)
    }
}

/// JSON merge patch (RFC 7386), what kube-fake-client applies for server-side apply too.
fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// A client whose requests go through a `tower_test` mock: each is logged, then answered by `intercept` when
/// it returns a response, from `inner`'s state when it is a watch (each watch answers, in version order, the
/// objects written after its `resourceVersion` as `MODIFIED` events as soon as there are any, then closes; no
/// deletions), by the Namespace store when it is a Namespace request, else passed on to `inner`.
pub fn recording(inner: kube::Client, intercept: Intercept) -> (kube::Client, Log) {
    use http_body_util::BodyExt;
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let log: Log = Arc::default();
    let seen = log.clone();
    let mut namespaces = Namespaces::default();
    tokio::spawn(async move {
        while let Some((req, reply)) = handle.next_request().await {
            let s = Seen::of(&req);
            seen.lock().unwrap().push(s.clone());
            if let Some(response) = intercept(&s) {
                reply.send_response(response);
                continue;
            }
            if s.method == "GET" && is_watch(&s.query) {
                // Answered on its own task: a watch stays open until something changes.
                tokio::spawn(serve_watch(inner.clone(), s, reply));
                continue;
            }
            if s.path.starts_with("/api/v1/namespaces") && s.path.matches('/').count() <= 4 {
                let (parts, body) = req.into_parts();
                let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                match namespaces.handle(&s, &bytes) {
                    Some(response) => reply.send_response(response),
                    None => match inner.send(Request::from_parts(parts, Body::from(bytes.to_vec()))).await {
                        Ok(response) => reply.send_response(response),
                        Err(e) => reply.send_error(e),
                    },
                }
                continue;
            }
            match inner.send(req).await {
                Ok(response) => reply.send_response(response),
                Err(e) => reply.send_error(e),
            }
        }
    });
    (kube::Client::new(service, "default"), log)
}

fn is_watch(query: &str) -> bool {
    query.split('&').any(|p| p == "watch=true" || p == "watch=1")
}

/// How often a watch looks at the fake for changes.
const WATCH_TICK: Duration = Duration::from_millis(2);

/// Serves a watch (`GET <collection>?watch=true&resourceVersion=<v>`) from the fake's state, which
/// kube-fake-client 0.3 cannot do (it answers a watch with a plain list). kube-fake-client numbers every write
/// from one counter, so "changed after version v" is "resourceVersion above v": the watch LISTs the collection
/// (same label and field selectors) every [`WATCH_TICK`] until some object is newer than the version asked
/// for, then answers with one `MODIFIED` event per such object, in version order, and closes, as a real
/// server closes a watch at its timeout; the client watches again from the last version it saw. Without
/// changes it answers with no event at `timeoutSeconds`. Deletions are not reported (wooo's waits do not need
/// them). A LIST the fake refuses is answered as it is, so errors reach the watcher as they would.
async fn serve_watch(inner: kube::Client, seen: Seen, reply: mock::SendResponse<Response<Body>>) {
    use http_body_util::BodyExt;
    let params: Vec<(&str, &str)> = seen.query.split('&').filter_map(|p| p.split_once('=')).collect();
    let param = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let from: u64 = param("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
    let timeout = Duration::from_secs(param("timeoutSeconds").and_then(|v| v.parse().ok()).unwrap_or(290));
    let list_query: Vec<String> = params
        .iter()
        .filter(|(k, _)| ["labelSelector", "fieldSelector"].contains(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let uri = format!("{}?{}", seen.path, list_query.join("&"));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let request = Request::get(&uri).body(Body::from(Vec::new())).unwrap();
        let response = match inner.send(request).await {
            Ok(response) => response,
            Err(e) => return reply.send_error(e),
        };
        if !response.status().is_success() {
            return reply.send_response(response);
        }
        let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let list: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let version = |o: &serde_json::Value| -> u64 {
            o.pointer("/metadata/resourceVersion").and_then(|v| v.as_str()).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        let mut newer: Vec<&serde_json::Value> =
            list["items"].as_array().into_iter().flatten().filter(|o| version(o) > from).collect();
        newer.sort_by_key(|o| version(o));
        if !newer.is_empty() || tokio::time::Instant::now() >= deadline {
            let mut body = Vec::new();
            for object in newer {
                body.extend(serde_json::to_vec(&json!({"type": "MODIFIED", "object": object})).unwrap());
                body.push(b'\n');
            }
            let response = Response::builder()
                .status(200)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap();
            return reply.send_response(response);
        }
        tokio::time::sleep(WATCH_TICK).await;
    }
}

/// The tests' API server: kube-fake-client behind the recording client.
pub async fn fake_cluster() -> (kube::Client, Log) {
    recording(fake().await, pass_through())
}

/// An intercept that answers nothing.
pub fn pass_through() -> Intercept {
    Box::new(|_| None)
}

/// A JSON response.
pub fn json_response(code: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// The API server's NotFound `Status` body for `what`.
pub fn not_found_status(what: &str) -> serde_json::Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": format!("{what} not found"),
        "reason": "NotFound", "code": 404})
}

/// The Deployment controller's status for a Deployment wanting `replicas` pods at `generation`, one step after
/// `previous` (the live status), or `None` when the rollout is done and nothing changes.
///
/// It moves as the real controller does, in two steps, so a wait cannot end on counts alone: a generation it
/// has not observed gets an updated ReplicaSet with no pod ready yet, `Progressing=True/ReplicaSetUpdated` and
/// `Available=False/MinimumReplicasUnavailable` (for any replicas wanted); a later look finds every pod ready
/// and available and sets `Progressing=True/NewReplicaSetAvailable` and `Available=True/MinimumReplicasAvailable`.
pub fn controller_step(generation: i64, replicas: i32, previous: &serde_json::Value) -> Option<serde_json::Value> {
    let condition = |type_: &str, status: &str, reason: &str, message: String| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": "2026-03-01T10:00:00Z", "lastTransitionTime": "2026-03-01T10:00:00Z"})
    };
    let observed = previous.get("observedGeneration").and_then(serde_json::Value::as_i64);
    let progressing_reason = previous.pointer("/conditions").and_then(serde_json::Value::as_array).and_then(|all| {
        all.iter().find(|c| c["type"] == "Progressing").and_then(|c| c["reason"].as_str().map(str::to_string))
    });
    if observed != Some(generation) {
        if replicas == 0 {
            // Nothing to bring up: the controller reports the rollout complete at once.
            return Some(complete(generation, replicas, &condition));
        }
        return Some(json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": replicas,
            "conditions": [
                condition("Available", "False", "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".into()),
                condition("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet is progressing.".into()),
            ],
        }));
    }
    let done = previous.get("availableReplicas").and_then(serde_json::Value::as_i64) == Some(i64::from(replicas))
        && progressing_reason.as_deref() == Some("NewReplicaSetAvailable");
    (!done).then(|| complete(generation, replicas, &condition))
}

fn complete(
    generation: i64,
    replicas: i32,
    condition: &dyn Fn(&str, &str, &str, String) -> serde_json::Value,
) -> serde_json::Value {
    json!({
        "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": replicas, "availableReplicas": replicas, "unavailableReplicas": null,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
            condition("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed.".into()),
        ],
    })
}

/// Plays the Deployment controller on the fake: every few milliseconds, each Deployment whose status lags its
/// spec moves one [`controller_step`] on.
pub fn spawn_controller(client: kube::Client) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let all: Api<Deployment> = Api::all(client.clone());
        loop {
            if let Ok(list) = all.list(&Default::default()).await {
                for d in list.items {
                    let generation = d.metadata.generation.unwrap_or(0);
                    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    let previous = serde_json::to_value(d.status.clone().unwrap_or_default()).unwrap_or_default();
                    let Some(status) = controller_step(generation, replicas, &previous) else { continue };
                    let api: Api<Deployment> =
                        Api::namespaced(client.clone(), d.metadata.namespace.as_deref().unwrap());
                    let _ = api
                        .patch_status(
                            d.metadata.name.as_deref().unwrap(),
                            &PatchParams::default(),
                            &Patch::Merge(json!({ "status": status })),
                        )
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}
