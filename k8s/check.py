#!/usr/bin/env python3
"""What no tool checks in cityhub's Kubernetes manifests: their coherence with our own code.

    python3 k8s/check.py REPO_ROOT RENDERING.yaml...     (k8s/verify runs it; CTest k8s_manifests)

Each RENDERING.yaml is one `kustomize build` output (named by its file name: base, local,
production, monitoring). The schemas (kubernetes-validate) and the generic policies (kube-score:
resources, probes present, read-only root, seccomp, image tags, selectors that select, ...) are
checked by k8s/verify with those tools; this file checks what only this repository knows:

- every CITYHUB_* variable set for a container is one the binary it runs reads (from the C++
  sources), secrets reach it only as files from a mounted Secret that has that key, and a file
  that is not a secret is one k8s/Containerfile puts into the image;
- listen and metrics addresses are container ports; the services' probes are gRPC health on
  their listen port, the gateway's probe paths are paths it serves; addresses it dials are a
  Service and a port; Service target ports are pod ports, and NetworkPolicies let them in
  (with a default-deny policy); prometheus.io/port and ServiceMonitor/PodMonitor ports exist;
- drain times fit in terminationGracePeriodSeconds; disruption budgets and ReadWriteOnce volumes
  fit the replica counts; HPAs scale on resources the containers request;
- policies kube-score has no test for: runAsNonRoot, no privilege escalation, capabilities
  dropped, no host namespaces or hostPath; every object in the cityhub namespace; no Secret
  with values committed under k8s/; Redis with an AOF on its volume and a password.

Prints one line per problem and exits 1 when there is any; otherwise a summary, exit 0.
Needs PyYAML (Debian: python3-yaml).
"""

import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("k8s/check.py needs PyYAML (Debian package python3-yaml)")

NAMESPACE = "cityhub"
# Files the manifests name that are not secrets (every other *_FILE variable must be a secret
# file from a mounted Secret).
NON_SECRET_FILE_VARS = {"CITYHUB_CATALOGUE_SEED_FILE", "CITYHUB_BOUNDARY_SEED_FILE",
                        "CITYHUB_DISTRICTS_SEED_FILE"}
# Variable names that look like they carry a secret; they must end in _FILE.
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|PRIVATE|SIGNING_KEY|_AUTH\b|_AUTH_")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "PriorityClass"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def check_committed_secrets(k8s, problems):
    """No Secret with values in a file under k8s/ (the secrets/ folders are git-ignored)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(k8s):
        dirnames[:] = sorted(d for d in dirnames if d != "secrets")
        for name in sorted(filenames):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(dirpath, name)
            count += 1
            try:
                docs = load_docs(path)
            except yaml.YAMLError as e:
                problems.add(os.path.relpath(path, k8s), f"not valid YAML: {e}")
                continue
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                    problems.add(os.path.relpath(path, k8s),
                                 f"Secret {doc['metadata'].get('name')} has values committed; "
                                 "generate it from files (k8s/make-secrets) or create it out of band")
    return count


def pod_specs(obj):
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        yield template["spec"]


def all_containers(pod):
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


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
        # Paths the gateway serves: every quoted "/..." in its sources.
        self.gateway_paths = set().union(
            *[set(re.findall(r'"(/[A-Za-z0-9_./-]*)"', t)) for r, t in files.items() if r.startswith("gateway/")])


# ---- the invariants ---------------------------------------------------------------------------

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
        self.check_secrets()
        self.check_redis()
        self.check_monitors()

    def check_workload(self, w):
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
        annotations = w.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
        prom = annotations.get("prometheus.io/port")
        if prom and int(prom) not in self.container_ports([w]).values():
            self.add(w, f"prometheus.io/port {prom} is not a container port")

    def check_container(self, w, pod, pod_sc, c, volumes):
        where = f"container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            self.add(w, f"{where}: runAsNonRoot is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.add(w, f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            self.add(w, f"{where}: capabilities do not drop ALL")
        if (sc.get("capabilities") or {}).get("add"):
            self.add(w, f"{where}: adds capabilities")
        if not c.get("livenessProbe"):
            self.add(w, f"{where}: no livenessProbe")

        ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
        numbers = set(ports.values())
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            p = c.get(probe) or {}
            for kind in ("httpGet", "tcpSocket", "grpc"):
                if kind in p:
                    port = p[kind].get("port")
                    if port not in numbers and port not in ports:
                        self.add(w, f"{where}: {probe} port {port} is not a container port")
            path = (p.get("httpGet") or {}).get("path")
            if path and os.path.basename((c.get("command") or [""])[0]) == "gateway" \
                    and path not in self.sources.gateway_paths:
                self.add(w, f"{where}: {probe} asks for {path}, which the gateway does not serve")

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
                continue  # kube-score: service-targets-pod
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
            ports = self.container_ports(targets)
            for rule in p["spec"].get("ingress") or []:
                for peer in rule.get("from") or []:
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        if peer["podSelector"] != {} and not self.selected(peer["podSelector"]):
                            self.add(p, f"from.podSelector {peer['podSelector']} selects no pods")
                for rp in rule.get("ports") or []:
                    if targets and rp.get("port") not in ports:
                        self.add(p, f"port {rp.get('port')} is not a port of the pods it selects")

    def check_autoscalers_and_budgets(self):
        for h in self.hpas:
            ref = h["spec"]["scaleTargetRef"]
            w = self.get(ref.get("kind"), ref.get("name"))
            if w is None:
                continue  # kube-score: horizontalpodautoscaler-has-target
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


    def check_monitors(self):
        """Prometheus operator monitors scrape ports that exist (no schema knows these kinds)."""
        for m in self.of_kind("ServiceMonitor"):
            services = [s for s in self.of_kind("Service")
                        if labels_match(m["spec"].get("selector"), s["metadata"].get("labels") or {})]
            if not services:
                self.add(m, "selects no Service")
            for e in m["spec"].get("endpoints") or []:
                if not any(p.get("name") == e.get("port") for s in services for p in s["spec"].get("ports") or []):
                    self.add(m, f"endpoint port {e.get('port')!r} is a named port of none of the Services it selects")
        for m in self.of_kind("PodMonitor"):
            targets = self.selected(m["spec"].get("selector"))
            if not targets:
                self.add(m, "selects no pods")
            for e in m["spec"].get("podMetricsEndpoints") or []:
                if e.get("port") not in self.container_ports(targets):
                    self.add(m, f"podMetricsEndpoints port {e.get('port')!r} is a named port of none of its pods")


# ---- main -------------------------------------------------------------------------------------

def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    k8s = os.path.join(root, "k8s")
    problems = Problems()
    nfiles = check_committed_secrets(k8s, problems)
    sources = Sources(root)
    with open(os.path.join(k8s, "Containerfile"), encoding="utf-8") as f:
        containerfile = f.read()
    counts = []
    for path in argv[2:]:
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            objs = load_docs(path)
        except (OSError, yaml.YAMLError) as e:
            problems.add(name, f"cannot read: {e}")
            continue
        Rendering(name, objs, sources, containerfile, problems).run()
        counts.append(f"{name} ({len(objs)} objects)")
    if problems.items:
        for p in problems.items:
            print(f"k8s check: {p}")
        print(f"k8s check: {len(problems.items)} problem(s)")
        return 1
    print(f"k8s check: {nfiles} YAML files, no Secret values; coherent with the code: {', '.join(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
