//! Server-side apply of rendered objects, generically over every kind: API resource resolution (a built-in
//! table, discovery for everything else), the objects as applied (ApplySet label, configuration hash), and the
//! pure comparisons that decide whether an apply is needed and what a diff shows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::{Map, Value};
use wooo_core::render::Object;
use wooo_core::{Error, Result};

use super::error::{PROVIDER, classify};
use super::inventory::{GroupKind, PART_OF_LABEL};

/// Annotation holding the hash of the configuration wooo last applied to the object. A field dropped from the
/// configuration leaves no trace in the live object that a comparison could find; the hash changes, so the
/// apply goes to the server, which removes the field.
pub const CONFIG_HASH_ANNOTATION: &str = "wooo.dev/config-hash";

/// Kinds whose API resource is known without asking the API server: every kind `wooo_core::render` emits
/// today. `(group, version, kind, plural, namespaced)`.
const BUILT_IN: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "Namespace", "namespaces", false),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "Service", "services", true),
    ("apps", "v1", "Deployment", "deployments", true),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
];

/// An API resource and its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Group, version, kind and plural.
    pub resource: ApiResource,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

impl Resolved {
    fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let api_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        let resource = ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version,
            kind: kind.to_string(),
            plural: plural.to_string(),
        };
        Self { resource, namespaced }
    }

    /// The group-kind.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(&self.resource.group, &self.resource.kind)
    }

    /// An API handle for objects of this resource in `namespace` (ignored for cluster-scoped kinds).
    pub fn api(&self, client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
        if self.namespaced {
            Api::namespaced_with(client.clone(), namespace, &self.resource)
        } else {
            Api::all_with(client.clone(), &self.resource)
        }
    }
}

fn built_in(api_version: &str, kind: &str) -> Option<Resolved> {
    let (group, version) = split_api_version(api_version);
    BUILT_IN
        .iter()
        .find(|(g, v, k, _, _)| *g == group && *v == version && *k == kind)
        .map(|(g, v, k, p, n)| Resolved::new(g, v, k, p, *n))
}

