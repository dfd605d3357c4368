//! HTTP downloads: streamed to a file and hashed on the way, never held in memory, bounded
//! in size, with connect and stall timeouts, a bounded number of retries with backoff, and
//! an overall deadline (a server that sends a byte just often enough never stalls).
//!
//! Redirects are followed here, hop by hop, not by the HTTP client, so that every hop is
//! held to the rules a mirror is held to: https anywhere, plain http only to this machine,
//! never from https down to http. A URL on this machine is fetched without a proxy (plain
//! http must not leave it); every other URL honours the proxy environment (`HTTPS_PROXY`,
//! `NO_PROXY`, ...), as curl does. Errors name the URL a fetch got to, and where it started
//! when a redirect took it elsewhere.

use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use super::artifact::{SizeLimit, is_loopback};
use super::error::ToolsError;
use crate::pins::Sha256;

/// Timeouts and retries. The defaults suit real networks; tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long the server may send nothing (before the headers or mid-body) before the
    /// attempt counts as stalled.
    pub stall_timeout: Duration,
    /// Attempts per URL, counting the first; transient failures only are retried.
    pub attempts: u32,
    /// Wait before the second attempt; doubles for each further one.
    pub backoff: Duration,
    /// The most one download (an artifact or its checksum file) may take, every attempt
    /// and wait included.
    pub deadline: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(30),
            attempts: 4,
            backoff: Duration::from_secs(1),
            deadline: Duration::from_secs(15 * 60),
        }
    }
}

/// Checksum files are a line of text per artifact; one for a whole release (many platforms,
/// signatures, SBOMs) stays far below this.
const CHECKSUM_FILE_LIMIT: usize = 64 * 1024;

/// Writes to disk in large blocks, so a 200 MB download costs a few hundred writes.
const WRITE_BUFFER: usize = 1 << 20;

/// Redirects followed in one chain, as browsers and reqwest's default policy allow.
const MAX_REDIRECTS: usize = 10;

/// One failed attempt.
enum Failure {
    NotFound,
    Status(StatusCode),
    Connect(reqwest::Error),
    Stalled,
    Body(reqwest::Error),
    /// A redirect that is not followed; the URL that sent it is the trail's current one.
    Redirect {
        to: String,
        reason: String,
    },
    /// Not retried: a local problem (disk) or a bad response.
    Fatal(ToolsError),
}

impl Failure {
    fn transient(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Stalled | Failure::Body(_) => true,
            Failure::Status(s) => {
                s.is_server_error()
                    || *s == StatusCode::TOO_MANY_REQUESTS
                    || *s == StatusCode::REQUEST_TIMEOUT
            }
            Failure::NotFound | Failure::Redirect { .. } | Failure::Fatal(_) => false,
        }
    }

    /// A few words for the retry log line.
    fn summary(&self) -> String {
        match self {
            Failure::NotFound => "not found".into(),
            Failure::Status(s) => format!("HTTP {s}"),
            Failure::Connect(_) => "cannot connect".into(),
            Failure::Stalled => "no data within the read timeout".into(),
            Failure::Body(_) => "the transfer broke off".into(),
            Failure::Redirect { reason, .. } => reason.clone(),
            Failure::Fatal(e) => e.to_string(),
        }
    }

    fn from_send(e: reqwest::Error) -> Self {
        if e.is_connect() || e.is_timeout() {
            Failure::Connect(e)
        } else {
            Failure::Body(e)
        }
    }
}

/// Where one fetch has got to: the URL it started from, the one a redirect took it to,
/// and its attempts so far. Read for the error when the fetch fails.
struct Trail {
    start: Url,
    now: RefCell<Url>,
    attempts: Cell<u32>,
}

impl Trail {
    fn new(start: &Url) -> Self {
        Self {
            start: start.clone(),
            now: RefCell::new(start.clone()),
            attempts: Cell::new(0),
        }
    }

    fn now(&self) -> Url {
        self.now.borrow().clone()
    }

    /// The URL reached, and where the fetch started if a redirect took it elsewhere.
    fn describe(&self) -> String {
        let now = self.now.borrow();
        if *now == self.start {
            now.to_string()
        } else {
            format!("{now} (redirected from {})", self.start)
        }
    }
}

