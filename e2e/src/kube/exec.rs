//! Running a command in a container: [`PodExec`], so orchestration tests can replace it,
//! and its implementation over the API server's pods/exec websocket.
//!
//! The probes read istiod's debug endpoints and Envoy's admin API this way (`pilot-discovery
//! request GET /debug/clusterz` in istiod's `discovery` container, `curl` in a client
//! pod): loopback by construction, so no authentication is involved.

use std::future::Future;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::AttachParams;
use tokio::io::AsyncReadExt as _;

use super::{Cluster, KubeError};

/// What a command printed and how it exited: the value the probes parse, so it is theirs.
pub use crate::probe::ExecOutput;

/// Runs `argv` in `container` of pod `namespace/pod`. An exit code other than 0 is an
/// [`ExecOutput`], not an error: the caller decides what it means.
pub trait PodExec: Send + Sync {
    fn exec(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[&str],
    ) -> impl Future<Output = Result<ExecOutput, KubeError>> + Send;
}

/// The exit code in the Status that ends an exec: `Success` is 0; a non-zero exit is a
/// `Failure` with reason `NonZeroExitCode` whose `ExitCode` cause carries the code
/// (kubernetes/kubernetes:staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go
/// `NonZeroExitCodeReason`, `ExitCodeCauseType`; the Go field `Type` is the JSON `reason`).
/// Any other failure is the message of the Status.
fn exit_code(status: &Status) -> Result<i32, String> {
    match status.status.as_deref() {
        Some("Success") => Ok(0),
        _ if status.reason.as_deref() == Some("NonZeroExitCode") => status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|causes| {
                causes
                    .iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
            })
            .and_then(|cause| cause.message.as_deref()?.parse().ok())
            .ok_or_else(|| {
                format!(
                    "the command failed without a readable exit code: {}",
                    status.message.as_deref().unwrap_or_default()
                )
            }),
        _ => Err(status
            .message
            .clone()
            .unwrap_or_else(|| "the exec failed without a message".into())),
    }
}

impl PodExec for Cluster {
    /// Reads stdout and stderr to their ends at once (kube-rs buffers only a little of
    /// each, kube-client@5.0.0:src/api/remote_command.rs `MAX_BUF_SIZE`), then the
    /// Status that says how the command exited. The whole exec is bounded by
    /// [`super::Polling::exec_timeout`].
    async fn exec(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[&str],
    ) -> Result<ExecOutput, KubeError> {
        let doing = format!("running {argv:?} in container {container} of Pod {namespace}/{pod}");
        let failed = |problem: String| KubeError::Exec {
            cluster: self.name().clone(),
            doing: doing.clone(),
            problem,
        };
        let run = async {
            let params = AttachParams::default()
                .container(container)
                .stdin(false)
                .stdout(true)
                .stderr(true);
            let mut process = Api::<Pod>::namespaced(self.client().clone(), namespace)
                .exec(pod, argv.iter().copied(), &params)
                .await
                .map_err(|e| self.error(doing.clone(), e))?;
            let (Some(mut stdout), Some(mut stderr), Some(status)) =
                (process.stdout(), process.stderr(), process.take_status())
            else {
                return Err(failed(
                    "kube-rs gave no stdout, stderr or status to read".into(),
                ));
            };
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let (read_out, read_err) =
                tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
            read_out
                .and(read_err)
                .map_err(|e| failed(format!("reading its output: {e}")))?;
            let status = status.await;
            process
                .join()
                .await
                .map_err(|e| failed(format!("the exec stream failed: {e}")))?;
            let status = status.ok_or_else(|| {
                failed("the stream ended without saying how the command exited".into())
            })?;
            Ok(ExecOutput {
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
                exit_code: exit_code(&status).map_err(&failed)?,
            })
        };
        let limit = self.polling().exec_timeout;
        tokio::time::timeout(limit, run)
            .await
            .map_err(|_| failed(format!("it did not finish in {limit:?}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(value: serde_json::Value) -> Status {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn exit_codes_come_from_the_final_status() {
        assert_eq!(exit_code(&status(json!({"status": "Success"}))), Ok(0));
        assert_eq!(
            exit_code(&status(
                json!({"status": "Failure", "reason": "NonZeroExitCode",
                "message": "command terminated with non-zero exit code: exit status 255",
                "details": {"causes": [{"reason": "ExitCode", "message": "255"}]}})
            )),
            Ok(255)
        );
        assert_eq!(
            exit_code(&status(
                json!({"status": "Failure", "reason": "InternalError",
                "message": "container not found (\"discovery\")"})
            )),
            Err("container not found (\"discovery\")".into())
        );
        assert!(
            exit_code(&status(
                json!({"status": "Failure", "reason": "NonZeroExitCode"})
            ))
            .unwrap_err()
            .starts_with("the command failed without a readable exit code")
        );
    }
}
