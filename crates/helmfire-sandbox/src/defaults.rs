//! Server-side defaulting for the common built-in kinds, applied before storage (and before
//! ownership tracking, as upstream does) so clients see what a real server would return.

use serde_json::{Map, Value, json};

use base64::Engine as _;

use super::resources::ResourceType;

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.into(), value);
    }
}

fn child_map<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let map = parent.as_object_mut()?;
    if !map.contains_key(key) {
        map.insert(key.into(), Value::Object(Map::new()));
    }
    map.get_mut(key)?.as_object_mut()
}

fn pod_spec(spec: &mut Value, restart_policy: &str) {
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    set_default(map, "restartPolicy", json!(restart_policy));
    set_default(map, "dnsPolicy", json!("ClusterFirst"));
    set_default(map, "terminationGracePeriodSeconds", json!(30));
    set_default(map, "schedulerName", json!("default-scheduler"));
    set_default(map, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        let Some(Value::Array(containers)) = map.get_mut(list) else {
            continue;
        };
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            let image = container.get("image").and_then(Value::as_str).unwrap_or_default();
            let last = image.rsplit('/').next().unwrap_or_default();
            let pull = if !last.contains(':') || last.ends_with(":latest") {
                "Always"
            } else {
                "IfNotPresent"
            };
            set_default(container, "imagePullPolicy", json!(pull));
            set_default(container, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(container, "terminationMessagePolicy", json!("File"));
            set_default(container, "resources", json!({}));
            if let Some(Value::Array(ports)) = container.get_mut("ports") {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    set_default(port, "protocol", json!("TCP"));
                }
            }
        }
    }
}

fn template(spec: &mut Map<String, Value>, restart_policy: &str) {
    if let Some(template) = spec.get_mut("template")
        && let Some(pod) = template.get_mut("spec")
    {
        pod_spec(pod, restart_policy);
    }
}

/// Fills defaults in place. `cluster_ip` is the address to give a new Service.
/// What the API server's decoder refuses before anything else: a Secret's `data` values are
/// `[]byte`, so each must be standard base64 (`Secret in version "v1" cannot be handled as a
/// Secret: illegal base64 data at input byte 3`, a 400).
pub fn decoding_error(resource: &ResourceType, object: &Value) -> Option<String> {
    if !(resource.group.is_empty() && resource.kind == "Secret") {
        return None;
    }
    for value in object["data"].as_object()?.values() {
        let Some(text) = value.as_str() else { continue };
        if let Some(offset) = illegal_base64_at(text) {
            return Some(format!(
                "Secret in version \"{}\" cannot be handled as a Secret: illegal base64 data at input byte {offset}",
                resource.version
            ));
        }
    }
    None
}

/// Where Go's `base64.StdEncoding.DecodeString` gives up on `text` (its `CorruptInputError`
/// offset), a port of its `decodeQuantum` loop: padding required, `\r` and `\n` skipped.
/// `None` when it decodes.
fn illegal_base64_at(text: &str) -> Option<usize> {
    let src = text.as_bytes();
    let newline = |b: u8| b == b'\n' || b == b'\r';
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut si = 0;
    loop {
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                return (j > 0).then(|| si - j);
            }
            let c = src[si];
            si += 1;
            if newline(c) {
                continue;
            }
            if c == b'=' {
                match j {
                    0 | 1 => return Some(si - 1),
                    2 => {
                        while si < src.len() && newline(src[si]) {
                            si += 1;
                        }
                        if si == src.len() {
                            return Some(src.len());
                        }
                        if src[si] != b'=' {
                            return Some(si - 1);
                        }
                        si += 1;
                    }
                    _ => {}
                }
                while si < src.len() && newline(src[si]) {
                    si += 1;
                }
                return (si < src.len()).then_some(si);
            }
            if !alphabet(c) {
                return Some(si - 1);
            }
            j += 1;
        }
    }
}

