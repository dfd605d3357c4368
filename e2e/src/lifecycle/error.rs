//! How `up`, `down` and `status` fail, beyond the errors of the modules they use.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use crate::config::ClusterName;
use crate::error::ErrorKind;
use crate::fsx::FsError;
use crate::plan::StepId;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("step {step} failed")]
    Step {
        step: StepId,
        #[source]
        error: Box<crate::Error>,
    },
    #[error(
        "interrupted: {finished} step(s) had finished, {} were stopped{}, {not_started} never started; what exists is recorded in {}",
        stopped.len(),
        if stopped.is_empty() { String::new() } else { format!(" ({})", stopped.iter().map(StepId::as_str).collect::<Vec<_>>().join(", ")) },
        state_file.display()
    )]
    Interrupted {
        finished: usize,
        stopped: Vec<StepId>,
        not_started: usize,
        state_file: PathBuf,
    },
    #[error("{step} was stopped: the run was interrupted")]
    Stopped { step: StepId },
    #[error(
        "a kind cluster named {} exists and was not made by this framework's `up`; it is not ours to change or delete. Delete it yourself (kind delete cluster --name <name>), or use it as it is",
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    NamesTaken { names: Vec<ClusterName> },
    #[error(
        "the clusters up now were made from another configuration (recorded hash {recorded}, asked {asked}: another topology, Istio row or pin); refusing to change them"
    )]
    ConfigChanged { recorded: String, asked: String },
    #[error(
        "the kind docker network changed during the run: first {first}, now {now}; it was recreated by something else"
    )]
    NetworkChanged { first: Ipv4Net, now: Ipv4Net },
    #[error("{step} is not built yet")]
    NotBuilt { step: StepId },
    #[error("the pinned tool {} is missing", path.display())]
    ToolMissing { path: PathBuf },
    #[error("cannot use kubeconfig {}: {reason}", path.display())]
    Kubeconfig { path: PathBuf, reason: String },
    #[error("cluster `{cluster}` has no address {ip} on the kind network any more")]
    AddressChanged { cluster: ClusterName, ip: Ipv4Addr },
    #[error("{0}")]
    Task(String),
    #[error("could not delete every recorded cluster; still recorded: {}", .0.iter().map(ClusterName::as_str).collect::<Vec<_>>().join(", "))]
    NotAllDeleted(Vec<ClusterName>),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl UpError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            UpError::Step { error, .. } => error.kind(),
            UpError::Interrupted { .. } | UpError::Stopped { .. } => ErrorKind::Interrupted,
            UpError::NamesTaken { .. } | UpError::ConfigChanged { .. } => ErrorKind::BadInput,
            UpError::State(e) => e.kind(),
            UpError::NetworkChanged { .. }
            | UpError::NotBuilt { .. }
            | UpError::ToolMissing { .. }
            | UpError::Kubeconfig { .. }
            | UpError::AddressChanged { .. }
            | UpError::Task(_)
            | UpError::NotAllDeleted(_)
            | UpError::Fs(_) => ErrorKind::Failed,
        }
    }

    /// The error at the bottom of a failed step, for hints.
    pub fn root(&self) -> Option<&crate::Error> {
        match self {
            UpError::Step { error, .. } => match error.as_ref() {
                crate::Error::Up(inner) => inner.root().or(Some(error)),
                other => Some(other),
            },
            _ => None,
        }
    }
}
