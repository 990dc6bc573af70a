//! Plans, creates or deletes an AKS cluster from a ClusterSpec file:
//!
//! ```text
//! cargo run -p wooo-examples --example azure_aks --features azure -- SPEC.yaml            # print the plan
//! cargo run -p wooo-examples --example azure_aks --features azure -- SPEC.yaml --apply    # create or update, wait
//! cargo run -p wooo-examples --example azure_aks --features azure -- SPEC.yaml --delete   # remove what wooo made
//! ```
//!
//! Configuration comes from the environment (see `AksBuilder::from_env`): `AZURE_SUBSCRIPTION_ID`,
//! `AZURE_RESOURCE_GROUP`, credentials (`AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`, a managed
//! identity, or `az login`), and `AZURE_RESOURCE_MANAGER_ENDPOINT` to point it at a mock.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use wooo_examples::azure::{Mode, USAGE, run};
use wooo_providers::azure::AksBuilder;

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
    let mut out = std::io::stdout();
    match run(AksBuilder::from_env(), &spec, mode, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
