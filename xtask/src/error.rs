//! How a `cargo xtask` run fails: [`CliError`], its exit code ([`exit_code`]) and the hint
//! printed under it ([`hint`]), each decided by one exhaustive match.
//!
//! The library says what is wrong; only here is it said which flag or subcommand fixes it.
//! A library error reaches the CLI only through [`e2e::Error`], so a new one cannot be
//! returned before the compiler has made us give it a kind and a hint.

use std::process::ExitStatus;

use e2e::certs::{CertsError, Fix};
use e2e::cluster::{ClusterError, DockerError};
use e2e::config::ConfigError;
use e2e::kube::KubeError;
use e2e::lifecycle::UpError;
use e2e::net::NetError;
use e2e::pins::{PinsError, UnknownIstioVersion, WriteBackError};
use e2e::render::{RenderError, WriteError};
use e2e::runner::RunError;
use e2e::state::StateError;
use e2e::tools::ToolsError;
use e2e::{Error, ErrorKind};

/// Library errors are boxed: they carry paths, URLs and lists, and every `Result` of the
/// CLI would otherwise be as large as the largest of them.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Lib(Box<Error>),
    /// A library error, after what the command was doing when it happened.
    #[error("{doing}")]
    Doing {
        doing: String,
        #[source]
        error: Box<Error>,
    },
    /// An argument clap cannot check on its own.
    #[error("{0}")]
    Usage(String),
    /// A subcommand whose issue is not done yet.
    #[error("`cargo xtask {0}` is not built yet; `cargo xtask --help` lists what works today")]
    NotBuilt(&'static str),
    #[error("cargo-nextest is not installed")]
    NextestMissing,
    /// cargo-nextest refused its arguments or its config before running anything.
    #[error("cargo nextest refused to run the suite ({0}); its message is above")]
    NextestRefused(ExitStatus),
    #[error("the offline suite failed ({0})")]
    SuiteFailed(ExitStatus),
    /// Something the CLI itself starts (a runtime, a process) did not start.
    #[error("cannot {what}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// `?` on a module error makes a [`CliError::Lib`] through [`e2e::Error`].
macro_rules! from_library {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for CliError {
            fn from(error: $error) -> Self {
                CliError::Lib(Box::new(error.into()))
            }
        }
    )*};
}

from_library!(
    Error,
    PinsError,
    UnknownIstioVersion,
    ConfigError,
    NetError,
    ToolsError,
    CertsError,
    RenderError,
    WriteError,
    DockerError,
    RunError,
    ClusterError,
    StateError,
    KubeError,
);

/// Says what the command was doing when a library call failed.
pub trait Doing<T> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T, CliError>;
}

impl<T, E: Into<Error>> Doing<T> for Result<T, E> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T, CliError> {
        self.map_err(|error| CliError::Doing {
            doing: doing(),
            error: Box::new(error.into()),
        })
    }
}

/// 2 for bad input (usage, the user's files), 1 for a failure of what was asked, 130 for
/// an interrupted run (as a shell reports SIGINT).
pub fn exit_code(err: &CliError) -> u8 {
    match err {
        CliError::Lib(error) | CliError::Doing { error, .. } => match error.kind() {
            ErrorKind::BadInput => 2,
            ErrorKind::Failed => 1,
            ErrorKind::Interrupted => 130,
        },
        CliError::Usage(_) | CliError::NotBuilt(_) | CliError::NextestRefused(_) => 2,
        CliError::NextestMissing | CliError::SuiteFailed(_) | CliError::Io { .. } => 1,
    }
}

/// What to run or pass to get past `err`, when the command line has an answer.
pub fn hint(err: &CliError) -> Option<String> {
    let text: &str = match err {
        CliError::Lib(error) | CliError::Doing { error, .. } => return library_hint(error),
        CliError::NextestMissing => "install it with: cargo install --locked cargo-nextest",
        CliError::NextestRefused(_) => {
            "the arguments after `--` go to `cargo nextest run`; its profiles are in .config/nextest.toml"
        }
        CliError::Usage(_)
        | CliError::NotBuilt(_)
        | CliError::SuiteFailed(_)
        | CliError::Io { .. } => return None,
    };
    Some(text.to_owned())
}

