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
//! - `aws_eks` (feature `aws`): `aws::Eks` against a real moto server, directly and through a fault proxy.
//! - `k3s` (feature `k3s`): `k3s::K3s` against real OpenSSH servers, one per simulated host in its own mount
//!   namespace, with stand-in K3s binaries in air-gap mode.

// Gates its own moto tests on the feature, and says SKIPPING without it.
mod aws_cost;
#[cfg(feature = "aws")]
mod aws_eks;
mod conformance;
mod downstream;
mod examples;
mod faults;
#[cfg(feature = "k3s")]
mod k3s;
mod manifests;
mod prices;
mod secrets;
mod specs;
