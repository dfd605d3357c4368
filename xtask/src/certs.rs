//! `cargo xtask certs`: the shared root CA and one intermediate CA per cluster.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use e2e::certs::{self, EnsureOptions, KeyType, Outcome};
use e2e::config::{ClusterName, Topology};

use crate::error::{CliError, Doing};

#[derive(Args)]
pub struct CertsArgs {
    /// Output directory; default: certs/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Key type of newly generated CA keys (existing keys keep theirs).
    #[arg(long, value_name = "TYPE", value_enum, default_value_t = KeyTypeArg::Rsa4096)]
    key_type: KeyTypeArg,
    /// Regenerate everything, including the root (breaks trust with running clusters).
    #[arg(long)]
    force: bool,
}

/// The `--key-type` values.
#[derive(Clone, Copy, ValueEnum)]
enum KeyTypeArg {
    /// RSA 4096, as Istio's tools/certs Makefile makes them.
    Rsa4096,
    /// ECDSA P-256.
    EcdsaP256,
}

impl From<KeyTypeArg> for KeyType {
    fn from(arg: KeyTypeArg) -> Self {
        match arg {
            KeyTypeArg::Rsa4096 => KeyType::Rsa4096,
            KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
        }
    }
}

pub fn run(args: CertsArgs) -> Result<(), CliError> {
    let topology = Topology::load_or_default(args.config.as_deref())?;
    let clusters: Vec<ClusterName> = topology.cluster_names().cloned().collect();
    let out = args.out.unwrap_or_else(e2e::dirs::certs_dir);
    let options = EnsureOptions {
        key_type: args.key_type.into(),
        force: args.force,
    };
    if options.force {
        println!(
            "--force: regenerating the root and every intermediate in {}; clusters already running need the new \
             cacerts Secret and an istiod restart",
            out.display()
        );
    }
    let started = Instant::now();
    let report = certs::ensure(&out, &clusters, options)
        .doing(|| format!("cannot make the mesh's certificates in {}", out.display()))?;
    let verb = |o: Outcome| match o {
        Outcome::Created => "created",
        Outcome::Reused => "reused",
        Outcome::Regenerated => "regenerated",
    };
    println!(
        "{:<12} {:<11} {}",
        "root CA",
        verb(report.root),
        report.root_cert.display()
    );
    for c in &report.clusters {
        println!(
            "{:<12} {:<11} {}/",
            c.cluster.as_str(),
            verb(c.outcome),
            c.dir.display()
        );
    }
    let generated = std::iter::once(report.root)
        .chain(report.clusters.iter().map(|c| c.outcome))
        .filter(|o| *o != Outcome::Reused)
        .count();
    if generated > 0 {
        println!(
            "{generated} new {} key(s) in {:.1}s; private keys are mode 0600",
            options.key_type,
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("nothing to do: every CA exists and checks out");
    }
    Ok(())
}