pub fn apply(resource: &ResourceType, object: &mut Value, cluster_ip: &str) {
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => {
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
            if let Some(labels) = object.get_mut("metadata").and_then(|m| child_map(m, "labels")) {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            if let Some(spec) = child_map(object, "spec") {
                set_default(spec, "finalizers", json!(["kubernetes"]));
            }
            if let Some(status) = child_map(object, "status") {
                set_default(status, "phase", json!("Active"));
            }
        }
        ("", "Secret") => {
            let Some(map) = object.as_object_mut() else {
                return;
            };
            set_default(map, "type", json!("Opaque"));
            if let Some(Value::Object(string_data)) = map.remove("stringData") {
                let data = map.entry("data").or_insert_with(|| Value::Object(Map::new()));
                if let Some(data) = data.as_object_mut() {
                    for (k, v) in string_data {
                        let encoded = base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
                        data.insert(k, json!(encoded));
                    }
                }
            }
        }
        ("", "Service") => {
            let Some(spec) = child_map(object, "spec") else {
                return;
            };
            set_default(spec, "type", json!("ClusterIP"));
            set_default(spec, "sessionAffinity", json!("None"));
            let external = spec.get("type").and_then(Value::as_str) == Some("ExternalName");
            if !external {
                set_default(spec, "clusterIP", json!(cluster_ip));
                let ip = spec.get("clusterIP").cloned().unwrap_or(Value::Null);
                set_default(spec, "clusterIPs", json!([ip]));
                set_default(spec, "ipFamilies", json!(["IPv4"]));
                set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
                set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            }
            if let Some(Value::Array(ports)) = spec.get_mut("ports") {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    set_default(port, "protocol", json!("TCP"));
                    if let Some(number) = port.get("port").cloned() {
                        set_default(port, "targetPort", number);
                    }
                }
            }
        }
        ("", "Pod") => {
            if let Some(spec) = object.get_mut("spec") {
                pod_spec(spec, "Always");
            }
        }
        ("apps", "Deployment") => {
            let Some(spec) = child_map(object, "spec") else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            set_default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            );
            template(spec, "Always");
        }
        ("apps", "ReplicaSet") => {
            let Some(spec) = child_map(object, "spec") else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            template(spec, "Always");
        }
        ("apps", "StatefulSet") => {
            let Some(spec) = child_map(object, "spec") else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            template(spec, "Always");
        }
        ("apps", "DaemonSet") => {
            let Some(spec) = child_map(object, "spec") else {
                return;
            };
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
            template(spec, "Always");
        }
        ("batch", "Job") => {
            let Some(spec) = child_map(object, "spec") else {
                return;
            };
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "completions", json!(1));
            set_default(spec, "backoffLimit", json!(6));
            set_default(spec, "completionMode", json!("NonIndexed"));
            set_default(spec, "suspend", json!(false));
            template(spec, "Never");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtin;

    #[test]
    fn deployment_and_container_port_defaults() {
        let r = builtin("apps", "deployments").expect("served");
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "w", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}});
        apply(&r, &mut d, "");
        assert_eq!(d["spec"]["replicas"], 1);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    }

    #[test]
    fn secret_data_must_be_base64_as_go_decodes_it() {
        assert_eq!(illegal_base64_at("aGVsbG8="), None);
        assert_eq!(illegal_base64_at("aGVs\nbG8="), None);
        assert_eq!(illegal_base64_at(""), None);
        assert_eq!(illegal_base64_at("not base64!"), Some(3));
        assert_eq!(illegal_base64_at("aGVsbG8"), Some(4), "missing padding");
        assert_eq!(illegal_base64_at("aGVsbA"), Some(4), "missing `==`");
        assert_eq!(illegal_base64_at("aG=sbG8="), Some(2), "padding in the middle");
        assert_eq!(illegal_base64_at("aGVsbG8=x"), Some(8), "data after the padding");
        assert_eq!(illegal_base64_at("===="), Some(0));
    }

    #[test]
    fn secret_string_data_becomes_data() {
        let r = builtin("", "secrets").expect("served");
        let mut s = json!({"stringData": {"a": "hi"}});
        apply(&r, &mut s, "");
        assert_eq!(s, json!({"type": "Opaque", "data": {"a": "aGk="}}));
    }
}
