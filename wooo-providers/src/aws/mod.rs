//! AWS: the EKS [`Provisioner`](wooo_core::Provisioner) (feature `aws`).
//!
//! Module shape (the pattern every cloud follows): `mod.rs` the provider type and its trait impls, `builder.rs`
//! [`EksBuilder`], `api.rs` the thin seam over the SDKs that unit tests mock, `sdk.rs` the seam over
//! aws-sdk-eks/-ec2/-iam/-sts, `error.rs` error classification (once), `token.rs` the in-process EKS bearer
//! token.

mod api;
mod error;
mod sdk;
mod token;

pub use token::EksTokenSource;

#[cfg(feature = "testing")]
pub mod testing;

/// The EC2 / IAM tag naming the cluster a resource wooo created belongs to (its value is the cluster name).
pub const CLUSTER_TAG: &str = "wooo.dev/cluster";
/// The EC2 tag naming a network resource's role in the cluster's network (`vpc`, `public-<zone>`, …).
pub const ROLE_TAG: &str = "wooo.dev/role";
/// The EKS node group tag naming the wooo node pool it implements.
pub const NODE_POOL_TAG: &str = "wooo.dev/node-pool";
