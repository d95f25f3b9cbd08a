"""An aiosmtpd server for notify's email tests (crates/notify/tests/email.rs).

Usage: python smtp_server.py MODE RECEIVED_FILE [CERT KEY]

MODE is `plain` (no TLS offered), `starttls` (STARTTLS required before
MAIL, AUTH only after it) or `implicit` (TLS from the first byte, as on
port 465). With SMTP_USER and SMTP_PASSWORD in the environment (never on the
command line, where `ps` shows them) AUTH is required and only that pair is
accepted.

It binds 127.0.0.1 on a free port, prints `READY <port>` once it accepts
connections, and appends one JSON line per accepted message to
RECEIVED_FILE before answering the DATA command, so a client that has
finished has its message on disk. It stops when stdin closes, so it never
outlives the test that started it.
"""

import asyncio
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        transport = server.transport
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "tls": transport is not None and transport.get_extra_info("ssl_object") is not None,
            "auth": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
        }
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 2.0.0 queued"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False lets aiosmtpd answer a failure with 535; the
        # default leaves the reply to the authenticator, and the client waits.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


async def main():
    mode, received = sys.argv[1], sys.argv[2]
    context = None
    if mode in ("starttls", "implicit"):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
    user, password = os.environ.get("SMTP_USER"), os.environ.get("SMTP_PASSWORD")
    # aiosmtpd only knows about TLS it negotiated itself (STARTTLS); on an
    # implicit-TLS port every byte is already encrypted.
    options = {"hostname": "smtp.test", "auth_require_tls": mode == "starttls"}
    if mode == "implicit":
        # Its warning about AUTH without TLS does not apply there.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    if user is not None:
        options.update(authenticator=authenticator(user, password), auth_required=True)
    if mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    recorder = Recorder(received)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(recorder, **options),
        host="127.0.0.1",
        port=0,
        ssl=context if mode == "implicit" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    # Stop when the test closes our stdin (or dies and the pipe breaks).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    # aiosmtpd logs a deprecation warning of its own on every login.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(main())
