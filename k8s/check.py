#!/usr/bin/env python3
"""Checks cityhub's Kubernetes manifests (k8s/) without a cluster.

    python3 k8s/check.py REPO_ROOT

1. Every YAML file under k8s/ parses; every file a kustomization.yaml names exists; no Secret
   with values is committed.
2. The base and each overlay are rendered: with `kubectl kustomize` when kubectl is installed,
   and always with the small kustomize subset below (resources, namespace, images, replicas,
   configMapGenerator, secretGenerator, patches by path as strategic merge). When both ran,
   their results must agree, so that the subset stays true for machines without kubectl.
   Secret files that k8s/make-secrets makes (git-ignored) are replaced by placeholders in a
   temporary copy: the check never reads secret material.
3. Each rendering keeps the invariants the manifests promise: resources, probes and a locked
   down securityContext on every container; secrets only as mounted files; every CITYHUB_*
   variable is one the C++ code reads (and the one binary it is set for reads it); addresses,
   ports and selectors that fit together; NetworkPolicies that select real pods and leave every
   Service port reachable; drain times within the termination grace period; disruption budgets
   and ReadWriteOnce volumes that fit the replica counts; Redis with AOF.

Prints one line per problem and exits 1 when there is any; otherwise prints a summary, exit 0.
Needs PyYAML (Debian: python3-yaml).
"""

import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("k8s/check.py needs PyYAML (Debian package python3-yaml)")

NAMESPACE = "cityhub"
# Files the manifests name that are not secrets (every other *_FILE variable must be a secret
# file from a mounted Secret).
NON_SECRET_FILE_VARS = {"CITYHUB_CATALOGUE_SEED_FILE"}
# Variable names that look like they carry a secret; they must end in _FILE.
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|PRIVATE|SIGNING_KEY|_AUTH\b|_AUTH_")
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images", "replicas",
                        "configMapGenerator", "secretGenerator", "patches"}
GENERATOR_FIELDS = {"name", "behavior", "envs", "files", "literals"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "PriorityClass", "IngressClass"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Strategic merge: list fields merged by a key (as in the Kubernetes API types); any other list
# is replaced by the patch's.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name",
              "topologySpreadConstraints": "topologyKey"}


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


# ---- reading ----------------------------------------------------------------------------------

def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def yaml_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "secrets")
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")):
                yield os.path.join(dirpath, name)


def kustomization_dirs(k8s):
    for path in yaml_files(k8s):
        if os.path.basename(path) == "kustomization.yaml":
            yield os.path.dirname(path)


def generator_files(kust):
    """(generator kind, name, file path relative to the kustomization) for every file."""
    for kind in ("configMapGenerator", "secretGenerator"):
        for gen in kust.get(kind) or []:
            for entry in gen.get("files") or []:
                yield kind, gen.get("name"), entry.split("=", 1)[-1]
            for entry in gen.get("envs") or []:
                yield kind, gen.get("name"), entry


def check_files(k8s, problems):
    """Step 1: YAML parses, named files exist, no committed Secret values."""
    count = 0
    for path in yaml_files(k8s):
        rel = os.path.relpath(path, os.path.dirname(k8s))
        count += 1
        try:
            docs = load_docs(path)
        except yaml.YAMLError as e:
            problems.add(rel, f"not valid YAML: {e}")
            continue
        for doc in docs:
            if not isinstance(doc, dict):
                problems.add(rel, "a document is not a mapping")
            elif doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                problems.add(rel, f"Secret {doc['metadata'].get('name')} has values committed; "
                                  "generate it from files (k8s/make-secrets) or create it out of band")
    for d in kustomization_dirs(k8s):
        rel = os.path.relpath(os.path.join(d, "kustomization.yaml"), os.path.dirname(k8s))
        try:
            kust = load_docs(os.path.join(d, "kustomization.yaml"))[0]
        except (yaml.YAMLError, IndexError):
            continue  # reported above
        for field in sorted(set(kust) - KUSTOMIZATION_FIELDS):
            problems.add(rel, f"field '{field}' is outside the kustomize subset check.py renders; "
                              "extend check.py or do without it")
        for res in kust.get("resources") or []:
            p = os.path.join(d, res)
            if not (os.path.isfile(p) or os.path.isfile(os.path.join(p, "kustomization.yaml"))):
                problems.add(rel, f"resource '{res}' does not exist")
        for patch in kust.get("patches") or []:
            if set(patch) != {"path"}:
                problems.add(rel, f"patch {patch}: only 'path' patches are in check.py's subset")
            elif not os.path.isfile(os.path.join(d, patch["path"])):
                problems.add(rel, f"patch '{patch['path']}' does not exist")
        for kind in ("configMapGenerator", "secretGenerator"):
            for gen in kust.get(kind) or []:
                for field in sorted(set(gen) - GENERATOR_FIELDS):
                    problems.add(rel, f"{kind} {gen.get('name')}: field '{field}' is outside "
                                      "check.py's subset")
        for kind, name, f in generator_files(kust):
            if os.path.isfile(os.path.join(d, f)):
                continue
            # Secret files are made by k8s/make-secrets and never committed.
            if not (kind == "secretGenerator" and f.startswith("secrets/")):
                problems.add(rel, f"{kind} {name}: file '{f}' does not exist")
    return count


