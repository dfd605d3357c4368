//! Runs a [`Plan`] as a DAG: every step whose `needs` have succeeded starts at once (on
//! tokio, so two clusters' creates run side by side), each step's start, end and outcome
//! is written to `state.json` as it happens, and a failure or a cancel (Ctrl-C) stops new
//! steps from starting while the running ones finish (tool calls get the runner's grace
//! period; waits stop at once).
//!
//! Only built steps run; the rest of the plan (the mesh, next issue) is reported back as
//! not built.

mod journal;
mod steps;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use journal::Journal;
pub(crate) use steps::tools;
pub use steps::{INOTIFY_INSTANCES, INOTIFY_WATCHES, inotify_warnings, peer_kubeconfig_text};

use crate::Error;
use crate::certs::KeyType;
use crate::cluster::Provider;
use crate::config::{ClusterName, Topology};
use crate::lifecycle::UpError;
use crate::pins::{IstioRow, Pins};
use crate::plan::{Plan, StepId};
use crate::runner::Runner;
use crate::state::{Layout, Outcome};
use crate::tools::{FetchOptions, Toolbox};

/// Where the pinned tools come from.
#[derive(Debug, Clone)]
pub enum ToolSource {
    /// Fetched (or found in the cache) as `cargo xtask tools` does.
    Fetch(FetchOptions),
    /// Already at hand (tests): only checked to exist.
    Given(Toolbox),
}

/// Reads a file of `/proc` (tests inject their own).
pub type ProcReader = Arc<dyn Fn(&Path) -> std::io::Result<String> + Send + Sync>;

/// Everything the steps use, shared by all of them.
pub struct Context<P> {
    pub provider: P,
    pub runner: Runner,
    pub pins: Pins,
    pub topology: Topology,
    /// The topology file the run was given (rendering reads it again).
    pub config_path: Option<PathBuf>,
    pub row: IstioRow,
    pub tools: ToolSource,
    /// For certificates made by this run.
    pub key_type: KeyType,
    pub read_proc: ProcReader,
    /// How often waits look again.
    pub poll_interval: Duration,
    pub journal: Journal,
    /// The clusters `kind get clusters` listed in preflight.
    pub(crate) existing: Mutex<Vec<String>>,
    /// Warnings for the user (inotify limits).
    pub(crate) warnings: Mutex<Vec<String>>,
}

impl<P> Context<P> {
    pub fn layout(&self) -> &Layout {
        self.journal.layout()
    }

    fn warn(&self, warning: String) {
        tracing::warn!("{warning}");
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(warning);
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub succeeded: Vec<StepId>,
    /// Planned steps the executor cannot run yet (the mesh).
    pub not_built: Vec<StepId>,
    pub warnings: Vec<String>,
}

/// Runs every built step of `plan` as its `needs` allow.
pub async fn execute<P: Provider>(ctx: Arc<Context<P>>, plan: &Plan) -> Result<Report, UpError> {
    let built: Vec<&crate::plan::Step> = plan.steps.iter().filter(|s| s.built()).collect();
    let not_built: Vec<StepId> = plan
        .steps
        .iter()
        .filter(|s| !s.built())
        .map(|s| s.id.clone())
        .collect();
    let cancel = ctx.runner.cancel().clone();
    let mut started: BTreeSet<StepId> = BTreeSet::new();
    let mut succeeded: Vec<StepId> = Vec::new();
    let mut running: tokio::task::JoinSet<(StepId, Result<(), Error>)> =
        tokio::task::JoinSet::new();
    let mut failure: Option<(StepId, Error)> = None;
    let mut interrupted: Vec<StepId> = Vec::new();

    loop {
        if failure.is_none() && !cancel.is_cancelled() {
            for step in &built {
                if started.contains(&step.id) || !step.needs.iter().all(|n| succeeded.contains(n)) {
                    continue;
                }
                started.insert(step.id.clone());
                ctx.journal.start(&step.id)?;
                let ctx = ctx.clone();
                let step = (*step).clone();
                running.spawn(async move {
                    let result = steps::run(&ctx, &step).await;
                    (step.id, result)
                });
            }
        }
        if running.is_empty() {
            break;
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            () = cancel.cancelled(), if !cancel.is_cancelled() => continue,
        };
        let Some(joined) = joined else { break };
        let (id, result) = joined.map_err(|e| UpError::Task(e.to_string()))?;
        match result {
            Ok(()) => {
                ctx.journal.finish(&id, Outcome::Succeeded)?;
                succeeded.push(id);
            }
            Err(error) if error.kind() == crate::ErrorKind::Interrupted => {
                ctx.journal.finish(&id, Outcome::Interrupted)?;
                interrupted.push(id);
            }
            Err(error) => {
                ctx.journal.finish(
                    &id,
                    Outcome::Failed {
                        error: error_chain(&error),
                    },
                )?;
                tracing::error!("{id} failed: {}", error_chain(&error));
                if failure.is_none() {
                    failure = Some((id, error));
                }
            }
        }
    }

    if let Some((step, error)) = failure {
        return Err(UpError::Step {
            step,
            error: Box::new(error),
        });
    }
    if cancel.is_cancelled() {
        return Err(UpError::Interrupted {
            finished: succeeded.len(),
            stopped: interrupted,
            not_started: built.iter().filter(|s| !started.contains(&s.id)).count(),
            state_file: ctx.layout().state_file(),
        });
    }
    let warnings = ctx
        .warnings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(Report {
        succeeded,
        not_built,
        warnings,
    })
}

/// An error and its causes on one line, for the state record.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The names in `existing` that belong to `clusters`.
pub(crate) fn taken<'a>(clusters: &'a [ClusterName], existing: &[String]) -> Vec<&'a ClusterName> {
    clusters
        .iter()
        .filter(|c| existing.iter().any(|e| e == c.as_str()))
        .collect()
}
