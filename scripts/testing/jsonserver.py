"""What the test apps in this folder share (stdlib only): a quiet keep-alive handler that answers
JSON, and a server on 127.0.0.1 that prints its port and stops by itself after a TTL."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler, ttl):
    """Serves on a free loopback port, printed first; bounded: the server stops after `ttl` seconds."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Timer(ttl, server.shutdown).start()
    server.serve_forever()
