//! Plans, creates or deletes a GKE cluster from a ClusterSpec file:
//!
//! ```text
//! cargo run -p wooo-examples --example gcp_gke --features gcp -- SPEC.yaml            # print the plan
//! cargo run -p wooo-examples --example gcp_gke --features gcp -- SPEC.yaml --apply    # create or update, wait
//! cargo run -p wooo-examples --example gcp_gke --features gcp -- SPEC.yaml --delete   # remove what wooo made
//! ```
//!
//! The project comes from `GOOGLE_CLOUD_PROJECT` (or `CLOUDSDK_CORE_PROJECT`), the location from
//! `GOOGLE_CLOUD_LOCATION` (a zone makes a zonal cluster; default: the spec's region), credentials from
//! Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth application-default login`,
//! or the metadata server; see `GkeBuilder::from_env`). `GKE_ENDPOINT_URL` points it at another endpoint.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use wooo_examples::gcp::{Mode, USAGE, run};
use wooo_providers::gcp::GkeBuilder;

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
    let mut builder = GkeBuilder::from_env();
    if let Ok(url) = std::env::var("GKE_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    let mut out = std::io::stdout();
    match run(builder, &spec, mode, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
