//! The Kubernetes layer every cloud shares (feature `kube`).
//!
//! - [`client`]: a `kube::Client` for a ready cluster, from the [`ClusterAccess`] any `Provisioner::access`
//!   returns; `client_with_token_source` one whose bearer token a `BearerTokenSource` refreshes (an
//!   EKS token, a cloud's OAuth token).
//! - [`classify`]: kube-rs errors into wooo's [`wooo_core::Error`] categories, in one place.
//! - [`KubeDeployer`]: the [`Deployer`](wooo_core::Deployer) for any cluster: server-side apply in dependency
//!   order, ApplySet inventory and pruning ([`inventory`]), revisions kept in the cluster ([`revisions`]),
//!   kstatus health ([`health`]).
//! - [`KubeMesh`]: the [`MeshConfigurator`](wooo_core::MeshConfigurator) for Istio, the Gateway API and
//!   Linkerd, keeping each app's mesh objects in their own ApplySet.
//!
//! [`ClusterAccess`]: wooo_core::model::ClusterAccess

pub mod apply;
mod client;
mod deployer;
mod error;
pub mod health;
pub mod inventory;
mod mesh;
pub mod revisions;
mod secrets;
mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use client::client;
pub use client::{BearerTokenSource, client_with_token_source};
pub use deployer::{
    DiffStrategy, KubeDeployer, KubeDeployerOptions, RESTARTED_AT_ANNOTATION, WaitStrategy, scaled_spec,
};
pub use error::{PROVIDER, classify};
pub use mesh::{KubeMesh, MESH_PARENT_PREFIX, POLICY_KEY, mesh_applyset};
