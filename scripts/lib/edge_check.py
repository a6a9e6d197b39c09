"""The one origin, as a browser uses it (scripts/check-up-down.sh, after make up).

    python3 scripts/lib/edge_check.py EDGE_URL GATEWAY_COUNT [ADDRESS_LIMIT]

Through EDGE_URL only: the demo page and a module it loads; a new user registered and logged in
(xy-admin), its watchlist read with the access token and refused without one; the JWKS; snapshots
and vendor-backfilled bars; /admin/health with the admin token (XY_ADMIN_TOKEN_FILE) and not with
a user's; then
WebSockets on both upgrade paths, with that token offered as a browser does
(Sec-WebSocket-Protocol: xy.v1.json, bearer, <token>) and the edge's Origin, each subscribing to
xy.md.tick.demo until market data arrives. Connections are held open until there is one per
gateway behind the edge: the envelopes' `source` (the gateway instance) must name GATEWAY_COUNT
different gateways, so every upstream server answers. Last, failed logins each sent with another
made-up X-Forwarded-For: the edge replaces that header, so xy-admin counts them all against this
client's one address, and the one after ADDRESS_LIMIT (xy-admin's LOGIN_MAX_FAILURES_PER_ADDRESS,
20 unless make up sets it) is refused with 429 XYA005; this locks the address out of logins for
LOGIN_LOCKOUT, which is why it comes last (make up-down-check runs on a stack of its own).
Standard library only; every wait has a deadline. Exits 1 with the reason on the first failure.
"""
import base64
import json
import os
import secrets
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

DEADLINE_SECONDS = 20


def fail(message):
    print(f"edge-check: {message}", file=sys.stderr)
    sys.exit(1)


def http(method, url, body=None, token=None, extra_headers=None):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    headers.update(extra_headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class WebSocket:
    """A client WebSocket (RFC 6455) over a plain socket: enough for text frames and pings."""

    def __init__(self, edge, path, token):
        parsed = urlparse(edge)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=DEADLINE_SECONDS)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {edge}\r\n"
            f"Sec-WebSocket-Protocol: xy.v1.json, bearer, {token}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                fail(f"{path}: the edge closed the connection during the upgrade")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            fail(f"{path}: upgrade answered '{status}' ({self.buffer[:200]!r})")

    def read_exactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                fail("the WebSocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def send(self, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, value):
        self.send(0x1, json.dumps(value).encode())

    def receive_json(self):
        """The next text message (pings answered, fragments joined)."""
        message = b""
        while True:
            first, second = self.read_exactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.read_exactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.read_exactly(8))[0]
            payload = self.read_exactly(length)
            if opcode == 0x9:
                self.send(0xA, payload)
            elif opcode == 0x8:
                fail(f"the gateway closed the WebSocket: {payload[2:]!r}")
            elif opcode in (0x0, 0x1):
                message += payload
                if first & 0x80:
                    return json.loads(message)

    def close(self):
        try:
            self.send(0x8, struct.pack("!H", 1000))
        finally:
            self.sock.close()


def market_data(edge, path, token):
    """An open WebSocket on `path` that has received ticks for xy.md.tick.demo, and its source."""
    ws = WebSocket(edge, path, token)
    ws.send_json({"op": "subscribe", "subject": "xy.md.tick.demo", "id": "1"})
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        message = ws.receive_json()
        if message.get("type") == "error":
            fail(f"{path}: {message}")
        if message.get("type") in ("snapshot", "tick") and message.get("data", {}).get("ticks"):
            return ws, message.get("source")
    fail(f"{path}: no market data within {DEADLINE_SECONDS} s")


