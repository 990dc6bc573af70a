//! A small request-body validator for Azure's OpenAPI 2.0 ("swagger") definitions: the body a client sends to
//! an operation is checked against that operation's `in: body` parameter schema, following `$ref`s within the
//! file and into the ARM common-types file, merging `allOf`, and rejecting what the definition does not allow:
//! unknown properties (unless the schema has `additionalProperties`), read-only properties, wrong JSON types,
//! values outside a non-extensible enum, missing required properties, numbers outside `minimum`/`maximum`.
//!
//! It is what makes a field name wooo invents fail a test even though a mock server would accept it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// A loaded definition and the documents its `$ref`s point into.
#[derive(Debug, Clone)]
pub struct OpenApi {
    main: Value,
    /// Other documents by the file name their `$ref`s end with (`types.json`, `common-types.json`).
    others: BTreeMap<String, Value>,
}

/// Where a schema lives: the main document, or another one by its file name.
#[derive(Clone, Copy)]
enum Doc<'a> {
    Main,
    Other(&'a str),
}

impl OpenApi {
    /// Loads `main` and the referenced documents `others` (each named by its file name in `$ref`s).
    ///
    /// # Panics
    /// When a file cannot be read or is not JSON (test data).
    pub fn load(main: &Path, others: &[&Path]) -> Self {
        let read = |p: &Path| -> Value {
            serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let others =
            others.iter().map(|p| (p.file_name().expect("a file").to_string_lossy().into_owned(), read(p))).collect();
        Self { main: read(main), others }
    }

    fn doc(&self, doc: Doc<'_>) -> &Value {
        match doc {
            Doc::Main => &self.main,
            Doc::Other(name) => &self.others[name],
        }
    }

    /// Whether a `$ref` points into a loaded document.
    fn loaded(&self, reference: &str) -> bool {
        let file = reference.split_once('#').map_or(reference, |(f, _)| f);
        file.is_empty() || self.others.contains_key(file.rsplit('/').next().unwrap_or(file))
    }

    /// Resolves a `$ref` seen in `from`: the schema and the document it lives in.
    fn resolve<'a>(&'a self, from: Doc<'a>, reference: &str) -> (&'a Value, Doc<'a>) {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let doc = if file.is_empty() {
            from
        } else {
            let name = file.rsplit('/').next().expect("a file name");
            let (key, _) =
                self.others.get_key_value(name).unwrap_or_else(|| panic!("no document {name} for {reference}"));
            Doc::Other(key.as_str())
        };
        let value = self.doc(doc).pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {reference}"));
        (value, doc)
    }

    /// Validates `body` as the body of operation `method` on path template `path` (as written in the
    /// definition, `/subscriptions/{subscriptionId}/…`). The violations, each with its JSON path.
    ///
    /// # Panics
    /// When the definition has no such operation or it takes no body.
    pub fn validate_request(&self, path: &str, method: &str, body: &Value) -> Vec<String> {
        let op = self.main["paths"][path][method].as_object().unwrap_or_else(|| panic!("no operation {method} {path}"));
        let params = op.get("parameters").and_then(Value::as_array).expect("parameters");
        // Parameters defined in a document that was not loaded (a common-types file of path and query
        // parameters) cannot be the body: they are skipped.
        let body_param = params
            .iter()
            .filter_map(|p| match p.get("$ref").and_then(Value::as_str) {
                Some(r) if self.loaded(r) => Some(self.resolve(Doc::Main, r)),
                Some(_) => None,
                None => Some((p, Doc::Main)),
            })
            .find(|(p, _)| p["in"] == "body")
            .unwrap_or_else(|| panic!("{method} {path} takes no body"));
        let mut errors = Vec::new();
        self.check(&body_param.0["schema"], body_param.1, body, "$", &mut errors);
        errors
    }

    /// The operation (path template, method) a concrete request path matches, if any.
    pub fn operation_for(&self, method: &str, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.main["paths"].as_object()?.iter().find_map(|(template, ops)| {
            ops.get(method)?;
            let t: Vec<&str> = template.trim_matches('/').split('/').collect();
            let matches = t.len() == segments.len()
                && t.iter().zip(&segments).all(|(a, b)| a.starts_with('{') || a.eq_ignore_ascii_case(b));
            matches.then(|| template.clone())
        })
    }

    /// Every property, required name and extra-properties schema of an object schema, through `allOf`.
    fn object_parts<'a>(&'a self, schema: &'a Value, doc: Doc<'a>, parts: &mut ObjectParts<'a>) {
        let (schema, doc) = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => self.resolve(doc, r),
            None => (schema, doc),
        };
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.object_parts(s, doc, parts);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                parts.properties.insert(k.clone(), (v, doc));
            }
        }
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            parts.required.extend(req.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if let Some(extra) = schema.get("additionalProperties") {
            parts.additional = Some((extra, doc));
        }
        if schema.get("type").and_then(Value::as_str) == Some("object") {
            parts.is_object = true;
        }
    }

    fn check(&self, schema: &Value, doc: Doc<'_>, value: &Value, at: &str, errors: &mut Vec<String>) {
        let (schema, doc) = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => self.resolve(doc, r),
            None => (schema, doc),
        };
        let mut parts = ObjectParts::default();
        self.object_parts(schema, doc, &mut parts);
        let kind = schema.get("type").and_then(Value::as_str).or(if parts.is_object || !parts.properties.is_empty() {
            Some("object")
        } else {
            None
        });
        match (kind, value) {
            (Some("object"), Value::Object(map)) => self.check_object(&parts, map, at, errors),
            (Some("object"), _) => errors.push(format!("{at}: expected an object, got {value}")),
            (Some("array"), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.check(&schema["items"], doc, item, &format!("{at}[{i}]"), errors);
                }
            }
            (Some("array"), _) => errors.push(format!("{at}: expected an array, got {value}")),
            (Some("string"), Value::String(s)) => check_enum(schema, s, at, errors),
            (Some("string"), _) => errors.push(format!("{at}: expected a string, got {value}")),
            (Some("integer"), Value::Number(n)) if n.is_i64() || n.is_u64() => check_range(schema, n, at, errors),
            (Some("integer"), _) => errors.push(format!("{at}: expected an integer, got {value}")),
            (Some("number"), Value::Number(n)) => check_range(schema, n, at, errors),
            (Some("number"), _) => errors.push(format!("{at}: expected a number, got {value}")),
            (Some("boolean"), Value::Bool(_)) => {}
            (Some("boolean"), _) => errors.push(format!("{at}: expected a boolean, got {value}")),
            _ => {}
        }
    }

    fn check_object(&self, parts: &ObjectParts<'_>, map: &Map<String, Value>, at: &str, errors: &mut Vec<String>) {
        for name in &parts.required {
            if !map.contains_key(name) {
                errors.push(format!("{at}: required property `{name}` is missing"));
            }
        }
        for (k, v) in map {
            let path = format!("{at}.{k}");
            match parts.properties.get(k) {
                Some((schema, doc)) => {
                    let (resolved, _) = match schema.get("$ref").and_then(Value::as_str) {
                        Some(r) => self.resolve(*doc, r),
                        None => (*schema, *doc),
                    };
                    if schema.get("readOnly") == Some(&Value::Bool(true))
                        || resolved.get("readOnly") == Some(&Value::Bool(true))
                    {
                        errors.push(format!("{path}: read-only, a client may not send it"));
                    }
                    self.check(schema, *doc, v, &path, errors);
                }
                None => match parts.additional {
                    Some((Value::Bool(false), _)) | None => {
                        errors.push(format!("{path}: unknown property (not in the definition)"));
                    }
                    Some((Value::Bool(true), _)) => {}
                    Some((schema, doc)) => self.check(schema, doc, v, &path, errors),
                },
            }
        }
    }
}