/// Why a redirect from `from` to `to` is not followed, when it is not; `chain` holds the
/// URLs already requested in this fetch, `from` last.
fn refuse_redirect(from: &Url, to: &Url, chain: &[Url]) -> Option<String> {
    let refusal = match (from.scheme(), to.scheme()) {
        ("https", "http") => Some("it would go from https down to plain http".to_owned()),
        (_, "https") => None,
        ("http", "http") if is_loopback(to) => None,
        (_, "http") => Some(
            "plain http is followed only to this machine (127.0.0.0/8, ::1, localhost)".to_owned(),
        ),
        (_, other) => Some(format!("the scheme `{other}` is not supported")),
    };
    refusal.or_else(|| {
        if chain.contains(to) {
            Some("it leads back to a URL already requested: a redirect loop".to_owned())
        } else if chain.len() > MAX_REDIRECTS {
            Some(format!("that is more than {MAX_REDIRECTS} redirects"))
        } else {
            None
        }
    })
}

/// What a fetch got, the URL it came from (after redirects), and that URL described for
/// messages (with where the fetch started, if a redirect took it elsewhere).
pub(crate) struct Fetched<T> {
    pub(crate) body: T,
    pub(crate) url: Url,
    pub(crate) described: String,
}

impl Trail {
    fn fetched<T>(&self, body: T) -> Fetched<T> {
        Fetched {
            body,
            url: self.now(),
            described: self.describe(),
        }
    }
}

/// An HTTP client with the redirect, proxy and retry policy.
pub(crate) struct Http {
    /// For every host but this machine: honours the proxy environment.
    proxied: reqwest::Client,
    /// For this machine: never through a proxy.
    direct: reqwest::Client,
    settings: HttpSettings,
    progress: bool,
}

