#!/usr/bin/env bash
# Validates the OpenAPI document the gateway generates with @apidevtools/swagger-cli (from npm),
# and checks that it lists every route of the public API.
# Usage: validate.sh <gateway binary> <work dir>
set -euo pipefail
gateway=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cp "$here/package.json" "$work/package.json"
[[ -f $here/package-lock.json ]] && cp "$here/package-lock.json" "$work/package-lock.json"
if [[ ! -x $work/node_modules/.bin/swagger-cli ]]; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
"$gateway" --print-openapi https://api.bielefeld.de >"$work/openapi.json"
"$work/node_modules/.bin/swagger-cli" validate "$work/openapi.json"
# Every route of API.md must be there.
missing=0
while read -r method path; do
  if ! python3 - "$work/openapi.json" "$method" "$path" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if sys.argv[2].lower() in doc["paths"].get(sys.argv[3], {}) else 1)
PY
  then
    echo "missing in openapi.json: $method $path"
    missing=1
  fi
done <"$here/routes.txt"
exit $missing
