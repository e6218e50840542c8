#!/usr/bin/env python3
"""A tiny HTTP app for Marshal's gate tests, on 127.0.0.1 (stdlib only).

  gate-app.py [--ttl SECONDS]     prints the port it listens on, then serves until the TTL

Times count from the first request to that same path (not from the app's start, so a test that
reaches its first request late, on a loaded machine, still sees the N seconds):
  /healthy-after/N   503 {"status":"starting"} for N seconds, then 200 {"status":"healthy"}
  /degraded          503 with per-service status: database healthy, redis down
  /fails-after/N     200 {"status":"healthy"} for N seconds, then 500
  /hook              records POST bodies; GET returns them as a JSON list
  /slow/MS           200 after MS milliseconds
  /authorizations    the Authorization headers of every request so far, as a JSON list
  /hostile           200 {"status": <terminal escapes, OSC-8 link, <script>, <b>>} (escaping tests)
"""
import json
import sys
import time

from jsonserver import JSONHandler, serve

FIRST_REQUEST = {}  # path -> time.monotonic() of its first request
HOOKS = []
AUTHORIZATIONS = []


class Handler(JSONHandler):

    def do_GET(self):
        now = time.monotonic()
        elapsed = now - FIRST_REQUEST.setdefault(self.path, now)
        if self.headers.get("Authorization") is not None:
            AUTHORIZATIONS.append(self.headers.get("Authorization"))
        parts = self.path.strip("/").split("/")
        if parts[0] == "healthy-after":
            if elapsed < float(parts[1]):
                return self.reply(503, {"status": "starting"})
            return self.reply(200, {"status": "healthy"})
        if parts[0] == "degraded":
            return self.reply(503, {"status": "unhealthy",
                                    "services": {"database": {"status": "healthy"}, "redis": {"status": "down"}}})
        if parts[0] == "fails-after":
            if elapsed < float(parts[1]):
                return self.reply(200, {"status": "healthy"})
            return self.reply(500, {"status": "error"})
        if parts[0] == "hook":
            return self.reply(200, HOOKS)
        if parts[0] == "authorizations":
            return self.reply(200, AUTHORIZATIONS)
        if parts[0] == "hostile":
            return self.reply(200, {"status": HOSTILE})
        if parts[0] == "slow":
            time.sleep(float(parts[1]) / 1000)
            return self.reply(200, {"status": "ok"})
        return self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path.strip("/") == "hook":
            HOOKS.append(json.loads(body or b"null"))
            return self.reply(200, {"ok": True})
        return self.reply(404, {"error": "not found"})


# What a compromised or hostile server might put in a field Marshal quotes: a window title (OSC 0),
# clear screen (ESC[2J), a hidden terminal link (OSC 8), HTML and Markdown.
HOSTILE = ("\x1b]0;pwned\x07\x1b[2J<script>alert(1)</script><b>bold</b>"
           "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ *star* [x](http://evil.example/)")


def main():
    ttl = 120.0
    if "--ttl" in sys.argv:
        ttl = float(sys.argv[sys.argv.index("--ttl") + 1])
    serve(Handler, ttl)


if __name__ == "__main__":
    main()
