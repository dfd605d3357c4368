//! Whether requests between clusters were mutual TLS, from a proxy's Istio metrics.
//!
//! Read by exec, `pilot-agent request GET stats/prometheus` in `istio-proxy`: Envoy's
//! Prometheus text (envoyproxy/envoy:source/server/admin/prometheus_stats.cc). Istio's
//! `istio_requests_total` is there by default and names the peer's identity: on the client
//! (`reporter="source"`) `destination_principal` is the URI SAN of the certificate the
//! server presented, `unknown` without TLS; on the server (`reporter="destination"`)
//! `connection_security_policy` is `mutual_tls` only when both sides presented one
//! (istio/proxy:source/extensions/filters/http/istio_stats/istio_stats.cc). Counters only
//! grow, so a check compares two readings around the requests it sent.
//!
//! The text is parsed by the exposition format's rules
//! (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format):
//! labels are a set, whatever order Envoy writes them in, and label values may carry the
//! escapes `\\`, `\"` and `\n`.

use std::collections::BTreeMap;
use std::fmt;

use super::{ExecOutput, ExecRequest, PROXY_CONTAINER, PodSelector, ProbeError, shorten};
use crate::config::ClusterName;

const COMMAND: &str = "pilot-agent request GET stats/prometheus";

/// The exec that reads the Prometheus text of the proxy in `pod`.
pub fn prometheus_request(pod: PodSelector) -> ExecRequest {
    ExecRequest::new(
        pod,
        PROXY_CONTAINER,
        &["pilot-agent", "request", "GET", "stats/prometheus"],
    )
}

/// One sample line: a metric name, its label set, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// Every sample of one reading, in the order printed, and the `# TYPE` of each metric.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    /// Reads the output of [`prometheus_request`].
    pub fn from_output(output: &ExecOutput) -> Result<Self, ProbeError> {
        Self::parse(output.success(COMMAND)?)
    }

    /// Reads Prometheus text: samples, `# TYPE` lines; other comments (`# HELP`, any `#`
    /// line) and blank lines are skipped.
    pub fn parse(text: &str) -> Result<Self, ProbeError> {
        let mut exposition = Self::default();
        for (index, line) in text.lines().enumerate() {
            let error = |problem: &str| ProbeError::Prometheus {
                line: index + 1,
                problem: problem.into(),
                text: shorten(line, 160),
            };
            let trimmed = line.trim_start();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(comment) = trimmed.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                if words.next() == Some("TYPE") {
                    match (words.next(), words.next(), words.next()) {
                        (Some(name), Some(kind), None) => {
                            exposition.types.insert(name.into(), kind.into());
                        }
                        _ => return Err(error("a TYPE line is `# TYPE <name> <type>`")),
                    }
                }
                continue;
            }
            exposition
                .samples
                .push(parse_sample(trimmed).map_err(|problem| error(&problem))?);
        }
        Ok(exposition)
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The samples of metric `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The `# TYPE` given for metric `name` (`counter`, `gauge`, `histogram`, ...).
    pub fn metric_type(&self, name: &str) -> Option<&str> {
        self.types.get(name).map(String::as_str)
    }

    /// The value of the series `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &BTreeMap<String, String>) -> Option<f64> {
        self.named(name)
            .find(|s| &s.labels == labels)
            .map(|s| s.value)
    }
}

/// `name{label="value",...} value [timestamp]`; Envoy writes `name{} value` for a metric
/// without tags.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("no metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.trim_start().strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = parse_value(value).ok_or_else(|| format!("`{value}` is not a number"))?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("`{timestamp}` is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".into());
    }
    Ok(Sample {
        name: name.into(),
        labels,
        value,
    })
}

