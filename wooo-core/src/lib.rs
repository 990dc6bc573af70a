//! # wooo-core
//!
//! The heart of wooo: the four traits host programs compose — [`Provisioner`] (clusters), [`Deployer`]
//! (applications), [`MeshConfigurator`] (traffic, resilience, mTLS) and [`CostAnalyzer`] (cost, allocation,
//! recommendations) — the domain model they speak ([`model`]), spec validation ([`validate`]), typed manifest
//! rendering ([`render`]), pure decision logic ([`plan`]), retry decorators ([`retry`]), typed progress events
//! ([`progress`]) and an in-memory simulated cloud ([`sim`]) that implements the first three traits and exposes
//! its cost inventory; the cost engine and every [`CostAnalyzer`] implementation, the simulator's included, live
//! in `wooo-cost`.
//!
//! Cloud implementations live in `wooo-providers` (EKS, AKS, GKE, K3s) and `wooo-cost`; this crate pulls no
//! cloud SDK.
//!
//! ## Quick look (on the simulator)
//! ```
//! use wooo_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> wooo_core::Result<()> {
//! let cloud = SimCloud::builder().provisioning_delay(std::time::Duration::ZERO).build();
//! let spec: ClusterSpec = wooo_core::model::from_yaml(r#"
//! name: demo
//! provider: sim
//! region: us-east-1
//! kubernetes_version: "1.33"
//! node_pools:
//!   - name: general
//!     instance_types: [m5.large]
//!     min: 2
//!     max: 5
//! "#)?;
//! let provisioner = cloud.provisioner();
//! let cluster = provisioner.ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
//! assert!(cluster.is_ready());
//!
//! let deployer = cloud.deployer(&cluster.id)?;
//! let app = AppSpec::new("shop", "web", "nginx:1.27", Framework::Static);
//! let status = deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await?;
//! assert_eq!(status.health, Health::Current);
//! # Ok(()) }
//! ```
//!
//! ## Errors
//! One [`Error`] enum by category; ask [`Error::is_retryable`] and wrap any implementation in
//! [`retry::Retrying`] to retry throttling and passing failures with backoff.
//!
//! ## Features
//! - `conformance`: the public behaviour suite (module `conformance`) any implementation can run.
//! - `testing`: mockall mocks of the four traits (module `testing`).

pub mod error;
pub mod model;
pub mod plan;
pub mod progress;
pub mod render;
pub mod retry;
pub mod sim;
pub mod validate;

mod cost;
mod deployer;
mod mesh;
mod provisioner;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "testing")]
pub mod testing;

pub use cost::{CostAnalyzer, CostCapabilities, RecommendOptions};
pub use deployer::{Deployer, DeployerCapabilities, DeployerExt, RestartToken, previous_revision, rollback_target};
pub use error::{BoxError, Error, ErrorKind, FieldViolation, Result};
pub use mesh::{MeshCapabilities, MeshConfigurator};
pub use provisioner::{DeleteOptions, Look, Provisioner, ProvisionerCapabilities, ProvisionerExt, WaitOptions};

// Every Rust block of the README compiles (it shows the mocks and the conformance helpers).
#[cfg(all(doctest, feature = "testing", feature = "conformance"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The traits, options and model types most host programs use.
pub mod prelude {
    pub use crate::model::*;
    pub use crate::progress::{Progress, ProgressEvent};
    pub use crate::retry::{RetryConfig, Retrying};
    pub use crate::sim::SimCloud;
    pub use crate::{
        CostAnalyzer, DeleteOptions, Deployer, DeployerExt, Error, ErrorKind, MeshConfigurator, Provisioner,
        ProvisionerExt, RecommendOptions, RestartToken, Result, WaitOptions,
    };
}
