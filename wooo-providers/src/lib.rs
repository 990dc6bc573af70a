//! # wooo-providers
//!
//! wooo's implementations of the traits of `wooo-core` for real infrastructure, one folder per cloud, each
//! behind its cargo feature, plus the Kubernetes layer every cloud shares:
//!
//! | module | feature | what |
//! |---|---|---|
//! | [`kube`] | `kube` (implied by every cloud) | `kube::Client` from a cluster's access data; classification of kube-rs errors |
//!
//! The cloud provisioners (EKS, AKS, GKE, K3s) and the kube-based `Deployer` and `MeshConfigurator` land in
//! their own folders (`aws/`, `azure/`, `gcp/`, `k3s/`, `kube/`) with their issues; until then the features
//! `aws`, `azure`, `gcp` and `k3s` enable only the shared Kubernetes layer.
//!
//! The default build has no feature and pulls neither kube-rs nor any cloud SDK.

#[cfg(feature = "kube")]
pub mod kube;
