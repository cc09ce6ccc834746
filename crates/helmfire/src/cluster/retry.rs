//! Bounded retries of transient API errors: exponential backoff, at most `attempts` tries and
//! at most `budget` in total (each try's own deadline included), so retries never add up to an
//! unbounded wait. Every retry is told to an optional [`RetryObserver`] (`-v` prints them).

use std::fmt;
use std::time::Duration;

use super::error::Unanswered;

/// How often and how patiently transient errors are retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 disables retries).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of one delay, a server's `retryAfterSeconds` included.
    pub max_delay: Duration,
    /// Upper bound of the whole call: attempts, their deadlines and the delays between them.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// Eight attempts, 50 ms doubling up to 2 s (about 5 s of delays), at most 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            budget: Duration::from_secs(60),
        }
    }
}

/// One retry about to happen.
#[derive(Debug)]
pub struct Retry<'a> {
    /// `get`, `apply`, `list`…
    pub verb: &'a str,
    /// What the request is about (`Secret apps/sh.helm.release.v1.web.v1`).
    pub subject: &'a str,
    /// The attempt that failed (1-based).
    pub attempt: u32,
    pub attempts: u32,
    /// How long until the next attempt.
    pub delay: Duration,
    pub error: &'a kube::Error,
}

impl fmt::Display for Retry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.error {
            kube::Error::Api(status) => format!("{} {}: {}", status.code, status.reason, status.message),
            kube::Error::Service(inner) => crate::error::Chain(inner.as_ref()).to_string(),
            other => crate::error::Chain(other).to_string(),
        };
        write!(
            f,
            "retrying {} `{}` in {}ms (attempt {} of {} failed: {why})",
            self.verb,
            self.subject,
            self.delay.as_millis(),
            self.attempt,
            self.attempts
        )
    }
}

/// Receives every retry; the CLI prints them with `-v` and counts them.
pub trait RetryObserver: Send + Sync {
    fn retrying(&self, retry: &Retry<'_>);
}

/// One request's retries: what it is, its per-attempt deadline, who hears about retries.
pub(super) struct Attempts<'a> {
    pub verb: &'a str,
    pub subject: &'a str,
    /// Each attempt's own deadline (the client's read timeout backs it up per read).
    pub deadline: Duration,
    /// Turns a missed deadline into the error the caller sees.
    pub timed_out: &'a (dyn Fn(Duration) -> kube::Error + Sync),
    pub observer: Option<&'a dyn RetryObserver>,
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    pub(super) async fn run<T, F, Fut>(&self, request: &Attempts<'_>, mut op: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let started = tokio::time::Instant::now();
        let mut attempt = 1;
        let mut delay = self.initial_delay;
        loop {
            let remaining = self.budget.saturating_sub(started.elapsed());
            let deadline = request.deadline.min(remaining).max(Duration::from_millis(1));
            let result = match tokio::time::timeout(deadline, op()).await {
                Ok(result) => result,
                Err(_) => Err((request.timed_out)(deadline)),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(error) => {
                    let Some(server_delay) = transient(&error) else {
                        return Err(error);
                    };
                    if attempt >= self.attempts {
                        return Err(error);
                    }
                    let wait = delay.max(server_delay).min(self.max_delay);
                    // Another attempt must fit in the budget, or the caller gets this error now.
                    if started.elapsed() + wait >= self.budget {
                        return Err(error);
                    }
                    if let Some(observer) = request.observer {
                        observer.retrying(&Retry {
                            verb: request.verb,
                            subject: request.subject,
                            attempt,
                            attempts: self.attempts,
                            delay: wait,
                            error: &error,
                        });
                    }
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.max_delay);
                    attempt += 1;
                }
            }
        }
    }
}

