#!/usr/bin/env bash
# Browser tests of the resident app: builds it, starts the whole local stack (Redis, SMTP sink,
# services, gateway serving clients/web/dist) on free ports, runs the Playwright tests in Debian's
# Chromium at a phone viewport, and always stops the stack. Screenshots go to
# ${CITYHUB_ARTIFACTS_DIR:-clients/web/test-results}/screenshots/.
# Extra arguments go to `playwright test` (e.g. a file name or --grep).
set -euo pipefail

web=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(cd "$web/../.." && pwd)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CITYHUB_ARTIFACTS_DIR=${CITYHUB_ARTIFACTS_DIR:-$web/test-results}
mkdir -p "$CITYHUB_ARTIFACTS_DIR/screenshots"

cd "$web"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
[[ -x ${CITYHUB_CHROMIUM:-/usr/bin/chromium} ]] || { echo "run-browser-tests: ${CITYHUB_CHROMIUM:-/usr/bin/chromium} missing (infra/scripts/install-deps installs it)" >&2; exit 1; }
node build.mjs

# shellcheck source=/dev/null
source "$root/infra/scripts/lib.sh"
data=$(mktemp -d "${TMPDIR:-/tmp}/cityhub-web-test.XXXXXX")
gateway_addr=127.0.0.1:$(free_port)
log=$data/stack.out
stack_pid=
stop_stack() {
  if [[ -n $stack_pid ]] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$stack_pid" 2>/dev/null || true
  fi
  if [[ -n ${KEEP_DATA:-} ]]; then echo "run-browser-tests: data kept in $data"; else rm -rf "$data"; fi
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

CITYHUB_DATA_DIR=$data CITYHUB_SKIP_BUILD=1 CITYHUB_PORT_BASE=$(free_port_base) \
  CITYHUB_LOCAL_REDIS_PORT=$(free_port) CITYHUB_LOCAL_SMTP_PORT=$(free_port) \
  CITYHUB_GATEWAY_ADDR=$gateway_addr CITYHUB_RATE_LIMITS=false \
  CITYHUB_WEB_DIR=$web/dist CITYHUB_MAP_TILES_URL='https://tiles.cityhub.test/{z}/{x}/{y}.png' \
  CITYHUB_MAP_ATTRIBUTION='Test tiles' \
  "$root/infra/scripts/stack" >"$log" 2>&1 &
stack_pid=$!

for _ in $(seq 1 600); do
  grep -aq "stack: running" "$log" 2>/dev/null && break
  kill -0 "$stack_pid" 2>/dev/null || { cat "$log" >&2; echo "run-browser-tests: the stack did not start" >&2; exit 1; }
  sleep 0.1
done
grep -aq "stack: running" "$log" || { cat "$log" >&2; echo "run-browser-tests: the stack did not start in 60 s" >&2; exit 1; }
for _ in $(seq 1 100); do
  curl -fsS "http://$gateway_addr/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://$gateway_addr/" | grep -q 'name="cityhub-config"' || {
  tail -n 20 "$data/logs/gateway.log" >&2 2>/dev/null || echo "run-browser-tests: no gateway log (is ${CITYHUB_BUILD_DIR:-$root/build}/gateway/gateway built?)" >&2
  echo "run-browser-tests: the gateway does not serve the app at / (CITYHUB_WEB_DIR)" >&2
  exit 1
}

export CITYHUB_WEB_BASE_URL=http://$gateway_addr
export CITYHUB_MAIL_DIR=$data/mail
export CITYHUB_ADMIN_PASSWORD_FILE=$data/secrets/admin-password
export CITYHUB_ADMIN_EMAIL=admin@bielefeld.de
echo "run-browser-tests: app at $CITYHUB_WEB_BASE_URL, mails in $CITYHUB_MAIL_DIR"

status=0
npx playwright test --config test/playwright.config.ts "$@" || status=$?
echo "run-browser-tests: screenshots in $CITYHUB_ARTIFACTS_DIR/screenshots/"
exit $status
