//! The `aws_eks` example's code (feature `aws`): plan, apply or delete an EKS cluster from a spec file,
//! printing the plan and every progress event. `tests/suite/aws_eks.rs` runs it against moto.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wooo_core::model::{ClusterSpec, from_yaml_file};
use wooo_core::prelude::*;
use wooo_providers::aws::{Eks, EksBuilder};

pub use crate::Mode;

const USAGE: &str = "usage: aws_eks SPEC.yaml [--apply | --delete]";

impl Mode {
    /// The spec path and mode from the command line.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `<arguments>`) with the usage.
    pub fn parse(args: &[String]) -> Result<(PathBuf, Mode)> {
        Mode::parse_with(args, USAGE)
    }
}

/// Runs the example with `builder` (its region is the spec's), writing what it does to `out`.
///
/// # Errors
/// Loading the spec, building the provisioner, and what the plan, apply or delete return.
pub async fn run(builder: EksBuilder, spec: &Path, mode: Mode, out: &mut (dyn Write + Send)) -> Result<()> {
    let spec: ClusterSpec = from_yaml_file(spec)?;
    let eks: Eks = builder.region(spec.region.clone()).build()?;
    let io = |e: std::io::Error| Error::Provider { provider: "example", message: e.to_string(), source: None };
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let progress = Progress::new(move |event| sink.lock().expect("progress lines").push(event.to_string()));
    let result = match mode {
        Mode::Plan => {
            write!(out, "{}", eks.plan(&spec).await?).map_err(io)?;
            Ok(())
        }
        Mode::Apply => {
            write!(out, "{}", eks.plan(&spec).await?).map_err(io)?;
            let cluster = eks.ensure(&spec, &WaitOptions::default(), &progress).await;
            cluster.map(|c| {
                let pools: Vec<String> = c
                    .status
                    .node_pools
                    .iter()
                    .map(|p| format!("{} {}/{}", p.name, p.ready_nodes, p.desired_nodes))
                    .collect();
                lines.lock().expect("progress lines").push(format!(
                    "cluster {} ready: Kubernetes {}, endpoint {}, node pools {}",
                    c.id,
                    c.status.kubernetes_version.as_deref().unwrap_or("?"),
                    c.status.endpoint.as_deref().unwrap_or("?"),
                    pools.join(", ")
                ));
            })
        }
        Mode::Delete => {
            let options = DeleteOptions { progress: progress.clone(), ..DeleteOptions::default() };
            eks.delete(&spec.id(), &options).await.map(|()| {
                lines
                    .lock()
                    .expect("progress lines")
                    .push(format!("cluster {} and what wooo made for it: deleted", spec.name));
            })
        }
    };
    for line in lines.lock().expect("progress lines").iter() {
        writeln!(out, "{line}").map_err(io)?;
    }
    result
}
