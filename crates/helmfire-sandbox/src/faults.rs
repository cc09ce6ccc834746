//! Fault injection for reliability tests, deterministic from a seed: error responses by verb and
//! resource (500, 503, 429 with Retry-After, 409), added latency, connections dropped
//! mid-response, and watch streams cut after a while. The `--faults` syntax is documented on
//! [`FaultSpec`].

pub use helmfire_value::time::parse_std_duration as parse_duration;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use thiserror::Error;

use super::clock::SplitMix;
use super::status::ApiError;

/// A `--faults` spec that does not parse.
#[derive(Debug, Error, PartialEq)]
#[error("invalid fault rule `{rule}`: {reason}")]
pub struct FaultSpecError {
    /// The offending rule.
    pub rule: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this HTTP code.
    Error(u16),
    /// Delay the answer.
    Latency(Duration),
    /// Drop the connection mid-response.
    Drop,
    /// Cut watch streams after this long.
    CutWatch(Duration),
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// The action.
    pub action: FaultAction,
    /// Probability per matching request.
    pub rate: f64,
    /// Verbs it applies to (empty: all).
    pub verbs: Vec<String>,
    /// Resources (plurals) it applies to (empty: all).
    pub resources: Vec<String>,
}

/// A parsed `--faults` spec; the default injects nothing. Decisions are drawn in request order
/// from a generator seeded by `--seed`, so a run replays identically.
///
/// Syntax: rules separated by `;`, each `ACTION[@VERBS/RESOURCES]`:
/// - `error=CODE:RATE` — answer CODE (500, 503, 429, 409 or 403) with probability RATE (0..1);
///   429 and 503 carry `Retry-After`; 403 is RBAC's refusal of the verb on the resource
/// - `latency=DURATION[:RATE]` — sleep DURATION first (`150ms`, `2s`), with probability RATE
///   (default 1)
/// - `drop=RATE` — send half of the response body, then drop the connection
/// - `cut-watch=DURATION` — end every matching watch stream abruptly after DURATION
///
/// VERBS is `*` or `|`-separated verbs (`get`, `list`, `watch`, `create`, `update`, `patch`,
/// `delete`, `deletecollection`); RESOURCES is `*` or `|`-separated plurals (`secrets`).
///
/// ```
/// let spec: helmfire_sandbox::FaultSpec =
///     "error=503:0.2@create|update/secrets;latency=20ms;cut-watch=5s@watch/*".parse().unwrap();
/// assert_eq!(spec.rules.len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// Rules in order.
    pub rules: Vec<FaultRule>,
}

fn parse_rate(text: &str, rule: &str) -> Result<f64, FaultSpecError> {
    text.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| FaultSpecError {
            rule: rule.into(),
            reason: format!("rate `{text}` must be a number between 0 and 1"),
        })
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut rules = Vec::new();
        for rule in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            let bad = |reason: &str| FaultSpecError {
                rule: rule.into(),
                reason: reason.into(),
            };
            let (action, scope) = match rule.split_once('@') {
                Some((a, s)) => (a, Some(s)),
                None => (rule, None),
            };
            let (verbs, resources) = match scope {
                None => (Vec::new(), Vec::new()),
                Some(scope) => {
                    let (v, r) = scope
                        .split_once('/')
                        .ok_or_else(|| bad("scope must be VERBS/RESOURCES"))?;
                    let list = |s: &str| -> Vec<String> {
                        if s == "*" {
                            Vec::new()
                        } else {
                            s.split('|').map(|x| x.trim().to_string()).collect()
                        }
                    };
                    (list(v), list(r))
                }
            };
            let (name, value) = action.split_once('=').ok_or_else(|| bad("expected ACTION=VALUE"))?;
            let (action, rate) = match name {
                "error" => {
                    let (code, rate) = value.split_once(':').ok_or_else(|| bad("expected error=CODE:RATE"))?;
                    let code: u16 = code.parse().map_err(|_| bad("code must be a number"))?;
                    if !matches!(code, 500 | 503 | 429 | 409 | 403) {
                        return Err(bad("code must be 500, 503, 429, 409 or 403"));
                    }
                    (FaultAction::Error(code), parse_rate(rate, rule)?)
                }
                "latency" => {
                    let (duration, rate) = match value.split_once(':') {
                        Some((d, r)) => (d, parse_rate(r, rule)?),
                        None => (value, 1.0),
                    };
                    let duration = parse_duration(duration).ok_or_else(|| bad("bad duration"))?;
                    (FaultAction::Latency(duration), rate)
                }
                "drop" => (FaultAction::Drop, parse_rate(value, rule)?),
                "cut-watch" => (
                    FaultAction::CutWatch(parse_duration(value).ok_or_else(|| bad("bad duration"))?),
                    1.0,
                ),
                _ => return Err(bad("unknown action (error, latency, drop, cut-watch)")),
            };
            rules.push(FaultRule {
                action,
                rate,
                verbs,
                resources,
            });
        }
        Ok(Self { rules })
    }
}

/// What to do to one request.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    /// Sleep first.
    pub latency: Option<Duration>,
    /// Answer with this error instead.
    pub error: Option<ApiError>,
    /// Drop the connection mid-response.
    pub drop: bool,
    /// Cut the watch after this long.
    pub cut_watch: Option<Duration>,
}

/// Draws decisions from a seeded generator.
#[derive(Debug)]
pub struct Injector {
    spec: RwLock<FaultSpec>,
    /// Whether `spec` has any rule (read without locking on the hot path).
    active: AtomicBool,
    random: Mutex<SplitMix>,
}

