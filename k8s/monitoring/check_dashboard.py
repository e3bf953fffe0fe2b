#!/usr/bin/env python3
"""Structural check of the Grafana dashboard, and the metric names it and the rules use.

    python3 k8s/monitoring/check_dashboard.py REPO_ROOT OUT_RULES_FILE

- dashboard.json is valid JSON with a uid, title, schemaVersion and panels; every panel has a
  unique id, a type, a title and a gridPos inside the 24-column grid; every non-row, non-text
  panel has a Prometheus datasource and targets with a refId and an expr;
- every expr is written, Grafana's variables replaced, as a recording rule into OUT_RULES_FILE,
  which ./check hands to `promtool check rules` (promtool parses whole rule files only);
- every metric the dashboard and cityhub.rules.yml name is one our binaries export (their
  AddCounter/AddGauge/AddHistogram calls), a recording rule of cityhub.rules.yml, or one of the
  exporters' they depend on (redis_exporter redis_*, kube-state-metrics kube_*, Prometheus up).
Exits 1 with one line per problem.
"""
import json
import os
import re
import sys

import yaml

EXTERNAL = re.compile(r"^(redis_|kube_|up$)")
KEYWORDS = {"by", "without", "and", "or", "unless", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "inf", "nan"}
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$namespace": "cityhub"}


def exported_metrics(root):
    names = set()
    call = re.compile(r'Add(Counter|Gauge|Histogram)\(\s*"([a-z_:][a-z0-9_:]*)"')
    for top in ("services", "gateway", "infra"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                # Sources and headers: a service's metrics are declared together in one struct.
                if f.endswith((".cc", ".h")) and not f.endswith(("_test.cc", "_bench.cc", "_fuzz.cc")):
                    with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                        for kind, name in call.findall(fh.read()):
                            names.add(name)
                            if kind == "Histogram":
                                names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        if m.group(2) or m.group(1).lower() in KEYWORDS:
            continue
        names.add(m.group(1))
    return names


def main(argv):
    root, out = argv[1], argv[2]
    here = os.path.join(root, "k8s", "monitoring")
    problems = []
    try:
        with open(os.path.join(here, "dashboard.json"), encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"dashboard.json: not valid JSON: {e}")
        return 1
    for key in ("uid", "title", "schemaVersion", "panels"):
        if key not in dash:
            problems.append(f"dashboard.json: no {key}")
    ids, exprs = set(), []
    for p in dash.get("panels") or []:
        where = f"panel {p.get('id')} ({p.get('title')!r})"
        if p.get("id") in ids:
            problems.append(f"{where}: id used twice")
        ids.add(p.get("id"))
        for key in ("type", "title", "gridPos"):
            if not p.get(key):
                problems.append(f"{where}: no {key}")
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")) or g.get("x", 0) + g.get("w", 0) > 24:
            problems.append(f"{where}: gridPos {g} is not inside the 24-column grid")
        if p.get("type") in ("row", "text"):
            continue
        if (p.get("datasource") or {}).get("type") != "prometheus":
            problems.append(f"{where}: datasource is not Prometheus")
        if not p.get("targets"):
            problems.append(f"{where}: no targets")
        for t in p.get("targets") or []:
            if not t.get("refId") or not t.get("expr"):
                problems.append(f"{where}: a target without refId or expr")
                continue
            expr = t["expr"]
            for var, value in GRAFANA_VARS.items():
                expr = expr.replace(var, value)
            if "$" in expr:
                problems.append(f"{where}: {t['refId']}: unknown Grafana variable in {t['expr']!r}")
            exprs.append((f"{where} {t['refId']}", expr))
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard-panels", "rules": [
            {"record": f"dashboard:panel_{i}", "expr": e} for i, (_, e) in enumerate(exprs)]}]}, f)

    known = exported_metrics(root)
    with open(os.path.join(here, "cityhub.rules.yml"), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    rule_exprs = []
    for g in rules["groups"]:
        for r in g["rules"]:
            if "record" in r:
                known.add(r["record"])
            rule_exprs.append((f"rule {r.get('record') or r.get('alert')}", r["expr"]))
    for where, expr in exprs + rule_exprs:
        for name in sorted(metric_names(expr)):
            if name not in known and not EXTERNAL.match(name):
                problems.append(f"{where}: {name} is exported by no binary (services/, gateway/, infra/) "
                                "and is no recording rule or exporter metric")
    for p in problems:
        print(f"dashboard check: {p}")
    if not problems:
        print(f"dashboard check: {len(dash['panels'])} panels, {len(exprs)} queries; "
              f"metric names of {len(exprs) + len(rule_exprs)} queries and rules known")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
