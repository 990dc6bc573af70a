//! Deploys an AppSpec file to the cluster your kubeconfig points at (K3s, kind, EKS, AKS, GKE: any), waits
//! until it is Current, and optionally sets a canary in a service mesh:
//!
//! ```text
//! cargo run --example deploy -- APP.yaml [--env dev|staging|prod] [--mesh istio|gateway|linkerd] [--diff]
//! ```
//!
//! `--diff` prints what the apply would change (server-side dry run) and changes nothing. The kubeconfig is read
//! as `kubectl` reads it (`KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use wooo_core::model::{AppSpec, from_yaml_file};
use wooo_core::prelude::*;
use wooo_examples::{Deployed, deploy, parse_env, parse_mesh, sample_mesh_policy};

const USAGE: &str = "usage: deploy APP.yaml [--env dev|staging|prod] [--mesh istio|gateway|linkerd] [--diff]";

async fn run(args: Vec<String>) -> wooo_core::Result<()> {
    let (mut spec_path, mut env, mut mesh, mut diff_only) = (None, None, None, false);
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--env" => env = Some(parse_env(&it.next().unwrap_or_default())?),
            "--mesh" => mesh = Some(parse_mesh(&it.next().unwrap_or_default())?),
            "--diff" => diff_only = true,
            _ if spec_path.is_none() => spec_path = Some(arg),
            _ => return Err(Error::invalid_spec("<arguments>", USAGE)),
        }
    }
    let spec_path = spec_path.ok_or_else(|| Error::invalid_spec("<arguments>", USAGE))?;
    let base: AppSpec = from_yaml_file(&spec_path)?;
    let app = env.map(|e| base.for_environment(e)).unwrap_or(base);

    let client = kube::Client::try_default().await.map_err(wooo_providers::kube::classify)?;
    let progress = Progress::new(|event| println!("  {event}"));
    let wait = WaitOptions::timeout(Duration::from_secs(600));
    match deploy(client, &app, mesh, diff_only, &wait, &progress).await? {
        Deployed::Diff(diff) => {
            for change in &diff.changes {
                println!("{:?} {} {}", change.action, change.object, change.fields.join(", "));
            }
            println!("{} object(s) would change", diff.changes.len());
        }
        Deployed::Applied(status, mesh_objects) => {
            println!(
                "{}: {:?}, revision {}, {} replicas available",
                app.app_ref(),
                status.health,
                status.revision,
                status.available_replicas
            );
            if let Some(kind) = mesh {
                println!("mesh: wrote {}", mesh_objects.join(", "));
                let ignored = wooo_core::render::mesh_ignored(&sample_mesh_policy(&app, kind));
                if !ignored.is_empty() {
                    println!("mesh: {kind:?} cannot express {}; left out", ignored.join(", "));
                }
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deploy: {e}");
            ExitCode::FAILURE
        }
    }
}