/// What to do after an interrupted or failed `up`.
const INTERRUPTED: &str =
    "see what is up with `cargo xtask status`; delete it with `cargo xtask down`";

fn library_hint(error: &Error) -> Option<String> {
    match error {
        Error::Tools(e) => tools_hint(e),
        Error::Certs(e) => certs_hint(e),
        Error::Net(e) | Error::Render(RenderError::Network(e)) => net_hint(e),
        Error::Write(e) => write_hint(e),
        Error::Docker(DockerError::NotInstalled | DockerError::NotRunning { .. })
        | Error::Cluster(ClusterError::Docker(_)) => {
            Some("the offline suite runs without Docker: cargo xtask test".into())
        }
        Error::Run(RunError::Cancelled { .. }) => Some(INTERRUPTED.into()),
        Error::Up(e) => up_hint(e),
        Error::Run(_)
        | Error::State(_)
        | Error::Cluster(
            ClusterError::Kind { .. }
            | ClusterError::Run(_)
            | ClusterError::Inspect { .. }
            | ClusterError::Network(_),
        ) => None,
        Error::Kube(e) => kube_hint(e),
        Error::Render(RenderError::Topology(_) | RenderError::MissingInput { .. })
        | Error::Pins(_)
        | Error::UnknownIstioVersion(_)
        | Error::Config(_)
        | Error::Probe(_) => None,
    }
}

fn up_hint(e: &UpError) -> Option<String> {
    match e {
        UpError::Interrupted { .. } | UpError::Stopped { .. } => Some(INTERRUPTED.into()),
        UpError::NamesTaken { .. } => Some(
            "use them as they are with `cargo xtask up --reuse`, or delete them with `kind delete cluster --name <name>`".into(),
        ),
        UpError::ConfigChanged { .. } => Some(
            "`cargo xtask up --recreate` deletes and recreates them; `cargo xtask down` only deletes them".into(),
        ),
        UpError::Step { .. } => Some(
            e.root()
                .and_then(library_hint)
                .unwrap_or_else(|| INTERRUPTED.to_owned().replace("see what is up", "what was made is recorded: see it")),
        ),
        UpError::NetworkChanged { .. }
        | UpError::NotBuilt { .. }
        | UpError::ToolMissing { .. }
        | UpError::Kubeconfig { .. }
        | UpError::AddressChanged { .. }
        | UpError::Task(_)
        | UpError::NotAllDeleted(_)
        | UpError::Fs(_)
        | UpError::State(_) => None,
    }
}

fn tools_hint(e: &ToolsError) -> Option<String> {
    let text = match e {
        ToolsError::Unrecorded { .. } => {
            "run `cargo xtask tools` without --locked once to take the checksums from the upstream checksum files, then commit versions.toml"
        }
        ToolsError::Offline { .. } => {
            "run once without --offline (or with --mirror URL) to fetch them"
        }
        ToolsError::NotFound { .. } => {
            "if you fetch through --mirror, check that it is laid out like the upstreams (<base>/<upstream path>)"
        }
        ToolsError::Unreachable { .. } => {
            "check your network or proxy, fetch from a mirror with --mirror URL, or use only the cache with --offline"
        }
        ToolsError::Stalled { .. } => "try again later, or fetch from a mirror with --mirror URL",
        ToolsError::DeadlineExceeded { .. } => {
            "on a slow network, raise the deadline with --download-deadline SECS (or MESH_DOWNLOAD_DEADLINE), or fetch from a mirror with --mirror URL"
        }
        ToolsError::Interrupted { .. } => "try again, or fetch from a mirror with --mirror URL",
        ToolsError::RecordChecksum(WriteBackError::ReadOnly { .. }) => {
            "make the file writable (chmod u+w), or pass --locked to fetch without recording"
        }
        ToolsError::RecordChecksum(WriteBackError::Changed { .. }) => {
            "see what changed (git diff), keep the right value, and run `cargo xtask tools` again"
        }
        ToolsError::Redirect { .. } => {
            "a --mirror must serve the files itself or redirect to https:// (plain http:// only on this machine)"
        }
        ToolsError::BadMirror { .. }
        | ToolsError::BadPins { .. }
        | ToolsError::Http { .. }
        | ToolsError::TooLarge { .. }
        | ToolsError::ArchiveTooLarge { .. }
        | ToolsError::ChecksumMismatch { .. }
        | ToolsError::BadChecksumFile { .. }
        | ToolsError::UnsafeArchive { .. }
        | ToolsError::MissingInArchive { .. }
        | ToolsError::SymlinkedInstall { .. }
        | ToolsError::Io { .. }
        | ToolsError::Task { .. }
        | ToolsError::HttpClient(_)
        | ToolsError::RecordChecksum(WriteBackError::Edit { .. } | WriteBackError::Fs(_)) => {
            return None;
        }
    };
    Some(text.into())
}

