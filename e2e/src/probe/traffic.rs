//! Requests from a cluster's curl pod to helloworld, and which versions and pods answered.
//!
//! One exec runs a shell loop of N `curl`s, so a sample costs one round trip to the API
//! server whatever N is. The curl image is Alpine with BusyBox (curl/curl-container:
//! `create_base_image.sh` builds on `docker.io/alpine`), so the loop is plain POSIX `sh`:
//! a `while` with shell arithmetic, no `seq`.
//!
//! Envoy's local replies (`no healthy upstream`, `upstream connect error ...`) have no
//! trailing newline (envoyproxy/envoy:source/common/router/router.cc), so responses cannot
//! be told apart by lines: after each body, curl's `--write-out` prints a marker line with
//! the HTTP status, curl's exit code and its error message (`%{exitcode}` and
//! `%{errormsg}` exist since curl 7.75.0, curl/curl@5c5d146), and the shell prints an end
//! line with the exit code it saw, which is there even when curl printed nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use super::{ExecOutput, ExecRequest, PodSelector, ProbeError, shorten};
use crate::names::{CURL, HELLOWORLD, HELLOWORLD_PORT, SAMPLE_NAMESPACE};

/// Starts the `--write-out` line: `::mc-kind:: http=<code> curl=<exit> error=<message>`.
const STATUS_MARK: &str = "::mc-kind:: http=";
/// The line that ends every response: `::mc-kind:: end=<exit code of curl>`.
const END_MARK: &str = "::mc-kind:: end=";

/// The loop, run as `sh -c SCRIPT mc-kind-traffic <count> <url> <max-time>`: the values
/// arrive as positional parameters, so nothing is ever quoted into the script. curl runs
/// `-s` (no progress, no error text on stderr: the message comes through `%{errormsg}`);
/// `2>&1` still catches the shell's own complaint should curl be missing.
pub const SCRIPT: &str = r#"i=0
while [ "$i" -lt "$1" ]; do
  i=$((i + 1))
  curl -s --max-time "$3" -w '\n::mc-kind:: http=%{http_code} curl=%{exitcode} error=%{errormsg}' "$2" 2>&1
  printf '\n::mc-kind:: end=%s\n' "$?"
done
"#;

/// `$0` of the script, which the shell shows in its own error messages.
const SCRIPT_NAME: &str = "mc-kind-traffic";

/// How many requests to send where, each bounded in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficProbe {
    requests: NonZeroU32,
    url: String,
    max_time: Duration,
}

impl TrafficProbe {
    /// `requests` to helloworld's `/hello` through its Service name, each given at most
    /// `max_time` (at least a millisecond: curl reads `--max-time 0` as no limit).
    pub fn helloworld(requests: NonZeroU32, max_time: Duration) -> Self {
        Self {
            requests,
            url: format!("http://{HELLOWORLD}.{SAMPLE_NAMESPACE}:{HELLOWORLD_PORT}/hello"),
            max_time: max_time.max(Duration::from_millis(1)),
        }
    }

    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The exec into the curl container of the curl pod.
    pub fn request(&self) -> ExecRequest {
        let max_time = format!(
            "{}.{:03}",
            self.max_time.as_secs(),
            self.max_time.subsec_millis()
        );
        let count = self.requests.to_string();
        ExecRequest::new(
            PodSelector::curl(),
            CURL,
            &[
                "/bin/sh",
                "-c",
                SCRIPT,
                SCRIPT_NAME,
                &count,
                &self.url,
                &max_time,
            ],
        )
    }

    /// Reads what the loop printed: one [`Reply`] per request that got as far as the end
    /// line, and a failed reply for output cut off before it.
    pub fn parse(&self, output: &ExecOutput) -> Result<TrafficSample, ProbeError> {
        let stdout = output.success(&format!(
            "{SCRIPT_NAME} ({} × curl {})",
            self.requests, self.url
        ))?;
        if stdout.is_empty() {
            return Err(ProbeError::NoResponses {
                requested: self.requests(),
            });
        }
        let mut replies = Vec::new();
        let mut record: Vec<&str> = Vec::new();
        for piece in stdout.split('\n') {
            match piece.strip_prefix(END_MARK) {
                Some(exit) => replies.push(Reply::read(&mut record, exit)),
                None => record.push(piece),
            }
        }
        // The text after the last end line: nothing but the final newline's empty remainder,
        // unless the exec was cut short in the middle of a response.
        if record != [""] && !record.is_empty() {
            replies.push(Reply::Failed(FailedRequest {
                http_status: None,
                curl_exit: None,
                curl_error: Some("the output stops before this response ended".into()),
                body: record.join("\n"),
            }));
        }
        Ok(TrafficSample {
            requested: self.requests(),
            replies,
        })
    }
}

