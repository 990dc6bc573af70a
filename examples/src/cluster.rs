//! What the cloud examples (`aws_eks`, `gcp_gke`) share: the command line and the plan / apply / delete run over
//! any [`Provisioner`], printing the plan and every progress event.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use wooo_core::model::ClusterSpec;
use wooo_core::prelude::*;

/// What the example does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the plan only.
    Plan,
    /// Print the plan, then apply it and wait until the cluster is ready.
    Apply,
    /// Delete the cluster and everything wooo created for it.
    Delete,
}

const USAGE: &str = "usage: aws_eks|gcp_gke SPEC.yaml [--apply | --delete]";

impl Mode {
    /// The spec path and mode from the command line.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `<arguments>`) with the usage.
    pub fn parse(args: &[String]) -> Result<(PathBuf, Mode)> {
        let (mut spec, mut mode) = (None, Mode::Plan);
        for arg in args {
            match arg.as_str() {
                "--apply" if mode == Mode::Plan => mode = Mode::Apply,
                "--delete" if mode == Mode::Plan => mode = Mode::Delete,
                _ if spec.is_none() && !arg.starts_with("--") => spec = Some(PathBuf::from(arg)),
                _ => return Err(Error::invalid_spec("<arguments>", USAGE)),
            }
        }
        Ok((spec.ok_or_else(|| Error::invalid_spec("<arguments>", USAGE))?, mode))
    }
}

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
