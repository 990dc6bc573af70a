//! Shared code of wooo's examples. The runnable examples are this package's example targets:
//! `cargo run --example quickstart` and `cargo run --example render -- APP.yaml OUT_DIR`.
//!
//! [`write_manifests`] is the path both the `render` example and the manifest validation harness
//! (`tests/suite/manifests.rs`) take from an `AppSpec` to files on disk.

use std::path::{Path, PathBuf};

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
pub mod cluster;
pub mod cost;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "k3s")]
pub mod k3s;

use wooo_core::model::{AppSpec, Environment, MeshKind, MeshPolicy};
use wooo_core::{Error, Result};
use wooo_core::{render, validate};

/// What a cluster example (`aws_eks`, `azure_aks`, `gcp_gke`, `k3s`) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the plan only.
    Plan,
    /// Print the plan, then apply it and wait until the cluster is ready.
    Apply,
    /// Delete the cluster and everything wooo created for it.
    Delete,
}

impl Mode {
    /// The spec path and mode from the command line (`SPEC.yaml [--apply | --delete]`).
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `<arguments>`) with `usage`.
    pub fn parse_with(args: &[String], usage: &str) -> Result<(PathBuf, Mode)> {
        let (mut spec, mut mode) = (None, Mode::Plan);
        for arg in args {
            match arg.as_str() {
                "--apply" if mode == Mode::Plan => mode = Mode::Apply,
                "--delete" if mode == Mode::Plan => mode = Mode::Delete,
                _ if spec.is_none() && !arg.starts_with("--") => spec = Some(PathBuf::from(arg)),
                _ => return Err(Error::invalid_spec("<arguments>", usage)),
            }
        }
        Ok((spec.ok_or_else(|| Error::invalid_spec("<arguments>", usage))?, mode))
    }
}

/// What [`write_manifests`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// One YAML file per Kubernetes object, in apply order (`NN-kind-name.yaml`).
    pub yaml: Vec<PathBuf>,
    /// The same objects as JSON (`NN-kind-name.json`), for validators that read JSON.
    pub json: Vec<PathBuf>,
    /// `monitoring/rules.yaml`: the app's alert rules as a Prometheus rule file, when monitoring is on.
    pub rule_file: Option<PathBuf>,
    /// `monitoring/alertmanager.yaml`: the app's Alertmanager routing, when monitoring is on.
    pub alertmanager: Option<PathBuf>,
    /// Mesh settings the chosen mesh cannot express (field paths), which were left out.
    pub mesh_ignored: Vec<&'static str>,
}

/// The canary policy the examples and the manifest harness use for `--mesh`: see
/// [`wooo_core::conformance::sample_mesh_policy`].
pub fn sample_mesh_policy(app: &AppSpec, kind: MeshKind) -> MeshPolicy {
    wooo_core::conformance::sample_mesh_policy(&app.app_ref(), kind)
}