/// `Some(minimum delay)` when the error is worth retrying: 5xx answers, 429 (with the
/// server's `retryAfterSeconds`), and requests that got no complete answer — except TLS
/// failures, which the next attempt would meet again.
pub(super) fn transient(error: &kube::Error) -> Option<Duration> {
    match error {
        kube::Error::Api(status) => {
            let retry_after = status
                .details
                .as_ref()
                .map(|details| Duration::from_secs(u64::from(details.retry_after_seconds)))
                .unwrap_or_default();
            match status.code {
                429 | 500 | 502 | 503 | 504 => Some(retry_after),
                _ => None,
            }
        }
        kube::Error::Service(inner) => match inner.downcast_ref::<Unanswered>() {
            Some(Unanswered::Tls { .. }) => None,
            _ => Some(Duration::ZERO),
        },
        kube::Error::HyperError(_) | kube::Error::ReadEvents(_) => Some(Duration::ZERO),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn api_error(code: u16, retry_after: u32) -> kube::Error {
        let mut status = kube::core::Status::failure("boom", "Boom").with_code(code);
        if retry_after > 0 {
            status.details =
                Some(serde_json::from_value(serde_json::json!({ "retryAfterSeconds": retry_after })).expect("details"));
        }
        kube::Error::Api(status.boxed())
    }

    fn fast(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            budget: Duration::from_secs(60),
        }
    }

    fn timed_out(after: Duration) -> kube::Error {
        kube::Error::Service(Box::new(Unanswered::Timeout {
            endpoint: "`https://example` (context `test`)".into(),
            seconds: after.as_secs(),
        }))
    }

    fn request(observer: Option<&dyn RetryObserver>) -> Attempts<'_> {
        Attempts {
            verb: "get",
            subject: "Secret apps/x",
            deadline: Duration::from_secs(30),
            timed_out: &timed_out,
            observer,
        }
    }

    #[test]
    fn classifies_transient_errors() {
        assert_eq!(transient(&api_error(503, 0)), Some(Duration::ZERO));
        assert_eq!(transient(&api_error(429, 2)), Some(Duration::from_secs(2)));
        assert_eq!(transient(&api_error(500, 0)), Some(Duration::ZERO));
        assert_eq!(transient(&api_error(404, 0)), None);
        assert_eq!(transient(&api_error(409, 0)), None);
        assert_eq!(transient(&api_error(422, 0)), None);
        assert_eq!(transient(&timed_out(Duration::from_secs(1))), Some(Duration::ZERO));
        let tls = kube::Error::Service(Box::new(Unanswered::Tls {
            endpoint: "`https://example`".into(),
            source: Box::new(std::io::Error::other("invalid peer certificate: UnknownIssuer")),
        }));
        assert_eq!(transient(&tls), None, "a TLS failure would fail again");
    }

    #[tokio::test]
    async fn retries_until_success_and_stops_at_the_bound() {
        let calls = AtomicU32::new(0);
        let value = fast(5)
            .run(&request(None), || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { if n < 3 { Err(api_error(503, 0)) } else { Ok(n) } }
            })
            .await
            .expect("succeeds on the fourth attempt");
        assert_eq!(value, 3);

        let calls = AtomicU32::new(0);
        let error = fast(3)
            .run(&request(None), || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(api_error(500, 0)) }
            })
            .await
            .expect_err("gives up");
        assert!(matches!(error, kube::Error::Api(s) if s.code == 500));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_retry_permanent_errors_and_caps_retry_after() {
        let calls = AtomicU32::new(0);
        fast(5)
            .run(&request(None), || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(api_error(404, 0)) }
            })
            .await
            .expect_err("not found");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A 429 asking for an hour waits at most max_delay.
        let started = std::time::Instant::now();
        let calls = AtomicU32::new(0);
        fast(2)
            .run(&request(None), || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { if n == 0 { Err(api_error(429, 3600)) } else { Ok(()) } }
            })
            .await
            .expect("second attempt");
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[tokio::test]
    async fn a_request_that_never_answers_ends_within_the_budget() {
        let policy = RetryPolicy {
            budget: Duration::from_millis(600),
            ..fast(100)
        };
        let attempts = Attempts {
            deadline: Duration::from_millis(200),
            ..request(None)
        };
        let started = std::time::Instant::now();
        let error = policy
            .run(&attempts, std::future::pending::<Result<(), kube::Error>>)
            .await
            .expect_err("never answered");
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "{took:?}");
        assert!(
            crate::error::Chain(&error)
                .to_string()
                .contains("no answer from `https://example`"),
            "{}",
            crate::error::Chain(&error)
        );
    }

    #[tokio::test]
    async fn every_retry_is_observed() {
        #[derive(Default)]
        struct Seen(Mutex<Vec<String>>);
        impl RetryObserver for Seen {
            fn retrying(&self, retry: &Retry<'_>) {
                self.0.lock().unwrap().push(retry.to_string());
            }
        }
        let seen = Seen::default();
        let calls = AtomicU32::new(0);
        fast(5)
            .run(&request(Some(&seen)), || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { if n < 2 { Err(api_error(503, 0)) } else { Ok(()) } }
            })
            .await
            .unwrap();
        let seen = seen.0.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0],
            "retrying get `Secret apps/x` in 1ms (attempt 1 of 5 failed: 503 Boom: boom)"
        );
    }
}
