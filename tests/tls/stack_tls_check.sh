#!/usr/bin/env bash
# The whole stack with TLS on, as production would run it (CITYHUB_TLS=1 infra/scripts/stack):
# Redis only on a TLS port wanting client certificates, mutual TLS between the components, each
# component signed in to Redis as its own ACL user from k8s/base/config/redis-users.acl. A
# resident's first steps go through every component, Redis and the event streams; then the
# consumer groups have read everything, Redis has no plaintext port, a component's user cannot
# touch another's keys, and no log says a connection or a permission was refused.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/infra/scripts/lib.sh"
data=$(mktemp -d /tmp/cityhub-tls-stack.XXXXXX)
gateway=127.0.0.1:$(free_port)
redis_port=$(free_port)

CITYHUB_TLS=1 CITYHUB_DATA_DIR=$data CITYHUB_SKIP_BUILD=1 CITYHUB_PORT_BASE=$(free_port_base) \
  CITYHUB_LOCAL_REDIS_PORT=$redis_port CITYHUB_LOCAL_SMTP_PORT=$(free_port) \
  CITYHUB_GATEWAY_ADDR=$gateway "$root/infra/scripts/stack" >"$data/stack.out" 2>&1 &
stack=$!
cleanup() {
  kill -TERM "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$data"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  cat "$data/stack.out"
  tail -n 20 "$data"/logs/*.log
  exit 1
}

for _ in $(seq 1 600); do
  grep -qs "stack: running" "$data/stack.out" && break
  kill -0 "$stack" 2>/dev/null || fail "the stack exited"
  sleep 0.1
done
grep -q "stack: running" "$data/stack.out" || fail "the stack did not come up"
grep -qF "rediss://127.0.0.1:$redis_port" "$data/stack.out" || fail "the stack does not say rediss://"

tls=$data/tls
admin_cli=(env REDISCLI_AUTH="$(cat "$data/secrets/redis-admin-password")" redis-cli -p "$redis_port"
  --tls --cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client.key")
api() {  # api METHOD PATH [BODY] [TOKEN]: prints the body, fails on an HTTP error
  curl -fsS -X "$1" "http://$gateway$2" -H 'content-type: application/json' \
    ${4:+-H "authorization: Bearer $4"} ${3:+--data "$3"}
}

# gateway → services: gRPC over mutual TLS.
ready=$(api GET /readyz) || fail "/readyz: $ready"
[[ $(grep -o SERVING <<<"$ready" | wc -l) == 3 && $ready != *NOT_SERVING* ]] ||
  fail "not every backend serves: $ready"
# accounts (Redis, token signing), requests (catalogue), notifications (token check via JWKS).
password=$(cat "$data/secrets/admin-password")
token=$(api POST /v1/sessions "{\"email\":\"admin@bielefeld.de\",\"password\":\"$password\"}" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') ||
  fail "the admin cannot sign in"
api GET /v1/services >/dev/null || fail "GET /v1/services"
api GET /v1/notifications "" "$token" >/dev/null || fail "GET /v1/notifications"
# accounts:events → notifications (a verification mail) and requests.
api POST /v1/accounts '{"email":"anna@example.org","password":"Laterne-am-Jahnplatz-7","display_name":"Anna","language":"de"}' \
  >/dev/null || fail "registration"
for _ in $(seq 1 100); do
  compgen -G "$data/mail/*.eml" >/dev/null && break
  sleep 0.1
done
compgen -G "$data/mail/*.eml" >/dev/null || fail "no verification mail"
caught_up() {  # both consumer groups of accounts:events have read all of it
  "${admin_cli[@]}" XINFO GROUPS accounts:events | /usr/bin/python3 -c '
import sys
words, lag, name = sys.stdin.read().split("\n"), {}, None
for i, w in enumerate(words[:-1]):
    if w == "name": name = words[i + 1]
    if w == "lag": lag[name] = words[i + 1]
sys.exit(0 if lag.get("requests") == "0" and lag.get("notifications") == "0" else 1)'
}
for _ in $(seq 1 100); do caught_up && break; sleep 0.1; done
caught_up || fail "the consumer groups of accounts:events lag: $("${admin_cli[@]}" XINFO GROUPS accounts:events)"

# Redis: no plaintext port; a component's user stays in its keyspace.
redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && fail "Redis answers plaintext"
gateway_cli=(env REDISCLI_AUTH="$(cat "$data/secrets/redis-gateway-password")" redis-cli
  -p "$redis_port" --user gateway --tls --cacert "$tls/ca.pem" --cert "$tls/client.pem"
  --key "$tls/client.key")
[[ $("${gateway_cli[@]}" ping) == PONG ]] || fail "the gateway's Redis user cannot sign in"
"${gateway_cli[@]}" GET accounts:email:{anna} | grep -q NOPERM || fail "the gateway reads accounts keys"

if grep -lE 'NOPERM|WRONGPASS|NOAUTH|redis_down|live_subscribe_failed|handshake' "$data"/logs/*.log; then
  fail "a log says a Redis connection or permission was refused"
fi
echo "stack with TLS: ok"
