"""A tiny Redis client for the lab app and worker (stdlib only): RESP2 over one socket.

The connection settings come from the app's shared/.env (Laravel's layout): REDIS_HOST,
REDIS_PORT, REDIS_PASSWORD. No settings, no Redis: callers fall back to their in-memory ways.
"""
import os
import socket


def settings(app_dir):
    """REDIS_* from APP_DIR/shared/.env, or None when Redis is not configured."""
    values = {}
    try:
        with open(os.path.join(app_dir, "shared", ".env")) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep and key.startswith("REDIS_"):
                    values[key] = value
    except OSError:
        return None
    return values if "REDIS_PORT" in values else None


class Redis:
    def __init__(self, config, timeout=5.0):
        self.host = config.get("REDIS_HOST", "127.0.0.1")
        self.port = int(config["REDIS_PORT"])
        self.password = config.get("REDIS_PASSWORD") or None
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        if self.password:
            reply = self._roundtrip(["AUTH", self.password])
            if isinstance(reply, RedisError):
                raise reply

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def command(self, *args):
        """One command; reconnects once if the connection was lost. Error replies raise RedisError."""
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                reply = self._roundtrip([str(a) for a in args])
                break
            except OSError:
                self.close()
                if attempt:
                    raise
        if isinstance(reply, RedisError):
            raise reply
        return reply

    def _roundtrip(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            data = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("redis closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"not RESP: {line[:40]!r}")


class RedisError(Exception):
    pass
