"""A real SMTP server on the loopback for the Delivery tests (Debian's python3-aiosmtpd).

Listens on a free port of 127.0.0.1, writes that port to DIR/port, and saves every message it
accepts as DIR/messages/N.json: the envelope, the raw message, and the message as Python's
email package parses it (headers decoded, text and HTML parts decoded), so the tests check
what a real mail reader would see.

--mode makes it misbehave: rcpt-550, rcpt-451 (refuse RCPT), data-550, data-451 (refuse the
message after the final "."), hang-data (never answer the final "."), close-mid-data (close
the connection after the first line of the message), silent (accept TCP, never greet).
Two modes stall only the first message, as a worker killed mid-send meets: hang-first-rcpt
(never answer the first RCPT, before anything is delivered) and save-then-hang-first (save the
first message, then never answer its final "."). Both write DIR/stalled when they stall.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, directory, mode):
        self.directory = os.path.join(directory, "messages")
        os.makedirs(self.directory, exist_ok=True)
        self.mode = mode
        self.count = 0
        self.stalled = False

    async def stall_once(self):
        """The first time only: say so in DIR/stalled, then never answer."""
        if self.stalled:
            return
        self.stalled = True
        open(os.path.join(os.path.dirname(self.directory), "stalled"), "w").close()
        await asyncio.sleep(3600)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "rcpt-550":
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.mode == "rcpt-451":
            return "451 4.3.0 Temporary lookup failure"
        if self.mode == "hang-first-rcpt":
            await self.stall_once()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "data-550":
            return "550 5.7.1 Message rejected as spam"
        if self.mode == "data-451":
            return "451 4.7.1 Greylisted, try again later"
        if self.mode == "hang-data":
            await asyncio.sleep(3600)
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "raw": raw.decode("ascii", errors="replace"),
            "longest_line": max(len(line) for line in raw.split(b"\r\n")),
            "content_type": message.get_content_type(),
            "headers": [[name, str(value)] for name, value in message.items()],
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        # Written then renamed, so a reader never sees half a file.
        path = os.path.join(self.directory, "%d.json" % self.count)
        with open(path + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(path + ".tmp", path)
        if self.mode == "save-then-hang-first":
            await self.stall_once()
        return "250 2.0.0 Ok: queued as test-%d" % self.count


class ClosingSMTP(SMTP):
    """Answers DATA with 354, reads one line of the message, then drops the connection."""

    async def smtp_DATA(self, arg):
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")
        self.transport.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--mode", default="accept")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth", help="user:password; AUTH is then required (after STARTTLS)")
    parser.add_argument("--auth-only", help="offer only this mechanism (PLAIN or LOGIN)")
    args = parser.parse_args()

    recorder = Recorder(args.dir, args.mode)
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, password = args.auth.split(":", 1)
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
            and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    excluded = [m for m in ("PLAIN", "LOGIN") if args.auth_only and m != args.auth_only]

    def factory():
        kind = ClosingSMTP if args.mode == "close-mid-data" else SMTP
        return kind(
            recorder,
            hostname="smtp.test",
            tls_context=None if args.implicit_tls else context,
            require_starttls=bool(context) and not args.implicit_tls,
            auth_required=bool(args.auth),
            auth_require_tls=True,
            authenticator=authenticator if args.auth else None,
            auth_exclude_mechanism=excluded,
        )

    async def silent(reader, writer):
        await asyncio.sleep(3600)

    async def serve():
        loop = asyncio.get_running_loop()
        if args.mode == "silent":
            server = await asyncio.start_server(silent, "127.0.0.1", 0)
        else:
            server = await loop.create_server(
                factory, "127.0.0.1", 0, ssl=context if args.implicit_tls else None)
        port = server.sockets[0].getsockname()[1]
        with open(os.path.join(args.dir, "port.tmp"), "w") as out:
            out.write(str(port))
        os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
