#!/usr/bin/env bash
# A real Open311 client against a local stack: the `georeport` package (PyPI, pinned) reads
# discovery, services, a service definition, filtered lists and single requests in JSON and XML
# through the gateway (georeport_check.py says what is checked).
#
#   tests/open311/georeport.sh      (CTest: open311_georeport, label e2e)
#
# CITYHUB_BUILD_DIR (build/): its binaries are used as they are unless CITYHUB_SKIP_BUILD is set
# empty; the client is installed into $build/georeport-venv and reused from there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/infra/scripts/lib.sh"
build=${CITYHUB_BUILD_DIR:-$root/build}
export CITYHUB_BUILD_DIR=$build
version=0.3.1
venv=$build/georeport-venv
if [[ $("$venv/bin/pip" show georeport 2>/dev/null | grep '^Version:') != "Version: $version" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "georeport==$version"
fi

data=$(mktemp -d /tmp/cityhub-georeport.XXXXXX)
gateway_addr=127.0.0.1:$(free_port)
stack_pid=
trap 'stop_test_stack "$data"' EXIT
start_test_stack "$data" "$gateway_addr"
"$venv/bin/python" "$root/tests/open311/georeport_check.py" "http://$gateway_addr" "$data"
