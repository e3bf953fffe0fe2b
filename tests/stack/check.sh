#!/usr/bin/env bash
# The README's first command, checked: infra/scripts/stack --check starts Redis (AOF), the SMTP
# sink, the three services and the gateway on free ports in a temporary data directory, checks
# that they answer, and stops them all cleanly. This test then looks at what it left behind.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/infra/scripts/lib.sh"
data=$(mktemp -d /tmp/cityhub-stack-check.XXXXXX)
trap 'rm -rf "$data"' EXIT

gateway_port=$(free_port)
redis_port=$(free_port)
out=$(CITYHUB_DATA_DIR=$data CITYHUB_PORT_BASE=$(free_port_base) CITYHUB_LOCAL_REDIS_PORT=$redis_port \
  CITYHUB_LOCAL_SMTP_PORT=$(free_port) CITYHUB_GATEWAY_ADDR=127.0.0.1:$gateway_port \
  "$root/infra/scripts/stack" --check 2>&1) || { echo "$out"; echo "FAIL: stack --check exited non-zero"; exit 1; }
echo "$out"

fail() { echo "FAIL: $*"; exit 1; }
for want in "redis://127.0.0.1:$redis_port (AOF everysec)" "accounts " "requests " "notifications " \
  "http://127.0.0.1:$gateway_port" "password in $data/secrets/admin-password" "stack: check passed" "stack: stopped"; do
  grep -qF -- "$want" <<<"$out" || fail "the output does not say '$want'"
done
# Redis kept its data as an append-only file under the data directory.
compgen -G "$data/redis/appendonlydir/*.aof" >/dev/null || fail "no AOF under $data/redis"
# Secrets are private, and nothing is left running.
[[ $(stat -c %a "$data/secrets") == 700 ]] || fail "secrets/ is not private"
compgen -G "$data/run/*.pid" >/dev/null && fail "pid files left in $data/run"
(exec 3<>"/dev/tcp/127.0.0.1/$gateway_port") 2>/dev/null && fail "the gateway still answers after the stop"
(exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && fail "Redis still answers after the stop"
echo "stack check: ok"
