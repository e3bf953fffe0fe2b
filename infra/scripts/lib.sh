# Shell helpers the scripts share (sourced, not run).

# A free TCP port on loopback.
# A free port outside the kernel's ephemeral range (an outgoing connection of another test could
# take a port bind(0) handed out before our server binds it) and above free_port_base's ranges;
# tests/harness/process.cc FreePort picks the same way.
free_port() {
  python3 - <<'PY'
import random, socket
low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
for _ in range(2000):
    port = random.randint(32200, 65535)
    if low <= port <= high:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port outside the ephemeral range")
PY
}

# A port base for infra/scripts/stack whose service ports (+1..+3) and metrics ports
# (+101..+103) are all free, below the kernel's ephemeral range so that ports other tests
# take with free_port cannot collide with it.
free_port_base() {
  local base off ok
  for base in $(shuf -i 110-320 -n 60); do
    base=$((base * 100))
    ok=1
    for off in 1 2 3 101 102 103; do
      python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' \
        $((base + off)) 2>/dev/null || { ok=0; break; }
    done
    if ((ok)); then echo "$base"; return 0; fi
  done
  echo "no free port range" >&2
  return 1
}

# Starts infra/scripts/stack in the background for a test script, with its data under $1 and
# the gateway on 127.0.0.1:$2, rate limits off, no web app, the built binaries as they are
# (unless CITYHUB_SKIP_BUILD is set empty); waits until it is up. Sets stack_pid; the caller
# stops it (kill -TERM "$stack_pid"; wait "$stack_pid").
start_test_stack() {
  local data=$1 gateway_addr=$2 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  CITYHUB_DATA_DIR=$data CITYHUB_SKIP_BUILD=${CITYHUB_SKIP_BUILD-1} CITYHUB_PORT_BASE=$(free_port_base) \
    CITYHUB_LOCAL_REDIS_PORT=$(free_port) CITYHUB_LOCAL_SMTP_PORT=$(free_port) \
    CITYHUB_GATEWAY_ADDR=$gateway_addr CITYHUB_RATE_LIMITS=false CITYHUB_WEB_DIR= \
    "$root/infra/scripts/stack" >"$data/stack.log" 2>&1 &
  stack_pid=$!
  for _ in $(seq 1 600); do
    grep -qs "Ctrl-C stops everything" "$data/stack.log" && return 0
    kill -0 "$stack_pid" 2>/dev/null || { cat "$data/stack.log"; echo "FAIL: the stack did not start"; return 1; }
    sleep 0.2
  done
  cat "$data/stack.log"
  echo "FAIL: the stack did not start within 120 s"
  return 1
}

# Stops what start_test_stack started (if it did) and removes the data folder $1.
stop_test_stack() {
  if [[ -n ${stack_pid:-} ]]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  rm -rf "$1"
}