# ---- rendering (the kustomize subset) -----------------------------------------------------------

def parse_env_file(path):
    data = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                data[key] = value
    return data


def generated_data(d, gen):
    data = {}
    for env in gen.get("envs") or []:
        data.update(parse_env_file(os.path.join(d, env)))
    for entry in gen.get("files") or []:
        key, _, f = entry.rpartition("=")
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            data[key or os.path.basename(f)] = fh.read()
    for literal in gen.get("literals") or []:
        key, _, value = literal.partition("=")
        data[key] = value
    return data


def strategic_merge(target, patch):
    for key, value in patch.items():
        if key.startswith("$"):
            raise ValueError(f"directive {key} is outside check.py's subset")
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            strategic_merge(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list) and merge_key(key, value):
            mk = merge_key(key, value)
            for item in value:
                match = next((t for t in target[key] if t.get(mk) == item.get(mk)), None)
                if match is None:
                    target[key].append(copy.deepcopy(item))
                else:
                    strategic_merge(match, item)
        else:
            target[key] = copy.deepcopy(value)


def merge_key(field, items):
    if not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":  # container ports by containerPort, Service ports by port
        return "containerPort" if all("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def pod_specs(obj):
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        yield template["spec"]


def all_containers(pod):
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


def render_own(d):
    kust = load_docs(os.path.join(d, "kustomization.yaml"))[0]
    objs = []
    for res in kust.get("resources") or []:
        p = os.path.join(d, res)
        objs.extend(render_own(p) if os.path.isdir(p) else load_docs(p))

    def find(kind, name):
        return next((o for o in objs if o.get("kind") == kind
                     and o.get("metadata", {}).get("name") == name), None)

    for gkind, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for gen in kust.get(gkind) or []:
            data = generated_data(d, gen)
            if kind == "Secret":
                data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            existing = find(kind, gen["name"])
            behavior = gen.get("behavior", "create")
            if behavior == "create" or existing is None:
                obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": gen["name"]},
                       "data": data}
                if kind == "Secret":
                    obj["type"] = "Opaque"
                objs.append(obj)
            elif behavior == "merge":
                existing.setdefault("data", {}).update(data)
            else:
                existing["data"] = data
    for patch in kust.get("patches") or []:
        for doc in load_docs(os.path.join(d, patch["path"])):
            target = find(doc.get("kind"), doc.get("metadata", {}).get("name"))
            if target is None:
                raise ValueError(f"patch {patch['path']}: no {doc.get('kind')} "
                                 f"{doc.get('metadata', {}).get('name')} to patch")
            strategic_merge(target, doc)
    for image in kust.get("images") or []:
        for obj in objs:
            for pod in pod_specs(obj):
                for c in all_containers(pod):
                    name, tag = split_image(c.get("image", ""))
                    if name == image["name"]:
                        new = image.get("newName", name)
                        if "digest" in image:
                            c["image"] = f"{new}@{image['digest']}"
                        else:
                            t = image.get("newTag", tag)
                            c["image"] = f"{new}:{t}" if t else new
    for rep in kust.get("replicas") or []:
        for obj in objs:
            if (obj.get("kind") in WORKLOAD_KINDS
                    and obj.get("metadata", {}).get("name") == rep["name"]):
                obj["spec"]["replicas"] = rep["count"]
    if kust.get("namespace"):
        for obj in objs:
            if obj.get("kind") not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = kust["namespace"]
    return objs


