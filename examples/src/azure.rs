//! The `azure_aks` example's code (feature `azure`): plan, apply or delete an AKS cluster from a spec file,
//! printing the plan and every progress event. `tests/suite/azure_aks.rs` runs it against the scripted ARM server.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use wooo_core::model::{ClusterSpec, from_yaml_file};
use wooo_core::prelude::*;
use wooo_providers::azure::{Aks, AksBuilder};

pub use crate::Mode;

/// The command line the example takes.
pub const USAGE: &str = "usage: azure_aks SPEC.yaml [--apply | --delete]";

/// Runs the example with `builder` (its location is the spec's region), writing what it does to `out`.
///
/// # Errors
/// Loading the spec, building the provisioner, and what the plan, apply or delete return.
pub async fn run(builder: AksBuilder, spec: &Path, mode: Mode, out: &mut (dyn Write + Send)) -> Result<()> {
    let spec: ClusterSpec = from_yaml_file(spec)?;
    let aks: Aks = builder.location(spec.region.clone()).build()?;
    let io = |e: std::io::Error| Error::Provider { provider: "example", message: e.to_string(), source: None };
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let progress = Progress::new(move |event| sink.lock().expect("progress lines").push(event.to_string()));
    let result = match mode {
        Mode::Plan => {
            write!(out, "{}", aks.plan(&spec).await?).map_err(io)?;
            Ok(())
        }
        Mode::Apply => {
            write!(out, "{}", aks.plan(&spec).await?).map_err(io)?;
            aks.ensure(&spec, &WaitOptions::default(), &progress).await.map(|c| {
                let pools: Vec<String> = c
                    .status
                    .node_pools
                    .iter()
                    .map(|p| format!("{} {}/{}", p.name, p.ready_nodes, p.desired_nodes))
                    .collect();
                lines.lock().expect("progress lines").push(format!(
                    "cluster {} ready: Kubernetes {}, endpoint {}, agent pools {}",
                    c.id,
                    c.status.kubernetes_version.as_deref().unwrap_or("?"),
                    c.status.endpoint.as_deref().unwrap_or("?"),
                    pools.join(", ")
                ));
            })
        }
        Mode::Delete => {
            let options = DeleteOptions { progress: progress.clone(), ..DeleteOptions::default() };
            aks.delete(&spec.id(), &options).await.map(|()| {
                lines.lock().expect("progress lines").push(format!("cluster {} deleted", spec.name));
            })
        }
    };
    for line in lines.lock().expect("progress lines").iter() {
        writeln!(out, "{line}").map_err(io)?;
    }
    result
}
