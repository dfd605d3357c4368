//! HTTP downloads: streamed to a file and hashed on the way, never held in memory, with
//! connect and stall timeouts and a bounded number of retries with backoff.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use sha2::Digest;
use tokio::io::AsyncWriteExt;

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
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(30),
            attempts: 4,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Checksum files are a line of text; anything bigger is not one.
const CHECKSUM_FILE_LIMIT: usize = 4096;

/// Writes to disk in large blocks, so a 200 MB download costs a few hundred writes.
const WRITE_BUFFER: usize = 1 << 20;

/// One failed attempt.
enum Failure {
    NotFound,
    Status(StatusCode),
    Connect(reqwest::Error),
    Stalled,
    Body(reqwest::Error),
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
            Failure::NotFound | Failure::Fatal(_) => false,
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

/// An HTTP client with the retry policy.
pub(crate) struct Http {
    client: reqwest::Client,
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
        let client = reqwest::Client::builder()
            .tls_certs_only(roots)
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("istio-mc-kind-e2e/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ToolsError::HttpClient)?;
        Ok(Self {
            client,
            settings,
            progress: progress && std::io::stderr().is_terminal(),
        })
    }

    /// A small text file (an upstream checksum file).
    pub(crate) async fn text(&self, artifact: &str, url: &Url) -> Result<String, ToolsError> {
        self.with_retries(artifact, url, async || {
            let mut response = self.get(url).await?;
            let mut body = Vec::new();
            while let Some(chunk) = self.next_chunk(&mut response).await? {
                body.extend_from_slice(chunk.as_ref());
                if body.len() > CHECKSUM_FILE_LIMIT {
                    return Err(Failure::Fatal(ToolsError::BadChecksumFile {
                        artifact: artifact.to_owned(),
                        url: url.to_string(),
                        reason: format!("it is larger than {CHECKSUM_FILE_LIMIT} bytes"),
                    }));
                }
            }
            String::from_utf8(body).map_err(|_| {
                Failure::Fatal(ToolsError::BadChecksumFile {
                    artifact: artifact.to_owned(),
                    url: url.to_string(),
                    reason: "it is not text".into(),
                })
            })
        })
        .await
    }

    /// Streams `url` into a new file at `dest` (replacing a partial one from an earlier
    /// attempt) and returns the sha256 of what was written.
    pub(crate) async fn to_file(
        &self,
        artifact: &str,
        url: &Url,
        dest: &Path,
    ) -> Result<Sha256, ToolsError> {
        self.with_retries(artifact, url, async || {
            let mut response = self.get(url).await?;
            let file = tokio::fs::File::create(dest)
                .await
                .map_err(|e| Failure::Fatal(ToolsError::io("create", dest)(e)))?;
            let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            let bar = self.progress_bar(artifact, response.content_length());
            let mut hasher = sha2::Sha256::new();
            while let Some(chunk) = self.next_chunk(&mut response).await? {
                let chunk = chunk.as_ref();
                hasher.update(chunk);
                out.write_all(chunk)
                    .await
                    .map_err(|e| Failure::Fatal(ToolsError::io("write", dest)(e)))?;
                if let Some(bar) = &bar {
                    bar.inc(chunk.len() as u64);
                }
            }
            out.flush()
                .await
                .map_err(|e| Failure::Fatal(ToolsError::io("write", dest)(e)))?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            Ok(Sha256(hasher.finalize().into()))
        })
        .await
    }

    async fn get(&self, url: &Url) -> Result<reqwest::Response, Failure> {
        let sent = tokio::time::timeout(
            self.settings.connect_timeout + self.settings.stall_timeout,
            self.client.get(url.clone()).send(),
        )
        .await
        .map_err(|_| Failure::Stalled)?
        .map_err(Failure::from_send)?;
        match sent.status() {
            s if s.is_success() => Ok(sent),
            StatusCode::NOT_FOUND => Err(Failure::NotFound),
            s => Err(Failure::Status(s)),
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

    /// Runs `attempt` until it succeeds, fails for good, or the attempts run out.
    async fn with_retries<T>(
        &self,
        artifact: &str,
        url: &Url,
        mut attempt: impl AsyncFnMut() -> Result<T, Failure>,
    ) -> Result<T, ToolsError> {
        let attempts = self.settings.attempts.max(1);
        let mut wait = self.settings.backoff;
        let mut n = 1;
        loop {
            let failure = match attempt().await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !failure.transient() || n >= attempts {
                return Err(self.error(artifact, url, n, failure));
            }
            tracing::warn!(
                "{artifact}: attempt {n} of {attempts} for {url} failed ({}); retrying in {wait:?}",
                failure.summary()
            );
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
            n += 1;
        }
    }

    fn error(&self, artifact: &str, url: &Url, attempts: u32, failure: Failure) -> ToolsError {
        let artifact = artifact.to_owned();
        let url = url.to_string();
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
            Failure::Fatal(e) => e,
        }
    }
}
