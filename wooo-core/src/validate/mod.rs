//! Spec validation: every spec is checked before the first API call, and every problem is reported at once.
//!
//! Each validator collects all violations it finds and returns one [`Error::InvalidSpec`] whose `field` and
//! `reason` are the first violation and whose `more` holds the rest (see [`Error::violations`]).
//!
//! Field paths are dotted, with list indexes and map keys in brackets, map keys quoted:
//! `node_pools[1].instance_types`, `network.pod_cidr`, `env["BAD KEY"]`, `labels["x/y"]`,
//! `traffic.backends[1].weight`, `overlays.prod.replicas`.
//!
//! ```
//! use wooo_core::model::{AppSpec, Framework};
//! let mut app = AppSpec::new("shop", "Web", "nginx:1.27", Framework::Static);
//! app.replicas = Some(5000);
//! let err = wooo_core::validate::app_spec(&app).unwrap_err();
//! let fields: Vec<String> = err.violations().into_iter().map(|v| v.field).collect();
//! assert_eq!(fields, ["name", "replicas"]);
//! ```
//!
//! # Parse, don't validate
//! [`app_spec`], [`cluster_spec`] and [`mesh_policy`] return the spec wrapped in [`Valid`], the only way to get
//! one. Rendering ([`crate::render::app`], [`crate::render::mesh`], …) and the providers take `&Valid<…>`, so a
//! spec is checked exactly once and no code path can render or apply an unchecked one.
//!
//! ```
//! use wooo_core::model::{AppSpec, Framework};
//! let app = AppSpec::new("shop", "web", "registry.example/web:1.0", Framework::Flask);
//! let valid = wooo_core::validate::app_spec(&app)?;
//! assert_eq!(valid.name, "web"); // derefs to the spec
//! let objects = wooo_core::render::app(&valid)?;
//! assert!(!objects.is_empty());
//! # Ok::<(), wooo_core::Error>(())
//! ```
//!
//! The single-value checks ([`dns1123_label`], [`label_key`], [`ipv4_cidr`], [`image_reference`], …) are public
//! so providers and renderers can apply the same rules to values they derive.

mod app;
mod checks;
mod cluster;
mod mesh;

pub use checks::{
    ENVOY_RETRY_ON, KubernetesVersion, MAX_KUBERNETES_MINOR, MIN_KUBERNETES_MINOR, config_key, dns1123_label,
    dns1123_subdomain, env_var_name, http_header_name, image_reference, ipv4_cidr, kubernetes_version, label_key,
    label_value, parse_ipv4_cidr,
};

use crate::error::{Error, FieldViolation, Result};
use crate::model::{AppSpec, ClusterSpec, MeshPolicy, NodePoolSpec, TimeWindow};

/// Validates a cluster spec: name, region, Kubernetes version, node pools (names, instance types, sizes,
/// labels, taints, disks, zones), network (CIDRs, overlaps, endpoint access) and tags.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming every invalid field.
pub fn cluster_spec(spec: &ClusterSpec) -> Result<Valid<ClusterSpec>> {
    let mut v = Violations::default();
    cluster::cluster(&mut v, spec);
    v.into_result().map(|()| Valid(spec.clone()))
}

/// Validates an app spec, its overlays (each overlay's own fields under `overlays.<env>.…`) and the spec each
/// overlay produces ([`AppSpec::for_environment`]), reporting problems the merge introduces under
/// `overlays.<env>.<field>` and problems it inherits from the base spec only once.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming every invalid field.
pub fn app_spec(spec: &AppSpec) -> Result<Valid<AppSpec>> {
    let mut v = Violations::default();
    app::app(&mut v, spec);
    v.into_result().map(|()| Valid(spec.clone()))
}

/// Validates a mesh policy: the app reference, the traffic split (weights sum to 100), resilience (the retry
/// budget fits the timeout) and tracing.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming every invalid field.
pub fn mesh_policy(policy: &MeshPolicy) -> Result<Valid<MeshPolicy>> {
    let mut v = Violations::default();
    mesh::policy(&mut v, policy);
    v.into_result().map(|()| Valid(policy.clone()))
}

/// A spec that passed its validator: the only way to build one is [`app_spec`], [`cluster_spec`] or
/// [`mesh_policy`], so holding a `Valid<T>` proves the check ran. It derefs to the spec, serializes as the spec,
/// and [`Valid::into_inner`] gives the spec back (to change it, then validate again).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Valid<T>(T);

