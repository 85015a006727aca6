"""A real SMTP server for Pictor's tests (aiosmtpd), with STARTTLS and AUTH.

Usage: smtp_server.py DIR [--no-tls] [--exclude-auth PLAIN] [--inject-after-starttls]
Makes a self-signed certificate for 127.0.0.1 in DIR (DIR/cert.pem is the CA the client
must trust), accepts user "pictor" with password "secret" after STARTTLS, stores every
message as DIR/N.json ({"mail_from", "rcpt_tos", "data"}), and prints "PORT n" once ready.
--inject-after-starttls plays an attacker between client and server instead: its answer to
STARTTLS carries a second, plaintext reply ("250 injected") in the same packet, then it records
every line the client sends (DIR/lines.json) until the client hangs up.
"""
import argparse
import asyncio
import json
import pathlib
import socket
import ssl
import subprocess
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            number = self.count
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                  "data": envelope.content.decode("utf-8", "replace")}
        (self.directory / f"{number}.json").write_text(json.dumps(record))
        return "250 OK stored"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"pictor" and auth_data.password == b"secret"
    # handled=False: aiosmtpd answers 535 itself on failure.
    return AuthResult(success=ok, handled=False)


def listening_socket():
    """A socket bound to a port the system picks as it binds (no probe-then-bind race)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


def serve_injecting(directory, listener):
    """A plaintext conversation up to STARTTLS, whose 220 arrives with an injected reply."""

    def conversation():
        while True:
            client, _ = listener.accept()
            lines = []
            with client, client.makefile("rb") as incoming:
                client.sendall(b"220 injector ESMTP\r\n")
                for raw in incoming:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    lines.append(line)
                    (directory / "lines.json").write_text(json.dumps(lines))
                    if line.upper().startswith("EHLO"):
                        client.sendall(b"250-injector\r\n250 STARTTLS\r\n")
                    elif line.upper() == "STARTTLS":
                        client.sendall(b"220 Go ahead\r\n250 injected\r\n")

    threading.Thread(target=conversation, daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--no-tls", action="store_true")
    parser.add_argument("--exclude-auth", action="append", default=[])
    parser.add_argument("--inject-after-starttls", action="store_true")
    args = parser.parse_args()
    directory = pathlib.Path(args.directory)
    directory.mkdir(parents=True, exist_ok=True)

    listener = listening_socket()
    port = listener.getsockname()[1]

    options = dict(hostname="127.0.0.1", authenticator=authenticate, auth_exclude_mechanism=args.exclude_auth)
    if args.no_tls:
        options.update(auth_require_tls=False)
    else:
        cert, key = directory / "cert.pem", directory / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        options.update(tls_context=context, require_starttls=True, auth_require_tls=True)

    if args.inject_after_starttls:
        serve_injecting(directory, listener)
        print(f"PORT {port}", flush=True)
        sys.stdin.read()
        return

    # aiosmtpd's SMTP protocol served on the socket already bound (its Controller binds by port).
    store = Store(directory)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: SMTP(store, **options), sock=listener))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin (or kills us)
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
