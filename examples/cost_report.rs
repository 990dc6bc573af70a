//! Reads a cluster inventory and hourly usage, prints what the cluster cost, allocated to workloads, and every
//! recommendation with its savings and evidence:
//!
//! ```text
//! cargo run -p wooo-examples --example cost_report -- CLUSTER.yaml USAGE.csv [--prices DIR] [--json]
//! cargo run -p wooo-examples --example cost_report -- CLUSTER.yaml --prometheus URL [--hours N] [--json]
//! ```
//!
//! The window is the usage file's (first sample to one hour after the last), or the last `--hours` (default
//! 168) hours when usage comes from Prometheus. Prices are the simulator's built-in AWS us-east-1 table, or the
//! EC2 catalogue in `--prices DIR` (the layout of `wooo-cost/data/prices`) for the inventory's region. The file
//! formats are in the README (section "Cost report").
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use wooo_core::model::{PriceTable, TimeWindow};
use wooo_core::{Error, Result};
use wooo_cost::catalog::Ec2Catalog;
use wooo_cost::prometheus::PrometheusUsage;
use wooo_cost::sources::{UsageFile, UsageSource};
use wooo_examples::cost::{Inventory, analyse, analyzer, to_json, to_text};

const USAGE: &str = "usage: cost_report CLUSTER.yaml [USAGE.csv|USAGE.json] [--prices DIR] [--json] \
                     [--prometheus URL [--hours N]]";

#[derive(Debug, Default)]
struct Args {
    inventory: String,
    usage: Option<String>,
    prices: Option<String>,
    prometheus: Option<String>,
    hours: Option<i64>,
    json: bool,
}

fn parse(args: &[String]) -> std::result::Result<Args, String> {
    let mut out = Args::default();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--json" => out.json = true,
            "--prices" => out.prices = Some(value("--prices")?),
            "--prometheus" => out.prometheus = Some(value("--prometheus")?),
            "--hours" => {
                let v = value("--hours")?;
                out.hours = Some(
                    v.parse()
                        .ok()
                        .filter(|h: &i64| *h > 0)
                        .ok_or(format!("--hours: `{v}` is not a positive number"))?,
                );
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}\n{USAGE}")),
            path => positional.push(path.to_string()),
        }
    }
    let mut positional = positional.into_iter();
    out.inventory = positional.next().ok_or(USAGE.to_string())?;
    out.usage = positional.next();
    if positional.next().is_some() {
        return Err(USAGE.to_string());
    }
    if out.usage.is_none() == out.prometheus.is_none() {
        return Err(format!("give either a usage file or --prometheus URL\n{USAGE}"));
    }
    Ok(out)
}

async fn run(args: &Args) -> Result<String> {
    let inventory = Inventory::from_path(&args.inventory)?;
    let prices = match &args.prices {
        Some(dir) => Ec2Catalog::from_dir(dir)
            .and_then(|c| c.price_table(&inventory.region))
            .map_err(|e| Error::invalid_spec("prices", e.to_string()))?,
        None => PriceTable::sim_default(),
    };
    let (usage, window): (Arc<dyn UsageSource>, TimeWindow) = match (&args.usage, &args.prometheus) {
        (Some(path), _) => {
            let file = UsageFile::from_path(path)?;
            let window = file.window(Duration::from_secs(3600)).ok_or(Error::invalid_spec("usage", "no sample"))?;
            (Arc::new(file), window)
        }
        (None, Some(url)) => {
            let prometheus = PrometheusUsage::builder(url.clone()).step(Duration::from_secs(3600)).build()?;
            (Arc::new(prometheus), TimeWindow::last_hours(jiff::Timestamp::now(), args.hours.unwrap_or(168)))
        }
        (None, None) => return Err(Error::invalid_spec("usage", "no usage source")),
    };
    let analyzer = analyzer(&inventory, prices, usage);
    let analysis = analyse(&analyzer, &inventory, &window).await?;
    Ok(if args.json { to_json(&analysis) } else { to_text(&analysis) })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
