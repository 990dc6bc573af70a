//! The `aws_eks` example's code (feature `aws`): plan, apply or delete an EKS cluster from a spec file,
//! printing the plan and every progress event. `tests/suite/aws_eks.rs` runs it against moto.

use std::io::Write;
use std::path::Path;

use wooo_core::model::{ClusterSpec, from_yaml_file};
use wooo_core::prelude::*;
use wooo_providers::aws::{Eks, EksBuilder};

pub use crate::Mode;

/// The command line the example takes.
pub const USAGE: &str = "usage: aws_eks SPEC.yaml [--apply | --delete]";

/// Runs the example with `builder` (its region is the spec's), writing what it does to `out`.
///
/// # Errors
/// Loading the spec, building the provisioner, and what the plan, apply or delete return.
pub async fn run(builder: EksBuilder, spec: &Path, mode: Mode, out: &mut (dyn Write + Send)) -> Result<()> {
    let spec: ClusterSpec = from_yaml_file(spec)?;
    let eks: Eks = builder.region(spec.region.clone()).build()?;
    crate::cluster::run_with(&eks, &spec, mode, out).await
}
