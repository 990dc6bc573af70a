//! The `k3s` example's code (feature `k3s`): plan, apply or delete a K3s cluster on the hosts a spec file lists
//! (a [`K3sSpecFile`]: `spec:` the cluster, `inventory:` its hosts), printing the plan and every progress event;
//! after an apply it writes the cluster's kubeconfig next to the spec file and says where.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wooo_core::model::from_yaml;
use wooo_core::prelude::*;
use wooo_providers::k3s::{K3sBuilder, K3sSpecFile};

pub use crate::Mode;

/// The example's command line.
pub const USAGE: &str = "usage: k3s SPEC.yaml [--apply | --delete]";

/// Runs the example on the spec file at `path`, writing what it does to `out`; after an apply, the kubeconfig
/// goes to `<cluster>.kubeconfig` beside the spec file (mode 0600), and its path is returned.
///
/// # Errors
/// Loading the spec, and what the plan, apply, access or delete return.
pub async fn run(path: &Path, mode: Mode, wait: &WaitOptions, out: &mut (dyn Write + Send)) -> Result<Option<PathBuf>> {
    let io = |e: std::io::Error| Error::Provider { provider: "example", message: e.to_string(), source: None };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid_spec("<file>", format!("cannot read {}: {e}", path.display())))?;
    let file: K3sSpecFile = from_yaml(&text)?;
    let k3s = K3sBuilder::new().cluster(file.inventory).wait(*wait).build()?;
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let progress = Progress::new(move |event| sink.lock().expect("progress lines").push(event.to_string()));
    let result = match mode {
        Mode::Plan => {
            write!(out, "{}", k3s.plan(&file.spec).await?).map_err(io)?;
            Ok(None)
        }
        Mode::Apply => {
            write!(out, "{}", k3s.plan(&file.spec).await?).map_err(io)?;
            match k3s.ensure(&file.spec, wait, &progress).await {
                Ok(cluster) => {
                    let kubeconfig = k3s.access(&cluster.id).await?.to_kubeconfig_yaml()?;
                    let target = path.with_file_name(format!("{}.kubeconfig", cluster.id));
                    write_private(&target, &kubeconfig).map_err(io)?;
                    lines.lock().expect("progress lines").push(format!(
                        "cluster {} ready: Kubernetes {}, endpoint {}; kubeconfig written to {}",
                        cluster.id,
                        cluster.status.kubernetes_version.as_deref().unwrap_or("?"),
                        cluster.status.endpoint.as_deref().unwrap_or("?"),
                        target.display()
                    ));
                    Ok(Some(target))
                }
                Err(e) => Err(e),
            }
        }
        Mode::Delete => {
            let options = DeleteOptions { progress: progress.clone(), ..DeleteOptions::default() };
            k3s.delete(&file.spec.id(), &options).await.map(|()| {
                lines
                    .lock()
                    .expect("progress lines")
                    .push(format!("cluster {}: K3s removed from every host", file.spec.name));
                None
            })
        }
    };
    for line in lines.lock().expect("progress lines").iter() {
        writeln!(out, "{line}").map_err(io)?;
    }
    result
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}
