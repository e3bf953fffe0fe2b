#!/usr/bin/env bash
# Runs the SDK's integration tests against a real local stack: starts Redis, the SMTP sink, the
# three services and the gateway on free ports (infra/scripts/stack with the binaries of
# CITYHUB_BUILD_DIR, default ../../build), runs test/integration/, and always stops the stack.
set -euo pipefail
pkg=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$pkg/../.." && pwd)
build=$(cd "${CITYHUB_BUILD_DIR:-$pkg/../../build}" && pwd)

for bin in gateway/gateway services/accounts/accounts services/requests/requests \
  services/notifications/notifications; do
  if [[ ! -x $build/$bin ]]; then
    echo "integration: $build/$bin is missing; build the stack first" >&2
    exit 2
  fi
done

# shellcheck source=/dev/null
source "$root/infra/scripts/lib.sh"
data=$(mktemp -d "${TMPDIR:-/tmp}/cityhub-sdk-it.XXXXXX")
gateway_addr=127.0.0.1:$(free_port)
stack_pid=
stop() {
  local rc=$?
  if [[ -n $stack_pid ]]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  if ((rc == 0)); then
    rm -rf "$data"
  else
    echo "integration: failed; the stack's logs are in $data/logs" >&2
  fi
  exit "$rc"
}
trap stop EXIT
trap 'exit 130' INT TERM

CITYHUB_BUILD_DIR=$build CITYHUB_DATA_DIR=$data CITYHUB_SKIP_BUILD=1 \
  CITYHUB_PORT_BASE=$(free_port_base) CITYHUB_LOCAL_REDIS_PORT=$(free_port) \
  CITYHUB_LOCAL_SMTP_PORT=$(free_port) CITYHUB_GATEWAY_ADDR=$gateway_addr \
  CITYHUB_RATE_LIMITS=false CITYHUB_WEB_DIR='' \
  "$root/infra/scripts/stack" >"$data/stack.out" 2>&1 &
stack_pid=$!

# Ready when every backend answers its health check (the launcher waits for each process).
for _ in $(seq 1 600); do
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    echo "integration: the stack did not start:" >&2
    cat "$data/stack.out" >&2
    exit 1
  fi
  curl -fsS "http://$gateway_addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$gateway_addr/readyz" >/dev/null

cd "$pkg"
# Its own output directory: `npm test` may compile the unit tests at the same time (ctest -j).
out=.test-build-integration
rm -rf "$out"
node node_modules/typescript/bin/tsc -p tsconfig.test.json --outDir "$out"
CITYHUB_TEST_BASE_URL=http://$gateway_addr \
  CITYHUB_TEST_MAIL_DIR=$data/mail \
  CITYHUB_TEST_ADMIN_PASSWORD_FILE=$data/secrets/admin-password \
  node --test "$out"/test/integration/*.test.js
