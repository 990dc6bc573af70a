//! # wooo-providers
//!
//! wooo's implementations of the traits of `wooo-core` for real infrastructure, one folder per cloud, each
//! behind its cargo feature, plus the Kubernetes layer every cloud shares:
//!
//! | module | feature | what |
//! |---|---|---|
//! | [`kube`] | `kube` (implied by every cloud) | [`kube::KubeDeployer`] and [`kube::KubeMesh`] for any cluster; a `kube::Client` from a cluster's access data; classification of kube-rs errors |
//! | `kube::testing` | `testing` | an in-memory API server (kube-fake-client plus the routes it lacks) that records requests, for tests and benches |
//! | [`aws`] | `aws` | [`aws::Eks`], the EKS provisioner (VPC, IAM roles, cluster, managed node groups), and [`aws::EksTokenSource`], the in-process EKS bearer token |
//! | `aws::testing` | `aws` + `testing` | a local AWS (a real moto server) for tests |
//! | [`azure`] | `azure` | [`azure::Aks`], the AKS provisioner (resource group, managed cluster, agent pools; API 2023-01-02-preview) |
//! | [`gcp`] | `gcp` | [`gcp::Gke`], the GKE provisioner (clusters, node pools, operations), and [`gcp::GkeTokenSource`], the cluster's bearer token as a Google OAuth access token |
//! | [`k3s`] | `k3s` | [`k3s::K3s`], the K3s provisioner for hosts the user already has (install, join, upgrade, remove over SSH) |
//!
//! The default build has no feature and pulls neither kube-rs nor any cloud SDK.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "k3s")]
pub mod k3s;
#[cfg(feature = "kube")]
pub mod kube;
