//! A scripted Azure Resource Manager for the AKS suites: a wiremock server whose answers are Azure's own
//! example bodies (`tests/data/azure/…/examples`, adjusted only in names and states a flow needs) and which
//! keeps resource groups, managed clusters and agent pools so whole flows run: a create answers 201 with
//! `Azure-AsyncOperation` and the status goes InProgress → Succeeded; a delete answers 202 with `Location`,
//! then 202 while it runs and 204 when done. Faults are scripted per request ([`Fault`]): a 429 with
//! `Retry-After`, a 409 while an operation runs, a Failed operation with its ARM error.
//!
//! Every request body is validated against the official OpenAPI definition ([`crate::openapi`]); violations
//! are recorded ([`FakeArm::violations`]) and answered 400, so a field wooo invents fails the test.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::openapi::OpenApi;

/// The test data folder of the AKS definition.
pub fn aks_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/azure/containerservice/2023-01-02-preview")
}

/// The AKS definition with the ARM common types it references.
pub fn aks_openapi() -> OpenApi {
    let dir = aks_data();
    OpenApi::load(&dir.join("managedClusters.json"), &[&dir.join("common-types/resource-management/v3/types.json")])
}

/// The Cost Management definition with its local common types.
pub fn cost_openapi() -> OpenApi {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/azure/costmanagement/2023-07-01-preview");
    OpenApi::load(&dir.join("costmanagement.json"), &[&dir.join("common-types.json")])
}

/// One official example file's response body for `status`.
pub fn example(file: &str, status: &str) -> Value {
    let text = std::fs::read_to_string(aks_data().join("examples").join(file)).expect("example");
    let v: Value = serde_json::from_str(&text).expect("example JSON");
    v["responses"][status]["body"].clone()
}

/// A scripted answer to the next `count` requests whose method is `method` and whose path contains `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    /// `GET`, `PUT`, `DELETE`, `POST`.
    pub method: &'static str,
    /// A piece of the path (`/agentPools/spot`, `/operations/`).
    pub path: String,
    /// How many matching requests get it.
    pub count: u32,
    /// The answer.
    pub kind: FaultKind,
}

/// What a [`Fault`] answers.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// 429 with `Retry-After: <seconds>` and ARM's throttling body.
    Throttle(u64),
    /// 409 `OperationNotAllowed` (an operation is in progress).
    Conflict,
    /// The long-running operation started by this request ends `Failed` with this ARM code and message.
    FailOperation(String, String),
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// When.
    pub at: Instant,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    groups: BTreeMap<String, Value>,
    clusters: BTreeMap<String, Value>,
    /// Operation id → (looks left while InProgress, what happens when it ends, its end status body).
    operations: BTreeMap<String, (u32, Completion, Value)>,
    faults: Vec<Fault>,
    seen: Vec<Seen>,
    violations: Vec<String>,
    /// Request bodies checked against the definition.
    validated: u32,
    next_op: u32,
}

#[derive(Clone)]
enum Completion {
    ClusterSucceeded(String),
    ClusterGone(String),
    PoolGone(String, String),
    GroupGone(String),
}

/// The fake ARM: start it, point an `AksBuilder` at [`FakeArm::uri`].
pub struct FakeArm {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct Responder {
    state: Arc<Mutex<State>>,
    openapi: OpenApi,
    base: String,
    polls: u32,
}

impl FakeArm {
    /// Starts the server on 127.0.0.1; each long-running operation reports InProgress for `polls` looks.
    pub async fn start(polls: u32) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        let responder = Responder { state: state.clone(), openapi: aks_openapi(), base: server.uri(), polls };
        Mock::given(any()).respond_with(responder).mount(&server).await;
        Self { server, state }
    }

    /// The server's base URL.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Scripts a fault.
    pub fn fault(&self, fault: Fault) {
        self.state.lock().expect("state").faults.push(fault);
    }

