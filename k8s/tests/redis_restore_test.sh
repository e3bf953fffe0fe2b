#!/usr/bin/env bash
# k8s/redis-backup's save and restore steps on real redis-servers (CTest k8s_redis_restore):
# a Redis run as in k8s/base/redis.yaml (AOF, everysec, no RDB schedule, a password) gets
# strings, a hash, a set and an event stream with a consumer group; `save` takes a snapshot;
# a write after it must not come back. `restore` fills a fresh, empty data directory; a Redis
# started there as in production (AOF on) holds exactly the snapshot's data, and still does
# after a restart from its AOF alone (the snapshot file removed).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/infra/scripts/lib.sh"
backup=$root/k8s/redis-backup
work=$(mktemp -d /tmp/cityhub-redis-restore.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export REDISCLI_AUTH=backup-test-password
fail() { echo "FAIL: $*"; exit 1; }

start_redis() {  # DIR PORT: as k8s/base/redis.yaml runs it
  printf 'requirepass %s\n' "$REDISCLI_AUTH" >"$1.conf"
  redis-server "$1.conf" --port "$2" --bind 127.0.0.1 --dir "$1" --appendonly yes \
    --appendfsync everysec --save "" --maxmemory 64mb --maxmemory-policy noeviction \
    --logfile "$1.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    [[ $(redis-cli -p "$2" PING 2>/dev/null) == PONG ]] && return
    sleep 0.1
  done
  cat "$1.log"; fail "redis-server on $2 did not start"
}
stop_redis() {  # PORT
  redis-cli -p "$1" SHUTDOWN >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do redis-cli -p "$1" PING >/dev/null 2>&1 || return 0; sleep 0.1; done
  fail "redis-server on $1 did not stop"
}
# The keys have the names and types of the services' own (services/*/keys.h,
# infra/events/streams.h); the values are made up.
fingerprint() {  # PORT: the test's data, one line per fact
  local c=(redis-cli -p "$1")
  echo "dbsize $("${c[@]}" DBSIZE)"
  echo "string $("${c[@]}" GET 'requests:request:{42}')"
  echo "hash $("${c[@]}" HGETALL 'accounts:account:{1}' | tr '\n' ' ')"
  echo "set $("${c[@]}" SMEMBERS 'notifications:followers:{42}' | sort | tr '\n' ' ')"
  echo "stream $("${c[@]}" XLEN requests:events) $("${c[@]}" XRANGE requests:events - + | tr '\n' ' ')"
  echo "groups $("${c[@]}" XINFO GROUPS requests:events | tr '\n' ' ')"
  echo "ttl $("${c[@]}" TTL 'accounts:verify:{abc}' | sed 's/^[0-9]\{4,\}$/long/')"
}

# -- a production-like Redis with data ---------------------------------------------------------
a=$work/a; mkdir -p "$a"; port_a=$(free_port)
start_redis "$a" "$port_a"
c=(redis-cli -p "$port_a")
"${c[@]}" SET 'requests:request:{42}' 'Schlagloch, status open' >/dev/null
"${c[@]}" HSET 'accounts:account:{1}' email x@example.org roles citizen >/dev/null
"${c[@]}" SADD 'notifications:followers:{42}' a b c >/dev/null
"${c[@]}" SET 'accounts:verify:{abc}' 1 EX 86400 >/dev/null
for i in $(seq 1 50); do "${c[@]}" XADD requests:events '*' kind created id "$i" >/dev/null; done
"${c[@]}" XGROUP CREATE requests:events notifications 0 >/dev/null
"${c[@]}" XREADGROUP GROUP notifications n1 COUNT 10 STREAMS requests:events '>' >/dev/null
expected=$(fingerprint "$port_a")

# -- save ----------------------------------------------------------------------------------------
CITYHUB_REDIS_BACKUP_LOCAL=$a CITYHUB_REDIS_BACKUP_PORT=$port_a "$backup" save "$work/snapshot.rdb"
[[ -s $work/snapshot.rdb ]] || fail "no snapshot"
"${c[@]}" SET written:after:backup 1 >/dev/null   # must not come back
stop_redis "$port_a"

# -- restore into a fresh directory, start as in production ------------------------------------
b=$work/b; mkdir -p "$b"
CITYHUB_REDIS_BACKUP_LOCAL=$b "$backup" restore "$work/snapshot.rdb"
[[ -d $b/appendonlydir ]] || fail "restore left no AOF in $b"
port_b=$(free_port)
start_redis "$b" "$port_b"
got=$(fingerprint "$port_b")
[[ $got == "$expected" ]] || fail "restored data differs:"$'\n'"expected: $expected"$'\n'"got:      $got"
[[ $(redis-cli -p "$port_b" EXISTS written:after:backup) == 0 ]] || fail "a write after the snapshot came back"
echo "ok: the snapshot's data is back ($(head -1 <<<"$got"))"

# -- and survives a restart from the AOF alone ----------------------------------------------------
stop_redis "$port_b"
rm -f "$b/dump.rdb"
start_redis "$b" "$port_b"
got=$(fingerprint "$port_b")
[[ $got == "$expected" ]] || fail "after a restart from the AOF the data differs: $got"
echo "ok: a restart from the AOF alone keeps it"

# -- restore over a used directory keeps the old AOF aside ----------------------------------------
stop_redis "$port_b"
CITYHUB_REDIS_BACKUP_LOCAL=$b "$backup" restore "$work/snapshot.rdb" >/dev/null
[[ -d $b/appendonlydir.before-restore ]] || fail "the previous AOF was not kept aside"
echo "ok: restoring over a used data directory keeps its AOF in appendonlydir.before-restore"
echo "redis restore: 3 passed, 0 failed"
