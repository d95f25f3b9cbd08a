"""A local webhook receiver for bench/notify.sh.

Answers every POST with 200, or with `--throttle-every N` answers every Nth
request with 429 and `Retry-After: 1`. GET /stats returns how many times each
path was accepted (200), so the bench can check exactly-once delivery.
Prints its port on stdout once listening.
"""

import argparse
import collections
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--throttle-every", type=int, default=0)
options = parser.parse_args()

lock = threading.Lock()
seen = 0
accepted = collections.Counter()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global seen
        length = int(self.headers.get("Content-Length", "0"))
        json.loads(self.rfile.read(length) or b"{}")
        with lock:
            seen += 1
            throttled = options.throttle_every and seen % options.throttle_every == 0
            if not throttled:
                accepted[self.path] += 1
        if throttled:
            self.reply(429, b"slow down", [("Retry-After", "1")])
        else:
            self.reply(200, b"ok")

    def do_GET(self):
        with lock:
            body = json.dumps({"requests": seen, "accepted": accepted}).encode()
        self.reply(200, body, [("Content-Type", "application/json")])


class Server(ThreadingHTTPServer):
    # listen() runs in the constructor, so the backlog must be set here: a
    # burst of 1,000 connections overflows the default of 5.
    request_queue_size = 1024
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
