//! What the readiness gates and the live suite observe, as pure values: the command to run
//! in a pod ([`ExecRequest`]) and the parser of what it printed ([`ExecOutput`]).
//!
//! Every observation is an exec into a container, never an HTTP client of our own: istiod's
//! debug endpoints answer loopback callers only, and `pilot-discovery request` /
//! `pilot-agent request` are the loopback clients the images ship
//! (istio/istio@1.24.1:pilot/pkg/xds/debug.go `allowAuthenticatedOrLocalhost`). The I/O
//! layer finds a Running pod by [`PodSelector`], runs [`ExecRequest::argv`] in
//! [`ExecRequest::container`], and hands back exit code and output; everything else is here,
//! tested on fixtures.

pub mod clusterz;
pub mod envoy;
pub mod lb;
pub mod stats;
pub mod traffic;

use std::fmt;

use crate::config::AppVersion;
use crate::error::ErrorKind;
use crate::names::{CURL, HELLOWORLD, ISTIO_SYSTEM, SAMPLE_NAMESPACE};
use crate::net::Ipv4Range;

/// istiod's container in the `istiod` Deployment
/// (istio/istio@1.24.1:manifests/charts/istio-control/istio-discovery/templates/deployment.yaml).
pub const DISCOVERY_CONTAINER: &str = "discovery";
/// The sidecar every injected pod gets; `pilot-agent` is its entrypoint
/// (istio/istio@1.24.1:manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
pub const PROXY_CONTAINER: &str = "istio-proxy";

/// Which pod an exec goes to: any Running pod in `namespace` whose labels match
/// `label_selector` (Kubernetes selector syntax, `a=b,c=d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSelector {
    pub namespace: String,
    pub label_selector: String,
}

impl PodSelector {
    /// istiod: its pods carry `app=istiod` (same chart template as [`DISCOVERY_CONTAINER`]).
    pub fn istiod() -> Self {
        Self::new(ISTIO_SYSTEM, "app=istiod")
    }

    /// The curl client of the samples.
    pub fn curl() -> Self {
        Self::new(SAMPLE_NAMESPACE, &format!("app={CURL}"))
    }

    /// The helloworld pod of one version, for server-side stats.
    pub fn helloworld(version: &AppVersion) -> Self {
        Self::new(
            SAMPLE_NAMESPACE,
            &format!("app={HELLOWORLD},version={version}"),
        )
    }

    fn new(namespace: &str, label_selector: &str) -> Self {
        Self {
            namespace: namespace.into(),
            label_selector: label_selector.into(),
        }
    }
}

/// One command to run in one container of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    pub pod: PodSelector,
    pub container: String,
    /// Run as is, without a shell (the traffic probe brings its own `sh -c`).
    pub argv: Vec<String>,
}

impl ExecRequest {
    fn new(pod: PodSelector, container: &str, argv: &[&str]) -> Self {
        Self {
            pod,
            container: container.into(),
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

impl fmt::Display for ExecRequest {
    /// `<argv>` in container `<c>` of a pod `<selector>` in `<ns>`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in container {} of a pod {} in {}",
            self.argv.join(" "),
            self.container,
            self.pod.label_selector,
            self.pod.namespace
        )
    }
}

/// What an exec printed and how it ended. The I/O layer decodes the streams lossily as
/// UTF-8: every output parsed here is text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// A command that exited 0.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            exit_code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// stdout when the command exited 0. `pilot-discovery request` and `pilot-agent request`
    /// fail with 255 (`os.Exit(-1)`) on any status above 399 but 404, and log the error to
    /// stdout, Istio's default log output (istio/istio@1.24.1:pilot/pkg/request/command.go,
    /// pilot/cmd/pilot-discovery/main.go, pkg/log/options.go), so both streams are shown.
    fn success(&self, command: &str) -> Result<&str, ProbeError> {
        if self.exit_code == 0 {
            return Ok(&self.stdout);
        }
        let mut output = String::new();
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if !text.trim().is_empty() {
                if !output.is_empty() {
                    output.push_str("; ");
                }
                output.push_str(&format!("{name}: {}", shorten(text.trim(), EXCERPT)));
            }
        }
        if output.is_empty() {
            output.push_str("no output");
        }
        Err(ProbeError::CommandFailed {
            command: command.into(),
            exit_code: self.exit_code,
            output,
        })
    }
}

/// How much of an unexpected output a message shows.
const EXCERPT: usize = 240;

/// `text` itself when short; otherwise its first `max` characters, marked as cut, with the
/// full length, so a message stays readable and still shows what came back.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
    }
}