def main():
    if len(sys.argv) not in (3, 4):
        fail("usage: edge_check.py EDGE_URL GATEWAY_COUNT [ADDRESS_LIMIT]")
    edge, gateways = sys.argv[1].rstrip("/"), int(sys.argv[2])
    address_limit = int(sys.argv[3]) if len(sys.argv) == 4 else 20

    status, headers, body = http("GET", edge + "/")
    if status != 200 or b"<html" not in body.lower():
        fail(f"GET / answered {status}, not the demo page")
    status, headers, _ = http("GET", edge + "/terminal.js")
    if status != 200 or "javascript" not in headers.get("Content-Type", ""):
        fail(f"GET /terminal.js answered {status} {headers.get('Content-Type')}")
    print("edge-check: the demo page and its module through the edge")

    username, password = "check-" + secrets.token_hex(4), secrets.token_urlsafe(16)
    status, _, body = http("POST", edge + "/api/v1/auth/register", {"username": username, "password": password})
    if status != 201:
        fail(f"register answered {status}: {body[:200]!r}")
    status, _, body = http("POST", edge + "/api/v1/auth/login", {"username": username, "password": password})
    if status != 200:
        fail(f"login answered {status}: {body[:200]!r}")
    token = json.loads(body)["access_token"]
    status, _, body = http("GET", edge + "/api/v1/watchlist", token=token)
    if status != 200 or not json.loads(body):
        fail(f"GET /api/v1/watchlist answered {status}: {body[:200]!r}")
    status, _, body = http("GET", edge + "/api/v1/watchlist")
    if status != 401 or json.loads(body).get("code") is None:
        fail(f"GET /api/v1/watchlist without a token answered {status}: {body[:200]!r}")
    status, _, body = http("GET", edge + "/.well-known/jwks.json")
    if status != 200 or not json.loads(body).get("keys"):
        fail(f"GET /.well-known/jwks.json answered {status}")
    print(f"edge-check: register, login, GET /api/v1/watchlist with the token, 401 without, JWKS")

    # Market data over REST: the aggregator's live state for a streamed ticker (polled: the first
    # trade may still be on its way), a ticker nobody knows (the simulator trades any US-shaped
    # ticker, so one with `_`) reported on its own entry, and an hour
    # of minute bars ending two days ago, which only the vendor has: backfilled once (miss), then
    # served from XY_BARS (hit) with the same bars.
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        status, _, body = http("GET", edge + "/api/v1/market-data/snapshots?tickers=AAPL,NO_SUCH", token=token)
        entries = json.loads(body).get("snapshots", []) if status == 200 else []
        if len(entries) == 2 and entries[0].get("found") and entries[0].get("source") == "aggregator":
            break
        if time.monotonic() > deadline:
            fail(f"GET /api/v1/market-data/snapshots answered {status}: {body[:300]!r}")
        time.sleep(0.2)
    if entries[1].get("found") or not entries[1].get("code"):
        fail(f"an unstreamed ticker was not reported on its own entry: {entries[1]}")
    day = (int(time.time()) // 86400 - 2) * 86400 * 1000
    bars_path = f"/api/v1/market-data/bars?ticker=AAPL&from={day}&to={day + 3_600_000}"
    pages = []
    for expected_cache in ("miss", "hit"):
        status, headers, body = http("GET", edge + bars_path, token=token)
        if status != 200 or headers.get("X-XY-Cache") != expected_cache:
            fail(f"GET {bars_path} answered {status} X-XY-Cache {headers.get('X-XY-Cache')}, not 200 {expected_cache}: {body[:200]!r}")
        pages.append(json.loads(body)["bars"])
    if len(pages[0]) != 60 or pages[0] != pages[1]:
        fail(f"bars: {len(pages[0])} then {len(pages[1])} bars, not the same 60")
    print("edge-check: snapshots from the aggregator (an unknown ticker on its own entry); 60 minute bars backfilled from the vendor, then a hit")

    admin_token_file = os.environ.get("XY_ADMIN_TOKEN_FILE")
    if admin_token_file:
        with open(admin_token_file) as file:
            admin_token = file.read().strip()
        status, _, body = http("GET", edge + "/admin/health", token=admin_token)
        if status != 200:
            fail(f"GET /admin/health with admin.token answered {status}: {body[:200]!r}")
        status, _, _ = http("GET", edge + "/admin/health", token=token)
        if status != 403:
            fail(f"GET /admin/health with a user's token answered {status}, not 403")
        print("edge-check: GET /admin/health with the run folder's admin.token; 403 with a user's token")

    sockets, sources = [], set()
    try:
        for path in ("/ws", "/api/v1/market-data/stream"):
            ws, source = market_data(edge, path, token)
            sockets.append(ws)
            sources.add(source)
            print(f"edge-check: WebSocket {path} through the edge with xy-admin's token: market data from {source}")
        # Round robin over the held connections: one more per gateway reaches every one.
        for _ in range(gateways):
            if len(sources) >= gateways:
                break
            ws, source = market_data(edge, "/ws", token)
            sockets.append(ws)
            sources.add(source)
    finally:
        for ws in sockets:
            ws.close()
    if len(sources) != gateways:
        fail(f"{len(sockets)} connections reached {sorted(sources)}, not {gateways} gateways")
    print(f"edge-check: {len(sockets)} WebSockets reached all {gateways} gateways behind the edge ({', '.join(sorted(sources))})")

    for attempt in range(address_limit + 1):
        status, _, body = http("POST", edge + "/api/v1/auth/login", {"username": f"nobody-{attempt}", "password": "wrong password"},
                               extra_headers={"X-Forwarded-For": f"198.51.100.{attempt + 1}"})
        expected = (401, "XYA004") if attempt < address_limit else (429, "XYA005")
        code = json.loads(body).get("code") if body else None
        if (status, code) != expected:
            fail(f"failed login {attempt + 1} with a made-up X-Forwarded-For answered {status} {code}, not {expected[0]} {expected[1]}")
    print(f"edge-check: {address_limit} failed logins with made-up X-Forwarded-For headers locked out this client's one address (429 XYA005)")


if __name__ == "__main__":
    main()