impl Http {
    pub(crate) fn new(settings: HttpSettings, progress: bool) -> Result<Self, ToolsError> {
        // Mozilla's roots, compiled in: the same trust on every machine, whatever its CA store.
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ToolsError::HttpClient)?;
        let builder = || {
            reqwest::Client::builder()
                .tls_certs_only(roots.clone())
                .connect_timeout(settings.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("istio-mc-kind-e2e/", env!("CARGO_PKG_VERSION")))
        };
        // reqwest reads the proxy environment (ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY
        // and their lowercase forms) unless a proxy is configured or `no_proxy()` is called
        // (reqwest 0.13 src/async_impl/client.rs `auto_sys_proxy`; hyper-util
        // src/client/proxy/matcher.rs `Builder::from_env`).
        let proxied = builder().build().map_err(ToolsError::HttpClient)?;
        let direct = builder()
            .no_proxy()
            .build()
            .map_err(ToolsError::HttpClient)?;
        Ok(Self {
            proxied,
            direct,
            settings,
            progress: progress && std::io::stderr().is_terminal(),
        })
    }

    /// A small text file (an upstream checksum file).
    pub(crate) async fn text(
        &self,
        artifact: &str,
        url: &Url,
    ) -> Result<Fetched<String>, ToolsError> {
        let trail = Trail::new(url);
        let too_large = |reason: String| {
            Failure::Fatal(ToolsError::BadChecksumFile {
                artifact: artifact.to_owned(),
                url: trail.describe(),
                reason,
            })
        };
        self.with_retries(artifact, &trail, async || {
            let mut response = self.get(&trail).await?;
            if let Some(len) = response.content_length()
                && len > CHECKSUM_FILE_LIMIT as u64
            {
                return Err(too_large(format!(
                    "it announces {len} bytes, more than the {CHECKSUM_FILE_LIMIT} a checksum file may have"
                )));
            }
            let mut body = Vec::new();
            while let Some(chunk) = self.next_chunk(&mut response).await? {
                body.extend_from_slice(chunk.as_ref());
                if body.len() > CHECKSUM_FILE_LIMIT {
                    return Err(too_large(format!(
                        "it is larger than the {CHECKSUM_FILE_LIMIT} bytes a checksum file may have"
                    )));
                }
            }
            String::from_utf8(body).map_err(|_| {
                Failure::Fatal(ToolsError::BadChecksumFile {
                    artifact: artifact.to_owned(),
                    url: trail.describe(),
                    reason: "it is not text".into(),
                })
            })
        })
        .await
        .map(|text| trail.fetched(text))
    }

    /// Streams `url` into a new file at `dest` (replacing a partial one from an earlier
    /// attempt) and returns the sha256 of what was written, with the URL it came from
    /// (and where the fetch started, if a redirect took it elsewhere).
    ///
    /// A response longer than `limit` is refused: before reading when its `Content-Length`
    /// says so, else as soon as the bytes received pass it. Neither is retried.
    pub(crate) async fn to_file(
        &self,
        artifact: &str,
        url: &Url,
        dest: &Path,
        limit: SizeLimit,
    ) -> Result<Fetched<Sha256>, ToolsError> {
        let trail = Trail::new(url);
        let too_large = |what: String| {
            Failure::Fatal(ToolsError::TooLarge {
                artifact: artifact.to_owned(),
                url: trail.describe(),
                what,
                limit,
            })
        };
        let write_error = |e| Failure::Fatal(ToolsError::io("write", dest)(e));
        let sha = self
            .with_retries(artifact, &trail, async || {
                let mut response = self.get(&trail).await?;
                if let Some(len) = response.content_length()
                    && len > limit.bytes()
                {
                    return Err(too_large(format!("announces {len} bytes (Content-Length)")));
                }
                let file = tokio::fs::File::create(dest)
                    .await
                    .map_err(|e| Failure::Fatal(ToolsError::io("create", dest)(e)))?;
                let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
                let bar = self.progress_bar(artifact, response.content_length());
                let mut hasher = sha2::Sha256::new();
                let mut received: u64 = 0;
                while let Some(chunk) = self.next_chunk(&mut response).await? {
                    let chunk = chunk.as_ref();
                    received += chunk.len() as u64;
                    if received > limit.bytes() {
                        return Err(too_large(format!("sent more than {} bytes", limit.bytes())));
                    }
                    hasher.update(chunk);
                    out.write_all(chunk).await.map_err(write_error)?;
                    if let Some(bar) = &bar {
                        bar.inc(chunk.len() as u64);
                    }
                }
                out.flush().await.map_err(write_error)?;
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                Ok(Sha256(hasher.finalize().into()))
            })
            .await?;
        Ok(trail.fetched(sha))
    }

    /// Sends the request, following redirects that keep to the rules; returns the final
    /// response if it is a success.
    async fn get(&self, trail: &Trail) -> Result<reqwest::Response, Failure> {
        let mut url = trail.start.clone();
        let mut chain = Vec::new();
        loop {
            *trail.now.borrow_mut() = url.clone();
            let client = if is_loopback(&url) {
                &self.direct
            } else {
                &self.proxied
            };
            let sent = tokio::time::timeout(
                self.settings.connect_timeout + self.settings.stall_timeout,
                client.get(url.clone()).send(),
            )
            .await
            .map_err(|_| Failure::Stalled)?
            .map_err(Failure::from_send)?;
            let status = sent.status();
            if !is_followed_redirect(status) {
                return match status {
                    s if s.is_success() => Ok(sent),
                    StatusCode::NOT_FOUND => Err(Failure::NotFound),
                    s => Err(Failure::Status(s)),
                };
            }
            let location = sent
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("");
            let next = url.join(location).map_err(|_| Failure::Redirect {
                to: format!("`{location}`"),
                reason: "the Location header is not a URL".into(),
            })?;
            chain.push(url);
            if let Some(reason) = refuse_redirect(chain.last().expect("pushed"), &next, &chain) {
                return Err(Failure::Redirect {
                    to: next.to_string(),
                    reason,
                });
            }
            url = next;
        }
    }

    /// The next piece of the body, or `None` at its end; a stall fails the attempt.
    async fn next_chunk(
        &self,
        response: &mut reqwest::Response,
    ) -> Result<Option<impl AsRef<[u8]> + use<>>, Failure> {
        tokio::time::timeout(self.settings.stall_timeout, response.chunk())
            .await
            .map_err(|_| Failure::Stalled)?
            .map_err(Failure::Body)
    }

    fn progress_bar(&self, artifact: &str, length: Option<u64>) -> Option<indicatif::ProgressBar> {
        if !self.progress {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            length,
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12} {wide_bar}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(artifact.to_owned());
        Some(bar)
    }

    /// Runs `attempt` until it succeeds, fails for good, the attempts run out, or the
    /// deadline passes (whatever the attempt is doing then).
    async fn with_retries<T>(
        &self,
        artifact: &str,
        trail: &Trail,
        mut attempt: impl AsyncFnMut() -> Result<T, Failure>,
    ) -> Result<T, ToolsError> {
        let attempts = self.settings.attempts.max(1);
        let mut wait = self.settings.backoff;
        let retries = async {
            loop {
                trail.attempts.set(trail.attempts.get() + 1);
                let n = trail.attempts.get();
                let failure = match attempt().await {
                    Ok(value) => return Ok(value),
                    Err(failure) => failure,
                };
                if !failure.transient() || n >= attempts {
                    return Err(self.error(artifact, trail, failure));
                }
                tracing::warn!(
                    "{artifact}: attempt {n} of {attempts} for {} failed ({}); retrying in {wait:?}",
                    trail.describe(),
                    failure.summary()
                );
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
        };
        match tokio::time::timeout(self.settings.deadline, retries).await {
            Ok(done) => done,
            Err(_) => Err(ToolsError::DeadlineExceeded {
                artifact: artifact.to_owned(),
                url: trail.describe(),
                attempts: trail.attempts.get(),
                deadline: self.settings.deadline,
            }),
        }
    }

    fn error(&self, artifact: &str, trail: &Trail, failure: Failure) -> ToolsError {
        let artifact = artifact.to_owned();
        let url = trail.describe();
        let attempts = trail.attempts.get();
        match failure {
            Failure::NotFound => ToolsError::NotFound { artifact, url },
            Failure::Status(s) => ToolsError::Http {
                artifact,
                url,
                status: s.as_u16(),
                attempts,
            },
            Failure::Connect(source) => ToolsError::Unreachable {
                artifact,
                url,
                attempts,
                source,
            },
            Failure::Stalled => ToolsError::Stalled {
                artifact,
                url,
                attempts,
                stall: self.settings.stall_timeout,
            },
            Failure::Body(source) => ToolsError::Interrupted {
                artifact,
                url,
                attempts,
                source,
            },
            Failure::Redirect { to, reason } => ToolsError::Redirect {
                artifact,
                url: trail.now().to_string(),
                to,
                reason,
            },
            Failure::Fatal(e) => e,
        }
    }
}

