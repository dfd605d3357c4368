//! [`eventually`]: the one way the framework waits for something to become true.
//!
//! A wait has a description, a deadline and a poll interval ([`Wait`]); the probe says
//! each time either [`Probe::Ready`] with what it found, [`Probe::NotYet`] with what it
//! saw instead, or a hard error, which ends the wait at once. When the deadline passes,
//! [`WaitError`] says what was awaited, for how long, and the last thing seen, which is
//! usually the answer to "why did it not become ready".
//!
//! Time is tokio's, so tests run waits under a paused clock and assert what happened
//! (the probes made, the error) without waiting for real.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// What one look at the awaited thing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<T> {
    /// It is there: the wait ends with this value.
    Ready(T),
    /// Not yet; what was seen instead, for the timeout error and the log.
    NotYet(String),
}

/// What to wait for, how long, and how often to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    what: String,
    timeout: Duration,
    interval: Duration,
}

impl Wait {
    /// How often a wait looks unless told otherwise: often enough that a step does not
    /// idle long after its condition holds, rarely enough not to load an API server.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

    /// Wait at most `timeout` for `what` (a phrase: "Deployment istio-system/istiod rolled
    /// out"), looking every [`Wait::DEFAULT_INTERVAL`].
    pub fn new(what: impl Into<String>, timeout: Duration) -> Self {
        Self {
            what: what.into(),
            timeout,
            interval: Self::DEFAULT_INTERVAL,
        }
    }

    /// Looks every `interval` instead (a zero interval is taken as one millisecond, so a
    /// wait never spins).
    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// A wait that reached its deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {} waiting for {what}{}", humanize(*waited), LastSeen(last_seen.as_deref()))]
pub struct WaitError {
    /// What was awaited ([`Wait::what`]).
    pub what: String,
    /// How long it was awaited.
    pub waited: Duration,
    /// The last [`Probe::NotYet`] observation; `None` if no probe answered in time.
    pub last_seen: Option<String>,
}

struct LastSeen<'a>(Option<&'a str>);

impl fmt::Display for LastSeen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(seen) => write!(f, "; last seen: {seen}"),
            None => write!(f, "; no check answered in that time"),
        }
    }
}

/// `95s` as `1m35s`; whole seconds, as a person reads a deadline.
fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 60, secs % 60) {
        (0, 0) => format!("{}ms", d.as_millis()),
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// Runs `probe` until it is [`Probe::Ready`] (its value is returned), it fails (its error
/// is returned at once), or `wait`'s deadline passes (a [`WaitError`], converted into
/// the caller's error type).
///
/// The first probe runs at once, and one runs at the deadline itself, so a condition that
/// holds by then is seen. A probe that does not answer is abandoned when its time is up:
/// the time left, but at least one interval, so a probe started just before the deadline
/// can still answer (the wait may end up to one interval late).
pub async fn eventually<T, E, F, Fut>(wait: &Wait, mut probe: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Probe<T>, E>>,
    E: From<WaitError>,
{
    let start = Instant::now();
    let deadline = start + wait.timeout;
    let mut last_seen: Option<String> = None;
    loop {
        let allowed = deadline
            .saturating_duration_since(Instant::now())
            .max(wait.interval);
        match tokio::time::timeout(allowed, probe()).await {
            Ok(Ok(Probe::Ready(value))) => return Ok(value),
            Ok(Err(error)) => return Err(error),
            Ok(Ok(Probe::NotYet(seen))) => {
                if last_seen.as_deref() != Some(seen.as_str()) {
                    tracing::debug!(what = wait.what, "not yet: {seen}");
                }
                last_seen = Some(seen);
            }
            Err(_elapsed) => {
                tracing::debug!(what = wait.what, "a check did not answer in {allowed:?}");
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError {
                what: wait.what.clone(),
                waited: now - start,
                last_seen,
            }
            .into());
        }
        tokio::time::sleep_until((now + wait.interval).min(deadline)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, PartialEq, thiserror::Error)]
    enum TestError {
        #[error(transparent)]
        Wait(#[from] WaitError),
        #[error("hard failure")]
        Hard,
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_says_what_how_long_and_the_last_observation() {
        let probes = AtomicUsize::new(0);
        let wait = Wait::new("the pool", Duration::from_secs(30)).every(Duration::from_secs(1));
        let result: Result<(), TestError> = eventually(&wait, || async {
            let n = probes.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Probe::NotYet(format!("probe {n} saw nothing")))
        })
        .await;
        // Probes at 0s, 1s, ..., 30s: the last one runs at the deadline itself.
        assert_eq!(probes.load(Ordering::SeqCst), 31);
        let TestError::Wait(error) = result.unwrap_err() else {
            panic!("a timeout")
        };
        assert_eq!(
            error,
            WaitError {
                what: "the pool".into(),
                waited: Duration::from_secs(30),
                last_seen: Some("probe 31 saw nothing".into()),
            }
        );
        assert_eq!(
            error.to_string(),
            "timed out after 30s waiting for the pool; last seen: probe 31 saw nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ready_returns_the_value_after_the_probes_it_took() {
        let probes = AtomicUsize::new(0);
        let wait = Wait::new("three", Duration::from_secs(60)).every(Duration::from_secs(5));
        let start = Instant::now();
        let value: Result<usize, TestError> = eventually(&wait, || async {
            let n = probes.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(if n == 3 {
                Probe::Ready(n * 10)
            } else {
                Probe::NotYet(n.to_string())
            })
        })
        .await;
        assert_eq!(value, Ok(30));
        assert_eq!(probes.load(Ordering::SeqCst), 3);
        // Two intervals of the paused clock passed, not the deadline.
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hard_error_stops_at_once() {
        let probes = AtomicUsize::new(0);
        let wait = Wait::new("anything", Duration::from_secs(60));
        let result: Result<(), TestError> = eventually(&wait, || async {
            probes.fetch_add(1, Ordering::SeqCst);
            Err(TestError::Hard)
        })
        .await;
        assert_eq!(result, Err(TestError::Hard));
        assert_eq!(probes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_never_answers_is_abandoned_at_the_deadline() {
        let probes = AtomicUsize::new(0);
        let wait =
            Wait::new("a silent server", Duration::from_secs(20)).every(Duration::from_secs(1));
        let result: Result<(), TestError> = eventually(&wait, || async {
            probes.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
            unreachable!()
        })
        .await;
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        let TestError::Wait(error) = result.unwrap_err() else {
            panic!("a timeout")
        };
        assert_eq!(error.last_seen, None);
        assert_eq!(error.waited, Duration::from_secs(20));
        assert!(
            error
                .to_string()
                .ends_with("no check answered in that time")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_still_looks_once() {
        let probes = AtomicUsize::new(0);
        let wait = Wait::new("now", Duration::ZERO);
        let result: Result<(), TestError> = eventually(&wait, || async {
            probes.fetch_add(1, Ordering::SeqCst);
            Ok(Probe::NotYet("no".into()))
        })
        .await;
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        assert!(matches!(result, Err(TestError::Wait(_))));
    }

    #[test]
    fn durations_read_as_a_person_writes_them() {
        assert_eq!(humanize(Duration::from_secs(95)), "1m35s");
        assert_eq!(humanize(Duration::from_secs(120)), "2m");
        assert_eq!(humanize(Duration::from_secs(7)), "7s");
        assert_eq!(humanize(Duration::from_millis(250)), "250ms");
    }
}
