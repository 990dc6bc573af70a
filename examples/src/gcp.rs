//! The `gcp_gke` example's code (feature `gcp`): plan, apply or delete a GKE cluster from a spec file,
//! printing the plan and every progress event. `tests/suite/gcp_gke.rs` runs it against a scripted GKE server.

use std::io::Write;
use std::path::Path;

use wooo_core::model::{ClusterSpec, from_yaml_file};
use wooo_core::prelude::*;
use wooo_providers::gcp::{Gke, GkeBuilder};

pub use crate::Mode;

/// The command line the example takes.
pub const USAGE: &str = "usage: gcp_gke SPEC.yaml [--apply | --delete]";

/// Runs the example with `builder` (its location is the spec's region unless the builder has one already: a
/// zone there makes a zonal cluster), writing what it does to `out`.
///
/// # Errors
/// Loading the spec, building the provisioner, and what the plan, apply or delete return.
pub async fn run(builder: GkeBuilder, spec: &Path, mode: Mode, out: &mut (dyn Write + Send)) -> Result<()> {
    let spec: ClusterSpec = from_yaml_file(spec)?;
    let gke: Gke = builder.default_location(spec.region.clone()).build().await?;
    crate::cluster::run_with(&gke, &spec, mode, out).await
}
