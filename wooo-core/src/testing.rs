//! mockall mocks of the four traits, for downstream unit tests (feature `testing`).
//!
//! ```
//! use wooo_core::testing::MockProvisioner;
//! use wooo_core::{Error, Provisioner};
//! use wooo_core::model::ClusterId;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let mut mock = MockProvisioner::new();
//! mock.expect_provider().return_const("mock");
//! mock.expect_get()
//!     .withf(|id| id.as_str() == "missing")
//!     .times(1)
//!     .returning(|id| Err(Error::not_found("mock", format!("cluster {id}"))));
//! let err = mock.get(&ClusterId::new("missing")).await.unwrap_err();
//! assert!(matches!(err, Error::NotFound { .. }));
//! # }
//! ```

pub use crate::cost::MockCostAnalyzer;
pub use crate::deployer::MockDeployer;
pub use crate::mesh::MockMeshConfigurator;
pub use crate::provisioner::MockProvisioner;
