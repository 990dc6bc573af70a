//! JSON-pointer paths (RFC 6901) of the leaves two JSON documents disagree on, for object diffs.

use serde_json::Value;

/// The JSON pointers (RFC 6901) where `old` and `new` differ, sorted: the fields of an object diff. A key or
/// array element present on one side only is one path; a value of another type is one path; equal documents
/// give none. The simulator's and the Kubernetes deployer's diffs both use it.
///
/// ```
/// use serde_json::json;
/// let old = json!({"spec": {"replicas": 2, "template": {"image": "a"}}});
/// let new = json!({"spec": {"replicas": 3, "template": {"image": "a"}}});
/// assert_eq!(wooo_core::render::changed_paths(&old, &new), vec!["/spec/replicas"]);
/// ```
pub fn changed_paths(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(old, new, &mut String::new(), &mut out);
    out.sort();
    out
}

fn walk(old: &Value, new: &Value, path: &mut String, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(x, y, path, out),
                    _ => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => walk(x, y, path, out),
                    _ => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        // The root's pointer is the empty string.
        _ if old != new => out.push(path.clone()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_documents_have_no_paths() {
        let doc = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a"}]}}}});
        assert!(changed_paths(&doc, &doc.clone()).is_empty());
    }

    #[test]
    fn reports_differing_leaves_as_json_pointers() {
        let old =
            json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a", "name": "web"}]}}}});
        let new =
            json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"image": "b", "name": "web"}]}}}});
        assert_eq!(changed_paths(&old, &new), vec!["/spec/replicas", "/spec/template/spec/containers/0/image"]);
    }

    #[test]
    fn added_and_removed_keys_and_elements_are_one_path_each() {
        let old = json!({"metadata": {"labels": {"a/b": "1", "x~y": "1"}}, "list": [1, 2, 3]});
        let new = json!({"metadata": {"labels": {"x~y": "2", "c": {"deep": true}}}, "list": [1]});
        assert_eq!(
            changed_paths(&old, &new),
            vec!["/list/1", "/list/2", "/metadata/labels/a~1b", "/metadata/labels/c", "/metadata/labels/x~0y"]
        );
    }

    #[test]
    fn type_changes_are_leaves() {
        assert_eq!(changed_paths(&json!({"a": [1]}), &json!({"a": {"0": 1}})), vec!["/a"]);
        assert_eq!(changed_paths(&json!(1), &json!(2)), vec![""]);
    }
}
