//! Plans, installs or removes a K3s cluster on hosts you already have, from a spec file holding the cluster
//! spec and its host inventory (see `examples/specs/k3s-cluster.yaml`):
//!
//! ```text
//! cargo run -p wooo-examples --example k3s --features k3s -- SPEC.yaml            # print the plan
//! cargo run -p wooo-examples --example k3s --features k3s -- SPEC.yaml --apply    # install / join / upgrade, wait
//! cargo run -p wooo-examples --example k3s --features k3s -- SPEC.yaml --delete   # uninstall from every host
//! ```
//!
//! After `--apply` the cluster's kubeconfig is written beside the spec file as `<cluster>.kubeconfig`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use wooo_core::WaitOptions;
use wooo_examples::k3s::{Mode, USAGE, run};
use wooo_providers::k3s::K3s;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, mode) = match Mode::parse_with(&args, USAGE) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let wait: WaitOptions = K3s::DEFAULT_WAIT;
    let mut out = std::io::stdout();
    match run(&spec, mode, &wait, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
