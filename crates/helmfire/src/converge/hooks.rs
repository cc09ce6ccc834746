//! Which hooks run for an event and in what order, and their delete policies (helm's
//! `pkg/action/hooks.go`). Pure; the actions run the selected hooks against the cluster.

/// `before-hook-creation`: delete the previous hook object before creating it again (default).
pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
/// `hook-succeeded`: delete the hook object after the hooks of its event succeeded.
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
/// `hook-failed`: delete the hook object when it failed.
pub const HOOK_FAILED: &str = "hook-failed";

/// The helm hook events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    PreInstall,
    PostInstall,
    PreUpgrade,
    PostUpgrade,
    PreRollback,
    PostRollback,
    PreDelete,
    PostDelete,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::PreInstall => "pre-install",
            Event::PostInstall => "post-install",
            Event::PreUpgrade => "pre-upgrade",
            Event::PostUpgrade => "post-upgrade",
            Event::PreRollback => "pre-rollback",
            Event::PostRollback => "post-rollback",
            Event::PreDelete => "pre-delete",
            Event::PostDelete => "post-delete",
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The indices of the hooks (`(events, weight, name)` each, in the release's kind order) that
/// run for `event`, stable-sorted by weight, then name — helm's `hookByWeight`.
pub fn order<'a>(hooks: impl IntoIterator<Item = (&'a [String], i64, &'a str)>, event: Event) -> Vec<usize> {
    let mut selected: Vec<(usize, i64, &str)> = hooks
        .into_iter()
        .enumerate()
        .filter(|(_, (events, _, _))| events.iter().any(|e| e == event.as_str()))
        .map(|(i, (_, weight, name))| (i, weight, name))
        .collect();
    selected.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.2.cmp(b.2)));
    selected.into_iter().map(|(i, _, _)| i).collect()
}

/// helm's `hookSetDeletePolicy`: no policy means `before-hook-creation`, and that is persisted.
pub fn default_delete_policies(policies: &mut Vec<String>) {
    if policies.is_empty() {
        policies.push(BEFORE_HOOK_CREATION.to_string());
    }
}

/// Whether a hook of `kind` with `policies` is deleted under `policy` (CRD hooks never are).
pub fn deletes(kind: &str, policies: &[String], policy: &str) -> bool {
    kind != "CustomResourceDefinition" && policies.iter().any(|p| p == policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_then_name_stable_over_kind_order() {
        let pre = vec!["pre-install".to_string()];
        let post = vec!["post-install".to_string()];
        let both = vec!["pre-install".to_string(), "post-install".to_string()];
        let hooks = [
            (pre.as_slice(), 5, "b"),
            (post.as_slice(), -1, "a"),
            (both.as_slice(), 5, "a"),
            (pre.as_slice(), -3, "z"),
            (pre.as_slice(), 5, "a"),
        ];
        assert_eq!(order(hooks, Event::PreInstall), [3, 2, 4, 0]);
        assert_eq!(order(hooks, Event::PostInstall), [1, 2]);
        assert!(order(hooks, Event::PreDelete).is_empty());
    }

    #[test]
    fn delete_policies() {
        let mut policies = Vec::new();
        default_delete_policies(&mut policies);
        assert_eq!(policies, [BEFORE_HOOK_CREATION]);
        let mut set = vec![HOOK_SUCCEEDED.to_string()];
        default_delete_policies(&mut set);
        assert_eq!(set, [HOOK_SUCCEEDED]);
        assert!(deletes("Job", &set, HOOK_SUCCEEDED));
        assert!(!deletes("Job", &set, HOOK_FAILED));
        assert!(!deletes("CustomResourceDefinition", &set, HOOK_SUCCEEDED));
    }
}