/// The redirect statuses that carry a `Location` to follow (RFC 9110 section 15.4); 300
/// and 304 do not.
fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        s.parse().unwrap()
    }

    #[test]
    fn redirects_keep_to_the_mirror_rules_on_every_hop() {
        let refused = |from: &str, to: &str| refuse_redirect(&url(from), &url(to), &[url(from)]);
        // https anywhere; plain http only from plain http on this machine to this machine.
        assert_eq!(
            refused("https://github.com/a", "https://objects.example/b"),
            None
        );
        assert_eq!(
            refused("http://127.0.0.1:8/a", "https://objects.example/b"),
            None
        );
        assert_eq!(
            refused("http://127.0.0.1:8/a", "http://localhost:9/b"),
            None
        );
        assert_eq!(refused("http://[::1]:8/a", "http://127.0.0.2/b"), None);
        for (from, to, why) in [
            (
                "https://github.com/a",
                "http://github.com/a",
                "from https down to plain http",
            ),
            (
                "https://127.0.0.1/a",
                "http://127.0.0.1/a",
                "from https down to plain http",
            ),
            (
                "http://127.0.0.1/a",
                "http://10.0.0.1/a",
                "only to this machine",
            ),
            (
                "http://127.0.0.1/a",
                "http://mirror.example/a",
                "only to this machine",
            ),
            ("http://127.0.0.1/a", "ftp://127.0.0.1/a", "scheme `ftp`"),
            ("http://127.0.0.1/a", "file:///etc/passwd", "scheme `file`"),
        ] {
            let reason = refused(from, to).unwrap_or_default();
            assert!(reason.contains(why), "{from} -> {to}: {reason:?}");
        }
    }

    #[test]
    fn a_chain_that_loops_or_runs_long_is_refused() {
        let a = url("https://a.example/x");
        let b = url("https://b.example/x");
        let reason = refuse_redirect(&b, &a, &[a.clone(), b.clone()]).unwrap();
        assert!(reason.contains("redirect loop"), "{reason}");
        let long: Vec<Url> = (0..=MAX_REDIRECTS)
            .map(|i| url(&format!("https://a.example/{i}")))
            .collect();
        let reason = refuse_redirect(long.last().unwrap(), &b, &long).unwrap();
        assert!(reason.contains("more than 10 redirects"), "{reason}");
        assert_eq!(refuse_redirect(&a, &b, &long[..MAX_REDIRECTS]), None);
    }
}