/// Renders `app` (with the overlay of `env` merged when given, and a canary policy for `mesh` when given) and
/// writes every object to `dir`, which is created if needed.
///
/// # Errors
/// [`Error::InvalidSpec`] from rendering; [`Error::Provider`] (provider `render`) when a file cannot be written.
pub fn write_manifests(app: &AppSpec, env: Option<Environment>, mesh: Option<MeshKind>, dir: &Path) -> Result<Written> {
    let app = match env {
        Some(env) => app.for_environment(env),
        None => app.clone(),
    };
    let app = validate::app_spec(&app)?;
    let mut objects = render::app(&app)?;
    let mut written = Written::default();
    if let Some(kind) = mesh {
        let policy = sample_mesh_policy(&app, kind);
        objects.extend(render::mesh(&validate::mesh_policy(&policy)?, &app)?);
        written.mesh_ignored = render::mesh_ignored(&policy);
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    for (i, object) in objects.iter().enumerate() {
        let stem = format!("{:02}-{}-{}", i + 1, object.kind().to_ascii_lowercase(), object.name());
        written.yaml.push(write(dir, &format!("{stem}.yaml"), &object.to_yaml()?)?);
        let json = serde_json::to_string_pretty(&object.to_json()?).map_err(|e| Error::Provider {
            provider: "render",
            message: format!("cannot write {} as JSON: {e}", object.key()),
            source: Some(Box::new(e)),
        })?;
        written.json.push(write(dir, &format!("{stem}.json"), &json)?);
    }
    if app.monitoring.is_some() {
        let monitoring = dir.join("monitoring");
        std::fs::create_dir_all(&monitoring).map_err(|e| io_error(&monitoring, e))?;
        written.rule_file = Some(write(&monitoring, "rules.yaml", &render::prometheus_rule_file(&app)?)?);
        written.alertmanager = Some(write(&monitoring, "alertmanager.yaml", &render::alertmanager_fragment(&app)?)?);
    }
    Ok(written)
}

/// What [`deploy`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Deployed {
    /// `--diff`: the changes an apply would make; nothing was changed.
    Diff(wooo_core::model::AppDiff),
    /// The app's status once Current, and the mesh objects written (empty without a mesh).
    Applied(wooo_core::model::AppStatus, Vec<String>),
}

/// The `deploy` example's work, on any cluster `client` reaches: a dry-run diff, or apply and wait until
/// Current and then, with `mesh`, the sample canary policy ([`sample_mesh_policy`]). Calls are retried on
/// throttling and passing failures; `progress` sees every step.
///
/// # Errors
/// From [`wooo_core::Deployer::diff`], [`wooo_core::DeployerExt::deploy`] and
/// [`wooo_core::MeshConfigurator::apply`].
pub async fn deploy(
    client: kube::Client,
    app: &AppSpec,
    mesh: Option<MeshKind>,
    diff_only: bool,
    wait: &wooo_core::WaitOptions,
    progress: &wooo_core::progress::Progress,
) -> Result<Deployed> {
    use wooo_core::retry::{RetryConfig, Retrying};
    use wooo_core::{Deployer, DeployerExt, MeshConfigurator};
    use wooo_providers::kube::{KubeDeployer, KubeMesh};

    let deployer =
        Retrying::new(KubeDeployer::new(client.clone()), RetryConfig::default()).with_progress(progress.clone());
    if diff_only {
        return Ok(Deployed::Diff(deployer.diff(app).await?));
    }
    let status = deployer.deploy(app, wait, progress).await?;
    let mut written = Vec::new();
    if let Some(kind) = mesh {
        let mesh = Retrying::new(KubeMesh::new(client), RetryConfig::default());
        written = mesh.apply(&sample_mesh_policy(app, kind)).await?.objects;
    }
    Ok(Deployed::Applied(status, written))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    Ok(path)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Provider {
        provider: "render",
        message: format!("cannot write {}: {e}", path.display()),
        source: Some(Box::new(e)),
    }
}

/// Parses `--mesh istio|gateway|linkerd`.
///
/// # Errors
/// [`Error::InvalidSpec`] (field `--mesh`) for another value.
pub fn parse_mesh(text: &str) -> Result<MeshKind> {
    match text {
        "istio" => Ok(MeshKind::Istio),
        "gateway" | "gateway-api" => Ok(MeshKind::GatewayApi),
        "linkerd" => Ok(MeshKind::Linkerd),
        other => Err(Error::invalid_spec("--mesh", format!("`{other}` is not one of istio, gateway, linkerd"))),
    }
}

/// Parses `--env dev|staging|prod`.
///
/// # Errors
/// [`Error::InvalidSpec`] (field `--env`) for another value.
pub fn parse_env(text: &str) -> Result<Environment> {
    match text {
        "dev" => Ok(Environment::Dev),
        "staging" => Ok(Environment::Staging),
        "prod" => Ok(Environment::Prod),
        other => Err(Error::invalid_spec("--env", format!("`{other}` is not one of dev, staging, prod"))),
    }
}
