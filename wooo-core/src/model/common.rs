//! Small types shared by every part of the model: identifiers, secrets, labels, ownership.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Label or tag map. Ordered, so rendered objects and plans are deterministic.
pub type Labels = BTreeMap<String, String>;

/// The label every Kubernetes object wooo creates carries, with the value [`MANAGED_BY_VALUE`].
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] (and of the cloud tag [`OWNER_TAG`]).
pub const MANAGED_BY_VALUE: &str = "wooo";
/// The cloud tag every cloud resource wooo creates carries, with the value [`MANAGED_BY_VALUE`].
pub const OWNER_TAG: &str = "wooo.dev/managed-by";

/// Identifies a cluster within one provider instance (one account and region, resource group, or project).
/// It is the cluster's name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClusterId(String);

impl ClusterId {
    /// An id from a cluster name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClusterId({:?})", self.0)
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ClusterId {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl From<String> for ClusterId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// Identifies an application on a cluster: its namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppRef {
    /// Namespace.
    pub namespace: String,
    /// Application name.
    pub name: String,
}

impl AppRef {
    /// An app reference.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into() }
    }
}

impl fmt::Display for AppRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A secret string: its `Debug` and `Display` print `<redacted>`, so it cannot leak through logs or error
/// messages. Read it with [`SecretString::expose`] where the value is really needed.
///
/// ```
/// use wooo_core::model::SecretString;
/// let s = SecretString::new("hunter2");
/// assert_eq!(format!("{s:?}"), "<redacted>");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl Serialize for SecretString {
    /// Serializes the real value: spec files round-trip. Keep serialized specs with secrets out of logs.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString)
    }
}

/// Which cloud (or plain hosts) a cluster runs on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloudKind {
    /// Amazon EKS.
    Aws,
    /// Azure AKS.
    Azure,
    /// Google GKE.
    Gcp,
    /// K3s on plain hosts.
    K3s,
    /// wooo's in-memory simulator.
    Sim,
}

impl fmt::Display for CloudKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloudKind::Aws => "aws",
            CloudKind::Azure => "azure",
            CloudKind::Gcp => "gcp",
            CloudKind::K3s => "k3s",
            CloudKind::Sim => "sim",
        })
    }
}

/// Loads a spec (any model type) from YAML or JSON text. JSON is YAML, so one parser reads both.
///
/// ```
/// use wooo_core::model::{from_yaml, AppSpec};
/// let app: AppSpec = from_yaml("name: web\nnamespace: shop\nimage: nginx:1.27\nframework: static\n").unwrap();
/// assert_eq!(app.name, "web");
///
/// let err = from_yaml::<AppSpec>("name: web\nnamespace: shop\nimage: nginx:1.27\nreplicas: many\n").unwrap_err();
/// assert_eq!(err.violations()[0].field, "replicas");
///
/// let err = from_yaml::<AppSpec>("name: web\nnamespace: shop\nimage: nginx:1.27\nprobes: {livness_path: /h}\n").unwrap_err();
/// assert_eq!(err.violations()[0].field, "probes.livness_path");
/// ```
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming the field that does not parse (an unknown field is named too;
/// `<document>` when the text is not YAML at all), with the parser's message.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> crate::Result<T> {
    // Through a JSON value, so that serde_path_to_error can name the failing field.
    let value: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| crate::Error::invalid_spec("<document>", e.to_string()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // The path of an unknown field already ends with its name, except at the root.
        let field = match unknown_field(&message) {
            _ if path != "." => path,
            Some(name) => name.to_string(),
            None => "<document>".to_string(),
        };
        crate::Error::invalid_spec(field, message)
    })
}

/// The field name of serde's "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// Reads and parses a spec file (YAML or JSON).
///
/// # Errors
/// [`crate::Error::InvalidSpec`] when the file cannot be read (field `<file>`) or parsed (see [`from_yaml`]).
pub fn from_yaml_file<T: serde::de::DeserializeOwned>(path: impl AsRef<std::path::Path>) -> crate::Result<T> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::invalid_spec("<file>", format!("cannot read {}: {e}", path.display())))?;
    from_yaml(&text)
}

/// Writes any model value as YAML.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] when the value cannot be represented (field `<document>`).
pub fn to_yaml<T: Serialize>(value: &T) -> crate::Result<String> {
    serde_saphyr::to_string(value).map_err(|e| crate::Error::invalid_spec("<document>", e.to_string()))
}
