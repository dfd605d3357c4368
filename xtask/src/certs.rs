//! `cargo xtask certs`: the shared root CA and one intermediate CA per cluster.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use e2e::certs::{self, EnsureOptions, KeyType, Outcome};
use e2e::config::{ClusterName, Topology};

use crate::error::{CliError, Doing};
use crate::output;

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
        output::print(format_args!(
            "--force: regenerating the root and every intermediate in {}; clusters already running need the new \
             cacerts Secret and an istiod restart\n",
            out.display()
        ))?;
    }
    let started = Instant::now();
    let report = certs::ensure(&out, &clusters, options)
        .doing(|| format!("cannot make the mesh's certificates in {}", out.display()))?;
    for warning in &report.warnings {
        output::say(format_args!("warning: {warning}"));
    }
    let verb = |o: Outcome| match o {
        Outcome::Created => "created",
        Outcome::Reused => "reused",
        Outcome::Regenerated => "regenerated",
        Outcome::Completed => "completed",
    };
    let mut text = format!(
        "{:<12} {:<11} {}\n",
        "root CA",
        verb(report.root),
        report.root_cert.display()
    );
    for c in &report.clusters {
        text.push_str(&format!(
            "{:<12} {:<11} {}/\n",
            c.cluster.as_str(),
            verb(c.outcome),
            c.dir.display()
        ));
    }
    let generated = std::iter::once(report.root)
        .chain(report.clusters.iter().map(|c| c.outcome))
        .filter(|o| matches!(o, Outcome::Created | Outcome::Regenerated))
        .count();
    if generated > 0 {
        text.push_str(&format!(
            "{generated} new {} key(s) in {:.1}s; private keys are mode 0600\n",
            options.key_type,
            started.elapsed().as_secs_f64()
        ));
    } else if report.root == Outcome::Completed {
        text.push_str(
            "no new key: the root a cut-short run made is in place, and every CA checks out\n",
        );
    } else {
        text.push_str("nothing to do: every CA exists and checks out\n");
    }
    output::print(text)
}
