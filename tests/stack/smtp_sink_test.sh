#!/usr/bin/env bash
# The local stack's SMTP sink keeps each mail as it came (.eml) and, beside it, decoded for a
# person to read (.txt): quoted-printable and encoded-word headers undone, the link whole.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/infra/scripts/lib.sh"
dir=$(mktemp -d /tmp/cityhub-smtp-sink.XXXXXX)
port=$(free_port)
/usr/bin/python3 "$root/infra/scripts/smtp_sink.py" --port "$port" --dir "$dir" >/dev/null &
sink=$!
trap 'kill $sink 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
/usr/bin/python3 - "$port" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"], m["To"] = "cityhub@bielefeld.de", "anna@example.de"
m["Subject"] = "Bitte bestätigen Sie Ihre E-Mail-Adresse"
m.set_content("Guten Tag,\n\nbitte bestätigen Sie: http://127.0.0.1:8080/verify-email?token=" + "x" * 90 + "\n",
              charset="utf-8", cte="quoted-printable")
m.add_alternative("<p>Guten Tag</p>", subtype="html")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.send_message(m)
PY
fail() { echo "FAIL: $*"; exit 1; }
[[ -s $dir/000001.eml ]] || fail "no 000001.eml"
[[ -s $dir/000001.txt ]] || fail "no 000001.txt beside it"
grep -q "X-Sink-Rcpt: anna@example.de" "$dir/000001.eml" || fail "the .eml lacks the envelope recipient"
grep -qF "Subject: Bitte bestätigen Sie Ihre E-Mail-Adresse" "$dir/000001.txt" || fail "the subject is not decoded"
grep -qF "verify-email?token=$(printf 'x%.0s' $(seq 1 90))" "$dir/000001.txt" || fail "the link is not whole"
grep -q "=3D\|=C3" "$dir/000001.txt" && fail "the .txt is still quoted-printable"
echo "smtp sink: ok"
