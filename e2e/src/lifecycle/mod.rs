//! `up`, `down` and `status`: what the subcommands decide, so the CLI only parses and
//! prints.
//!
//! - `up` refuses to touch clusters made from another configuration (the config hash in
//!   `state.json`) unless asked to recreate them, says "nothing to do" when the last run
//!   finished and its clusters exist, and otherwise runs the plan (resuming: a cluster
//!   it recorded and that exists is used, not created again).
//! - `down` deletes exactly the clusters `state.json` records as created by `up`, removes
//!   their kubeconfigs, keeps the certificates, and is safe to run twice.
//! - `status` says, per cluster, whether it is recorded, exists, answers and has its
//!   nodes Ready.

mod error;
mod status;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::UpError;
pub use status::{ApiStatus, ClusterStatus, StatusReport, status};

use crate::Error;
use crate::certs::KeyType;
use crate::cluster::Provider;
use crate::config::{ClusterName, Topology};
use crate::executor::{self, Context, Journal, ProcReader, Report, ToolSource};
use crate::fsx;
use crate::pins::{IstioRow, IstioVersion, Pins};
use crate::plan::{Plan, PlanOptions, plan};
use crate::runner::Runner;
use crate::state::{Layout, Origin, Outcome, State, config_hash};

/// What every subcommand works with; the CLI builds it, tests build their own.
#[derive(Clone)]
pub struct Env {
    pub layout: Layout,
    pub runner: Runner,
    pub tools: ToolSource,
    pub key_type: KeyType,
    pub read_proc: ProcReader,
    /// How often waits look again.
    pub poll_interval: Duration,
}

impl Env {
    /// `/proc` as it is.
    pub fn real_proc() -> ProcReader {
        Arc::new(|path| std::fs::read_to_string(path))
    }
}

/// What `up` was asked.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub istio: Option<IstioVersion>,
    pub config: Option<PathBuf>,
    pub reuse: bool,
    pub recreate: bool,
    pub preload: bool,
}

/// The inputs of an `up`, loaded: for `--dry-run` as much as for a run.
pub struct Inputs {
    pub topology: Topology,
    pub row: IstioRow,
    pub plan: Plan,
}

/// Loads the topology and the row and makes the plan; no I/O beyond reading files.
pub fn inputs(pins: &Pins, layout: &Layout, options: &UpOptions) -> Result<Inputs, Error> {
    let topology = Topology::load_or_default(options.config.as_deref())?;
    topology.check_sample_pins(pins.samples())?;
    let row = pins.select(options.istio.as_ref())?.clone();
    let plan = plan(
        pins,
        &topology,
        &row,
        &PlanOptions {
            layout: layout.clone(),
            reuse: options.reuse,
            preload: options.preload,
        },
    );
    Ok(Inputs {
        topology,
        row,
        plan,
    })
}

/// How an `up` ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpOutcome {
    /// The recorded run finished and its clusters exist: nothing was done.
    UpToDate { clusters: Vec<ClusterName> },
    /// The cluster part ran; `report.not_built` lists the mesh steps still to come.
    ClustersUp {
        report: Report,
        kubeconfigs: Vec<(ClusterName, PathBuf)>,
    },
}

/// Sets up kind, helm and istioctl for the runner (fetching them if needed).
async fn prepare_tools(env: &Env, pins: &Pins, row: &IstioRow) -> Result<(), Error> {
    if env.runner.tools().is_some() {
        return Ok(());
    }
    let toolbox = executor::tools(&env.tools, pins, row).await?;
    env.runner.set_tools(&toolbox);
    Ok(())
}

/// Holds the state directory's lock for as long as it lives.
fn lock(layout: &Layout) -> Result<fsx::FileLock, Error> {
    fsx::create_private_dir(layout.root()).map_err(UpError::from)?;
    Ok(fsx::lock(&layout.lock_file(), || {
        tracing::info!(
            "another `cargo xtask up` or `down` works on {}; waiting for it",
            layout.root().display()
        );
    })
    .map_err(UpError::from)?)
}