#[derive(Default)]
struct ObjectParts<'a> {
    properties: BTreeMap<String, (&'a Value, Doc<'a>)>,
    required: Vec<String>,
    additional: Option<(&'a Value, Doc<'a>)>,
    is_object: bool,
}

/// A value outside an enum fails unless `x-ms-enum.modelAsString` makes it extensible.
fn check_enum(schema: &Value, s: &str, at: &str, errors: &mut Vec<String>) {
    let Some(values) = schema.get("enum").and_then(Value::as_array) else { return };
    let extensible = schema.pointer("/x-ms-enum/modelAsString") == Some(&Value::Bool(true));
    if !extensible && !values.iter().any(|v| v.as_str() == Some(s)) {
        errors.push(format!("{at}: `{s}` is not one of {values:?}"));
    } else if extensible && !values.iter().any(|v| v.as_str().is_some_and(|e| e.eq_ignore_ascii_case(s))) {
        // Extensible enums accept new values; wooo should still send a known one.
        errors.push(format!("{at}: `{s}` is not a known value of {values:?}"));
    }
}

fn check_range(schema: &Value, n: &serde_json::Number, at: &str, errors: &mut Vec<String>) {
    let x = n.as_f64().unwrap_or_default();
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && x < min
    {
        errors.push(format!("{at}: {x} is below the minimum {min}"));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && x > max
    {
        errors.push(format!("{at}: {x} is above the maximum {max}"));
    }
}
