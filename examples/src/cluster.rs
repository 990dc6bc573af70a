//! What the cloud examples (`aws_eks`, `gcp_gke`) share: the command line and the plan / apply / delete run over
//! any [`Provisioner`], printing the plan and every progress event.

use std::io::Write;
use std::sync::{Arc, Mutex};

use wooo_core::model::ClusterSpec;
use wooo_core::prelude::*;

pub use crate::Mode;

/// Plans, applies or deletes `spec` with `p`, writing what it does to `out`.
///
/// # Errors
/// What the plan, apply or delete return, and failures to write to `out`.
pub async fn run_with(p: &dyn Provisioner, spec: &ClusterSpec, mode: Mode, out: &mut (dyn Write + Send)) -> Result<()> {
    let io = |e: std::io::Error| Error::Provider { provider: "example", message: e.to_string(), source: None };
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let progress = Progress::new(move |event| sink.lock().expect("progress lines").push(event.to_string()));
    let result = match mode {
        Mode::Plan => {
            write!(out, "{}", p.plan(spec).await?).map_err(io)?;
            Ok(())
        }
        Mode::Apply => {
            write!(out, "{}", p.plan(spec).await?).map_err(io)?;
            let cluster = p.ensure(spec, &WaitOptions::default(), &progress).await;
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
            p.delete(&spec.id(), &options).await.map(|()| {
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
