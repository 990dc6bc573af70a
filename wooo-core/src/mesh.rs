//! The [`MeshConfigurator`] trait: traffic split, resilience, mTLS and tracing in a service mesh.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{AppRef, MeshKind, MeshPolicy, MeshStatus, TrafficSplit};

/// What a mesh configurator can do.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeshCapabilities {
    /// Mesh implementations supported.
    pub kinds: Vec<MeshKind>,
    /// Header-match routing.
    pub header_match: bool,
    /// mTLS configuration.
    pub mtls: bool,
    /// Tracing configuration.
    pub tracing: bool,
}

/// Mesh policy for applications on one cluster (bound to a cluster, like a deployer).
///
/// Applying the same policy twice changes nothing the second time ([`MeshStatus::changed`] is false).
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait MeshConfigurator: Send + Sync + Debug + 'static {
    /// Short provider name used in errors.
    fn provider(&self) -> &'static str;

    /// What this configurator supports.
    fn capabilities(&self) -> MeshCapabilities;

    /// Applies the whole policy for an app, replacing the previous one.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSpec`] (weights not summing to 100, a retry budget longer than the timeout, a
    /// header match to an unknown version) before any call; [`crate::Error::Unsupported`] for a mesh kind or
    /// feature not in the capabilities; provider errors.
    async fn apply(&self, policy: &MeshPolicy) -> Result<MeshStatus>;

    /// The policy in force for an app.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when the app has no policy; provider errors.
    async fn get(&self, app: &AppRef) -> Result<MeshPolicy>;

    /// Changes only the traffic split of an app's policy (a canary step).
    ///
    /// # Errors
    /// [`crate::Error::InvalidSpec`]; [`crate::Error::NotFound`] when the app has no policy; provider errors.
    async fn set_traffic(&self, app: &AppRef, split: &TrafficSplit) -> Result<MeshStatus>;

    /// Removes every mesh object of an app.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`]; provider errors.
    async fn delete(&self, app: &AppRef) -> Result<()>;
}