/// Runs `up`: the cluster part of the plan (the mesh steps are planned but not built).
pub async fn up<P: Provider>(
    provider: P,
    env: &Env,
    pins: &Pins,
    options: &UpOptions,
) -> Result<UpOutcome, Error> {
    let Inputs {
        topology,
        row,
        plan,
    } = inputs(pins, &env.layout, options)?;
    let _lock = lock(&env.layout)?;
    let asked = config_hash(&topology, pins, &row);
    let state = match State::load(&env.layout, &topology)? {
        None => State::new(&topology, pins, &row),
        Some(prior) if options.recreate => {
            prepare_tools(env, pins, &row).await?;
            take_down(&provider, &env.layout, prior).await?;
            State::new(&topology, pins, &row)
        }
        Some(prior) if prior.config_hash != asked => {
            return Err(UpError::ConfigChanged {
                recorded: prior.config_hash,
                asked,
            }
            .into());
        }
        Some(prior) => {
            let finished = plan.steps.iter().filter(|s| s.built()).all(|s| {
                prior
                    .step(&s.id)
                    .is_some_and(|r| r.outcome == Outcome::Succeeded)
            });
            if finished {
                prepare_tools(env, pins, &row).await?;
                let existing = provider.list().await?;
                let all_exist = prior
                    .clusters
                    .keys()
                    .all(|c| existing.iter().any(|e| e == c.as_str()));
                if all_exist {
                    return Ok(UpOutcome::UpToDate {
                        clusters: prior.clusters.keys().cloned().collect(),
                    });
                }
            }
            prior
        }
    };
    let journal = Journal::open(env.layout.clone(), state)?;
    let ctx = Arc::new(Context {
        provider,
        runner: env.runner.clone(),
        pins: pins.clone(),
        topology,
        config_path: options.config.clone(),
        row,
        tools: env.tools.clone(),
        key_type: env.key_type,
        read_proc: env.read_proc.clone(),
        poll_interval: env.poll_interval,
        journal: journal.clone(),
        existing: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
    });
    let report = executor::execute(ctx, &plan).await?;
    let kubeconfigs = journal
        .snapshot()
        .clusters
        .iter()
        .map(|(name, record)| (name.clone(), record.kubeconfig.clone()))
        .collect();
    Ok(UpOutcome::ClustersUp {
        report,
        kubeconfigs,
    })
}

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownReport {
    /// No `state.json`: nothing was recorded, so nothing was touched.
    pub nothing_recorded: bool,
    pub deleted: Vec<ClusterName>,
    /// Clusters `up --reuse` used but did not create: left as they are.
    pub kept: Vec<ClusterName>,
}

/// Runs `down`.
pub async fn down<P: Provider>(provider: P, env: &Env, pins: &Pins) -> Result<DownReport, Error> {
    let _lock = lock(&env.layout)?;
    let Some(state) = State::load(&env.layout, &Topology::default())? else {
        return Ok(DownReport {
            nothing_recorded: true,
            ..DownReport::default()
        });
    };
    // kind from the run that made the clusters (any row on the same kind release).
    let row = pins
        .rows()
        .iter()
        .find(|r| r.version.to_string() == state.istio)
        .or_else(|| {
            pins.rows()
                .iter()
                .find(|r| r.kind.version.as_str() == state.tools.kind)
        })
        .unwrap_or(pins.default_row())
        .clone();
    prepare_tools(env, pins, &row).await?;
    take_down(&provider, &env.layout, state).await
}

/// Deletes the clusters `state` records as created, removes our kubeconfigs, and the
/// record once nothing is left in it.
async fn take_down<P: Provider>(
    provider: &P,
    layout: &Layout,
    mut state: State,
) -> Result<DownReport, Error> {
    let mut report = DownReport::default();
    let mut failed = Vec::new();
    let names: Vec<ClusterName> = state.clusters.keys().cloned().collect();
    for name in names {
        let record = state.clusters[&name].clone();
        if record.origin == Origin::Created {
            if let Err(error) = provider.delete(&name, &record.kubeconfig).await {
                tracing::error!("{}", executor::error_chain(&error));
                failed.push(name);
                continue;
            }
            report.deleted.push(name.clone());
        } else {
            report.kept.push(name.clone());
        }
        for file in [
            Some(record.kubeconfig.clone()),
            record.peer_kubeconfig.clone(),
            Some(layout.peer_kubeconfig(&name)),
        ]
        .into_iter()
        .flatten()
        {
            remove_file(&file)?;
        }
        state.clusters.remove(&name);
        state.save(layout)?;
    }
    if !failed.is_empty() {
        return Err(UpError::NotAllDeleted(failed).into());
    }
    State::remove(layout)?;
    Ok(report)
}

fn remove_file(path: &std::path::Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(UpError::from(fsx::FsError::during("remove", path)(source)).into()),
    }
}
