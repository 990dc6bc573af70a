//! Plans, creates or deletes an EKS cluster from a ClusterSpec file:
//!
//! ```text
//! cargo run -p wooo-examples --example aws_eks --features aws -- SPEC.yaml            # print the plan
//! cargo run -p wooo-examples --example aws_eks --features aws -- SPEC.yaml --apply    # create or update, wait
//! cargo run -p wooo-examples --example aws_eks --features aws -- SPEC.yaml --delete   # remove what wooo made
//! ```
//!
//! AWS configuration comes from the environment as the AWS CLI reads it (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, SSO, …; see `EksBuilder::from_env`). Against a local moto server, set
//! `AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use wooo_examples::aws::{Mode, USAGE, run};
use wooo_providers::aws::EksBuilder;

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
    let builder = EksBuilder::from_env().await;
    let mut out = std::io::stdout();
    match run(builder, &spec, mode, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
