//! Google API discovery documents as a test peer: find the method a request calls, and check a JSON body
//! against the method's request schema (or any named schema), following `$ref`s and rejecting fields the
//! schema does not define, values of the wrong type, enum values it does not list, and int64 values that are
//! not carried as decimal strings.
//!
//! The documents are Google's own (`tests/data/google/`, see its README): what passes here is what the real
//! API's definition allows.

use std::path::Path;

use serde_json::Value;

/// A discovery document.
#[derive(Debug, Clone)]
pub struct Discovery {
    doc: Value,
}

/// A method of a discovery document (`container.projects.locations.clusters.create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// The method id.
    pub id: String,
    /// The HTTP method.
    pub http_method: String,
    /// The request schema's name, when the method takes a body.
    pub request: Option<String>,
    /// The response schema's name.
    pub response: Option<String>,
}

impl Discovery {
    /// Loads `tests/data/google/<file>`.
    ///
    /// # Panics
    /// When the file is missing or not JSON (the test data is broken).
    pub fn load(file: &str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/google").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self { doc: serde_json::from_str(&text).expect("a discovery document is JSON") }
    }

    /// GKE's `container:v1`.
    pub fn container() -> Self {
        Self::load("container-v1-discovery.json")
    }

    /// Cloud Billing's `cloudbilling:v1`.
    pub fn cloudbilling() -> Self {
        Self::load("cloudbilling-v1-discovery.json")
    }

    /// The method an HTTP request calls: the one whose `flatPath` matches `path` (without the leading `/`),
    /// with that HTTP method.
    pub fn method(&self, http_method: &str, path: &str) -> Option<Method> {
        let path = path.trim_start_matches('/');
        let mut found = None;
        walk_methods(&self.doc, &mut |m| {
            let flat = m["flatPath"].as_str().or(m["path"].as_str()).unwrap_or_default();
            if found.is_none() && m["httpMethod"].as_str() == Some(http_method) && path_matches(flat, path) {
                found = Some(Method {
                    id: m["id"].as_str().unwrap_or_default().to_string(),
                    http_method: http_method.to_string(),
                    request: m["request"]["$ref"].as_str().map(str::to_string),
                    response: m["response"]["$ref"].as_str().map(str::to_string),
                });
            }
        });
        found
    }

    /// Checks `value` against the schema named `schema` in the default JSON encoding (enums as their names);
    /// every violation, as `path: what`.
    pub fn check(&self, schema: &str, value: &Value) -> Vec<String> {
        self.check_encoded(schema, value, false)
    }

    /// As [`Discovery::check`], for a request that asked for `$alt=json;enum-encoding=int` (Google's system
    /// parameter, which the Rust client libraries send): enums may also be their numbers.
    pub fn check_encoded(&self, schema: &str, value: &Value, int_enums: bool) -> Vec<String> {
        let mut out = Vec::new();
        let root = serde_json::json!({ "$ref": schema });
        Check { doc: self, int_enums }.at(&root, value, "$", &mut out);
        out
    }
}

/// Whether a request's query asks for integer enums (`$alt=json;enum-encoding=int`).
pub fn int_enums(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.contains("enum-encoding=int") || q.contains("enum-encoding%3Dint"))
}

struct Check<'a> {
    doc: &'a Discovery,
    int_enums: bool,
}

impl Check<'_> {
    fn at(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        if let Some(name) = schema["$ref"].as_str() {
            match self.doc.doc["schemas"].get(name) {
                Some(s) => return self.at(s, value, at, out),
                None => return out.push(format!("{at}: unknown schema {name}")),
            }
        }
        if let (Some(values), Value::Number(n)) = (schema["enum"].as_array(), value)
            && self.int_enums
        {
            if n.as_u64().is_none_or(|i| (i as usize) >= values.len()) {
                out.push(format!("{at}: {n} is not one of the enum's {} numbers", values.len()));
            }
            return;
        }
        let ty = schema["type"].as_str().unwrap_or("any");
        match (ty, value) {
            ("any", _) => {}
            (_, Value::Null) => out.push(format!("{at}: null is not a {ty}")),
            ("object", Value::Object(map)) => {
                let props = schema["properties"].as_object();
                let additional = schema.get("additionalProperties");
                for (k, v) in map {
                    let at = format!("{at}.{k}");
                    match (props.and_then(|p| p.get(k)), additional) {
                        (Some(s), _) => self.at(s, v, &at, out),
                        (None, Some(s)) => self.at(s, v, &at, out),
                        (None, None) => out.push(format!("{at}: no such field in the schema")),
                    }
                }
            }
            ("array", Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    self.at(&schema["items"], v, &format!("{at}[{i}]"), out);
                }
            }
            ("string", Value::String(s)) => {
                let format = schema["format"].as_str().unwrap_or_default();
                if matches!(format, "int64" | "uint64") && s.parse::<i128>().is_err() {
                    out.push(format!("{at}: `{s}` is not a decimal {format}"));
                }
                if let Some(values) = schema["enum"].as_array()
                    && !values.iter().any(|e| e.as_str() == Some(s))
                {
                    out.push(format!("{at}: `{s}` is not one of the enum's values"));
                }
            }
            ("integer", Value::Number(n)) => {
                let ok = match schema["format"].as_str() {
                    Some("int32") => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                    Some("uint32") => n.as_u64().is_some_and(|i| u32::try_from(i).is_ok()),
                    _ => n.is_i64() || n.is_u64(),
                };
                if !ok {
                    out.push(format!("{at}: {n} is not an {}", schema["format"].as_str().unwrap_or("integer")));
                }
            }
            ("number", Value::Number(_)) | ("boolean", Value::Bool(_)) => {}
            (ty, v) => out.push(format!("{at}: expected {ty}, got {v}")),
        }
    }
}

fn walk_methods(node: &Value, f: &mut impl FnMut(&Value)) {
    if let Some(methods) = node["methods"].as_object() {
        methods.values().for_each(&mut *f);
    }
    if let Some(resources) = node["resources"].as_object() {
        for r in resources.values() {
            walk_methods(r, f);
        }
    }
}

/// Whether a concrete path matches a `flatPath` template (`{x}` is one segment, up to a `:verb` suffix).
fn path_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| match t.find('}') {
            Some(end) if t.starts_with('{') => {
                let suffix = &t[end + 1..];
                p.len() > suffix.len()
                    && p.ends_with(suffix)
                    && !p[..p.len() - suffix.len()].contains(':')
                    && (suffix.is_empty() != p.contains(':'))
            }
            _ => t == p,
        })
}
