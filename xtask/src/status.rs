//! `cargo xtask status`: per cluster, recorded, exists, API reachable, nodes ready.

use std::path::Path;

use clap::Args;
use e2e::cluster::Kind;
use e2e::lifecycle::ApiStatus;
use e2e::runner::Cancel;

use crate::error::CliError;
use crate::live;

#[derive(Args)]
pub struct StatusArgs {
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs, pins_file: &Path) -> Result<(), CliError> {
    let pins = live::pins(pins_file)?;
    let env = live::env(Cancel::new(), pins_file)?;
    let report = live::runtime()?.block_on(e2e::lifecycle::status(
        Kind::new(env.runner.clone()),
        &env,
        &pins,
    ))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("plain data")
        );
        return Ok(());
    }
    match &report.state_file {
        Some(path) => println!(
            "recorded in {} (Istio {})",
            path.display(),
            report.istio.as_deref().unwrap_or("?")
        ),
        None => println!("nothing recorded: `cargo xtask up` has not run (or `down` ran)"),
    }
    if let Some(error) = &report.list_error {
        println!("cannot list kind clusters: {error}");
    }
    for c in &report.clusters {
        let recorded = match c.recorded {
            Some(origin) => format!("recorded ({origin:?})").to_lowercase(),
            None => "not recorded".into(),
        };
        let exists = match c.exists {
            Some(true) => "exists",
            Some(false) => "does not exist",
            None => "existence unknown",
        };
        let api = match &c.api {
            ApiStatus::NotChecked => "API not checked".to_owned(),
            ApiStatus::Unreachable { reason } => format!("API unreachable: {reason}"),
            ApiStatus::Reachable { nodes, nodes_ready } => {
                format!("API reachable, {nodes_ready}/{nodes} node(s) Ready")
            }
        };
        println!("  {}: {recorded}, {exists}, {api}", c.name);
    }
    Ok(())
}