    /// The request bodies that broke the definition, with why.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().expect("state").violations.clone()
    }

    /// How many request bodies were checked against the definition.
    pub fn validated(&self) -> u32 {
        self.state.lock().expect("state").validated
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("state").seen.clone()
    }

    /// Adds a resource group wooo did not create.
    pub fn add_group(&self, name: &str) {
        self.state
            .lock()
            .expect("state")
            .groups
            .insert(name.to_lowercase(), json!({"name": name, "location": "westeurope", "tags": {}}));
    }

    /// Whether the resource group exists.
    pub fn has_group(&self, name: &str) -> bool {
        self.state.lock().expect("state").groups.contains_key(&name.to_lowercase())
    }

    /// The stored cluster body.
    pub fn cluster(&self, name: &str) -> Option<Value> {
        self.state.lock().expect("state").clusters.get(name).cloned()
    }
}

fn arm_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": code, "message": message}}))
}

/// A kubeconfig for the credential answer (the example's value is a placeholder string).
fn kubeconfig(cluster: &str, fqdn: &str) -> String {
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n    server: https://{fqdn}:443\n    \
         certificate-authority-data: Q0EK\nusers:\n- name: clusterUser_{cluster}\n  user:\n    token: fake-aks-token\n\
         contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: clusterUser_{cluster}\n\
         current-context: {cluster}\n"
    );
    base64::engine::general_purpose::STANDARD.encode(yaml)
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("state");
        let method = request.method.as_str().to_string();
        let path = request.url.path().to_string();
        let full = format!("{path}?{}", request.url.query().unwrap_or(""));
        let answer = self.answer(&mut state, &method, &path, request);
        let status = answer.1;
        state.seen.push(Seen { method, path: full, at: Instant::now(), status });
        answer.0
    }
}

impl Responder {
    fn take_fault(state: &mut State, method: &str, path: &str) -> Option<FaultKind> {
        let i = state.faults.iter().position(|f| f.method == method && path.contains(&f.path) && f.count > 0)?;
        state.faults[i].count -= 1;
        Some(state.faults[i].kind.clone())
    }

    fn start_operation(&self, state: &mut State, done: Completion, fail: Option<(String, String)>) -> String {
        state.next_op += 1;
        let id = format!("op-{}", state.next_op);
        let end = match fail {
            Some((code, message)) => {
                json!({"name": id, "status": "Failed", "error": {"code": code, "message": message}})
            }
            None => json!({"name": id, "status": "Succeeded"}),
        };
        state.operations.insert(id.clone(), (self.polls, done, end));
        id
    }

    fn complete(state: &mut State, done: &Completion) {
        match done {
            Completion::ClusterSucceeded(name) => {
                if let Some(c) = state.clusters.get_mut(name) {
                    c["properties"]["provisioningState"] = json!("Succeeded");
                    for p in c["properties"]["agentPoolProfiles"].as_array_mut().into_iter().flatten() {
                        p["provisioningState"] = json!("Succeeded");
                    }
                }
            }
            Completion::ClusterGone(name) => {
                state.clusters.remove(name);
            }
            Completion::PoolGone(cluster, pool) => {
                if let Some(c) = state.clusters.get_mut(cluster)
                    && let Some(pools) = c["properties"]["agentPoolProfiles"].as_array_mut()
                {
                    pools.retain(|p| p["name"] != pool.as_str());
                }
            }
            Completion::GroupGone(name) => {
                state.groups.remove(name);
            }
        }
    }

    fn validate(&self, state: &mut State, method: &str, path: &str, body: &Value) -> bool {
        let Some(template) = self.openapi.operation_for(method, path) else { return true };
        state.validated += 1;
        let errors = self.openapi.validate_request(&template, method, body);
        let ok = errors.is_empty();
        state.violations.extend(errors.into_iter().map(|e| format!("{} {path}: {e}", method.to_uppercase())));
        ok
    }

