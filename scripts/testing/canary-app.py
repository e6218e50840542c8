#!/usr/bin/env python3
"""A host's app for Marshal's canary tests, on 127.0.0.1 (stdlib only).

  canary-app.py --app-dir DIR [--ttl SECONDS]        an app: prints its port, serves until the TTL
  canary-app.py --front URL,URL,... [--ttl SECONDS]   a front door: round-robin over those apps

The app serves the release that DIR/current points at *now* (a release step switches it; no
restart): VERSION's first line is the release id, `latency_ms=N` delays /api/work.
  /api/health   200 {"status": "healthy", "release": ID}
  /api/work     200 {"release": ID} after the release's latency
The front door forwards GET requests to its apps in turn, like nginx's round robin.
"""
import argparse
import json
import sys
import threading
import time
import urllib.request

from jsonserver import JSONHandler, serve


def release(app_dir):
    try:
        with open(app_dir + "/current/VERSION") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return "none", 0.0
    settings = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    return lines[0] if lines else "none", float(settings.get("latency_ms", "0"))


def app_handler(app_dir):
    class Handler(JSONHandler):

        def do_GET(self):
            name, latency = release(app_dir)
            if self.path == "/api/health":
                return self.reply(200, {"status": "healthy", "release": name})
            if self.path == "/api/work":
                time.sleep(latency / 1000.0)
                return self.reply(200, {"release": name})
            return self.reply(404, {"error": "not found"})
    return Handler


def front_handler(backends):
    lock = threading.Lock()
    turn = [0]

    class Handler(JSONHandler):
        def do_GET(self):
            with lock:
                backend = backends[turn[0] % len(backends)]
                turn[0] += 1
            try:
                with urllib.request.urlopen(backend + self.path, timeout=10) as answer:
                    status, data = answer.status, answer.read()
            except Exception as error:  # the front answers 502 like nginx when an app does not
                status, data = 502, json.dumps({"error": str(error)}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app-dir")
    parser.add_argument("--front")
    parser.add_argument("--ttl", type=float, default=120)
    args = parser.parse_args()
    handler = front_handler(args.front.split(",")) if args.front else app_handler(args.app_dir)
    serve(handler, args.ttl)


if __name__ == "__main__":
    sys.exit(main())
