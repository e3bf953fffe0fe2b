"""Counts the failures of one schemathesis run from its NDJSON report, as schemathesis.sh prints them.

Usage: st_counts.py <name> <report.ndjson> <run log>
Prints the number of unique failures per kind (schemathesis' own deduplication: operation, failure
code and status) and, for "schema-valid request rejected" (ST202) and server errors, each case with
the answer's message. Exits 1 when any ST202 or server error (5xx on a valid request) remains."""

import base64
import collections
import json
import sys

FAILING = {"ST202": "schema-valid request rejected", "ST101": "server error"}


def main():
    name, report, log = sys.argv[1:4]
    unique = {}
    cases = 0
    for line in open(report, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        cases += len(recorder.get("cases", {}))
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                info = check.get("failure_info")
                if check["status"] != "failure" or not info:
                    continue
                failure = info["failure"]
                response = recorder.get("interactions", {}).get(case_id, {}).get("response") or {}
                status = response.get("status_code")
                key = (failure["code"], failure["operation"], status)
                if key in unique:
                    continue
                content = response.get("content") or {}
                body = base64.b64decode(content.get("$base64", "")).decode("utf-8", "replace")
                request = recorder.get("interactions", {}).get(case_id, {}).get("request") or {}
                sent = base64.b64decode((request.get("body") or {}).get("$base64", "")).decode("utf-8", "replace")
                unique[key] = (failure["title"], request.get("uri", ""), sent[:300], body[:300])
    kinds = collections.Counter((code, title) for (code, _, _), (title, *_rest) in unique.items())
    print(f"== {name}: {cases} test cases, {len(unique)} unique failures")
    for (code, title), n in sorted(kinds.items()):
        print(f"   {code} {title}: {n}")
    bad = 0
    for (code, operation, status), (title, uri, sent, body) in sorted(unique.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        verbose = code in FAILING or "-v" in sys.argv
        if code in FAILING:
            bad += 1
        if verbose:
            print(f"   {code} {operation} -> {status}: {body}\n      sent {uri} {sent}")
    print(f"   {name}: valid requests rejected: {sum(1 for k in unique if k[0] == 'ST202')}, "
          f"server errors: {sum(1 for k in unique if k[0] == 'ST101')}")
    if cases == 0:
        print(f"   {name}: no test case ran; see {log}")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
