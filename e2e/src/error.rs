//! The one error type the library hands its front ends, and the kind of each failure.
//!
//! Every module error has a `kind()` that matches its own variants exhaustively, and
//! [`Error`] has one variant per module error, so a new error (or a new variant) cannot
//! reach a front end before someone has decided whether it is the user's input or a
//! failure. Messages say what is wrong in the library's terms; how to fix it with the
//! command line (which flag, which subcommand) is the front end's to say.

use crate::certs::CertsError;
use crate::cluster::{ClusterError, DockerError};
use crate::config::ConfigError;
use crate::kube::KubeError;
use crate::lifecycle::UpError;
use crate::net::NetError;
use crate::pins::{PinsError, UnknownIstioVersion};
use crate::probe::ProbeError;
use crate::render::{RenderError, WriteError};
use crate::runner::RunError;
use crate::state::StateError;
use crate::tools::ToolsError;

/// What kind of failure an error is: the front end turns it into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user must change something they gave: an argument, the topology, the pins, the
    /// files of an earlier run. Running again unchanged fails the same way.
    BadInput,
    /// What was asked could not be done (network, disk, a tool, the machine); running again
    /// may succeed.
    Failed,
    /// The run was stopped before it finished (Ctrl-C).
    Interrupted,
}

/// Any error the library returns to a front end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pins(#[from] PinsError),
    #[error(transparent)]
    UnknownIstioVersion(#[from] UnknownIstioVersion),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Tools(#[from] ToolsError),
    #[error(transparent)]
    Certs(#[from] CertsError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error(transparent)]
    Up(#[from] UpError),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Pins(e) => e.kind(),
            Error::UnknownIstioVersion(e) => e.kind(),
            Error::Config(e) => e.kind(),
            Error::Net(e) => e.kind(),
            Error::Tools(e) => e.kind(),
            Error::Certs(e) => e.kind(),
            Error::Render(e) => e.kind(),
            Error::Write(e) => e.kind(),
            Error::Docker(e) => e.kind(),
            Error::Probe(e) => e.kind(),
            Error::Run(e) => e.kind(),
            Error::Cluster(e) => e.kind(),
            Error::State(e) => e.kind(),
            Error::Kube(e) => e.kind(),
            Error::Up(e) => e.kind(),
        }
    }
}