/// The labels up to the closing `}`, into `labels`; returns what follows it.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or("the label set is not closed")?;
        let name = &rest[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "a label name is expected at `{}`",
                shorten(rest, 20)
            ));
        }
        rest = rest[name_end..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("label `{name}` has no `=`"))?
            .trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{name}` is not quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("the value of label `{name}` is not closed")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => {
                        return Err(format!(
                            "the value of label `{name}` has the escape `\\{other}`; only \\\\, \\\" and \\n exist"
                        ));
                    }
                    None => return Err(format!("the value of label `{name}` is not closed")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label `{name}` appears twice"));
        }
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if rest.is_empty() {
            return Err("the label set is not closed".into());
        } else if !rest.starts_with('}') {
            return Err(format!("`,` or `}}` expected after label `{name}`"));
        }
    }
}

/// A Go `ParseFloat` number, as the format defines values: `NaN`, `+Inf`, `-Inf` included.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text
            .chars()
            .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E')) =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

/// Which proxy's metrics are read, and which peer's requests are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtlsView {
    /// The client's proxy; counts requests whose server is in `destination_cluster`.
    Client { destination_cluster: ClusterName },
    /// The server's proxy; counts requests whose client is in `source_cluster`.
    Server { source_cluster: ClusterName },
}

const REQUESTS_TOTAL: &str = "istio_requests_total";

impl MtlsView {
    /// The label that tells mutual TLS, and whether a value of it does.
    fn split(&self, sample: &Sample) -> Option<(bool, String)> {
        let label = |name| sample.label(name).unwrap_or_default();
        let (reporter, peer_label, peer, security_label) = match self {
            MtlsView::Client {
                destination_cluster,
            } => (
                "source",
                "destination_cluster",
                destination_cluster,
                "destination_principal",
            ),
            MtlsView::Server { source_cluster } => (
                "destination",
                "source_cluster",
                source_cluster,
                "connection_security_policy",
            ),
        };
        if label("reporter") != reporter || label(peer_label) != peer.as_str() {
            return None;
        }
        let security = label(security_label);
        let mutual = match self {
            MtlsView::Client { .. } => security.starts_with("spiffe://"),
            MtlsView::Server { .. } => security == "mutual_tls",
        };
        Some((mutual, format!("{security_label}=\"{security}\"")))
    }
}

/// The requests of one peer between two readings, by whether they were mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MtlsDelta {
    /// Requests with the peer's SPIFFE identity (client) or `mutual_tls` (server).
    pub mutual: u64,
    /// Requests without, by the label value that says so.
    pub other: BTreeMap<String, u64>,
}

/// Counts the `istio_requests_total` of `view`'s peer that `after` has over `before`.
/// A series absent before counts from zero; one that went down (the proxy restarted)
/// counts from zero too, as Prometheus' own `increase` does.
pub fn mtls_delta(before: &Exposition, after: &Exposition, view: &MtlsView) -> MtlsDelta {
    let mut delta = MtlsDelta::default();
    for sample in after.named(REQUESTS_TOTAL) {
        let Some((mutual, security)) = view.split(sample) else {
            continue;
        };
        let earlier = before.value(REQUESTS_TOTAL, &sample.labels).unwrap_or(0.0);
        let grown = if sample.value >= earlier {
            sample.value - earlier
        } else {
            sample.value
        };
        // Counters hold whole requests; the float is the format's, not the count's.
        let grown = grown.round().max(0.0) as u64;
        if grown == 0 {
            continue;
        }
        if mutual {
            delta.mutual += grown;
        } else {
            *delta.other.entry(security).or_insert(0) += grown;
        }
    }
    delta
}

impl MtlsDelta {
    /// At least `sent` requests were mutual TLS and none was not.
    pub fn check(&self, sent: u64) -> Result<(), String> {
        if self.mutual >= sent && self.other.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "expected at least {sent} mutual TLS request(s), counted {self}"
            ))
        }
    }
}

impl fmt::Display for MtlsDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mutual TLS", self.mutual)?;
        for (security, n) in &self.other {
            write!(f, ", {n} with {security}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tests_support::fixture;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn cluster(name: &str) -> ClusterName {
        name.parse().unwrap()
    }

    #[test]
    fn the_request_is_pilot_agent_stats_prometheus() {
        let request = prometheus_request(PodSelector::helloworld(&"v2".parse().unwrap()));
        assert_eq!(
            request.argv,
            ["pilot-agent", "request", "GET", "stats/prometheus"]
        );
        assert_eq!(request.container, "istio-proxy");
    }

    #[test]
    fn envoys_format_comments_empty_label_sets_and_histograms() {
        let e = Exposition::parse(&fixture("envoy-prometheus-format.txt")).unwrap();
        assert_eq!(e.metric_type("envoy_server_live"), Some("gauge"));
        assert_eq!(
            e.metric_type("istio_request_duration_milliseconds"),
            Some("histogram")
        );
        assert_eq!(e.value("envoy_server_live", &BTreeMap::new()), Some(1.0));
        let buckets: Vec<_> = e
            .named("istio_request_duration_milliseconds_bucket")
            .collect();
        assert_eq!(buckets.len(), 20);
        let inf = buckets.last().unwrap();
        assert_eq!(inf.label("le"), Some("+Inf"));
        assert_eq!(inf.value, 5.0);
        assert_eq!(
            e.value(
                "istio_request_duration_milliseconds_sum",
                &labels(&[("reporter", "source"), ("destination_cluster", "cluster2")])
            ),
            Some(12.5)
        );
        assert_eq!(e.samples().len(), 26);
    }

    #[test]
    fn labels_are_a_set_and_escapes_are_undone() {
        let a = Exposition::parse(r#"m{b="2",a="1"} 3"#).unwrap();
        let b = Exposition::parse(r#"m{a="1",b="2",} 3 1700000000000"#).unwrap();
        assert_eq!(a.samples(), b.samples());
        let escaped =
            Exposition::parse(r#"m{path="C:\\dir",quote="say \"hi\"",nl="a\nb"} -Inf"#).unwrap();
        let s = &escaped.samples()[0];
        assert_eq!(s.label("path"), Some(r"C:\dir"));
        assert_eq!(s.label("quote"), Some(r#"say "hi""#));
        assert_eq!(s.label("nl"), Some("a\nb"));
        assert_eq!(s.value, f64::NEG_INFINITY);
        let spaced = Exposition::parse("m { a = \"x,}\" , b=\"\" }\t7e2").unwrap();
        assert_eq!(
            spaced.samples()[0].labels,
            labels(&[("a", "x,}"), ("b", "")])
        );
        assert_eq!(spaced.samples()[0].value, 700.0);
        assert!(
            Exposition::parse("m NaN").unwrap().samples()[0]
                .value
                .is_nan()
        );
        assert_eq!(
            Exposition::parse("m +Inf").unwrap().samples()[0].value,
            f64::INFINITY
        );
        assert!(Exposition::parse("").unwrap().samples().is_empty());
        assert!(
            Exposition::parse("# HELP m a help text\n\n")
                .unwrap()
                .samples()
                .is_empty()
        );
    }

    #[test]
    fn malformed_lines_name_the_line_and_the_problem() {
        let cases = [
            ("m{a=\"1\"}", "no value"),
            ("m{a=\"1\" 3", "`,` or `}` expected after label `a`"),
            ("m{a=\"1} 3", "the value of label `a` is not closed"),
            ("m{a=1} 3", "the value of label `a` is not quoted"),
            ("m{a\"1\"} 3", "label `a` has no `=`"),
            ("m{a=\"\\t\"} 3", "has the escape `\\t`"),
            ("m{a=\"1\",a=\"2\"} 3", "label `a` appears twice"),
            ("m{1a=\"1\"} 3", "a label name is expected"),
            ("m{a=\"1\"", "the label set is not closed"),
            ("m one", "`one` is not a number"),
            ("m 1 later", "`later` is not a timestamp"),
            ("m 1 2 3", "text after the timestamp"),
            ("{a=\"1\"} 3", "no metric name"),
            ("# TYPE m", "a TYPE line is"),
            ("m infinity", "`infinity` is not a number"),
        ];
        for (line, problem) in cases {
            let text = format!("ok 1\n{line}\n");
            let err = Exposition::parse(&text).unwrap_err();
            let ProbeError::Prometheus {
                line: n,
                problem: p,
                text: t,
            } = &err
            else {
                panic!("{line}: {err:?}")
            };
            assert_eq!(*n, 2, "{line}");
            assert!(p.contains(problem), "{line}: {p}");
            assert_eq!(t, line);
            assert!(
                err.to_string().starts_with("line 2 of the Prometheus text"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_fixtures_prove_mutual_tls_on_both_sides() {
        let client =
            Exposition::parse(&fixture("envoy-prometheus-client-curl-cluster1.txt")).unwrap();
        let to_cluster2 = MtlsView::Client {
            destination_cluster: cluster("cluster2"),
        };
        // First reading before any request: no series yet.
        let delta = mtls_delta(&Exposition::default(), &client, &to_cluster2);
        assert_eq!(
            delta,
            MtlsDelta {
                mutual: 5,
                other: BTreeMap::new()
            }
        );
        assert_eq!(delta.check(5), Ok(()));
        assert_eq!(
            delta.check(6),
            Err("expected at least 6 mutual TLS request(s), counted 5 mutual TLS".into())
        );
        // The local requests (destination_cluster="cluster1") are another peer's.
        let local = MtlsView::Client {
            destination_cluster: cluster("cluster1"),
        };
        assert_eq!(
            mtls_delta(&Exposition::default(), &client, &local).mutual,
            5
        );
        assert_eq!(
            mtls_delta(
                &Exposition::default(),
                &client,
                &MtlsView::Client {
                    destination_cluster: cluster("cluster3")
                }
            ),
            MtlsDelta::default()
        );

        let server = Exposition::parse(&fixture(
            "envoy-prometheus-server-helloworld-v2-cluster2.txt",
        ))
        .unwrap();
        let from_cluster1 = MtlsView::Server {
            source_cluster: cluster("cluster1"),
        };
        let delta = mtls_delta(&Exposition::default(), &server, &from_cluster1);
        assert_eq!(delta.mutual, 5);
        assert_eq!(delta.check(5), Ok(()));
        // The client's text holds no server-side series, and the other way round.
        assert_eq!(
            mtls_delta(&Exposition::default(), &client, &from_cluster1),
            MtlsDelta::default()
        );
        assert_eq!(
            mtls_delta(&Exposition::default(), &server, &to_cluster2),
            MtlsDelta::default()
        );
    }

    #[test]
    fn only_the_growth_between_readings_counts() {
        let before = fixture("envoy-prometheus-client-curl-cluster1.txt");
        let after = before.replace(
            r#"destination_cluster="cluster2",request_protocol="http",response_code="200",grpc_response_status="",response_flags="-",connection_security_policy="unknown"} 5"#,
            r#"destination_cluster="cluster2",request_protocol="http",response_code="200",grpc_response_status="",response_flags="-",connection_security_policy="unknown"} 8"#,
        );
        assert_ne!(
            before, after,
            "the replacement must hit the cluster2 series"
        );
        let view = MtlsView::Client {
            destination_cluster: cluster("cluster2"),
        };
        let before = Exposition::parse(&before).unwrap();
        let after = Exposition::parse(&after).unwrap();
        assert_eq!(mtls_delta(&before, &after, &view).mutual, 3);
        assert_eq!(mtls_delta(&before, &before, &view), MtlsDelta::default());
        // A proxy restart resets counters: what is there now is new.
        assert_eq!(mtls_delta(&after, &before, &view).mutual, 5);
    }

    #[test]
    fn plaintext_requests_are_counted_against_mutual_tls() {
        let before =
            Exposition::parse(&fixture("envoy-prometheus-client-curl-cluster1.txt")).unwrap();
        let plaintext = r#"istio_requests_total{reporter="source",destination_cluster="cluster2",destination_principal="unknown",response_code="200"} 4"#;
        let after_text = format!(
            "{}{plaintext}\n",
            fixture("envoy-prometheus-client-curl-cluster1.txt")
        );
        let after = Exposition::parse(&after_text).unwrap();
        let delta = mtls_delta(
            &before,
            &after,
            &MtlsView::Client {
                destination_cluster: cluster("cluster2"),
            },
        );
        assert_eq!(delta.mutual, 0);
        assert_eq!(
            delta.other,
            BTreeMap::from([("destination_principal=\"unknown\"".to_owned(), 4)])
        );
        assert_eq!(
            delta.check(4),
            Err("expected at least 4 mutual TLS request(s), counted 0 mutual TLS, 4 with destination_principal=\"unknown\"".into())
        );

        let server = Exposition::parse(
            r#"istio_requests_total{reporter="destination",source_cluster="cluster1",connection_security_policy="none"} 2"#,
        )
        .unwrap();
        let delta = mtls_delta(
            &Exposition::default(),
            &server,
            &MtlsView::Server {
                source_cluster: cluster("cluster1"),
            },
        );
        assert_eq!(
            delta.to_string(),
            "0 mutual TLS, 2 with connection_security_policy=\"none\""
        );
    }

    #[test]
    fn a_failed_stats_request_is_an_error() {
        let err = Exposition::from_output(&ExecOutput {
            exit_code: 255,
            stdout: String::new(),
            stderr: "Error: debug port 15000 ...".into(),
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`pilot-agent request GET stats/prometheus` exited with 255"),
            "{err}"
        );
        let ok = Exposition::from_output(&ExecOutput::ok("m{} 1\n")).unwrap();
        assert_eq!(ok.samples().len(), 1);
    }
}
