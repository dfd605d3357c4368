//! `cargo xtask render`: every file the setup would apply, with no cluster.

use std::path::{Path, PathBuf};

use clap::Args;
use e2e::net::DockerNetwork;
use e2e::pins::{IstioVersion, Pins};
use e2e::render::{Sources, StandIns, resolve, write_rendered};

use crate::error::{CliError, Doing};
use crate::output;

#[derive(Args)]
pub struct RenderArgs {
    /// Output directory; default: rendered/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<IstioVersion>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The kind docker network's subnet, for use without Docker [default: 172.18.0.0/16].
    #[arg(long = "docker-subnet", value_name = "CIDR")]
    docker_network: Option<DockerNetwork>,
}

pub fn run(args: RenderArgs, pins_file: &Path) -> Result<(), CliError> {
    let pins = Pins::load(pins_file)?;
    let certs_dir = e2e::dirs::certs_dir();
    let resolved = resolve(
        &pins,
        Sources {
            istio: args.istio.as_ref(),
            config: args.config.as_deref(),
            network: args.docker_network,
            ..Sources::new(&certs_dir)
        },
    )?;
    let stand_ins = resolved.stand_ins();
    if stand_ins.network {
        output::say(format_args!(
            "note: assuming the kind docker network is {} (kind's usual); pass --docker-subnet with the subnet of `docker network inspect kind` if yours differs",
            DockerNetwork::USUAL_SUBNET
        ));
    }
    let rendered = resolved.render()?;
    let out = args.out.unwrap_or_else(e2e::dirs::rendered_dir);
    write_rendered(&out, &rendered)
        .doing(|| format!("cannot write the rendered files to {}", out.display()))?;

    let files: usize = rendered.iter().map(|c| c.items().len()).sum();
    let mut report = format!(
        "rendered Istio {} for {} clusters ({files} files) into {}\n",
        resolved.row().version,
        rendered.len(),
        out.display()
    );
    for cluster in &rendered {
        report.push_str(&format!(
            "  {}/  MetalLB range {}\n",
            cluster.cluster(),
            cluster.metallb_range()
        ));
    }
    report.push_str(&stand_in_notes(stand_ins, &certs_dir));
    output::print(report)
}

/// Where the cacerts came from and what the remote secrets hold.
fn stand_in_notes(stand_ins: &StandIns, certs_dir: &std::path::Path) -> String {
    let mut out = if stand_ins.cacerts.is_empty() {
        format!("cacerts: from {}\n", certs_dir.display())
    } else {
        let names: Vec<&str> = stand_ins.cacerts.iter().map(|c| c.as_str()).collect();
        format!(
            "cacerts: no certificates in {} for {}, so the cacerts Secrets hold PLACEHOLDER PEM; `cargo xtask certs` creates the real ones\n",
            certs_dir.display(),
            names.join(", ")
        )
    };
    if stand_ins.remote_access {
        out.push_str(
            "remote secrets: server, CA and token are PLACEHOLDERs; `cargo xtask up` fills them in from the running clusters\n",
        );
    }
    out
}
