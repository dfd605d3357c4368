//! `cargo xtask down`: deletes what `up` made, nothing else.

use std::path::Path;

use e2e::cluster::Kind;
use e2e::runner::Cancel;

use crate::error::CliError;
use crate::live;

pub fn run(pins_file: &Path) -> Result<(), CliError> {
    let pins = live::pins(pins_file)?;
    let env = live::env(Cancel::new(), pins_file)?;
    let report = live::runtime()?.block_on(e2e::lifecycle::down(
        Kind::new(env.runner.clone()),
        &env,
        &pins,
    ))?;
    if report.nothing_recorded {
        println!(
            "nothing to take down: no {} (clusters not made by `cargo xtask up` are never touched)",
            env.layout.state_file().display()
        );
        return Ok(());
    }
    for cluster in &report.deleted {
        println!("deleted kind cluster {cluster} and its kubeconfigs");
    }
    for cluster in &report.kept {
        println!("kept kind cluster {cluster}: it existed before `up --reuse` used it");
    }
    println!(
        "kept the certificates in {}",
        env.layout.certs_dir().display()
    );
    Ok(())
}