/// What helloworld answers: `Hello version: <v>, instance: <pod name>\n`
/// (istio/istio@1.24.1:samples/helloworld/src/app.py).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub version: String,
    pub instance: String,
}

impl Hello {
    fn parse(body: &str) -> Option<Self> {
        let line = body.strip_suffix('\n').unwrap_or(body);
        let rest = line.strip_prefix("Hello version: ")?;
        let (version, instance) = rest.split_once(", instance: ")?;
        let word = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
        (word(version) && word(instance)).then(|| Self {
            version: version.into(),
            instance: instance.into(),
        })
    }
}

/// A request that did not end in a helloworld answer, with what came back verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRequest {
    /// `None` when no HTTP response arrived (curl prints `000`) or no status line came.
    pub http_status: Option<u16>,
    /// What the shell saw curl exit with; `None` for a response cut off.
    pub curl_exit: Option<i32>,
    /// curl's `%{errormsg}`, when it had one.
    pub curl_error: Option<String>,
    /// The body as received: an HTML page, an Envoy local reply, or nothing.
    pub body: String,
}

/// How much of a failed body a message shows.
const BODY_EXCERPT: usize = 200;

impl fmt::Display for FailedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.http_status {
            Some(status) => write!(f, "HTTP {status}")?,
            None => f.write_str("no HTTP response")?,
        }
        match (self.curl_exit, &self.curl_error) {
            (Some(0), None) => {}
            (Some(code), Some(error)) => write!(f, " (curl exit {code}: {error})")?,
            (Some(code), None) => write!(f, " (curl exit {code})")?,
            (None, Some(error)) => write!(f, " ({error})")?,
            (None, None) => {}
        }
        let body = self.body.trim_end_matches('\n');
        if body.is_empty() {
            f.write_str(", empty body")
        } else {
            write!(f, ": {}", shorten(body, BODY_EXCERPT))
        }
    }
}

/// What one request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Hello(Hello),
    Failed(FailedRequest),
}

impl Reply {
    /// One response's pieces (its text split at `\n`, up to its end line), which it
    /// consumes. The status line is the last piece when curl got to print it; before it is
    /// the body exactly, since `--write-out` starts with the `\n` that ended the previous
    /// piece.
    fn read(record: &mut Vec<&str>, end: &str) -> Self {
        let status = record
            .last()
            .and_then(|last| last.strip_prefix(STATUS_MARK))
            .map(WriteOut::parse);
        if status.is_some() {
            record.pop();
        }
        let body = record.join("\n");
        record.clear();
        let curl_exit = end.trim().parse::<i32>().ok();
        let status = status.unwrap_or_default();
        if curl_exit == Some(0)
            && status.http == Some(200)
            && let Some(hello) = Hello::parse(&body)
        {
            return Reply::Hello(hello);
        }
        Reply::Failed(FailedRequest {
            http_status: status.http,
            curl_exit: curl_exit.or(status.curl),
            curl_error: status.error,
            body,
        })
    }
}

/// The `--write-out` line after its mark: `<code> curl=<exit> error=<message>`.
#[derive(Debug, Default)]
struct WriteOut {
    http: Option<u16>,
    curl: Option<i32>,
    error: Option<String>,
}

impl WriteOut {
    fn parse(rest: &str) -> Self {
        let (http, rest) = rest.split_once(" curl=").unwrap_or((rest, ""));
        let (curl, error) = rest.split_once(" error=").unwrap_or((rest, ""));
        Self {
            http: http.parse().ok().filter(|code| *code != 0),
            curl: curl.parse().ok(),
            error: Some(error.to_owned()).filter(|e| !e.is_empty()),
        }
    }
}

/// The replies to one traffic probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSample {
    requested: u32,
    replies: Vec<Reply>,
}

impl TrafficSample {
    pub fn requested(&self) -> u32 {
        self.requested
    }

    /// One per request that finished, in order.
    pub fn replies(&self) -> &[Reply] {
        &self.replies
    }

    fn hellos(&self) -> impl Iterator<Item = &Hello> {
        self.replies.iter().filter_map(|r| match r {
            Reply::Hello(hello) => Some(hello),
            Reply::Failed(_) => None,
        })
    }

    /// How many answers each helloworld version gave.
    pub fn versions(&self) -> BTreeMap<&str, usize> {
        count(self.hellos().map(|h| h.version.as_str()))
    }

