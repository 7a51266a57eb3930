"""An outside server for benchmark-harness tests: Python's standard library only, no code shared
with the harness. It serves REST, SSE and WebSocket replies; with MISBEHAVE=1 it answers a little
differently (the checks must catch each), and /garbage, /hang and /crash misbehave on purpose.

As a fake runner (PORT from the environment) it can also misbehave as a process, by MODE:
fail-start (exits 1 at once), never-ready (/__ready answers 503), ignore-term (ignores SIGTERM).
PIDFILE, when set, receives its process id. With TLS_CERT_FILE and TLS_KEY_FILE (PEM), as
`matrix --tls` starts a runner, it serves HTTPS instead.

Usage: python3 server.py [PORT]   (prints "ready" on stdout once listening)
"""
import base64
import hashlib
import json
import os
import struct
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MISBEHAVE = os.environ.get("MISBEHAVE") == "1"
MODE = os.environ.get("MODE", "")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, document, content_type="application/json"):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/__ready":
            self.send_json(503 if MODE == "never-ready" else 200, {})
        elif url.path == "/crash":
            os._exit(3)
        elif url.path == "/greet":
            name = query.get("name", ["world"])[0]
            self.send_json(200, {"hello": name.upper() if MISBEHAVE else name, "lang": "python"})
        elif url.path == "/events":
            self.stream_events()
        elif url.path == "/ws/echo":
            self.websocket_echo()
        elif url.path == "/garbage":
            self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
            self.close_connection = True
        elif url.path == "/hang":
            time.sleep(5)
            self.send_json(200, {})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if urlsplit(self.path).path != "/items":
            self.send_json(404, {"error": "not found"})
            return
        try:
            item = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": "malformed"}, "application/problem+json")
            return
        item["id"] = str(uuid.uuid4())
        status = 200 if MISBEHAVE else 201
        self.send_json(status, item)

    def stream_events(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for n in (1, 2, 3):
            data = json.dumps({"n": n * 10 if (MISBEHAVE and n == 2) else n})
            self.wfile.write(f"id: {n}\nevent: tick\ndata: {data}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True

    def websocket_echo(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            opcode, payload = read_frame(self.rfile)
            if opcode is None:
                break
            if opcode == 0x8:  # close: answer with the same payload
                write_frame(self.wfile, 0x8, payload)
                break
            if opcode == 0x9:  # ping
                write_frame(self.wfile, 0xA, payload)
            elif opcode in (0x1, 0x2):
                if MISBEHAVE and opcode == 0x1:
                    payload = payload[::-1]
                write_frame(self.wfile, opcode, payload)
        self.close_connection = True


def read_frame(stream):
    head = stream.read(2)
    if len(head) < 2:
        return None, b""
    opcode = head[0] & 0x0F
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", stream.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", stream.read(8))[0]
    mask = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = stream.read(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def write_frame(stream, opcode, payload):
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 65536:
        head += bytes([126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([127]) + struct.pack("!Q", len(payload))
    stream.write(head + payload)
    stream.flush()


if __name__ == "__main__":
    if MODE == "fail-start":
        print("boom: this app refuses to start", file=sys.stderr, flush=True)
        sys.exit(1)
    if MODE == "ignore-term":
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.environ.get("PIDFILE"):
        with open(os.environ["PIDFILE"], "w") as f:
            f.write(str(os.getpid()))
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["PORT"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if os.environ.get("TLS_CERT_FILE"):
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["TLS_CERT_FILE"], os.environ["TLS_KEY_FILE"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        plain_shutdown = server.shutdown_request

        def shutdown_request(request):
            try:
                request.unwrap()  # close_notify: the end of a body read to the close
            except (OSError, ValueError):
                pass
            plain_shutdown(request)

        server.shutdown_request = shutdown_request
    print("ready", flush=True)
    server.serve_forever()