impl<T> Valid<T> {
    /// The validated spec.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Valid<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> AsRef<T> for Valid<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

/// A validated [`AppSpec`].
pub type ValidApp = Valid<AppSpec>;
/// A validated [`ClusterSpec`].
pub type ValidCluster = Valid<ClusterSpec>;
/// A validated [`MeshPolicy`].
pub type ValidMeshPolicy = Valid<MeshPolicy>;

/// Validates a node pool resize.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] (field `desired`) when outside the pool's min..=max.
pub fn node_pool_scale(pool: &NodePoolSpec, desired: u32) -> Result<()> {
    if (pool.min..=pool.max).contains(&desired) {
        Ok(())
    } else {
        Err(Error::invalid_spec(
            "desired",
            format!("{desired} is outside node pool `{}`'s range {} to {}", pool.name, pool.min, pool.max),
        ))
    }
}

/// Validates a cost window.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] (field `window`) when it is empty.
pub fn time_window(window: &TimeWindow) -> Result<()> {
    if window.end > window.start {
        Ok(())
    } else {
        Err(Error::invalid_spec("window", format!("end {} must be after start {}", window.end, window.start)))
    }
}

/// The violations found so far, in the order the fields were checked.
#[derive(Debug, Default)]
struct Violations {
    list: Vec<FieldViolation>,
}

impl Violations {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.list.push(FieldViolation { field: field.into(), reason: reason.into() });
    }

    /// Records `result`'s reason under `field` when it is an error.
    fn check(&mut self, field: impl Into<String>, result: std::result::Result<(), String>) {
        if let Err(reason) = result {
            self.add(field, reason);
        }
    }

    fn contains(&self, violation: &FieldViolation) -> bool {
        self.list.contains(violation)
    }

    fn into_result(self) -> Result<()> {
        Error::from_violations(self.list).map_or(Ok(()), Err)
    }
}

/// `prefix.field`, or `field` at the top level (empty prefix).
fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") }
}

/// `prefix[i]`.
fn index(prefix: &str, i: usize) -> String {
    format!("{prefix}[{i}]")
}

/// `prefix["key"]`; the key is quoted and escaped, so keys with spaces, dots or quotes stay unambiguous.
fn key(prefix: &str, k: &str) -> String {
    format!("{prefix}[{k:?}]")
}

#[cfg(test)]
mod tests {
    use jiff::{SignedDuration, Timestamp};

    use super::*;
    use crate::model::{Capacity, DiskSpec, Labels};

    pub(super) fn fields<T>(result: Result<T>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(e) => {
                assert!(matches!(e, Error::InvalidSpec { .. }), "{e}");
                e.violations().into_iter().map(|v| v.field).collect()
            }
        }
    }

    #[test]
    fn paths_are_dotted_indexed_and_quoted() {
        assert_eq!(at("", "name"), "name");
        assert_eq!(at("overlays.prod", "replicas"), "overlays.prod.replicas");
        assert_eq!(index("node_pools", 1), "node_pools[1]");
        assert_eq!(key("env", "BAD KEY"), r#"env["BAD KEY"]"#);
        assert_eq!(key("labels", "a\"b"), r#"labels["a\"b"]"#);
    }

    #[test]
    fn violations_keep_their_order_and_become_one_error() {
        let mut v = Violations::default();
        assert!(v.into_result().is_ok());
        v = Violations::default();
        v.check("a", Ok(()));
        v.check("b", Err("bad b".into()));
        v.add("c", "bad c");
        let err = v.into_result().unwrap_err();
        let Error::InvalidSpec { field, reason, more } = err else { panic!("not InvalidSpec") };
        assert_eq!((field.as_str(), reason.as_str()), ("b", "bad b"));
        assert_eq!(more, vec![FieldViolation { field: "c".into(), reason: "bad c".into() }]);
    }

    fn pool(min: u32, max: u32) -> NodePoolSpec {
        NodePoolSpec {
            name: "general".into(),
            instance_types: vec!["m5.large".into()],
            min,
            max,
            desired: None,
            capacity: Capacity::OnDemand,
            labels: Labels::new(),
            taints: Vec::new(),
            disk: DiskSpec::default(),
            zones: Vec::new(),
        }
    }

    #[test]
    fn node_pool_scale_stays_within_min_and_max() {
        let p = pool(2, 5);
        for ok in [2, 3, 5] {
            assert!(node_pool_scale(&p, ok).is_ok(), "{ok}");
        }
        for bad in [0, 1, 6] {
            assert_eq!(fields(node_pool_scale(&p, bad)), ["desired"], "{bad}");
        }
        let reason = node_pool_scale(&p, 6).unwrap_err().to_string();
        assert!(reason.contains("2 to 5"), "{reason}");
    }

    #[test]
    fn time_window_must_not_be_empty() {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later = start + SignedDuration::from_hours(1);
        assert!(time_window(&TimeWindow::new(start, later)).is_ok());
        assert_eq!(fields(time_window(&TimeWindow::new(start, start))), ["window"]);
        assert_eq!(fields(time_window(&TimeWindow::new(later, start))), ["window"]);
    }
}
