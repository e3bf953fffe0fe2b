#!/usr/bin/python3
"""A local SMTP server that accepts every mail and stores it as a file, for the local stack and
the tests (Debian's python3-aiosmtpd). Each message becomes <dir>/<n>.eml with the envelope
recipients in an X-Sink-Rcpt header, and <n>.txt beside it: the same mail decoded for a person
to read (headers, then the plain-text part), links included. For tests: recipients at refused.invalid are refused with
550 (an unknown mailbox), at busy.invalid with 451 and at policy.invalid with 554 (a refusal
that is not the mailbox's). Runs until SIGTERM/SIGINT."""
import argparse
import email
import email.policy
import itertools
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(len([n for n in os.listdir(directory) if n.endswith(".eml")]) + 1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.lower().rpartition("@")[2]
        if domain == "refused.invalid":
            return "550 5.1.1 No such mailbox here"
        if domain == "busy.invalid":
            return "451 4.3.0 Try again later"
        if domain == "policy.invalid":
            return "554 5.7.1 Not now, policy"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        header = "X-Sink-Rcpt: " + ", ".join(envelope.rcpt_tos) + "\r\n"
        header += "X-Sink-From: " + (envelope.mail_from or "") + "\r\n"
        tmp = os.path.join(self.directory, f".{n:06d}.tmp")
        with open(tmp, "wb") as f:
            f.write(header.encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n:06d}.eml"))
        self.write_readable(n, envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def write_readable(self, n, raw):
        """<n>.txt: the mail decoded (quoted-printable, base64, encoded words) for reading."""
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            lines = [f"{h}: {msg[h]}" for h in ("Date", "From", "To", "Subject") if msg[h]]
            body = msg.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
        except Exception as e:  # a mail we cannot decode is still kept as .eml
            lines, text = [f"(not decodable: {e})"], ""
        path = os.path.join(self.directory, f"{n:06d}.txt")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n\n" + text)
        os.rename(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Store(args.dir), hostname=args.host, port=args.port,
                            data_size_limit=10 * 1024 * 1024)
    controller.start()
    print(f"smtp sink on {args.host}:{args.port}, mails in {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
