//! Bounded exponential backoff for transient API errors.

use std::time::Duration;

/// How often and how patiently transient errors are retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 disables retries).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of one delay, a server's `retryAfterSeconds` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Eight attempts, 50 ms doubling up to 2 s: about 5 s of patience in the worst case.
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    pub(super) async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 1;
        let mut delay = self.initial_delay;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(error) => {
                    let Some(server_delay) = transient(&error) else {
                        return Err(error);
                    };
                    if attempt >= self.attempts {
                        return Err(error);
                    }
                    let wait = delay.max(server_delay).min(self.max_delay);
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.max_delay);
                    attempt += 1;
                }
            }
        }
    }
}

/// `Some(minimum delay)` when the error is worth retrying: 5xx answers, 429 (with the
/// server's `retryAfterSeconds`), and requests that got no complete answer.
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
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => Some(Duration::ZERO),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    }

    #[tokio::test]
    async fn retries_until_success_and_stops_at_the_bound() {
        let calls = AtomicU32::new(0);
        let value = fast(5)
            .run(|| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { if n < 3 { Err(api_error(503, 0)) } else { Ok(n) } }
            })
            .await
            .expect("succeeds on the fourth attempt");
        assert_eq!(value, 3);

        let calls = AtomicU32::new(0);
        let error = fast(3)
            .run(|| {
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
            .run(|| {
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
            .run(|| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { if n == 0 { Err(api_error(429, 3600)) } else { Ok(()) } }
            })
            .await
            .expect("second attempt");
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
