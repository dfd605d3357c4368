//! `cargo xtask up`: the plan (`--dry-run`), or the clusters of it.

use std::path::{Path, PathBuf};

use clap::Args;
use e2e::cluster::Kind;
use e2e::lifecycle::{self, UpOptions, UpOutcome};
use e2e::pins::IstioVersion;
use e2e::plan;
use e2e::runner::Cancel;

use crate::error::CliError;
use crate::live;

#[derive(Args)]
pub struct UpArgs {
    /// Print the plan instead of running it.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: the plan as JSON.
    #[arg(long, requires = "dry_run")]
    json: bool,
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<IstioVersion>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use kind clusters of our names that exist already.
    #[arg(long)]
    reuse: bool,
    /// Delete the recorded clusters first, even when made from another configuration.
    #[arg(long)]
    recreate: bool,
    /// Let every node pull its images instead of loading them from the host.
    #[arg(long)]
    no_preload: bool,
}

pub fn run(args: UpArgs, pins_file: &Path) -> Result<(), CliError> {
    let pins = live::pins(pins_file)?;
    let options = UpOptions {
        istio: args.istio,
        config: args.config,
        reuse: args.reuse,
        recreate: args.recreate,
        preload: !args.no_preload,
    };
    if args.dry_run {
        let inputs = lifecycle::inputs(&pins, &live::layout(), &options)?;
        let tools = plan::symbolic_tools(&pins, &inputs.row);
        if args.json {
            let json = serde_json::to_string_pretty(&plan::json(&inputs.plan, &tools))
                .expect("the plan is plain data");
            println!("{json}");
        } else {
            print!("{}", plan::text(&inputs.plan, &tools));
            println!(
                "\n(tools by name: `cargo xtask tools` fetches them and prints where they are)"
            );
        }
        return Ok(());
    }
    let cancel = Cancel::new();
    let env = live::env(cancel.clone(), pins_file)?;
    let runtime = live::runtime()?;
    let outcome = runtime.block_on(async {
        let ctrl_c = tokio::spawn({
            let cancel = cancel.clone();
            async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "interrupted: starting nothing new; running tool calls may finish (Ctrl-C again to stop at once)"
                    );
                    cancel.cancel();
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                }
            }
        });
        let outcome = lifecycle::up(Kind::new(env.runner.clone()), &env, &pins, &options).await;
        ctrl_c.abort();
        outcome
    })?;
    match outcome {
        UpOutcome::UpToDate { clusters } => {
            println!(
                "nothing to do: {} are up from this same configuration (recorded in {})",
                join(clusters.iter().map(|c| c.as_str())),
                env.layout.state_file().display()
            );
        }
        UpOutcome::ClustersUp {
            report,
            kubeconfigs,
        } => {
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            println!("clusters up ({} steps):", report.succeeded.len());
            for (cluster, kubeconfig) in &kubeconfigs {
                println!("  {cluster}: kubectl --kubeconfig {}", kubeconfig.display());
            }
            if !report.not_built.is_empty() {
                println!(
                    "the mesh is not built yet: {} planned steps (images, MetalLB, Istio, remote secrets, samples, readiness gates) come with the next issue; `cargo xtask up --dry-run` lists them",
                    report.not_built.len()
                );
            }
            println!("see `cargo xtask status`; take it down with `cargo xtask down`");
        }
    }
    Ok(())
}

fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}