fn certs_hint(e: &CertsError) -> Option<String> {
    const FORCE: &str = "`cargo xtask certs --force` regenerates the root and every intermediate";
    match e {
        CertsError::NotGenerated { .. } => {
            Some("run `cargo xtask certs` (with the same --out and --config)".into())
        }
        CertsError::RootUnfinished { .. } => {
            Some("run `cargo xtask certs` (with the same --out) to finish it".into())
        }
        CertsError::NotADirectory(_) => Some("pass a directory as --out".into()),
        CertsError::Io { .. }
        | CertsError::Generate { .. }
        | CertsError::KeyOpenToOthers { .. } => None,
        CertsError::Garbled { fix, .. }
        | CertsError::Missing { fix, .. }
        | CertsError::KeyMismatch { fix, .. }
        | CertsError::NotSignedByRoot { fix, .. }
        | CertsError::Expired { fix, .. }
        | CertsError::NotYetValid { fix, .. }
        | CertsError::NotCa { fix, .. }
        | CertsError::CopyMismatch { fix, .. } => Some(match fix {
            Fix::Root | Fix::Remove(_) => FORCE.into(),
            Fix::Cluster(_) => {
                format!("`cargo xtask certs` issues a deleted intermediate again; {FORCE}")
            }
        }),
    }
}

fn net_hint(e: &NetError) -> Option<String> {
    match e {
        NetError::NoNetwork => Some(
            "to render without Docker, pass --docker-subnet with the subnet the kind network will have".into(),
        ),
        NetError::SubnetTooSmall { .. } => {
            Some("a rendering without Docker takes the network from --docker-subnet".into())
        }
        NetError::NotJson(_)
        | NetError::UnknownShape
        | NetError::NoIpv4Subnet { .. }
        | NetError::BadAddress { .. } => None,
    }
}

fn kube_hint(e: &KubeError) -> Option<String> {
    match e {
        KubeError::Kubeconfig { .. } => Some(
            "the clusters' kubeconfig files are written by `cargo xtask up`; run it, or `cargo xtask down` and then `up` if the clusters are gone"
                .into(),
        ),
        KubeError::Client { .. }
        | KubeError::NotFound { .. }
        | KubeError::Api { .. }
        | KubeError::Request { .. }
        | KubeError::Manifest { .. }
        | KubeError::UnknownKind { .. }
        | KubeError::RolloutFailed { .. }
        | KubeError::Exec { .. }
        | KubeError::Wait(_) => None,
    }
}

