"""Checks the Kubernetes manifests of docs/examples/ offline.

    k8s_check.py SHARDS.yaml MERGE.yaml OUT_DIR

Each document is parsed with PyYAML and checked against the models of Kubernetes' API that the
Debian package python3-kubernetes generates from Kubernetes' OpenAPI schema: every field must be a
field of its type (no misspelt or misplaced key goes unnoticed, as it would with kubectl's lenient
parsing), every value of its type, every required field present (the models' own validation). Then
what ties the objects together: volume mounts to volumes, volumes to the PersistentVolumeClaim and
ConfigMap defined, the Indexed Job's completions to the N of --shard K/N and of the merge's glob.

Writes into OUT_DIR what the test runs: batch.conf (the ConfigMap's), shard.sh and merge.sh (the
containers' scripts) and mounts (each container's mount paths, "PATH NAME" lines).
"""
import os
import re
import sys

import yaml

try:
    from kubernetes import client
    from kubernetes.client import models
except ImportError:
    print("skip: python3-kubernetes (Kubernetes' API models, to check the manifests against) is not installed")
    sys.exit(77)

KINDS = {("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim", ("v1", "ConfigMap"): "V1ConfigMap",
         ("v1", "Secret"): "V1Secret", ("batch/v1", "Job"): "V1Job"}
errors = []


def err(msg):
    errors.append(msg)


def check(value, typ, path):
    """value (from YAML) against the model type name typ ('V1JobSpec', 'list[V1Volume]', 'str', ...)."""
    m = re.match(r"^list\[(.*)\]$", typ)
    if m:
        if not isinstance(value, list):
            return err("%s: a list is expected (%s), not %r" % (path, typ, value))
        for i, v in enumerate(value):
            check(v, m.group(1), "%s[%d]" % (path, i))
        return
    m = re.match(r"^dict\(str, (.*)\)$", typ)
    if m:
        if not isinstance(value, dict):
            return err("%s: a mapping is expected (%s)" % (path, typ))
        for k, v in value.items():
            if not isinstance(k, str):
                err("%s: key %r is not a string" % (path, k))
            check(v, m.group(1), "%s.%s" % (path, k))
        return
    if typ == "str":
        if not isinstance(value, str):
            err("%s: a string is expected, not %r (quote it)" % (path, value))
        return
    if typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            err("%s: an integer is expected, not %r" % (path, value))
        return
    if typ == "bool":
        if not isinstance(value, bool):
            err("%s: true or false is expected, not %r" % (path, value))
        return
    if typ in ("object", "datetime", "date", "float"):
        return
    klass = getattr(models, typ, None)
    if klass is None:
        return err("%s: unknown model type %s" % (path, typ))
    if not isinstance(value, dict):
        return err("%s: a mapping is expected (%s), not %r" % (path, typ, value))
    fields = {json_name: attr for attr, json_name in klass.attribute_map.items()}
    for key, v in value.items():
        if key not in fields:
            err("%s.%s: not a field of %s (fields: %s)" % (path, key, typ, ", ".join(sorted(fields))))
            continue
        check(v, klass.openapi_types[fields[key]], "%s.%s" % (path, key))


def load(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    api = client.ApiClient()
    for i, d in enumerate(docs):
        where = "%s, document %d" % (os.path.basename(path), i + 1)
        kind = KINDS.get((d.get("apiVersion"), d.get("kind")))
        if not kind:
            err("%s: apiVersion/kind %s/%s is not one this check knows" % (where, d.get("apiVersion"), d.get("kind")))
            continue
        check(d, kind, "%s %s" % (where, d["kind"]))
        try:  # the models' own checks: required fields
            api._ApiClient__deserialize(d, kind)
        except (ValueError, TypeError) as e:
            err("%s: %s" % (where, e))
        if not d.get("metadata", {}).get("name"):
            err("%s: no metadata.name" % where)
    return docs


def job_checks(job, names, where):
    spec = job["spec"]
    pod = spec["template"]["spec"]
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        err("%s: a Job's pods need restartPolicy Never or OnFailure" % where)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in pod["containers"]:
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                err("%s: container %s mounts volume %s, which the pod does not declare" % (where, c["name"], m["name"]))
    for v in volumes.values():
        ref = (v.get("persistentVolumeClaim") or {}).get("claimName") or (v.get("configMap") or {}).get("name")
        if ref and ref not in names:
            err("%s: volume %s refers to %s, defined in neither file" % (where, v["name"], ref))
    if len(pod["containers"]) != 1:
        err("%s: one container expected" % where)
    c = pod["containers"][0]
    if c.get("command") != ["/bin/sh", "-c"] or len(c.get("args", [])) != 1:
        err("%s: the container should run one script with /bin/sh -c" % where)
    return c


def main():
    shards_path, merge_path, out = sys.argv[1:4]
    shards, merge = load(shards_path), load(merge_path)
    if errors:
        return finish()
    names = {d["metadata"]["name"] for d in shards + merge}
    jobs = [d for d in shards if d["kind"] == "Job"]
    mjobs = [d for d in merge if d["kind"] == "Job"]
    conf = [d for d in shards if d["kind"] == "ConfigMap" and "batch.conf" in d.get("data", {})]
    if len(jobs) != 1 or len(mjobs) != 1 or len(conf) != 1:
        err("expected one Job and one ConfigMap with batch.conf in %s, one Job in %s" % (shards_path, merge_path))
        return finish()
    job, mjob = jobs[0], mjobs[0]
    spec = job["spec"]
    if spec.get("completionMode") != "Indexed":
        err("the shards' Job is not Indexed (completionMode: Indexed gives each pod JOB_COMPLETION_INDEX)")
    n = spec.get("completions")
    if not isinstance(n, int) or n < 1 or spec.get("parallelism", 1) > n:
        err("the shards' Job needs completions N >= 1 and parallelism <= N")
    c = job_checks(job, names, "job/" + job["metadata"]["name"])
    mc = job_checks(mjob, names, "job/" + mjob["metadata"]["name"])
    script, mscript = c["args"][0], mc["args"][0]
    if "JOB_COMPLETION_INDEX + 1" not in script:
        err("the shard script does not derive K from JOB_COMPLETION_INDEX + 1")
    m = re.search(r"--shard \"?\$k/(\d+)\"?", script)
    if not m or int(m.group(1)) != n:
        err("the shard script's --shard $k/N does not have N = completions (%s)" % n)
    m = re.search(r"summary-\*-of-(\d+)\.json", mscript)
    if not m or int(m.group(1)) != n:
        err("the merge script does not join summary-*-of-%s.json" % n)
    if errors:
        return finish()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "batch.conf"), "w") as f:
        f.write(conf[0]["data"]["batch.conf"])
    with open(os.path.join(out, "shard.sh"), "w") as f:
        f.write(script)
    with open(os.path.join(out, "merge.sh"), "w") as f:
        f.write(mscript)
    with open(os.path.join(out, "mounts"), "w") as f:
        for j in (job, mjob):
            for m in j["spec"]["template"]["spec"]["containers"][0].get("volumeMounts", []):
                f.write("%s %s\n" % (m["mountPath"], m["name"]))
    print("%d objects valid against Kubernetes' API models (python3-kubernetes %s); Indexed Job of %d shards, "
          "merge of summary-*-of-%d.json" % (len(shards) + len(merge), client.__version__, n, n))
    return 0


def finish():
    for e in errors:
        print("FAIL: " + e)
    return 1


if __name__ == "__main__":
    sys.exit(main())
