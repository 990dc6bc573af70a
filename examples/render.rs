//! Renders an AppSpec file into one YAML file per Kubernetes object (and JSON twins), plus the Prometheus rule
//! file and Alertmanager routing when monitoring is on:
//!
//! ```text
//! cargo run --example render -- APP.yaml OUT_DIR [--env dev|staging|prod] [--mesh istio|gateway|linkerd]
//! ```
//!
//! The manifest validation harness (`tests/suite/manifests.rs`) writes its files through the same function.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use wooo_core::model::{AppSpec, from_yaml_file};
use wooo_examples::{parse_env, parse_mesh, write_manifests};

const USAGE: &str = "usage: render APP.yaml OUT_DIR [--env dev|staging|prod] [--mesh istio|gateway|linkerd]";

fn run(args: Vec<String>) -> wooo_core::Result<()> {
    let mut positional = Vec::new();
    let (mut env, mut mesh) = (None, None);
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--env" => env = Some(parse_env(&it.next().unwrap_or_default())?),
            "--mesh" => mesh = Some(parse_mesh(&it.next().unwrap_or_default())?),
            _ => positional.push(arg),
        }
    }
    let [spec, out] =
        <[String; 2]>::try_from(positional).map_err(|_| wooo_core::Error::invalid_spec("<arguments>", USAGE))?;
    let app: AppSpec = from_yaml_file(&spec)?;
    let written = write_manifests(&app, env, mesh, &PathBuf::from(out))?;
    for path in &written.yaml {
        println!("{}", path.display());
    }
    for path in written.rule_file.iter().chain(&written.alertmanager) {
        println!("{}", path.display());
    }
    if !written.mesh_ignored.is_empty() {
        eprintln!("note: the chosen mesh cannot express {}; left out", written.mesh_ignored.join(", "));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("render: {e}");
            ExitCode::FAILURE
        }
    }
}