fn built_in_group_kind(gk: &GroupKind) -> Option<Resolved> {
    BUILT_IN
        .iter()
        .find(|(g, _, k, _, _)| *g == gk.group && *k == gk.kind)
        .map(|(g, v, k, p, n)| Resolved::new(g, v, k, p, *n))
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Resolves kinds to API resources: from a built-in table of the kinds wooo renders, without a request, otherwise by discovery (one request
/// per group-version), remembering what it found.
#[derive(Debug, Default)]
pub struct Resolver {
    found: Mutex<HashMap<(String, String), Resolved>>,
}

impl Resolver {
    fn remembered(&self, api_version: &str, kind: &str) -> Option<Resolved> {
        self.found.lock().ok()?.get(&(api_version.to_string(), kind.to_string())).cloned()
    }

    fn remembered_group_kind(&self, gk: &GroupKind) -> Option<Resolved> {
        let found = self.found.lock().ok()?;
        found.values().find(|r| r.resource.group == gk.group && r.resource.kind == gk.kind).cloned()
    }

    fn remember(&self, resolved: &Resolved) {
        if let Ok(mut found) = self.found.lock() {
            found.insert((resolved.resource.api_version.clone(), resolved.resource.kind.clone()), resolved.clone());
        }
    }

    /// Resolves every `(apiVersion, kind)`, in order. Every kind is checked before the caller writes anything,
    /// so an app whose custom resource definition is missing is not half applied.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming every kind (and its group-version) the API server does not serve;
    /// discovery errors, classified.
    pub async fn resolve_all(&self, client: &kube::Client, kinds: &[(&str, &str)]) -> Result<Vec<Resolved>> {
        let mut lists: BTreeMap<String, Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource>>> =
            BTreeMap::new();
        let mut out = Vec::with_capacity(kinds.len());
        let mut missing = Vec::new();
        for (api_version, kind) in kinds {
            if let Some(r) = built_in(api_version, kind).or_else(|| self.remembered(api_version, kind)) {
                out.push(Some(r));
                continue;
            }
            if !lists.contains_key(*api_version) {
                lists.insert(api_version.to_string(), served_resources(client, api_version).await?);
            }
            let (group, version) = split_api_version(api_version);
            let found = lists
                .get(*api_version)
                .and_then(Option::as_ref)
                .and_then(|list| list.iter().find(|r| r.kind == *kind && !r.name.contains('/')))
                .map(|r| Resolved::new(group, version, kind, &r.name, r.namespaced));
            match found {
                Some(r) => {
                    self.remember(&r);
                    out.push(Some(r));
                }
                None => {
                    missing.push(format!("{kind} ({api_version})"));
                    out.push(None);
                }
            }
        }
        if !missing.is_empty() {
            return Err(Error::unsupported(
                PROVIDER,
                format!(
                    "applying {}: the API server does not serve {}; install the CustomResourceDefinition first \
                     (nothing was applied)",
                    missing.join(", "),
                    if missing.len() == 1 { "this kind" } else { "these kinds" }
                ),
            ));
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Resolves a group-kind recorded in an ApplySet parent (which has no version) to the group's preferred
    /// version. `None` when the group or kind is no longer served: nothing of it can be left to prune.
    ///
    /// # Errors
    /// Discovery errors other than NotFound, classified.
    pub async fn resolve_group_kind(&self, client: &kube::Client, gk: &GroupKind) -> Result<Option<Resolved>> {
        if let Some(r) = built_in_group_kind(gk).or_else(|| self.remembered_group_kind(gk)) {
            return Ok(Some(r));
        }
        let versions: Vec<String> = if gk.group.is_empty() {
            match client.list_core_api_versions().await {
                Ok(v) => v.versions,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(classify(e)),
            }
        } else {
            let request = http_get(&format!("/apis/{}", gk.group))?;
            match client.request::<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroup>(request).await {
                Ok(group) => group.preferred_version.map(|v| v.group_version).into_iter().collect(),
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(classify(e)),
            }
        };
        let Some(api_version) = versions.first() else { return Ok(None) };
        match self.resolve_all(client, &[(api_version.as_str(), gk.kind.as_str())]).await {
            Ok(mut r) => Ok(r.pop()),
            Err(Error::Unsupported { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn http_get(path: &str) -> Result<http::Request<Vec<u8>>> {
    http::Request::get(path).body(Vec::new()).map_err(|e| Error::Provider {
        provider: PROVIDER,
        message: format!("bad request {path}: {e}"),
        source: None,
    })
}

/// The resources a group-version serves; `None` when the API server does not serve the group-version at all.
async fn served_resources(
    client: &kube::Client,
    api_version: &str,
) -> Result<Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource>>> {
    let (group, version) = split_api_version(api_version);
    let listed = if group.is_empty() {
        client.list_core_api_resources(version).await
    } else {
        client.list_api_group_resources(api_version).await
    };
    match listed {
        Ok(list) => Ok(Some(list.resources)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

/// Whether a kube error is the API server's 404.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// One object as wooo applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// `apiVersion`.
    pub api_version: String,
    /// Group and kind.
    pub group_kind: GroupKind,
    /// Name.
    pub name: String,
    /// Namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// The apply configuration: the rendered object, plus the ApplySet membership label and the configuration
    /// hash annotation.
    pub body: Value,
    /// Apply it even when it exists and belongs to no ApplySet of this app (a Namespace the spec asks wooo to
    /// manage); otherwise such a Namespace is left exactly as it is.
    pub manage_existing: bool,
}

impl Desired {
    /// `object` as a member of the ApplySet `applyset_id`.
    ///
    /// # Errors
    /// Only when the object cannot be serialized, which k8s-openapi types do not do.
    pub fn from_object(object: &Object, applyset_id: &str) -> Result<Self> {
        Ok(Self::from_parts(
            object.api_version(),
            object.kind(),
            object.name(),
            object.namespace(),
            object.to_json()?,
            applyset_id,
        ))
    }

    /// An object given as JSON (with `apiVersion` and `kind`) as a member of the ApplySet `applyset_id`.
    pub fn from_parts(
        api_version: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        mut body: Value,
        applyset_id: &str,
    ) -> Self {
        set_metadata_entry(&mut body, "labels", PART_OF_LABEL, applyset_id.to_string());
        let hash = config_hash(&body);
        set_metadata_entry(&mut body, "annotations", CONFIG_HASH_ANNOTATION, hash);
        Self {
            api_version: api_version.to_string(),
            group_kind: GroupKind::of(api_version, kind),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            body,
            manage_existing: false,
        }
    }

    /// `Kind/name`, as diffs name objects.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group_kind.kind, self.name)
    }
}

/// The map under `key` in `map`, made an empty map when absent or not a map.
fn map_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let entry = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

/// Sets `metadata.<field>.<key>` (labels or annotations) of an object.
fn set_metadata_entry(body: &mut Value, field: &str, key: &str, value: String) {
    if let Some(entries) = body.as_object_mut().and_then(|o| map_entry(o, "metadata")).and_then(|m| map_entry(m, field))
    {
        entries.insert(key.to_string(), Value::String(value));
    }
}

/// base64url(sha256(the configuration's JSON)). serde_json writes maps in a fixed order, so equal
/// configurations hash equally.
pub fn config_hash(body: &Value) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref())
}

/// Whether the live object is owned by wooo's ApplySet `applyset_id`: labelled as its member and as managed
/// by wooo. Only such objects are applied with `force`.
pub fn owned_by(live: &Value, applyset_id: &str) -> bool {
    let labels = &live["metadata"]["labels"];
    labels[PART_OF_LABEL] == applyset_id
        && labels[wooo_core::model::MANAGED_BY_LABEL] == wooo_core::model::MANAGED_BY_VALUE
}

/// The object's `metadata.resourceVersion`.
pub fn resource_version(value: &Value) -> Option<&str> {
    value["metadata"]["resourceVersion"].as_str()
}

/// The object without what the server owns or maintains (identity, versions, managed fields, status) and
/// without `apiVersion`/`kind` (list items may lack them); a Secret's `stringData` folded into `data` as the
/// API server does on write. Comparisons look at what is left.
pub fn normalize(value: &Value) -> Value {
    let mut v = value.clone();
    if let Value::Object(map) = &mut v {
        map.remove("status");
        map.remove("apiVersion");
        map.remove("kind");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for key in ["managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"] {
                meta.remove(key);
            }
        }
        if let Some(Value::Object(string_data)) = map.remove("stringData")
            && let Some(data) = map_entry(map, "data")
        {
            for (k, val) in string_data {
                if let Value::String(s) = val {
                    data.insert(k, Value::String(STANDARD.encode(s.as_bytes())));
                }
            }
        }
    }
    v
}

/// Whether `live` already holds every field of `desired` with the same value (both normalized): objects by
/// key, lists element by element with equal lengths, scalars by equality. Fields the server added (defaults)
/// do not matter.
pub fn contains(live: &Value, desired: &Value) -> bool {
    fn go(live: &Value, desired: &Value) -> bool {
        match (live, desired) {
            (Value::Object(l), Value::Object(d)) => d.iter().all(|(k, dv)| l.get(k).is_some_and(|lv| go(lv, dv))),
            (Value::Array(l), Value::Array(d)) => l.len() == d.len() && l.iter().zip(d).all(|(lv, dv)| go(lv, dv)),
            (l, d) => l == d,
        }
    }
    go(&normalize(live), &normalize(desired))
}

/// JSON pointer of a child.
fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The JSON pointers where `live` does not hold what `desired` asks for (both normalized): the fields an apply
/// would set. A changed list is named by its element when the lengths agree, by the list otherwise.
pub fn missing_paths(desired: &Value, live: &Value) -> Vec<String> {
    fn go(desired: &Value, live: &Value, at: &str, out: &mut Vec<String>) {
        match (desired, live) {
            (Value::Object(d), Value::Object(l)) => {
                for (k, dv) in d {
                    match l.get(k) {
                        Some(lv) => go(dv, lv, &child(at, k), out),
                        None => out.push(child(at, k)),
                    }
                }
            }
            (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
                for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                    go(dv, lv, &child(at, &i.to_string()), out);
                }
            }
            (d, l) if d == l => {}
            _ => out.push(at.to_string()),
        }
    }
    let mut out = Vec::new();
    go(&normalize(desired), &normalize(live), "", &mut out);
    without_hash_noise(out)
}

/// The JSON pointers where `before` and `after` differ (both normalized), both ways: changed, added and
/// removed fields ([`wooo_core::render::changed_paths`]). Used on a server-side dry run's answer against the
/// live object.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    without_hash_noise(wooo_core::render::changed_paths(&normalize(before), &normalize(after)))
}

/// The hash annotation changes whenever anything else does; it is named only when nothing else is (a field
/// was dropped from the configuration, which only the hash shows before the server removes it).
fn without_hash_noise(paths: Vec<String>) -> Vec<String> {
    let hash = child("/metadata/annotations", CONFIG_HASH_ANNOTATION);
    if paths.len() > 1 { paths.into_iter().filter(|p| *p != hash).collect() } else { paths }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn desired(body: Value) -> Desired {
        Desired::from_parts("apps/v1", "Deployment", "web", Some("shop"), body, "applyset-x-v1")
    }

    #[test]
    fn built_in_kinds_resolve_without_discovery() {
        let d = built_in("apps/v1", "Deployment").unwrap();
        assert_eq!((d.resource.plural.as_str(), d.namespaced), ("deployments", true));
        let ns = built_in("v1", "Namespace").unwrap();
        assert_eq!(
            (ns.resource.plural.as_str(), ns.namespaced, ns.resource.api_version.as_str()),
            ("namespaces", false, "v1")
        );
        let hpa = built_in("autoscaling/v2", "HorizontalPodAutoscaler").unwrap();
        assert_eq!(hpa.resource.plural, "horizontalpodautoscalers");
        assert_eq!(built_in("networking.k8s.io/v1", "Ingress").unwrap().resource.plural, "ingresses");
        assert!(built_in("autoscaling/v1", "HorizontalPodAutoscaler").is_none(), "only the versions render emits");
        assert!(built_in("monitoring.coreos.com/v1", "ServiceMonitor").is_none());
        assert_eq!(
            built_in_group_kind(&GroupKind::new("policy", "PodDisruptionBudget")).unwrap().resource.version,
            "v1"
        );
    }

    #[test]
    fn desired_objects_carry_membership_and_a_hash_of_the_configuration() {
        let d = desired(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}));
        assert_eq!(d.body["metadata"]["labels"][PART_OF_LABEL], "applyset-x-v1");
        let hash = d.body["metadata"]["annotations"][CONFIG_HASH_ANNOTATION].as_str().unwrap().to_string();
        assert_eq!(hash.len(), 43, "base64url of 32 bytes");
        assert_eq!(d.key(), "Deployment/web");
        assert_eq!(d.group_kind, GroupKind::new("apps", "Deployment"));

        let same = desired(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}));
        assert_eq!(same.body, d.body, "equal configurations hash equally");
        let other =
            desired(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}));
        assert_ne!(other.body["metadata"]["annotations"][CONFIG_HASH_ANNOTATION], hash.as_str());
    }

    #[test]
    fn contains_ignores_server_fields_and_defaults() {
        let want = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"a": "1"}},
            "spec": {"ports": [{"port": 80}]}});
        let live = json!({"metadata": {"name": "web", "labels": {"a": "1", "extra": "x"}, "resourceVersion": "7",
            "uid": "u", "managedFields": []}, "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "clusterIP": "10.0.0.1"},
            "status": {"loadBalancer": {}}});
        assert!(contains(&live, &want));
        let mut changed = live.clone();
        changed["spec"]["ports"][0]["port"] = json!(8080);
        assert!(!contains(&changed, &want));
        let mut extra_port = live.clone();
        extra_port["spec"]["ports"].as_array_mut().unwrap().push(json!({"port": 443}));
        assert!(!contains(&extra_port, &want), "lists must have the same length");
        let mut no_label = live;
        no_label["metadata"]["labels"].as_object_mut().unwrap().remove("a");
        assert!(!contains(&no_label, &want));
    }

    #[test]
    fn secrets_compare_string_data_with_data() {
        let want = json!({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"TOKEN": "hunter2"}});
        let converted =
            json!({"metadata": {"name": "s"}, "data": {"TOKEN": STANDARD.encode("hunter2")}, "type": "Opaque"});
        assert!(contains(&converted, &want), "the API server folds stringData into data");
        assert!(contains(&want, &want));
        let other = json!({"metadata": {"name": "s"}, "data": {"TOKEN": STANDARD.encode("other")}});
        assert!(!contains(&other, &want));
        assert_eq!(missing_paths(&want, &other), vec!["/data/TOKEN"]);
    }

    #[test]
    fn missing_paths_are_json_pointers() {
        let want = json!({"metadata": {"annotations": {"a/b": "1", "t~x": "2"}}, "spec": {"template": {"spec":
            {"containers": [{"name": "app", "image": "v2"}]}}, "replicas": 3}});
        let live = json!({"metadata": {"annotations": {"a/b": "0"}}, "spec": {"template": {"spec":
            {"containers": [{"name": "app", "image": "v1"}]}}, "replicas": 3}});
        assert_eq!(
            missing_paths(&want, &live),
            vec!["/metadata/annotations/a~1b", "/metadata/annotations/t~0x", "/spec/template/spec/containers/0/image"]
        );
        let mut longer = live.clone();
        longer["spec"]["template"]["spec"]["containers"] = json!([]);
        assert!(missing_paths(&want, &longer).contains(&"/spec/template/spec/containers".to_string()));
        assert!(missing_paths(&live, &live).is_empty());
    }

    #[test]
    fn changed_paths_see_removals_and_ignore_server_fields() {
        let before = json!({"metadata": {"name": "c", "resourceVersion": "1", "generation": 1},
            "data": {"A": "1", "B": "2"}, "status": {"x": 1}});
        let after = json!({"metadata": {"name": "c", "resourceVersion": "2", "generation": 2},
            "data": {"A": "1", "C": "3"}, "status": {"x": 2}});
        assert_eq!(changed_paths(&before, &after), vec!["/data/B", "/data/C"]);
        assert!(changed_paths(&before, &before).is_empty());
    }

    #[test]
    fn the_hash_is_named_only_when_nothing_else_changed() {
        let a = desired(json!({"metadata": {"name": "web"}, "data": {"A": "1", "B": "2"}}));
        let b = desired(json!({"metadata": {"name": "web"}, "data": {"A": "1"}}));
        let hash_path = format!("/metadata/annotations/{}", CONFIG_HASH_ANNOTATION.replace('/', "~1"));
        // B was dropped: only the hash tells.
        assert_eq!(missing_paths(&b.body, &a.body), vec![hash_path.clone()]);
        let c = desired(json!({"metadata": {"name": "web"}, "data": {"A": "9", "B": "2"}}));
        assert_eq!(missing_paths(&c.body, &a.body), vec!["/data/A"]);
        assert_eq!(changed_paths(&a.body, &b.body), vec!["/data/B"]);
    }

    #[test]
    fn ownership_needs_both_labels() {
        let ours = json!({"metadata": {"labels": {PART_OF_LABEL: "id1", "app.kubernetes.io/managed-by": "wooo"}}});
        assert!(owned_by(&ours, "id1"));
        assert!(!owned_by(&ours, "id2"));
        let theirs = json!({"metadata": {"labels": {PART_OF_LABEL: "id1", "app.kubernetes.io/managed-by": "helm"}}});
        assert!(!owned_by(&theirs, "id1"));
        assert!(!owned_by(&json!({"metadata": {}}), "id1"));
    }
}
