//! The Kubernetes layer every cloud shares (feature `kube`).
//!
//! - [`client`]: a `kube::Client` for a ready cluster, from the [`ClusterAccess`] any `Provisioner::access`
//!   returns.
//! - [`classify`]: kube-rs errors into wooo's [`wooo_core::Error`] categories, in one place.
//!
//! [`ClusterAccess`]: wooo_core::model::ClusterAccess

mod client;
mod error;

pub use client::client;
pub use error::{PROVIDER, classify};
