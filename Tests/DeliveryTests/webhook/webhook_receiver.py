"""A real HTTP receiver on the loopback for the webhook tests (Python's http.server).

Listens on a free port of 127.0.0.1 (TLS with --cert/--key), writes the port to DIR/port and
records every request as DIR/requests/N.json (method, path, headers, body in base64). The path
chooses the answer: /status/NNN answers NNN (with Retry-After when ?retry_after=S is given),
/hang never answers, /close drops the connection without answering; anything else is 200.
"""

import argparse
import base64
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
counter = [0]


def make_handler(directory):
    requests = os.path.join(directory, "requests")
    os.makedirs(requests, exist_ok=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                counter[0] += 1
                number = counter[0]
            record = {
                "method": self.command,
                "path": self.path,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body_base64": base64.b64encode(body).decode(),
            }
            path = os.path.join(requests, "%d.json" % number)
            with open(path + ".tmp", "w") as out:
                json.dump(record, out)
            os.rename(path + ".tmp", path)

            url = urlsplit(self.path)
            if url.path == "/hang":
                time.sleep(60)
                return
            if url.path == "/close":
                self.close_connection = True
                self.connection.close()
                return
            status = 200
            if url.path.startswith("/status/"):
                status = int(url.path.split("/")[2])
            answer = b"received" if status < 300 else b"refused by the test receiver"
            self.send_response(status)
            retry = parse_qs(url.query).get("retry_after")
            if retry:
                self.send_header("Retry-After", retry[0])
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.dir))
    server.daemon_threads = True
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "port.tmp"), "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