fn write_hint(e: &WriteError) -> Option<String> {
    match e {
        WriteError::NotOurs(_) => Some("pass an empty or new --out directory".into()),
        WriteError::NotADirectory(_) => Some("pass a directory as --out".into()),
        WriteError::Fs(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn tools(e: ToolsError) -> CliError {
        e.into()
    }

    #[test]
    fn exit_codes_follow_the_library_kind() {
        let unrecorded = tools(ToolsError::Unrecorded {
            artifacts: vec!["istio 1.24.1 (linux-amd64)".into()],
        });
        assert_eq!(exit_code(&unrecorded), 2);
        let stalled = tools(ToolsError::Stalled {
            artifact: "helm".into(),
            url: "https://get.helm.sh/x".into(),
            attempts: 4,
            stall: Duration::from_secs(30),
        });
        assert_eq!(exit_code(&stalled), 1);
        let not_ours = CliError::Doing {
            doing: "writing".into(),
            error: Box::new(WriteError::NotOurs(PathBuf::from("/x")).into()),
        };
        assert_eq!(exit_code(&not_ours), 2);
        assert_eq!(exit_code(&CliError::NotBuilt("up")), 2);
        assert_eq!(exit_code(&CliError::NextestMissing), 1);
    }

    #[test]
    fn flags_are_named_in_hints_not_in_library_messages() {
        let cases = [
            (
                tools(ToolsError::Unrecorded {
                    artifacts: vec!["istio 1.24.1 (linux-amd64)".into()],
                }),
                "without --locked",
            ),
            (
                tools(ToolsError::Offline {
                    cache_dir: PathBuf::from("/cache"),
                    missing: vec!["helm v3.22.0 (linux-amd64)".into()],
                }),
                "without --offline",
            ),
            (
                tools(ToolsError::Stalled {
                    artifact: "helm".into(),
                    url: "https://get.helm.sh/x".into(),
                    attempts: 4,
                    stall: Duration::from_secs(30),
                }),
                "--mirror URL",
            ),
            (
                tools(ToolsError::DeadlineExceeded {
                    artifact: "istio".into(),
                    url: "https://github.com/x".into(),
                    attempts: 2,
                    deadline: Duration::from_secs(900),
                }),
                "--download-deadline SECS (or MESH_DOWNLOAD_DEADLINE)",
            ),
            (
                tools(ToolsError::RecordChecksum(WriteBackError::ReadOnly {
                    path: PathBuf::from("versions.toml"),
                    mode: 0o444,
                    slot: "helm.sha256.linux-amd64".into(),
                    ours: "ab".repeat(32).parse().unwrap(),
                })),
                "--locked",
            ),
            (WriteError::NotOurs(PathBuf::from("/x")).into(), "--out"),
            (NetError::NoNetwork.into(), "--docker-subnet"),
            (
                CertsError::NotGenerated {
                    path: PathBuf::from("/c/root-cert.pem"),
                }
                .into(),
                "--out and --config",
            ),
            (
                CertsError::NotCa {
                    path: PathBuf::from("/c/root-cert.pem"),
                    fix: Fix::Root,
                }
                .into(),
                "--force",
            ),
        ];
        for (err, flag) in cases {
            let hint = hint(&err).unwrap_or_default();
            assert!(hint.contains(flag), "{err}: hint {hint:?} names {flag}");
            assert!(
                !err.to_string().contains(" --"),
                "the library message names no flag: {err}"
            );
        }
        assert_eq!(hint(&CliError::NotBuilt("up")), None);
    }

    #[test]
    fn no_message_repeats_its_cause() {
        use std::error::Error as _;
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let errors: Vec<CliError> = vec![
            CertsError::Io {
                action: "read",
                path: PathBuf::from("/c/root-key.pem"),
                source: io(),
            }
            .into(),
            ConfigError::Read {
                path: PathBuf::from("/t.toml"),
                source: io(),
            }
            .into(),
            PinsError::Read {
                path: PathBuf::from("/versions.toml"),
                source: io(),
            }
            .into(),
            CliError::Io {
                what: "write to stdout",
                source: io(),
            },
        ];
        for err in errors {
            let mut parent = err.to_string();
            let mut cause = err.source();
            while let Some(c) = cause {
                let text = c.to_string();
                assert!(
                    !parent.contains(&text),
                    "{parent:?} repeats its cause {text:?}"
                );
                parent = text;
                cause = c.source();
            }
        }
    }
}