def split_image(image):
    """'name:tag' -> (name, tag); a digest counts as the tag; ports in the registry are kept."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, ""


def render_kubectl(kubectl, d):
    out = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise ValueError(f"kubectl kustomize failed: {out.stderr.strip()}")
    return [o for o in yaml.safe_load_all(out.stdout) if o is not None]


def canonical(objs, generated):
    """A comparable form: hash suffixes of generated names removed, named lists sorted."""
    suffix = re.compile(r"^(.*)-[a-z0-9]{10}$")
    hashed = {}
    for o in objs:
        name = o.get("metadata", {}).get("name", "")
        m = suffix.match(name)
        if o.get("kind") in ("ConfigMap", "Secret") and m and m.group(1) in generated:
            hashed[name] = m.group(1)

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in sorted(v.items())}
        if isinstance(v, list):
            items = [walk(x) for x in v]
            if items and all(isinstance(x, dict) for x in items):
                return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
            return items
        if isinstance(v, str):
            return hashed.get(v, v)
        return v

    def unwrapped(o):  # kustomize wraps long base64 values
        if o.get("kind") != "Secret":
            return o
        o = copy.deepcopy(o)
        o["data"] = {k: re.sub(r"\s", "", v) for k, v in (o.get("data") or {}).items()}
        return o

    return {(o.get("kind"), hashed.get(o["metadata"]["name"], o["metadata"]["name"])): walk(unwrapped(o))
            for o in objs}


def generated_names(d):
    kust = load_docs(os.path.join(d, "kustomization.yaml"))[0]
    names = {g["name"] for k in ("configMapGenerator", "secretGenerator")
             for g in kust.get(k) or []}
    for res in kust.get("resources") or []:
        p = os.path.join(d, res)
        if os.path.isdir(p):
            names |= generated_names(p)
    return names


def placeholder_copy(k8s, tmp):
    """A copy of k8s/ in which every missing secretGenerator file holds a placeholder."""
    copy_root = os.path.join(tmp, "k8s")
    shutil.copytree(k8s, copy_root, ignore=shutil.ignore_patterns("secrets"))
    for d in kustomization_dirs(copy_root):
        kust = load_docs(os.path.join(d, "kustomization.yaml"))[0]
        for kind, name, f in generator_files(kust):
            p = os.path.join(d, f)
            if kind == "secretGenerator" and not os.path.exists(p):
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(f"placeholder-{name}-{os.path.basename(f)}\n")
    return copy_root


# ---- what the C++ code reads ------------------------------------------------------------------

class Sources:
    """CITYHUB_* names the binaries read, from their sources (tests left out)."""

    QUOTED = re.compile(r'"(CITYHUB_[A-Z0-9_]+)"')
    SERVICE_VARIABLE = re.compile(r'ServiceVariable\([^,()]+,\s*"([A-Z0-9_]+)"\)')
    SERVICE_NAME = re.compile(r'LoadCommonConfig\(\s*env\s*,\s*\{\s*"([a-z]+)"')

    def __init__(self, root):
        self.root = root
        self.all = set()
        self.by_binary = {}
        files = {}
        for top in ("services", "gateway", "infra"):
            for dirpath, _, filenames in os.walk(os.path.join(root, top)):
                for name in filenames:
                    if name.endswith((".cc", ".h")) and not name.endswith(("_test.cc", "_fuzz.cc")):
                        p = os.path.join(dirpath, name)
                        with open(p, encoding="utf-8", errors="replace") as f:
                            files[os.path.relpath(p, root)] = f.read()
        common = set()
        suffixes = set()
        for rel, text in files.items():
            self.all |= set(self.QUOTED.findall(text))
            suffixes |= set(self.SERVICE_VARIABLE.findall(text))
            # Read by every service (LoadCommonConfig), and by the gateway too: it reads Redis
            # and gRPC TLS settings through LoadRedisOptions and LoadGrpcTls.
            if rel.startswith(("infra/service_config", "infra/grpc/tls")):
                common |= set(self.QUOTED.findall(text))
        services_dir = os.path.join(root, "services")
        for svc in sorted(os.listdir(services_dir)) if os.path.isdir(services_dir) else []:
            texts = [t for r, t in files.items() if r.startswith(f"services/{svc}/")]
            if not texts:
                continue
            names = set()
            for t in texts:
                names |= set(self.QUOTED.findall(t))
                for s in self.SERVICE_NAME.findall(t):
                    names |= common | {f"CITYHUB_{s.upper()}_{x}" for x in suffixes}
            self.all |= names
            self.by_binary[svc] = names
        self.by_binary["gateway"] = common.union(
            *[set(self.QUOTED.findall(t)) for r, t in files.items() if r.startswith("gateway/")])


# ---- the invariants ---------------------------------------------------------------------------

def quantity(text, cpu):
    text = str(text)
    units = {"m": 1e-3} if cpu else {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
                                     "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3}
    for unit, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text.strip())
    if not m:
        return None
    n = int(m.group(1))
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 0.001}[m.group(2)]


def labels_match(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, values = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Rendering:
    def __init__(self, name, objs, sources, containerfile, problems):
        self.name = name
        self.objs = objs
        self.sources = sources
        self.containerfile = containerfile
        self.problems = problems
        self.workloads = [o for o in objs if o.get("kind") in WORKLOAD_KINDS]
        self.hpas = [o for o in objs if o.get("kind") == "HorizontalPodAutoscaler"]

    def add(self, obj, message):
        meta = obj.get("metadata", {}) if isinstance(obj, dict) else {}
        where = f"{self.name}: {obj.get('kind')}/{meta.get('name')}" if meta else self.name
        self.problems.add(where, message)

    def get(self, kind, name):
        return next((o for o in self.objs if o.get("kind") == kind
                     and o.get("metadata", {}).get("name") == name), None)

    def of_kind(self, kind):
        return [o for o in self.objs if o.get("kind") == kind]

    @staticmethod
    def template_labels(w):
        return (w.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {})

    def selected(self, selector):
        return [w for w in self.workloads if labels_match(selector, self.template_labels(w))]

    def replica_range(self, w):
        """(fewest, most) replicas: the HPA's bounds when one scales it, else spec.replicas."""
        for h in self.hpas:
            ref = h["spec"]["scaleTargetRef"]
            if ref.get("kind") == w["kind"] and ref.get("name") == w["metadata"]["name"]:
                return h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"]
        n = w.get("spec", {}).get("replicas", 1)
        return n, n

    def env_of(self, obj, c):
        """The container's effective environment: {name: (value or None, from env entry?)}."""
        env = {}
        for src in c.get("envFrom") or []:
            if "secretRef" in src:
                self.add(obj, f"container {c['name']}: envFrom secretRef puts secrets in the "
                              "environment; mount them as files")
            ref = src.get("configMapRef")
            if ref:
                cm = self.get("ConfigMap", ref.get("name"))
                if cm is None:
                    self.add(obj, f"container {c['name']}: ConfigMap {ref.get('name')} does not exist")
                    continue
                for k, v in (cm.get("data") or {}).items():
                    env[(src.get("prefix") or "") + k] = (v, False)
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "secretKeyRef" in vf:
                self.add(obj, f"container {c['name']}: {e['name']} takes a Secret value into the "
                              "environment; pass secrets as mounted files")
                env[e["name"]] = (None, True)
            elif "configMapKeyRef" in vf:
                ref = vf["configMapKeyRef"]
                cm = self.get("ConfigMap", ref.get("name")) or {}
                env[e["name"]] = ((cm.get("data") or {}).get(ref.get("key")), True)
            else:
                env[e["name"]] = (str(e.get("value", "")), True)
        return env

    # -- checks --

    def run(self):
        for obj in self.objs:
            meta = obj.get("metadata") or {}
            if obj.get("kind") not in CLUSTER_SCOPED and meta.get("namespace") != NAMESPACE:
                self.add(obj, f"namespace is {meta.get('namespace')!r}, not {NAMESPACE!r}")
        for w in self.workloads:
            self.check_workload(w)
        self.check_config_maps()
        self.check_services()
        self.check_network_policies()
        self.check_autoscalers_and_budgets()
        self.check_ingresses()
        self.check_secrets()
        self.check_redis()

    def check_workload(self, w):
        spec = w.get("spec") or {}
        selector = spec.get("selector")
        if w["kind"] != "Job" and not labels_match(selector, self.template_labels(w)):
            self.add(w, "spec.selector does not match the pod template's labels")
        for pod in pod_specs(w):
            if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
                self.add(w, "uses the host's network, PID or IPC namespace")
            volumes = {v["name"]: v for v in pod.get("volumes") or []}
            for v in volumes.values():
                if "hostPath" in v:
                    self.add(w, f"volume {v['name']} is a hostPath")
            pod_sc = pod.get("securityContext") or {}
            for c in pod.get("containers") or []:
                self.check_container(w, pod, pod_sc, c, volumes)
            self.check_volumes(w, pod, volumes)
            self.check_termination(w, pod)
        annotations = spec.get("template", {}).get("metadata", {}).get("annotations") or {}
        prom = annotations.get("prometheus.io/port")
        if prom and int(prom) not in self.container_ports([w]).values():
            self.add(w, f"prometheus.io/port {prom} is not a container port")

    def check_container(self, w, pod, pod_sc, c, volumes):
        where = f"container {c.get('name')}"
        sc = c.get("securityContext") or {}

        def eff(key):
            return sc.get(key, pod_sc.get(key))

        if eff("runAsNonRoot") is not True:
            self.add(w, f"{where}: runAsNonRoot is not true")
        if eff("runAsUser") == 0:
            self.add(w, f"{where}: runs as user 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.add(w, f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.add(w, f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            self.add(w, f"{where}: is privileged")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            self.add(w, f"{where}: capabilities do not drop ALL")
        if (sc.get("capabilities") or {}).get("add"):
            self.add(w, f"{where}: adds capabilities")
        if (eff("seccompProfile") or {}).get("type") != "RuntimeDefault":
            self.add(w, f"{where}: seccompProfile is not RuntimeDefault")

        res = c.get("resources") or {}
        for part, key in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
            if key not in (res.get(part) or {}):
                self.add(w, f"{where}: no resources.{part}.{key}")
        for key in ("cpu", "memory"):
            req, lim = (res.get("requests") or {}).get(key), (res.get("limits") or {}).get(key)
            if req is not None and lim is not None and quantity(req, key == "cpu") > quantity(lim, key == "cpu"):
                self.add(w, f"{where}: requests.{key} {req} is above limits.{key} {lim}")

        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                self.add(w, f"{where}: no {probe}")

        image = c.get("image", "")
        _, tag = split_image(image)
        if self.name != "base" and (not tag or tag == "latest"):
            self.add(w, f"{where}: image {image!r} has no pinned tag or digest")

        ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
        numbers = set(ports.values())
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            p = c.get(probe) or {}
            for kind in ("httpGet", "tcpSocket", "grpc"):
                if kind in p:
                    port = p[kind].get("port")
                    if port not in numbers and port not in ports:
                        self.add(w, f"{where}: {probe} port {port} is not a container port")

        self.check_env(w, pod, c, volumes, ports, numbers)

    def check_env(self, w, pod, c, volumes, ports, numbers):
        where = f"container {c.get('name')}"
        env = self.env_of(w, c)
        binary = os.path.basename((c.get("command") or [""])[0])
        read_by = self.sources.by_binary.get(binary)
        mounts = [(m["mountPath"].rstrip("/"), volumes.get(m["name"])) for m in c.get("volumeMounts") or []]
        for name, (value, explicit) in sorted(env.items()):
            if name.startswith("CITYHUB_"):
                if name not in self.sources.all:
                    self.add(w, f"{where}: {name} is read nowhere in services/, gateway/ or infra/")
                elif explicit and read_by is not None and name not in read_by:
                    self.add(w, f"{where}: {name} is set here, but the {binary} binary never reads it")
            if SECRET_NAME.search(name) and not name.endswith("_FILE"):
                self.add(w, f"{where}: {name} looks like a secret passed as a value; pass a file (…_FILE)")
            if value and "-----BEGIN" in value:
                self.add(w, f"{where}: {name} holds key material as a value")
            if name.endswith("_FILE") and value:
                if name in NON_SECRET_FILE_VARS:
                    if value not in self.containerfile:
                        self.add(w, f"{where}: {name}={value} is not a path k8s/Containerfile puts in the image")
                else:
                    self.check_secret_file(w, where, name, value, mounts)
        listen_var = "CITYHUB_GATEWAY_ADDR" if binary == "gateway" else "CITYHUB_LISTEN_ADDR"
        listen = env.get(listen_var, (None,))[0]
        for var, value in [(listen_var, listen)] + [
                (n, v) for n, (v, _) in env.items() if n.endswith("_METRICS_ADDR") and n in (read_by or ())]:
            if value:
                port = int(value.rsplit(":", 1)[1])
                if port not in numbers:
                    self.add(w, f"{where}: {var} {value} is not on a container port")
        if read_by is not None and binary != "gateway" and listen:
            port = int(listen.rsplit(":", 1)[1])
            for probe in ("livenessProbe", "readinessProbe"):
                grpc = (c.get(probe) or {}).get("grpc")
                if grpc is None:
                    self.add(w, f"{where}: {probe} should be a gRPC health probe")
                elif grpc.get("port") != port:
                    self.add(w, f"{where}: {probe} probes port {grpc.get('port')}, the service listens on {port}")
        for name, (value, _) in env.items():
            if name.endswith("_ADDR") and name != "CITYHUB_LISTEN_ADDR" and value and \
                    not value.startswith(("0.0.0.0:", "127.0.0.1:", "[::]:")) and "_METRICS_" not in name:
                self.check_dial(w, where, name, value)
            if name.endswith("_REDIS_URL") and value:
                m = re.fullmatch(r"rediss?://(?:[^@/]*@)?([^:/]+)(?::(\d+))?(?:/\d+)?", value)
                if not m:
                    self.add(w, f"{where}: {name}={value} is not redis://host:port")
                else:
                    self.check_dial(w, where, name, f"{m.group(1)}:{m.group(2) or 6379}")

    def check_secret_file(self, w, where, name, value, mounts):
        for mount_path, volume in mounts:
            if not value.startswith(mount_path + "/") or volume is None:
                continue
            rel = value[len(mount_path) + 1:]
            if "secret" in volume:
                sources = [volume["secret"]]
            elif "projected" in volume and all("secret" in s for s in volume["projected"].get("sources") or []):
                sources = [s["secret"] for s in volume["projected"]["sources"]]
            else:
                self.add(w, f"{where}: {name}={value} is on volume {volume['name']}, which is not a Secret")
                return
            paths = set()
            for s in sources:
                items = s.get("items")
                if items is None:
                    return  # every key of the Secret: cannot tell which exist without it
                paths |= {i["path"] for i in items}
            if rel not in paths:
                self.add(w, f"{where}: {name}={value}: volume {volume['name']} has no file {rel} "
                            f"(it has {', '.join(sorted(paths))})")
            return
        self.add(w, f"{where}: {name}={value} is not under a mounted Secret")

    def check_dial(self, w, where, name, address):
        host, _, port = address.rpartition(":")
        svc = self.get("Service", host.split(".")[0])
        if svc is None:
            self.add(w, f"{where}: {name}={address}: no Service {host}")
            return
        sports = [p for p in svc["spec"].get("ports") or [] if str(p.get("port")) == port]
        if not sports:
            self.add(w, f"{where}: {name}={address}: Service {host} has no port {port}")

    def check_volumes(self, w, pod, volumes):
        used = {m["name"] for c in all_containers(pod) for m in c.get("volumeMounts") or []}
        for v in volumes:
            if v not in used:
                self.add(w, f"volume {v} is mounted by no container")
        _, most = self.replica_range(w)
        for v in volumes.values():
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.get("PersistentVolumeClaim", claim)
            if pvc is None:
                self.add(w, f"volume {v['name']}: no PersistentVolumeClaim {claim}")
            elif most > 1 and set(pvc["spec"].get("accessModes") or []) <= {"ReadWriteOnce", "ReadWriteOncePod"}:
                self.add(w, f"up to {most} replicas share PersistentVolumeClaim {claim}, which is "
                            "ReadWriteOnce: replicas on other nodes cannot mount it (use ReadWriteMany)")

    def check_termination(self, w, pod):
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for c in pod.get("containers") or []:
            need = 0.0
            pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command") or []
            if pre and os.path.basename(pre[0]) == "sleep" and len(pre) > 1:
                need += float(pre[1])
            env = self.env_of_quiet(c)
            binary = os.path.basename((c.get("command") or [""])[0])
            read_by = self.sources.by_binary.get(binary) or set()
            if "CITYHUB_DRAIN_DELAY" in read_by:
                drain = duration_seconds(env.get("CITYHUB_DRAIN_DELAY") or "1s")
                shutdown = duration_seconds(env.get("CITYHUB_SHUTDOWN_GRACE") or "10s")
                if drain is None or shutdown is None:
                    self.add(w, f"container {c['name']}: cannot read CITYHUB_DRAIN_DELAY/CITYHUB_SHUTDOWN_GRACE")
                    continue
                need += drain + shutdown
            if need and grace <= need:
                self.add(w, f"terminationGracePeriodSeconds {grace} is not above the {need:g}s that "
                            f"container {c['name']} may take to stop")

    def env_of_quiet(self, c):
        env = {}
        for src in c.get("envFrom") or []:
            cm = self.get("ConfigMap", (src.get("configMapRef") or {}).get("name"))
            env.update((cm or {}).get("data") or {})
        for e in c.get("env") or []:
            if "value" in e:
                env[e["name"]] = str(e["value"])
        return env

    def check_config_maps(self):
        for cm in self.of_kind("ConfigMap"):
            for key, value in (cm.get("data") or {}).items():
                if key.startswith("CITYHUB_") and key not in self.sources.all:
                    self.add(cm, f"{key} is read nowhere in services/, gateway/ or infra/")
                if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                    self.add(cm, f"{key} looks like a secret in a ConfigMap; pass a file (…_FILE)")
                if "-----BEGIN" in str(value):
                    self.add(cm, f"{key} holds key material")

    def container_ports(self, workloads):
        ports = {}
        for w in workloads:
            for pod in pod_specs(w):
                for c in pod.get("containers") or []:
                    for p in c.get("ports") or []:
                        ports[p["containerPort"]] = p["containerPort"]
                        if p.get("name"):
                            ports[p["name"]] = p["containerPort"]
        return ports

    def check_services(self):
        for svc in self.of_kind("Service"):
            targets = self.selected(svc["spec"].get("selector"))
            if not targets:
                self.add(svc, "selects no pods")
                continue
            ports = self.container_ports(targets)
            for p in svc["spec"].get("ports") or []:
                target = p.get("targetPort", p.get("port"))
                if target not in ports:
                    self.add(svc, f"targetPort {target} is not a port of the pods it selects")
                elif not self.reachable(targets, ports[target]):
                    self.add(svc, f"port {p.get('port')} is blocked: no NetworkPolicy lets anything "
                                  f"reach container port {ports[target]}")

    def reachable(self, workloads, port):
        policies = self.of_kind("NetworkPolicy")
        for w in workloads:
            labels = self.template_labels(w)
            selecting = [p for p in policies if "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
                         and (p["spec"].get("podSelector") == {} or labels_match(p["spec"].get("podSelector"), labels))]
            if not selecting:
                return True  # no policy isolates it
            named = self.container_ports([w])
            for p in selecting:
                for rule in p["spec"].get("ingress") or []:
                    rule_ports = rule.get("ports")
                    if not rule_ports or any(named.get(rp.get("port"), rp.get("port")) == port for rp in rule_ports):
                        return True
        return False

    def check_network_policies(self):
        policies = self.of_kind("NetworkPolicy")
        if not any(p["spec"].get("podSelector") == {} and "Ingress" in (p["spec"].get("policyTypes") or [])
                   and not p["spec"].get("ingress") for p in policies):
            self.problems.add(self.name, "no default-deny ingress NetworkPolicy")
        for p in policies:
            sel = p["spec"].get("podSelector")
            targets = self.workloads if sel == {} else self.selected(sel)
            if not targets:
                self.add(p, "podSelector selects no pods")
                continue
            ports = self.container_ports(targets)
            for rule in p["spec"].get("ingress") or []:
                for peer in rule.get("from") or []:
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        if peer["podSelector"] != {} and not self.selected(peer["podSelector"]):
                            self.add(p, f"from.podSelector {peer['podSelector']} selects no pods")
                for rp in rule.get("ports") or []:
                    if rp.get("port") not in ports:
                        self.add(p, f"port {rp.get('port')} is not a port of the pods it selects")

    def check_autoscalers_and_budgets(self):
        for h in self.hpas:
            ref = h["spec"]["scaleTargetRef"]
            w = self.get(ref.get("kind"), ref.get("name"))
            if w is None:
                self.add(h, f"scales {ref.get('kind')}/{ref.get('name')}, which does not exist")
                continue
            if h["spec"].get("minReplicas", 1) > h["spec"]["maxReplicas"]:
                self.add(h, "minReplicas is above maxReplicas")
            for m in h["spec"].get("metrics") or []:
                name = (m.get("resource") or {}).get("name")
                if m.get("type") == "Resource" and name:
                    for pod in pod_specs(w):
                        for c in pod.get("containers") or []:
                            if name not in ((c.get("resources") or {}).get("requests") or {}):
                                self.add(h, f"scales on {name}, but container {c['name']} requests no {name}")
        for b in self.of_kind("PodDisruptionBudget"):
            targets = self.selected(b["spec"].get("selector"))
            if not targets:
                self.add(b, "selects no pods")
            for w in targets:
                fewest, _ = self.replica_range(w)
                need = b["spec"].get("minAvailable")
                if isinstance(need, int) and fewest <= need:
                    self.add(b, f"minAvailable {need} with {fewest} replica(s) of {w['metadata']['name']} "
                                "blocks every eviction (node drains hang)")

    def check_ingresses(self):
        for ing in self.of_kind("Ingress"):
            for rule in ing["spec"].get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    backend = (path.get("backend") or {}).get("service") or {}
                    svc = self.get("Service", backend.get("name"))
                    if svc is None:
                        self.add(ing, f"backend Service {backend.get('name')} does not exist")
                        continue
                    port = backend.get("port") or {}
                    if not any(p.get("name") == port.get("name") if "name" in port else p.get("port") == port.get("number")
                               for p in svc["spec"].get("ports") or []):
                        self.add(ing, f"Service {backend.get('name')} has no port {port}")

    def check_secrets(self):
        """Secret references: every key a pod takes must exist where the Secret is rendered; an
        overlay that renders Secrets renders all the pods need (TLS Secrets of Ingresses aside)."""
        secrets = {s["metadata"]["name"]: s for s in self.of_kind("Secret")}
        needed = {}
        for w in self.workloads:
            for pod in pod_specs(w):
                for v in pod.get("volumes") or []:
                    refs = []
                    if "secret" in v:
                        refs.append((v["secret"].get("secretName"), v["secret"].get("items"), v["secret"].get("optional")))
                    for s in (v.get("projected") or {}).get("sources") or []:
                        if "secret" in s:
                            refs.append((s["secret"].get("name"), s["secret"].get("items"), s["secret"].get("optional")))
                    for name, items, optional in refs:
                        needed.setdefault(name, []).append((w, items, optional))
        for name, uses in sorted(needed.items()):
            secret = secrets.get(name)
            if secret is None:
                if secrets:
                    for w, _, optional in uses:
                        if not optional:
                            self.add(w, f"Secret {name} is rendered nowhere in this overlay")
                continue
            for w, items, _ in uses:
                for item in items or []:
                    if item["key"] not in (secret.get("data") or {}):
                        self.add(w, f"Secret {name} has no key {item['key']}")

    def check_redis(self):
        for w in self.workloads:
            for pod in pod_specs(w):
                for c in pod.get("containers") or []:
                    words = " ".join((c.get("command") or []) + (c.get("args") or []))
                    if "redis-server" not in words:
                        continue
                    if not re.search(r"--appendonly\s+yes", words):
                        self.add(w, "redis-server without --appendonly yes")
                    m = re.search(r"--appendfsync\s+(\w+)", words)
                    if not m or m.group(1) not in ("everysec", "always"):
                        self.add(w, "redis-server without --appendfsync everysec (or always)")
                    d = re.search(r"--dir\s+(\S+)", words)
                    claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates") or []}
                    if not d or not any(m["mountPath"] == d.group(1) and m["name"] in claims
                                        for m in c.get("volumeMounts") or []):
                        self.add(w, "redis-server's --dir is not on a volume from volumeClaimTemplates")
                    if "requirepass" not in words:
                        self.add(w, "redis-server without a password (requirepass)")


# ---- main -------------------------------------------------------------------------------------

def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    k8s = os.path.join(root, "k8s")
    problems = Problems()
    nfiles = check_files(k8s, problems)
    sources = Sources(root)
    with open(os.path.join(k8s, "Containerfile"), encoding="utf-8") as f:
        containerfile = f.read()
    kubectl = shutil.which("kubectl")
    renderer = "kubectl kustomize and check.py's subset" if kubectl else "check.py's kustomize subset"
    roots = sorted(os.path.relpath(d, k8s) for d in kustomization_dirs(k8s))
    counts = []
    with tempfile.TemporaryDirectory(prefix="cityhub-k8s-check-") as tmp:
        copy_root = placeholder_copy(k8s, tmp)
        for rel in roots:
            d = os.path.join(copy_root, rel)
            name = rel.replace(os.sep, "/").removeprefix("overlays/")
            try:
                own = render_own(d)
            except (ValueError, KeyError, TypeError, OSError, yaml.YAMLError) as e:
                problems.add(name, f"cannot render with check.py's subset: {e}")
                continue
            objs = own
            if kubectl:
                try:
                    objs = render_kubectl(kubectl, d)
                except (ValueError, subprocess.SubprocessError, yaml.YAMLError) as e:
                    problems.add(name, str(e))
                    continue
                gen = generated_names(d)
                a, b = canonical(objs, gen), canonical(own, gen)
                for key in sorted(set(a) | set(b), key=str):
                    if a.get(key) != b.get(key):
                        problems.add(name, f"{key[0]}/{key[1]}: check.py's renderer differs from kubectl "
                                           "kustomize; keep to the subset or extend check.py")
            Rendering(name, objs, sources, containerfile, problems).run()
            counts.append(f"{name} ({len(objs)} objects)")
    if problems.items:
        for p in problems.items:
            print(f"k8s check: {p}")
        print(f"k8s check: {len(problems.items)} problem(s)")
        return 1
    print(f"k8s check: {nfiles} YAML files; rendered with {renderer}: {', '.join(counts)}; all invariants hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
