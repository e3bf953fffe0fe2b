# Shell helpers the scripts share (sourced, not run).

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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