    /// How many answers each helloworld pod gave.
    pub fn instances(&self) -> BTreeMap<&str, usize> {
        count(self.hellos().map(|h| h.instance.as_str()))
    }

    /// Every request that got no helloworld answer, in order.
    pub fn failures(&self) -> Vec<&FailedRequest> {
        self.replies
            .iter()
            .filter_map(|r| match r {
                Reply::Failed(failed) => Some(failed),
                Reply::Hello(_) => None,
            })
            .collect()
    }

    /// Requests the output says nothing about (the exec ended early).
    pub fn missing(&self) -> u32 {
        let seen = u32::try_from(self.replies.len()).unwrap_or(u32::MAX);
        self.requested.saturating_sub(seen)
    }

    /// Every request got a helloworld answer.
    pub fn all_answered(&self) -> bool {
        self.missing() == 0 && self.failures().is_empty()
    }
}

fn count<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}

impl fmt::Display for TrafficSample {
    /// `7 requests: v1 ×2, v2 ×1, 4 failed` and one line per failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} requests:", self.requested)?;
        let versions = self.versions();
        for (i, (version, n)) in versions.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{version} ×{n}")?;
        }
        let failures = self.failures();
        if !versions.is_empty() && (!failures.is_empty() || self.missing() > 0) {
            f.write_str(",")?;
        }
        if !failures.is_empty() {
            write!(f, " {} failed", failures.len())?;
        }
        if self.missing() > 0 {
            write!(f, " {} not reported", self.missing())?;
        }
        for failure in failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tests_support::fixture;

    fn probe(n: u32) -> TrafficProbe {
        TrafficProbe::helloworld(NonZeroU32::new(n).unwrap(), Duration::from_secs(5))
    }

    /// What the loop prints for one response: body, `--write-out`, end line.
    fn record(body: &str, http: &str, curl: i32, error: &str) -> String {
        format!("{body}\n{STATUS_MARK}{http} curl={curl} error={error}\n{END_MARK}{curl}\n")
    }

    #[test]
    fn one_exec_of_a_posix_loop_with_the_values_as_arguments() {
        let request = probe(20).request();
        assert_eq!(request.pod, PodSelector::curl());
        assert_eq!(request.container, "curl");
        assert_eq!(
            request.argv,
            [
                "/bin/sh",
                "-c",
                SCRIPT,
                "mc-kind-traffic",
                "20",
                "http://helloworld.sample:5000/hello",
                "5.000"
            ]
        );
        assert!(SCRIPT.contains("--max-time \"$3\""));
        assert!(
            !SCRIPT.contains("seq"),
            "BusyBox applets beyond sh are not relied on"
        );
        let fast = TrafficProbe::helloworld(NonZeroU32::MIN, Duration::from_micros(10));
        assert_eq!(
            fast.request().argv[6],
            "0.001",
            "never 0, which curl reads as no limit"
        );
        let long = TrafficProbe::helloworld(NonZeroU32::MIN, Duration::from_millis(2500));
        assert_eq!(long.request().argv[6], "2.500");
    }

    #[test]
    fn the_recorded_loop_output_gives_counts_and_failures_verbatim() {
        let sample = probe(7)
            .parse(&ExecOutput::ok(fixture("curl-loop-7-requests.stdout")))
            .unwrap();
        assert_eq!(sample.replies().len(), 7);
        assert_eq!(sample.missing(), 0);
        assert_eq!(sample.versions(), BTreeMap::from([("v1", 2), ("v2", 1)]));
        assert_eq!(
            sample.instances(),
            BTreeMap::from([
                ("helloworld-v1-6bd8d4b5d-x2qzm", 2),
                ("helloworld-v2-7d6f8c9b4-4nxkz", 1)
            ])
        );
        let failures = sample.failures();
        assert_eq!(failures.len(), 4);
        assert_eq!(
            failures[0],
            &FailedRequest {
                http_status: Some(503),
                curl_exit: Some(0),
                curl_error: None,
                body: fixture("envoy-503-upstream-connect-error-strerror.txt"),
            },
            "a body without a trailing newline comes back exactly"
        );
        assert_eq!(failures[1].http_status, Some(404));
        assert!(
            failures[1]
                .body
                .starts_with("<!doctype html>\n<html lang=en>\n")
        );
        assert!(failures[1].body.ends_with("try again.</p>\n"));
        assert_eq!(
            failures[2],
            &FailedRequest {
                http_status: None,
                curl_exit: Some(28),
                curl_error: Some(
                    "Operation timed out after 1001 milliseconds with 0 bytes received".into()
                ),
                body: String::new(),
            }
        );
        assert_eq!(
            failures[3].body,
            fixture("envoy-503-no-healthy-upstream.txt")
        );
        assert!(!sample.all_answered());
        assert_eq!(
            sample.to_string(),
            "7 requests: v1 ×2, v2 ×1, 4 failed\n  \
             HTTP 503: upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused\n  \
             HTTP 404: <!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try agai… (206 bytes in all)\n  \
             no HTTP response (curl exit 28: Operation timed out after 1001 milliseconds with 0 bytes received), empty body\n  \
             HTTP 503: no healthy upstream"
        );
    }

    #[test]
    fn helloworld_bodies_from_the_fixtures_parse() {
        for (name, version) in [
            ("helloworld-hello-v1.txt", "v1"),
            ("helloworld-hello-v2.txt", "v2"),
        ] {
            let hello = Hello::parse(&fixture(name)).unwrap();
            assert_eq!(hello.version, version);
            assert!(
                hello
                    .instance
                    .starts_with(&format!("helloworld-{version}-"))
            );
        }
        for not_hello in [
            "Hello version: v1, instance: \n",
            "Hello version: v1 instance: p\n",
            "Hello version: v1, instance: p\nmore\n",
            "Helloworld is healthy",
            "",
        ] {
            assert_eq!(Hello::parse(not_hello), None, "{not_hello:?}");
        }
    }

    #[test]
    fn a_clean_sample_answers_every_request() {
        let v1 = fixture("helloworld-hello-v1.txt");
        let v2 = fixture("helloworld-hello-v2.txt");
        let out = [&v1, &v2, &v1].map(|b| record(b, "200", 0, "")).concat();
        let sample = probe(3).parse(&ExecOutput::ok(out)).unwrap();
        assert!(sample.all_answered());
        assert!(sample.failures().is_empty());
        assert_eq!(sample.to_string(), "3 requests: v1 ×2, v2 ×1");
    }

    #[test]
    fn a_200_that_is_not_helloworld_is_a_failure() {
        let out = record("Helloworld is healthy", "200", 0, "");
        let sample = probe(1).parse(&ExecOutput::ok(out)).unwrap();
        assert_eq!(sample.failures()[0].body, "Helloworld is healthy");
        assert_eq!(
            sample.failures()[0].to_string(),
            "HTTP 200: Helloworld is healthy"
        );
    }

    #[test]
    fn output_cut_short_counts_what_is_missing() {
        let v1 = record(&fixture("helloworld-hello-v1.txt"), "200", 0, "");
        let cut = format!("{v1}Hello version: v2, inst");
        let sample = probe(3).parse(&ExecOutput::ok(cut)).unwrap();
        assert_eq!(sample.replies().len(), 2);
        assert_eq!(sample.missing(), 1);
        assert_eq!(sample.versions(), BTreeMap::from([("v1", 1)]));
        assert_eq!(
            sample.failures()[0].to_string(),
            "no HTTP response (the output stops before this response ended): Hello version: v2, inst"
        );
        assert_eq!(
            sample.to_string().lines().next().unwrap(),
            "3 requests: v1 ×1, 1 failed 1 not reported"
        );
    }

    #[test]
    fn curl_missing_shows_the_shells_complaint() {
        // The shell prints its error through the 2>&1 and exits 127; no --write-out.
        let out = "mc-kind-traffic: 4: curl: not found\n\n::mc-kind:: end=127\n";
        let sample = probe(1).parse(&ExecOutput::ok(out)).unwrap();
        assert_eq!(
            sample.failures()[0],
            &FailedRequest {
                http_status: None,
                curl_exit: Some(127),
                curl_error: None,
                body: "mc-kind-traffic: 4: curl: not found\n".into(),
            }
        );
        assert_eq!(
            sample.failures()[0].to_string(),
            "no HTTP response (curl exit 127): mc-kind-traffic: 4: curl: not found"
        );
    }

    #[test]
    fn no_output_and_a_failed_exec_are_errors() {
        let err = probe(5).parse(&ExecOutput::ok("")).unwrap_err();
        assert_eq!(err, ProbeError::NoResponses { requested: 5 });
        let failed = probe(5)
            .parse(&ExecOutput {
                exit_code: 126,
                stdout: String::new(),
                stderr: "exec: \"/bin/sh\": permission denied".into(),
            })
            .unwrap_err();
        assert!(
            matches!(failed, ProbeError::CommandFailed { exit_code: 126, .. }),
            "{failed:?}"
        );
        assert!(failed.to_string().contains("permission denied"), "{failed}");
    }
}
