"""The survey dispatch benchmark's mail server: a real SMTP server (aiosmtpd) on the loopback
that accepts every message and appends one line per message to DIR/received:
"<unix time> <Message-ID> <recipient>". Nothing else is kept: the count at the SMTP side, the
distinct Message-IDs (one per invitation) and the time of the last delivery come from it.
Writes its port to DIR/port once it listens.
"""

import argparse
import asyncio
import os
import re
import time

from aiosmtpd.smtp import SMTP

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Sink:
    def __init__(self, path):
        self.out = open(path, "a", buffering=1)

    async def handle_DATA(self, server, session, envelope):
        found = MESSAGE_ID.search(envelope.original_content)
        message_id = found.group(1).decode("ascii", "replace") if found else "-"
        self.out.write("%.3f %s %s\n" % (time.time(), message_id, ",".join(envelope.rcpt_tos)))
        return "250 2.0.0 Ok"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    sink = Sink(os.path.join(args.dir, "received"))

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(sink, hostname="sink.test", data_size_limit=1_000_000), "127.0.0.1", 0, backlog=1024)
        with open(os.path.join(args.dir, "port.tmp"), "w") as out:
            out.write(str(server.sockets[0].getsockname()[1]))
        os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