impl Injector {
    /// An injector for `spec`, reproducible from `seed`.
    pub fn new(spec: FaultSpec, seed: u64) -> Self {
        Self {
            active: AtomicBool::new(!spec.rules.is_empty()),
            spec: RwLock::new(spec),
            random: Mutex::new(SplitMix::new(seed)),
        }
    }

    /// Whether any rule exists (skips locking on the hot path).
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Replaces the rules from the next request on (the generator carries on).
    pub fn replace(&self, spec: FaultSpec) {
        let mut current = self.spec.write().unwrap_or_else(|p| p.into_inner());
        self.active.store(!spec.rules.is_empty(), Ordering::Relaxed);
        *current = spec;
    }

    /// The faults for one request (`verb` as in RBAC, `resource` a plural or `""`).
    pub fn decide(&self, verb: &str, resource: &str) -> Decision {
        let mut decision = Decision::default();
        if !self.is_active() {
            return decision;
        }
        let spec = self.spec.read().unwrap_or_else(|p| p.into_inner());
        let mut random = self.random.lock().unwrap_or_else(|p| p.into_inner());
        for rule in &spec.rules {
            let verb_ok = rule.verbs.is_empty() || rule.verbs.iter().any(|v| v == verb);
            let resource_ok = rule.resources.is_empty() || rule.resources.iter().any(|r| r == resource);
            if !verb_ok || !resource_ok {
                continue;
            }
            let hit = random.next_f64() < rule.rate;
            if !hit {
                continue;
            }
            match &rule.action {
                FaultAction::Error(code) if decision.error.is_none() => {
                    let retry = 1 + random.next_u64() % 2;
                    decision.error = Some(match code {
                        503 => ApiError::service_unavailable(retry),
                        429 => ApiError::too_many_requests(retry),
                        409 => ApiError {
                            code: 409,
                            reason: "Conflict",
                            message: format!("Operation cannot be fulfilled on {resource}: injected conflict"),
                            details: serde_json::json!({"kind": resource}),
                            retry_after: None,
                        },
                        403 => ApiError {
                            code: 403,
                            reason: "Forbidden",
                            message: format!(
                                "{resource} is forbidden: User \"sandbox\" cannot {verb} resource \"{resource}\" (injected)"
                            ),
                            details: serde_json::json!({"kind": resource}),
                            retry_after: None,
                        },
                        _ => ApiError::internal("injected fault"),
                    });
                }
                FaultAction::Latency(d) => decision.latency = Some(decision.latency.unwrap_or_default() + *d),
                FaultAction::Drop => decision.drop = true,
                FaultAction::CutWatch(d) => decision.cut_watch = Some(*d),
                FaultAction::Error(_) => {}
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbids_by_verb_and_resource_and_can_be_replaced_at_run_time() {
        let injector = Injector::new(FaultSpec::default(), 1);
        assert_eq!(injector.decide("get", "deployments"), Decision::default());
        injector.replace("error=403:1@get|list/deployments".parse().expect("valid"));
        let error = injector.decide("get", "deployments").error.expect("forbidden");
        assert_eq!((error.code, error.reason), (403, "Forbidden"));
        assert!(
            error.message.contains("cannot get resource \"deployments\""),
            "{}",
            error.message
        );
        assert_eq!(injector.decide("get", "services"), Decision::default());
        injector.replace(FaultSpec::default());
        assert!(!injector.is_active());
        assert_eq!(
            "error=404:1".parse::<FaultSpec>().unwrap_err().reason,
            "code must be 500, 503, 429, 409 or 403"
        );
    }

    #[test]
    fn parses_the_documented_example() {
        let spec: FaultSpec = "error=503:0.2@create|update/secrets;latency=20ms;cut-watch=5s@watch/*"
            .parse()
            .expect("valid");
        assert_eq!(spec.rules.len(), 3);
        assert_eq!(spec.rules[0].action, FaultAction::Error(503));
        assert_eq!(spec.rules[0].verbs, vec!["create", "update"]);
        assert_eq!(spec.rules[1].action, FaultAction::Latency(Duration::from_millis(20)));
        assert_eq!(spec.rules[2].action, FaultAction::CutWatch(Duration::from_secs(5)));
    }

    #[test]
    fn rejects_bad_rules() {
        assert!("error=418:0.5".parse::<FaultSpec>().is_err());
        assert!("error=500:2".parse::<FaultSpec>().is_err());
        assert!("boom=1".parse::<FaultSpec>().is_err());
        assert!("drop=0.1@get".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn same_seed_same_faults() {
        let spec: FaultSpec = "error=500:0.5".parse().expect("valid");
        let draw = |seed| {
            let injector = Injector::new(spec.clone(), seed);
            (0..64)
                .map(|_| injector.decide("get", "pods").error.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert!(draw(7).iter().any(|hit| *hit) && draw(7).iter().any(|hit| !*hit));
    }

    #[test]
    fn errors_only_hit_matching_requests() {
        let injector = Injector::new("error=429:1@create/secrets".parse().expect("valid"), 1);
        let hit = injector.decide("create", "secrets").error.expect("injected");
        assert_eq!(hit.code, 429);
        assert!(hit.retry_after.is_some());
        assert!(injector.decide("get", "secrets").error.is_none());
        assert!(injector.decide("create", "configmaps").error.is_none());
    }
}