    /// A stored agent pool profile from a PUT body's properties, as AKS reports it back.
    fn pool_profile(name: &str, props: &Value, version: &Value) -> Value {
        let mut p = props.clone();
        p["name"] = json!(name);
        p["provisioningState"] = json!("Creating");
        if p.get("orchestratorVersion").is_none() {
            p["orchestratorVersion"] = version.clone();
        }
        p["currentOrchestratorVersion"] = json!(format!("{}.4", p["orchestratorVersion"].as_str().unwrap_or("1.32")));
        p["nodeImageVersion"] = json!("AKSUbuntu-2204gen2containerd-202301.10.0");
        // AKS puts its own taint on spot pools' nodes.
        if p["scaleSetPriority"] == "Spot" {
            let taint = json!("kubernetes.azure.com/scalesetpriority=spot:NoSchedule");
            let taints = p["nodeTaints"].as_array().cloned().unwrap_or_default();
            if !taints.contains(&taint) {
                let mut t = taints;
                t.push(taint);
                p["nodeTaints"] = json!(t);
            }
        }
        p
    }

    fn answer(&self, state: &mut State, method: &str, path: &str, request: &Request) -> (ResponseTemplate, u16) {
        let method_lc = method.to_lowercase();
        let fault = Self::take_fault(state, method, path);
        match &fault {
            Some(FaultKind::Throttle(secs)) => {
                let r = arm_error(429, "TooManyRequests", "The request is throttled; retry later")
                    .insert_header("Retry-After", secs.to_string().as_str());
                return (r, 429);
            }
            Some(FaultKind::Conflict) => {
                let r =
                    arm_error(409, "OperationNotAllowed", "Operation is not allowed: another operation is in progress");
                return (r, 409);
            }
            _ => {}
        }
        let fail = match fault {
            Some(FaultKind::FailOperation(code, message)) => Some((code, message)),
            _ => None,
        };
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let body: Value =
            if request.body.is_empty() { Value::Null } else { request.body_json().unwrap_or(Value::Null) };
        if matches!(method, "PUT" | "POST" | "PATCH")
            && !body.is_null()
            && !self.validate(state, &method_lc, path, &body)
        {
            return (arm_error(400, "InvalidRequestContent", "the body does not match the API definition"), 400);
        }
        // Operation status resources.
        if segs.first() == Some(&"operations") || segs.first() == Some(&"locations") {
            let id = segs[1].to_string();
            let location = segs[0] == "locations";
            let Some((left, done, end)) = state.operations.get(&id).cloned() else {
                return (arm_error(404, "NotFound", "no such operation"), 404);
            };
            if left > 0 {
                state.operations.insert(id.clone(), (left - 1, done, end));
                return if location {
                    (
                        ResponseTemplate::new(202)
                            .insert_header("Location", format!("{}/locations/{id}", self.base).as_str()),
                        202,
                    )
                } else {
                    (ResponseTemplate::new(200).set_body_json(json!({"name": id, "status": "InProgress"})), 200)
                };
            }
            if end["status"] == "Succeeded" {
                Self::complete(state, &done);
            } else if let Completion::ClusterSucceeded(name) = &done
                && let Some(c) = state.clusters.get_mut(name)
            {
                c["properties"]["provisioningState"] = json!("Failed");
            }
            return if location {
                (ResponseTemplate::new(204), 204)
            } else {
                (ResponseTemplate::new(200).set_body_json(end), 200)
            };
        }
        // /subscriptions/{s}/resourcegroups/{rg}
        if segs.len() == 4 && segs[2].eq_ignore_ascii_case("resourcegroups") {
            let key = segs[3].to_lowercase();
            return match method {
                "GET" => match state.groups.get(&key) {
                    Some(g) => (ResponseTemplate::new(200).set_body_json(g), 200),
                    None => (
                        arm_error(
                            404,
                            "ResourceGroupNotFound",
                            &format!("Resource group '{}' could not be found.", segs[3]),
                        ),
                        404,
                    ),
                },
                "PUT" => {
                    let g = json!({"name": segs[3], "location": body["location"], "tags": body["tags"]});
                    state.groups.insert(key, g.clone());
                    (ResponseTemplate::new(201).set_body_json(g), 201)
                }
                "DELETE" => {
                    let id = self.start_operation(state, Completion::GroupGone(key), None);
                    (
                        ResponseTemplate::new(202)
                            .insert_header("Location", format!("{}/locations/{id}", self.base).as_str()),
                        202,
                    )
                }
                _ => (arm_error(405, "MethodNotAllowed", "no"), 405),
            };
        }
        // /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters[/{name}[/…]]
        if segs.len() >= 7 && segs[6] == "managedClusters" {
            let group = segs[3].to_lowercase();
            if segs.len() == 7 {
                let value: Vec<Value> =
                    state.clusters.values().filter(|c| c["_group"] == group.as_str()).map(strip).collect();
                if !state.groups.contains_key(&group) {
                    return (arm_error(404, "ResourceGroupNotFound", "Resource group could not be found."), 404);
                }
                return (ResponseTemplate::new(200).set_body_json(json!({"value": value})), 200);
            }
            let name = segs[7].to_string();
            let busy = state.operations.values().any(|(left, done, _)| {
                *left > 0 && matches!(done, Completion::ClusterSucceeded(n) | Completion::ClusterGone(n) | Completion::PoolGone(n, _) if *n == name)
            });
            if segs.len() == 8 {
                return match method {
                    "GET" => match state.clusters.get(&name) {
                        Some(c) => (ResponseTemplate::new(200).set_body_json(strip(c)), 200),
                        None => (
                            arm_error(
                                404,
                                "ResourceNotFound",
                                &format!(
                                    "The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{}' was not found.",
                                    segs[3]
                                ),
                            ),
                            404,
                        ),
                    },
                    "PUT" => {
                        if busy {
                            return (
                                arm_error(
                                    409,
                                    "OperationNotAllowed",
                                    "Operation is not allowed: another operation is in progress",
                                ),
                                409,
                            );
                        }
                        let exists = state.clusters.contains_key(&name);
                        // The official example body, with the names, the request's settings and the state this flow needs.
                        let mut c = example("ManagedClustersGet.json", "200");
                        c["id"] = json!(format!(
                            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ContainerService/managedClusters/{name}",
                            segs[1], segs[3]
                        ));
                        c["name"] = json!(name);
                        c["location"] = body["location"].clone();
                        c["tags"] = body.get("tags").cloned().unwrap_or(json!({}));
                        let props = &body["properties"];
                        let cp = c["properties"].as_object_mut().expect("properties");
                        for k in ["kubernetesVersion", "dnsPrefix", "enableRBAC", "apiServerAccessProfile"] {
                            if let Some(v) = props.get(k) {
                                cp.insert(k.into(), v.clone());
                            } else {
                                cp.remove(k);
                            }
                        }
                        if let Some(n) = props.get("networkProfile") {
                            for (k, v) in n.as_object().into_iter().flatten() {
                                cp["networkProfile"][k] = v.clone();
                            }
                        }
                        cp.insert("provisioningState".into(), json!(if exists { "Updating" } else { "Creating" }));
                        cp.insert(
                            "currentKubernetesVersion".into(),
                            json!(format!("{}.4", props["kubernetesVersion"].as_str().unwrap_or("1.32"))),
                        );
                        cp.insert(
                            "fqdn".into(),
                            json!(format!(
                                "{}-abcd1234.hcp.westeurope.azmk8s.io",
                                props["dnsPrefix"].as_str().unwrap_or(&name)
                            )),
                        );
                        cp.insert("nodeResourceGroup".into(), json!(format!("MC_{}_{name}_westeurope", segs[3])));
                        let version = props["kubernetesVersion"].clone();
                        let pools: Vec<Value> = props["agentPoolProfiles"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|p| {
                                let mut props = p.clone();
                                props.as_object_mut().map(|m| m.remove("name"));
                                Self::pool_profile(p["name"].as_str().unwrap_or_default(), &props, &version)
                            })
                            .collect();
                        cp.insert("agentPoolProfiles".into(), json!(pools));
                        c["_group"] = json!(group);
                        state.clusters.insert(name.clone(), c.clone());
                        let id = self.start_operation(state, Completion::ClusterSucceeded(name), fail);
                        let r = ResponseTemplate::new(if exists { 200 } else { 201 })
                            .set_body_json(strip(&c))
                            .insert_header("Azure-AsyncOperation", format!("{}/operations/{id}", self.base).as_str());
                        (r, if exists { 200 } else { 201 })
                    }
                    "DELETE" => {
                        if !state.clusters.contains_key(&name) {
                            return (ResponseTemplate::new(204), 204);
                        }
                        if let Some(c) = state.clusters.get_mut(&name) {
                            c["properties"]["provisioningState"] = json!("Deleting");
                        }
                        let id = self.start_operation(state, Completion::ClusterGone(name), None);
                        (
                            ResponseTemplate::new(202)
                                .insert_header("Location", format!("{}/locations/{id}", self.base).as_str()),
                            202,
                        )
                    }
                    _ => (arm_error(405, "MethodNotAllowed", "no"), 405),
                };
            }
            if segs.len() == 9 && segs[8] == "listClusterUserCredential"
                || segs.len() == 9 && segs[8] == "listClusterAdminCredential"
            {
                let Some(c) = state.clusters.get(&name) else {
                    return (arm_error(404, "ResourceNotFound", "no cluster"), 404);
                };
                let mut r = example("ManagedClustersListClusterCredentialResult.json", "200");
                r["kubeconfigs"][0]["value"] =
                    json!(kubeconfig(&name, c["properties"]["fqdn"].as_str().unwrap_or("x")));
                return (ResponseTemplate::new(200).set_body_json(r), 200);
            }
            if segs.len() == 10 && segs[8] == "agentPools" {
                let pool = segs[9].to_string();
                if !state.clusters.contains_key(&name) {
                    return (arm_error(404, "ResourceNotFound", "no cluster"), 404);
                }
                return match method {
                    "PUT" => {
                        if busy {
                            return (
                                arm_error(
                                    409,
                                    "OperationNotAllowed",
                                    "Operation is not allowed: another operation is in progress",
                                ),
                                409,
                            );
                        }
                        let c = state.clusters.get_mut(&name).expect("cluster");
                        let version = c["properties"]["kubernetesVersion"].clone();
                        let profile = Self::pool_profile(&pool, &body["properties"], &version);
                        let pools = c["properties"]["agentPoolProfiles"].as_array_mut().expect("pools");
                        let exists = pools.iter().any(|p| p["name"] == pool.as_str());
                        pools.retain(|p| p["name"] != pool.as_str());
                        pools.push(profile.clone());
                        let mut answer = example("AgentPoolsCreate_Spot.json", "201");
                        answer["name"] = json!(pool);
                        answer["properties"] = profile;
                        let id = self.start_operation(state, Completion::ClusterSucceeded(name), fail);
                        let status = if exists { 200 } else { 201 };
                        let r = ResponseTemplate::new(status)
                            .set_body_json(answer)
                            .insert_header("Azure-AsyncOperation", format!("{}/operations/{id}", self.base).as_str());
                        (r, status)
                    }
                    "DELETE" => {
                        let id = self.start_operation(state, Completion::PoolGone(name, pool), None);
                        (
                            ResponseTemplate::new(202)
                                .insert_header("Location", format!("{}/locations/{id}", self.base).as_str()),
                            202,
                        )
                    }
                    _ => (arm_error(405, "MethodNotAllowed", "no"), 405),
                };
            }
        }
        (arm_error(404, "NotFound", &format!("the fake ARM has no route for {method} {path}")), 404)
    }
}

/// The stored body without the fake's bookkeeping.
fn strip(c: &Value) -> Value {
    let mut c = c.clone();
    c.as_object_mut().map(|m| m.remove("_group"));
    c
}
