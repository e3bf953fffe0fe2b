#!/usr/bin/env bash
# Each manifest check fails on a manifest broken for it (CTest k8s_verify_rejects_broken):
#   unknown-field.yaml, wrong-type.yaml  the schema step (kubernetes-validate --strict)
#   lint.yaml                            the lint step (kube-score)
#   incoherent.yaml                      the coherence step (k8s/check.py)
# and says why: each run's output must name the fault.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
verify=$here/../verify
failures=0
expect_failure() {  # STEP FILE PATTERN
  local out
  if out=$("$verify" --step "$1" --files "$(basename "$2" .yaml)" "$here/$2" 2>&1); then
    echo "FAIL: the $1 step accepted $2"; echo "$out" | sed 's/^/    /'; failures=$((failures + 1))
  elif ! grep -Eq "$3" <<<"$out"; then
    echo "FAIL: the $1 step rejected $2, but its output does not match /$3/"; echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok: the $1 step rejects $2 ($(grep -Eo "$3" <<<"$out" | head -1))"
  fi
}
expect_failure schema unknown-field.yaml "readinesProbe"
expect_failure schema wrong-type.yaml "'two' is not of type 'integer'"
expect_failure lint lint.yaml "Image with latest tag"
expect_failure lint lint.yaml "container is privileged"
expect_failure lint lint.yaml "CPU limit is not set|CPU request is not set"
expect_failure coherence incoherent.yaml "CITYHUB_NO_SUCH_SETTING is read nowhere"
expect_failure coherence incoherent.yaml "CITYHUB_GATEWAY_ADDR 0.0.0.0:9999 is not on a container port"
expect_failure coherence incoherent.yaml "redis-password is not under a mounted Secret"
echo "broken manifests: $((8 - failures)) passed, $failures failed"
((failures == 0))
