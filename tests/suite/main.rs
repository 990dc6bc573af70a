//! wooo's test suite: one binary (each test binary links the whole dependency tree, so there is one).
//!
//! - `conformance`: the public conformance suite against the simulator, bare and behind the retry decorator.
//! - `examples`: the `deploy` example's code against an in-memory API server.
//! - `faults`: 1,000 operations against the simulator with injected faults, through the retry decorators.
//! - `downstream`: how a host program tests its own code with wooo's mocks and simulator.
//! - `manifests`: rendered manifests checked by kubernetes-validate, @kubernetes-models, checkov, promtool, amtool.
//! - `secrets`: secret values never reach logs, errors or Debug output.
//! - `specs`: the spec files shipped with the examples load and validate.
//! - `prices`: the price catalogues of `wooo-cost` over the real price snapshot in `wooo-cost/data/prices`.
//! - `aws_cost`: `wooo_cost::aws` (Cost Explorer, EC2 facts, the EKS cost analyzer) against a real moto server.
//! - `prometheus_usage` (feature `prometheus`): `wooo_cost::prometheus` against a real Prometheus over written blocks.
//! - `aws_eks` (feature `aws`): `aws::Eks` against a real moto server, directly and through a fault proxy.
//! - `azure_aks` (feature `azure`): `azure::Aks` against a scripted ARM server answering with Azure's example
//!   bodies, every request body validated against the official AKS OpenAPI definition.
//! - `azure_cost` (feature `azure`): `wooo_cost::azure::CostManagement` against the Query API's official example
//!   answer, every page, request bodies validated against the Cost Management definition.
//! - `gcp_gke` (feature `gcp`): `gcp::Gke` against a scripted GKE server whose request and response bodies are
//!   checked against Google's `container:v1` discovery document.
//! - `gcp_cost` (feature `gcp`): `wooo_cost::gcp::BillingCatalog` against a scripted Cloud Billing Catalog
//!   server (pages of SKUs checked against the `cloudbilling:v1` discovery document).
//! - `k3s` (feature `k3s`): `k3s::K3s` against real OpenSSH servers, one per simulated host in its own mount
//!   namespace, with stand-in K3s binaries in air-gap mode.

// Gates its own moto tests on the feature, and says SKIPPING without it.
mod aws_cost;
#[cfg(feature = "aws")]
mod aws_eks;
#[cfg(feature = "azure")]
mod azure_aks;
#[cfg(feature = "azure")]
mod azure_cost;
mod conformance;
mod downstream;
mod examples;
mod faults;
#[cfg(feature = "gcp")]
mod gcp_cost;
#[cfg(feature = "gcp")]
mod gcp_gke;
#[cfg(feature = "k3s")]
mod k3s;
mod manifests;
mod prices;
mod prometheus_usage;
mod secrets;
mod specs;
