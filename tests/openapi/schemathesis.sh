#!/usr/bin/env bash
# Property-based check of /openapi.json against a running local stack with schemathesis (PyPI):
# every request the document calls valid must be accepted, and none may end in a server error.
# Runs twice, anonymously and with a signed-in citizen's bearer token, over the routes the
# resident web app uses (no admin or operator routes, not the destructive me:delete, not the
# never-ending event stream). Prints the failures of every check per run and exits non-zero when a
# "schema-valid request rejected" case (ST202) or a server error (ST101) remains.
#
#   tests/openapi/schemathesis.sh      (CTest: openapi_schemathesis, label slow)
#
# Settings (environment): CITYHUB_BUILD_DIR (build/; its binaries are used as they are unless
# CITYHUB_SKIP_BUILD is set empty), ST_MAX_EXAMPLES (50 per operation and phase), ST_SEED (1),
# ST_REPORT_DIR ($build/schemathesis-report: logs and NDJSON reports). The pinned schemathesis is
# installed into $build/schemathesis-venv, and reused from there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/openapi
source "$root/infra/scripts/lib.sh"
build=${CITYHUB_BUILD_DIR:-$root/build}
export CITYHUB_BUILD_DIR=$build
version=4.32.5
venv=$build/schemathesis-venv
started=$(date +%s)

if [[ $("$venv/bin/st" --version 2>/dev/null) != *"version $version" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

data=$(mktemp -d /tmp/cityhub-schemathesis.XXXXXX)
gateway_addr=127.0.0.1:$(free_port)
base=http://$gateway_addr
stack_pid=
trap 'stop_test_stack "$data"' EXIT

start_test_stack "$data" "$gateway_addr"

session=$(python3 "$here/session.py" "$base" "$data")
token= password= media_id=
eval "$session"  # token=..., password=..., media_id=... (shell-quoted)

report_dir=${ST_REPORT_DIR:-$build/schemathesis-report}
mkdir -p "$report_dir"
# The routes of the resident app (accounts, sessions, me, password resets, services, media,
# requests with comments/follow/suggestDuplicates, notifications with preferences and devices).
include='^/v1/(accounts(:verifyEmail)?|sessions.*|me(:export|:changePassword|:resendVerification|/requests|/notificationPreferences)?|passwordResets.*|services.*|media.*|requests.*|notifications.*|devices.*)$'
excluded_ops=(
  AccountsService_DeleteMe            # erases the account the run signs in with
  NotificationsService_StreamNotifications  # an event stream never ends
  RequestsService_CreateService RequestsService_UpdateService  # admin
  RequestsService_TransitionRequest   # operators
)
# Hooks (st_hooks.py) drop generated data that breaks the rules across fields the document states
# in words, and fill in what depends on the stack's state (catalogue, uploaded photo, password).
export ST_BASE_URL=$base ST_MEDIA_ID=$media_id
run() {
  local name=$1
  shift
  local args=(run "$base/openapi.json" --url "$base" --include-path-regex "$include"
    --phases examples,coverage,fuzzing --mode positive
    --checks not_a_server_error,positive_data_acceptance,status_code_conformance,content_type_conformance,response_schema_conformance
    --max-examples "${ST_MAX_EXAMPLES:-50}" --seed "${ST_SEED:-1}" --workers 2 --request-timeout 10
    --generation-database none --suppress-health-check all --no-color
    --report ndjson --report-ndjson-path "$report_dir/$name.ndjson")
  for op in "${excluded_ops[@]}"; do args+=(--exclude-operation-id "$op"); done
  SCHEMATHESIS_HOOKS=st_hooks PYTHONPATH=$here "$venv/bin/st" "${args[@]}" "$@" \
    >"$report_dir/$name.log" 2>&1 || true
}
export ST_PASSWORD= ST_VERIFIED_ACCOUNT=0
run anonymous
export ST_PASSWORD=$password ST_VERIFIED_ACCOUNT=1
run signed-in -H "Authorization: Bearer $token"

# The token still works: a run that signed itself out would have tested 401s only.
curl -sf -o /dev/null -H "Authorization: Bearer $token" "$base/v1/me" ||
  echo "WARNING: the signed-in run's token stopped working during the run"

status=0
for name in anonymous signed-in; do
  python3 "$here/st_counts.py" "$name" "$report_dir/$name.ndjson" "$report_dir/$name.log" || status=1
done
echo "schemathesis.sh: $(( $(date +%s) - started )) s; logs in $report_dir"
exit $status