/// Why an observation could not be made or read. Every variant is a failure of what was
/// observed, never of the user's input: the mesh (or our reading of it) is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    #[error("`{command}` exited with {exit_code} ({output})")]
    CommandFailed {
        command: String,
        exit_code: i32,
        output: String,
    },
    #[error("`{command}` printed nothing; {why}")]
    Empty { command: String, why: &'static str },
    #[error("`{command}` did not print JSON ({error}); it printed: {start}")]
    NotJson {
        command: String,
        error: String,
        start: String,
    },
    #[error("`{command}` printed JSON of another shape than expected: {detail}")]
    Shape { command: String, detail: String },
    #[error("the proxy has no cluster `{name}`; it has {available}")]
    NoSuchCluster { name: String, available: String },
    #[error("line {line} of the Prometheus text cannot be read ({problem}): {text}")]
    Prometheus {
        line: usize,
        problem: String,
        text: String,
    },
    #[error("the traffic loop printed no response at all; expected {requested}")]
    NoResponses { requested: u32 },
    #[error(
        "Service {service} has no LoadBalancer IP in {range}; it shows {shows}. MetalLB assigns the address: check its controller and speaker pods and that its IPAddressPool holds {range}"
    )]
    NoIngressInRange {
        service: String,
        range: Ipv4Range,
        shows: String,
    },
}

impl ProbeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProbeError::CommandFailed { .. }
            | ProbeError::Empty { .. }
            | ProbeError::NotJson { .. }
            | ProbeError::Shape { .. }
            | ProbeError::NoSuchCluster { .. }
            | ProbeError::Prometheus { .. }
            | ProbeError::NoResponses { .. }
            | ProbeError::NoIngressInRange { .. } => ErrorKind::Failed,
        }
    }
}

/// The JSON a `request GET` printed, as `T`: text that is not JSON (a 404 page, which the
/// command prints with exit 0) and JSON of another shape are told apart, and both show what
/// came back.
fn json_stdout<T: serde::de::DeserializeOwned>(
    command: &str,
    output: &ExecOutput,
    empty_means: &'static str,
) -> Result<T, ProbeError> {
    let stdout = output.success(command)?;
    let text = stdout.trim();
    if text.is_empty() {
        return Err(ProbeError::Empty {
            command: command.into(),
            why: empty_means,
        });
    }
    let value = json_value(command, text)?;
    T::deserialize(value).map_err(|e| ProbeError::Shape {
        command: command.into(),
        detail: e.to_string(),
    })
}

/// `text` as JSON, or the error that shows how it starts. Read as a [`serde_json::Value`]
/// first, so that `404 page not found` counts as not JSON rather than as a number of the
/// wrong type.
fn json_value(command: &str, text: &str) -> Result<serde_json::Value, ProbeError> {
    serde_json::from_str(text).map_err(|e| ProbeError::NotJson {
        command: command.into(),
        error: e.to_string(),
        start: shorten(text, EXCERPT),
    })
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// A fixture under `fixtures/istio/`, byte for byte.
    pub fn fixture(name: &str) -> String {
        let path = crate::dirs::workspace_root()
            .join("fixtures/istio")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(shorten("no healthy upstream", 40), "no healthy upstream");
        assert_eq!(shorten("ééééé", 2), "éé… (10 bytes in all)");
        assert_eq!(shorten("abc", 3), "abc");
    }

    #[test]
    fn a_failed_command_shows_both_streams() {
        let out = ExecOutput {
            exit_code: 255,
            stdout: "2024-11-25T10:00:00Z\terror\treceived unsuccessful status code 401: \n".into(),
            stderr: "Error: received unsuccessful status code 401: \n".into(),
        };
        let err = out.success("pilot-discovery request GET /debug/clusterz");
        let Err(err) = err else {
            panic!("exit 255 must fail")
        };
        let text = err.to_string();
        assert!(text.contains("exited with 255"), "{text}");
        assert!(
            text.contains("stdout: 2024-11-25T10:00:00Z\terror"),
            "{text}"
        );
        assert!(text.contains("stderr: Error: received"), "{text}");
        assert_eq!(err.kind(), ErrorKind::Failed);

        let silent = ExecOutput {
            exit_code: 1,
            stdout: String::new(),
            stderr: " \n".into(),
        };
        assert!(
            silent
                .success("x")
                .unwrap_err()
                .to_string()
                .contains("(no output)")
        );
    }

    #[test]
    fn selectors_name_the_pods_the_charts_and_samples_label() {
        assert_eq!(
            PodSelector::istiod(),
            PodSelector {
                namespace: "istio-system".into(),
                label_selector: "app=istiod".into()
            }
        );
        assert_eq!(PodSelector::curl().label_selector, "app=curl");
        assert_eq!(PodSelector::curl().namespace, "sample");
        assert_eq!(
            PodSelector::helloworld(&"v2".parse().unwrap()).label_selector,
            "app=helloworld,version=v2"
        );
    }

    #[test]
    fn a_request_says_where_it_runs() {
        let request = ExecRequest::new(PodSelector::istiod(), DISCOVERY_CONTAINER, &["a", "b"]);
        assert_eq!(
            request.to_string(),
            "`a b` in container discovery of a pod app=istiod in istio-system"
        );
    }
}
