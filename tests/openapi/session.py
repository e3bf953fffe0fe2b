"""Makes a verified, signed-in citizen on a running local stack, for schemathesis.sh.

Usage: session.py <gateway base URL> <stack data dir>
Registers a fresh account, reads the verification token from the SMTP sink's files under
<data>/mail, verifies the e-mail, signs in, uploads a photo, and prints shell assignments:
token=..., password=..., media_id=..."""

import email
import email.policy
import json
import pathlib
import re
import secrets
import shlex
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib


def png():
    """A 1x1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00")) + chunk(b"IEND", b""))


def call(base, method, path, body=None, token=None, content_type="application/json"):
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


def mail_token(mail_dir, address, deadline_s=15):
    """The token of the verification link in the newest mail to `address`."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for f in sorted(pathlib.Path(mail_dir).glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if address not in str(msg.get("To", "")):
                continue
            for part in msg.walk():
                if part.get_content_maintype() != "text":
                    continue
                m = re.search(r"verify-email\?token=([A-Za-z0-9_-]+)", part.get_content())
                if m:
                    return m.group(1)
        time.sleep(0.2)
    sys.exit(f"no verification mail to {address} in {mail_dir}")


def main():
    base, data = sys.argv[1].rstrip("/"), sys.argv[2]
    address = f"st-{secrets.token_hex(4)}@example.org"
    password = "Schema-" + secrets.token_urlsafe(12)
    call(base, "POST", "/v1/accounts",
         {"email": address, "password": password, "display_name": "Schemathesis", "language": "en"})
    call(base, "POST", "/v1/accounts:verifyEmail", {"token": mail_token(pathlib.Path(data) / "mail", address)})
    pair = call(base, "POST", "/v1/sessions", {"email": address, "password": password})
    media = call(base, "POST", "/v1/media", png(), pair["access_token"], "image/png")
    for name, value in (("token", pair["access_token"]), ("password", password), ("media_id", media["media_id"])):
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
