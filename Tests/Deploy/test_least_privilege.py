"""The least-privilege NATS configuration of `make up` and compose, exercised for real.

Runs `xy dev init` (the generator both use), the real nats-server with what it wrote, and the
real services from the debug build (xy sim polygon, xy-realtime, xy-aggregator, xy-gateway, xy-admin), each
with its own NKey seed, on free loopback ports. Proves that data flows where
deploy/nats/authorization.conf allows it (ticks reach the cli user, the aggregator creates its
streams and answers snapshot requests, xy-realtime answers control requests, heartbeats arrive,
and the gateway forwards ticks and snapshots to a WebSocket client, `xy demo ticks` under the demo
user included, and xy-admin's accounts in its own key-value buckets) and that the server refuses each user what it should not do (permissions violations).

Needs XY_BIN_DIR (debug build folder) and nats-py with nkeys (.venv). Run by `make test`.
"""
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

import nats

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "deploy" / "nats"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Stack:
    """nats-server and the services, each in its own session, logs in the work folder."""

    def __init__(self):
        bin_dir = os.environ.get("XY_BIN_DIR")
        if not bin_dir:
            raise unittest.SkipTest("XY_BIN_DIR is not set")  # never under make, which sets it
        self.bin = Path(bin_dir)
        self.work = Path(tempfile.mkdtemp(prefix="xy-deploy-"))
        self.processes = []
        self.logs = []
        self.ports = {name: free_port() for name in ("nats", "monitor", "sim", "realtime", "aggregator", "gateway", "admin", "admin_api")}
        self.nats_url = f"nats://127.0.0.1:{self.ports['nats']}"

    def seed(self, user):
        return str(self.work / "seeds" / f"{user}.nk")

    def xy(self, *arguments, timeout=30):
        return subprocess.run([str(self.bin / "xy"), *arguments], capture_output=True, text=True, timeout=timeout)

    def start(self, name, arguments, environment=None):
        log = open(self.work / f"{name}.log", "a")
        self.logs.append(log)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.work)}
        env.update(environment or {})
        process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.processes = [(n, p) for n, p in self.processes if n != name] + [(name, process)]
        return process

    def stop(self, name, kill=False):
        process = dict(self.processes)[name]
        if process.poll() is None:
            process.kill() if kill else process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def service_env(self, user, port):
        return {"NATS_URLS": self.nats_url, "NATS_NKEY_SEED_FILE": self.seed(user), "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(port), "HEALTH_INTERVAL": "1s", "LOG_LEVEL": "info"}

    def wait_http(self, name, url, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if http_status(url) == 200:
                return
            process = dict(self.processes)[name]
            if process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}):\n{self.log(name)}")
            time.sleep(0.3)
        raise AssertionError(f"{name} not ready at {url}:\n{self.log(name)}")

    def log(self, name):
        path = self.work / f"{name}.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def up(self):
        init = self.xy("dev", "init", "--out", str(self.work), "--templates", str(TEMPLATES),
                       "--listen", f"127.0.0.1:{self.ports['nats']}", "--http", f"127.0.0.1:{self.ports['monitor']}")
        if init.returncode != 0:
            raise AssertionError(f"xy dev init failed: {init.stderr}")
        nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.start("nats", [nats_server, "-c", str(self.work / "nats" / "nats.conf")])
        self.wait_http("nats", f"http://127.0.0.1:{self.ports['monitor']}/healthz")
        self.start("sim", [str(self.bin / "xy"), "sim", "polygon", "--listen", f"127.0.0.1:{self.ports['sim']}",
                           "--api-key", "sim-key", "--symbols", "10", "--rate", "500", "--seed", "1"])
        self.start("realtime", [str(self.bin / "xy-realtime")], {
            **self.service_env("realtime", self.ports["realtime"]),
            "UPSTREAM_URL": f"ws://127.0.0.1:{self.ports['sim']}/stocks", "UPSTREAM_API_KEY": "sim-key"})
        self.start("aggregator", [str(self.bin / "xy-aggregator")], self.service_env("aggregator", self.ports["aggregator"]))
        self.wait_http("realtime", f"http://127.0.0.1:{self.ports['realtime']}/healthz")
        self.wait_http("aggregator", f"http://127.0.0.1:{self.ports['aggregator']}/healthz")
        public_key = self.work / "jwt" / "dev.pub.pem"
        self.start("gateway", [str(self.bin / "xy-gateway")], {
            **self.service_env("gateway", self.ports["gateway"]), "JWT_PUBLIC_KEY": str(public_key),
            "WS_ALLOWED_ORIGINS": f"http://127.0.0.1:{self.ports['gateway']}", "WS_STATIC_DIR": str(ROOT / "Web")})
        self.wait_http("gateway", f"http://127.0.0.1:{self.ports['gateway']}/healthz")
        # xy-admin is ready once its key-value buckets are open (created under its own user).
        self.start("admin", [str(self.bin / "xy-admin")], {
            **self.service_env("admin", self.ports["admin"]), "API_HOST": "127.0.0.1", "API_PORT": str(self.ports["admin_api"]),
            "ARGON2_OPSLIMIT": "1", "ARGON2_MEMLIMIT": "8192", "ADMIN_TOKEN_FILE": str(self.work / "admin.token"),
            "UPSTREAM_REST_URL": f"http://127.0.0.1:{self.ports['sim']}", "UPSTREAM_API_KEY": "sim-key"})
        self.wait_http("admin", f"http://127.0.0.1:{self.ports['admin']}/healthz")

    def down(self):
        for name, _ in reversed(self.processes):
            self.stop(name)
        for log in self.logs:
            log.close()
        shutil.rmtree(self.work, ignore_errors=True)


class WebSocket:
    """Just enough of RFC 6455 over a plain socket to talk to the gateway: masked text frames out,
    unfragmented text frames in (pings answered)."""

    def __init__(self, port, token):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xy.v1.json\r\n"
                           f"Authorization: Bearer {token}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"gateway closed the upgrade: {head!r}")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise AssertionError(f"upgrade refused: {head.decode(errors='replace')}")

    def send(self, payload, opcode=1):
        data = payload.encode() if isinstance(payload, str) else payload
        mask = os.urandom(4)
        length = len(data)
        header = bytes([0x80 | opcode]) + (bytes([0x80 | length]) if length < 126 else bytes([0xFE]) + length.to_bytes(2, "big"))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def read_exact(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("gateway closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self):
        """The next text message as JSON."""
        while True:
            first, second = self.read_exact(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self.read_exact(2), "big")
            elif length == 127:
                length = int.from_bytes(self.read_exact(8), "big")
            payload = self.read_exact(length)
            opcode = first & 0x0F
            if opcode == 9:
                self.send(payload, opcode=10)
            elif opcode == 8:
                raise AssertionError(f"gateway closed: {payload!r}")
            elif opcode == 1:
                return json.loads(payload)

    def close(self):
        self.sock.close()


def refused(errors, text):
    """Whether `errors` hold the server's permissions violation for `text` (nats-py lower-cases it)."""
    return any(f"permissions violation for {text}".lower() in e.lower() for e in errors)


async def violations(stack, user, actions, expected=()):
    """Connects as `user`, runs `actions(nc)`, and returns the server's error texts it received:
    once each of `expected` is among them (at most 5 s), or, when none is expected, 0.3 s after a
    flush, the window in which a refusal would have come."""
    errors = []

    async def on_error(error):
        errors.append(str(error))

    nc = await nats.connect(stack.nats_url, nkeys_seed=stack.seed(user), error_cb=on_error,
                            allow_reconnect=False, max_reconnect_attempts=0)
    try:
        await actions(nc)
        await nc.flush(timeout=5)
        if expected:
            deadline = time.monotonic() + 5
            while not all(refused(errors, text) for text in expected) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        else:
            await asyncio.sleep(0.3)
    finally:
        await nc.close()
    return errors


class LeastPrivilegeTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        try:
            cls.stack.up()
        except BaseException:
            cls.stack.down()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.down()

    def cli(self, *arguments, timeout=30):
        return self.stack.xy(*arguments, "-s", self.stack.nats_url, "--nkey", self.stack.seed("cli"), timeout=timeout)

    # --- what flows ----------------------------------------------------------------------------

    def test_generated_files_and_modes(self):
        work = self.stack.work
        users = sorted(p.stem for p in (work / "seeds").glob("*.nk"))
        self.assertEqual(["admin", "aggregator", "cli", "demo", "gateway", "realtime"], users)
        for path in [*(work / "seeds").glob("*.nk"), work / "jwt" / "dev.pem", work / "dev.token"]:
            self.assertEqual(0o600, path.stat().st_mode & 0o777, path)
        self.assertEqual(3, len((work / "dev.token").read_text().strip().split(".")))
        # A second run keeps the seeds (running services stay valid) and mints a new token.
        before = (work / "seeds" / "realtime.nk").read_text()
        again = self.stack.xy("dev", "init", "--out", str(work), "--templates", str(TEMPLATES),
                              "--listen", f"127.0.0.1:{self.stack.ports['nats']}", "--http", f"127.0.0.1:{self.stack.ports['monitor']}")
        self.assertEqual(0, again.returncode, again.stderr)
        self.assertEqual(before, (work / "seeds" / "realtime.nk").read_text())

    def test_ticks_reach_the_cli_user(self):
        result = self.cli("sub", "xy.md.tick.demo", "--count", "3", timeout=30)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(3, len([line for line in result.stdout.splitlines() if "xy.md.tick.demo" in line]), result.stdout)

    def test_the_aggregator_created_its_streams_and_answers_snapshots(self):
        for stream, subject in (("XY_TICKS", "xy.md.tick.>"), ("XY_BARS", "xy.md.bar.>")):
            info = self.cli("js", "stream", "info", stream)
            self.assertEqual(0, info.returncode, info.stderr)
            self.assertIn(subject, info.stdout)
        reply = self.cli("req", "xy.md.snapshot.get.demo", "", "--timeout", "5s")
        self.assertEqual(0, reply.returncode, reply.stderr)
        self.assertIn("AAPL", reply.stdout)

    def test_realtime_answers_control_requests(self):
        reply = self.cli("req", "xy.ctl.upstream.subscribe", '{"symbols":["AAPL"]}', "--timeout", "5s")
        self.assertEqual(0, reply.returncode, reply.stderr)
        self.assertIn('"ok"', reply.stdout)

    def test_every_service_heartbeat_arrives(self):
        result = self.cli("sub", "xy.exec.health", "--count", "12", timeout=30)
        self.assertEqual(0, result.returncode, result.stderr)
        services = {"xy-realtime", "xy-aggregator", "xy-gateway"}
        for service in services:
            self.assertIn(service, result.stdout)

    def test_aggregator_restart_recovers_within_its_permissions(self):
        # A restart reads the last batch and snapshot back (stream info, direct get) and replays
        # the batches after the snapshot through an ordered consumer (consumer create and delete).
        # Killed, not stopped: a graceful stop writes a final snapshot and leaves nothing to replay.
        # Killed once a snapshot and a batch after it went by; the snapshot of a tick comes right
        # after its batch, so a kill in the next 33 ms leaves nothing to replay: tried again then.
        replayed = []
        for _ in range(3):
            for subject in ("xy.md.snapshot.demo", "xy.md.tick.demo"):
                seen = self.cli("sub", subject, "--count", "1", timeout=30)
                self.assertEqual(0, seen.returncode, seen.stderr)
            self.stack.stop("aggregator", kill=True)
            self.stack.start("aggregator", [str(self.stack.bin / "xy-aggregator")],
                             self.stack.service_env("aggregator", self.stack.ports["aggregator"]))
            self.stack.wait_http("aggregator", f"http://127.0.0.1:{self.stack.ports['aggregator']}/healthz")
            log = (self.stack.work / "aggregator.log").read_text()
            rebuilt = [json.loads(line) for line in log.splitlines() if '"msg":"group rebuilt"' in line]
            replayed.append(int(rebuilt[-1]["batches_replayed"]))
            if replayed[-1] > 0:
                break
        self.assertGreater(replayed[-1], 0, f"the restarts replayed {replayed} batches")
        result = self.cli("sub", "xy.md.tick.demo", "--count", "2", timeout=30)
        self.assertEqual(0, result.returncode, result.stderr)
        for name in ("realtime", "aggregator", "gateway"):
            log = (self.stack.work / f"{name}.log").read_text()
            self.assertNotIn("ermissions", log, f"{name} was refused something it needs:\n{log[-3000:]}")
            self.assertNotIn("NATS server error", log, f"{name}:\n{log[-3000:]}")

    def test_the_gateway_forwards_ticks_and_snapshots_under_its_user(self):
        token = (self.stack.work / "dev.token").read_text().strip()
        ws = WebSocket(self.stack.ports["gateway"], token)
        try:
            ws.send(json.dumps({"op": "subscribe", "subject": "xy.md.tick.demo", "id": "1"}))
            kinds = set()
            deadline = time.monotonic() + 20
            while not {"tick", "snapshot"} <= kinds and time.monotonic() < deadline:
                message = ws.receive()
                self.assertNotEqual("error", message.get("type"), message)
                # The envelope's subject is the client's; its type says a snapshot (the group's
                # snapshot subject or the reply to xy.md.snapshot.get.demo) or a tick batch.
                if message.get("subject") == "xy.md.tick.demo" and message.get("type") in ("tick", "snapshot"):
                    kinds.add(message["type"])
            self.assertEqual({"tick", "snapshot"}, kinds)
        finally:
            ws.close()

    def test_demo_ticks_reach_a_websocket_client_under_the_demo_user(self):
        # The README's "publish demo ticks with a CLI" against this stack: `xy demo ticks` with the
        # demo user's seed publishes its own group, answers its snapshot requests, and the gateway
        # serves it to a browser's WebSocket like any group.
        self.stack.start("demo", [str(self.stack.bin / "xy"), "demo", "ticks", "-s", self.stack.nats_url,
                                  "--nkey", self.stack.seed("demo"), "--interval", "50ms", "--snapshot-interval", "2s"])
        token = (self.stack.work / "dev.token").read_text().strip()
        ws = WebSocket(self.stack.ports["gateway"], token)
        try:
            ws.send(json.dumps({"op": "subscribe", "subject": "xy.md.tick.cli-demo", "id": "1"}))
            kinds = set()
            seen = ""
            deadline = time.monotonic() + 20
            # Until both kinds arrived and AAPL among them: the demo's names trade at random, so
            # the first snapshot may come before AAPL's first trade.
            while not ({"tick", "snapshot"} <= kinds and "AAPL" in seen) and time.monotonic() < deadline:
                message = ws.receive()
                self.assertNotEqual("error", message.get("type"), message)
                if message.get("subject") == "xy.md.tick.cli-demo" and message.get("type") in ("tick", "snapshot"):
                    kinds.add(message["type"])
                    seen += json.dumps(message)
            self.assertEqual({"tick", "snapshot"}, kinds, self.stack.log("demo"))
            self.assertIn("AAPL", seen)
        finally:
            ws.close()
            self.stack.stop("demo")
        for name in ("demo", "gateway"):
            self.assertNotIn("ermissions", self.stack.log(name), f"{name} was refused something it needs")

    def test_demo_ticks_under_the_cli_user_fail_with_the_servers_refusal(self):
        result = self.cli("demo", "ticks", "--count", "100", timeout=30)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn('Permissions Violation for Publish to "xy.md.tick.cli-demo"', result.stderr)

    # --- what is refused -----------------------------------------------------------------------

    def test_demo_user_cannot_touch_the_aggregators_groups_or_read_anything_else(self):
        async def actions(nc):
            await nc.publish("xy.md.tick.demo", b"forged")
            await nc.publish("xy.md.snapshot.demo", b"forged")
            await nc.publish("xy.exec.health", b"forged")
            await nc.subscribe("xy.md.snapshot.get.demo")
            await nc.subscribe("xy.md.tick.demo")
            await nc.subscribe("xy.>")
        self.assertRefused("demo", actions, 'Publish to "xy.md.tick.demo"', 'Publish to "xy.md.snapshot.demo"',
                           'Publish to "xy.exec.health"', 'Subscription to "xy.md.snapshot.get.demo"',
                           'Subscription to "xy.md.tick.demo"', 'Subscription to "xy.>"')


    def assertRefused(self, user, actions, *expected):
        errors = asyncio.run(violations(self.stack, user, actions, expected))
        for text in expected:
            self.assertTrue(refused(errors, text), f"{user}: expected a violation for {text}, got {errors}")

    def test_realtime_cannot_publish_ticks_or_read_events(self):
        async def actions(nc):
            await nc.publish("xy.md.tick.x", b"forged")
            await nc.subscribe("xy.md.event.*")
        self.assertRefused("realtime", actions, 'Publish to "xy.md.tick.x"', 'Subscription to "xy.md.event.*"')

    def test_aggregator_cannot_publish_events_or_delete_streams(self):
        async def actions(nc):
            await nc.publish("xy.md.event.AAPL", b"forged")
            await nc.publish("$JS.API.STREAM.DELETE.XY_TICKS", b"")
        self.assertRefused("aggregator", actions, 'Publish to "xy.md.event.AAPL"', 'Publish to "$JS.API.STREAM.DELETE.XY_TICKS"')

    def test_gateway_cannot_publish_market_data_or_read_requests(self):
        async def actions(nc):
            await nc.publish("xy.md.tick.demo", b"forged")
            await nc.subscribe("xy.md.snapshot.get.demo")
            await nc.subscribe("xy.md.event.*")
        self.assertRefused("gateway", actions, 'Publish to "xy.md.tick.demo"',
                           'Subscription to "xy.md.snapshot.get.demo"', 'Subscription to "xy.md.event.*"')

    def test_aggregator_may_read_the_stored_bars_it_compares_at_restart(self):
        # GroupRecovery reads the last stored bar of a restored open bar whose minute ended while
        # the aggregator was down (direct get, or msg get without direct access): a restart more
        # than a minute after the last checkpoint needs both.
        async def actions(nc):
            await nc.publish("$JS.API.DIRECT.GET.XY_BARS", b'{"last_by_subj":"xy.md.bar.AAPL"}')
            await nc.publish("$JS.API.STREAM.MSG.GET.XY_BARS", b'{"last_by_subj":"xy.md.bar.AAPL"}')
        errors = asyncio.run(violations(self.stack, "aggregator", actions))
        self.assertFalse([e for e in errors if "permissions violation" in e.lower()], errors)

    def test_services_cannot_read_each_others_replies(self):
        async def gateway(nc):
            await nc.subscribe("_INBOX.xy-aggregator.>")
            await nc.subscribe("_INBOX.>")
        self.assertRefused("gateway", gateway, 'Subscription to "_INBOX.xy-aggregator.>"', 'Subscription to "_INBOX.>"')

        async def aggregator(nc):
            await nc.subscribe("_INBOX.xy-gateway.>")
        self.assertRefused("aggregator", aggregator, 'Subscription to "_INBOX.xy-gateway.>"')

        async def cli(nc):
            await nc.subscribe("_INBOX.xy-aggregator.>")
            await nc.subscribe("_INBOX.xy-gateway.>")
        self.assertRefused("cli", cli, 'Subscription to "_INBOX.xy-aggregator.>"', 'Subscription to "_INBOX.xy-gateway.>"')

    def test_cli_reads_but_cannot_publish_data_or_change_streams(self):
        async def actions(nc):
            await nc.publish("xy.md.tick.demo", b"forged")
            await nc.publish("xy.md.tick.cli-demo", b"forged")
            await nc.publish("xy.exec.health", b"forged")
            await nc.publish("$JS.API.STREAM.DELETE.XY_TICKS", b"")
        self.assertRefused("cli", actions, 'Publish to "xy.md.tick.demo"', 'Publish to "xy.md.tick.cli-demo"',
                           'Publish to "xy.exec.health"', 'Publish to "$JS.API.STREAM.DELETE.XY_TICKS"')

    def test_admin_serves_accounts_and_watchlists_under_its_user(self):
        api = f"http://127.0.0.1:{self.stack.ports['admin_api']}"

        def call(method, path, body=None, token=None):
            request = urllib.request.Request(api + path, method=method, data=None if body is None else json.dumps(body).encode())
            request.add_header("Content-Type", "application/json")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")

        credentials = {"username": "deploy-check", "password": "a long enough password"}
        self.assertEqual(201, call("POST", "/api/v1/auth/register", credentials)[0])
        status, tokens = call("POST", "/api/v1/auth/login", credentials)
        self.assertEqual(200, status)
        status, renewed = call("POST", "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
        self.assertEqual(200, status)
        status, watchlist = call("POST", "/api/v1/watchlist", {"ticker": "TSLA"}, renewed["access_token"])
        self.assertEqual(200, status)
        self.assertIn("TSLA", watchlist["tickers"])
        self.assertEqual(200, call("GET", "/.well-known/jwks.json")[0])
        # Snapshots come from the aggregator's request subject: an answer (not XYA035) proves
        # the admin user may ask and receive the reply.
        status, snapshots = call("GET", "/api/v1/market-data/snapshots?tickers=AAPL,NO_SUCH", token=renewed["access_token"])
        self.assertEqual(200, status)
        codes = [entry.get("code") for entry in snapshots["snapshots"]]
        self.assertIn(codes[0], (None, "XYA034"), snapshots)
        self.assertEqual("XYA033", codes[1], snapshots)
        # Bars: the live subject and a day before the stack started, backfilled from the
        # simulator into XY_BARS under admin's own permissions, then read back.
        day = (int(time.time()) // 86400 - 2) * 86400 * 1000
        for _ in range(2):
            status, page = call("GET", f"/api/v1/market-data/bars?ticker=AAPL&from={day}&to={day + 3600000}", token=renewed["access_token"])
            self.assertEqual(200, status)
            self.assertEqual(60, len(page["bars"]))
        self.assertEqual("stream", page["source"])
        log = (self.stack.work / "admin.log").read_text()
        self.assertNotIn("ermissions", log, f"xy-admin was refused something it needs:\n{log[-3000:]}")

    def test_admin_operators_api_under_its_user(self):
        # Flags (bucket, audit stream, ordered consumers), sessions (XY_SESSIONS) and heartbeats
        # (xy.exec.health) all under the admin user, with the development token xy-admin wrote.
        api = f"http://127.0.0.1:{self.stack.ports['admin_api']}"
        path = self.stack.work / "admin.token"
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(0o600, path.stat().st_mode & 0o777)
        token = path.read_text().strip()

        def call(method, route, body=None):
            request = urllib.request.Request(api + route, method=method, data=None if body is None else json.dumps(body).encode())
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")

        status, flag = call("PUT", "/admin/feature-flags/deploy_check", {"int_value": 3})
        self.assertEqual((200, 3), (status, flag["int_value"]))
        self.assertIn("deploy_check", [f["name"] for f in call("GET", "/admin/feature-flags")[1]["flags"]])
        self.assertEqual(["created"], [c["action"] for c in call("GET", "/admin/feature-flags/deploy_check/history")[1]["changes"]])
        self.assertEqual(200, call("GET", "/admin/sessions")[0])
        deadline = time.monotonic() + 15
        services = set()
        while time.monotonic() < deadline and not {"xy-realtime", "xy-aggregator", "xy-gateway"} <= services:
            services = {i["service"] for i in call("GET", "/admin/health")[1]["instances"]}
            time.sleep(0.2)
        self.assertTrue({"xy-realtime", "xy-aggregator", "xy-gateway"} <= services, services)
        log = (self.stack.work / "admin.log").read_text()
        self.assertNotIn("ermissions", log, f"xy-admin was refused something it needs:\n{log[-3000:]}")

    def test_leases_flow_under_each_user(self):
        """A gateway leases (xy.ctl.lease.<instance>), xy-realtime reads the lease and may tell
        xy.ctl.upstream.changed, the aggregator may follow that; nobody else may lease."""
        def varint(value):
            out = bytearray()
            while True:
                byte = value & 0x7F
                value >>= 7
                out.append(byte | (0x80 if value else 0))
                if not value:
                    return bytes(out)

        def text(field, value):
            data = value.encode()
            return bytes([field << 3 | 2]) + varint(len(data)) + data

        now = time.time_ns()
        # xy.ctl.v1.SymbolLease: instance, symbols, issued_at_ns, expires_at_ns, revision.
        lease = (text(1, "gw-deploy") + text(2, "S0002") + bytes([3 << 3]) + varint(now)
                 + bytes([4 << 3]) + varint(now + 60_000_000_000) + bytes([5 << 3]) + varint(1))

        async def gateway(nc):
            await nc.publish("xy.ctl.lease.gw-deploy", lease)
        errors = asyncio.run(violations(self.stack, "gateway", gateway))
        self.assertFalse([e for e in errors if "permissions violation" in e.lower()], errors)
        metrics_url = f"http://127.0.0.1:{self.stack.ports['realtime']}/metrics"
        deadline = time.monotonic() + 10
        leases = None
        while time.monotonic() < deadline and leases != 1.0:
            with urllib.request.urlopen(metrics_url, timeout=2) as response:
                lines = response.read().decode().splitlines()
            leases = next((float(line.split()[-1]) for line in lines if line.startswith("xy_upstream_leases ")), None)
            time.sleep(0.1)
        self.assertEqual(1.0, leases, "xy-realtime did not receive the gateway's lease")

        async def realtime(nc):
            await nc.publish("xy.ctl.upstream.changed", b"")
        async def aggregator(nc):
            await nc.subscribe("xy.ctl.upstream.changed")
        for user, actions in (("realtime", realtime), ("aggregator", aggregator)):
            errors = asyncio.run(violations(self.stack, user, actions))
            self.assertFalse([e for e in errors if "permissions violation" in e.lower()], f"{user}: {errors}")

        async def forge(nc):
            await nc.publish("xy.ctl.lease.gw-forged", lease)
            await nc.publish("xy.ctl.upstream.changed", b"forged")
        self.assertRefused("aggregator", forge, 'Publish to "xy.ctl.lease.gw-forged"', 'Publish to "xy.ctl.upstream.changed"')
        self.assertRefused("gateway", forge, 'Publish to "xy.ctl.upstream.changed"')

    def test_gateway_and_aggregator_may_read_flags_but_not_write_them(self):
        async def read(nc):
            await nc.publish("$JS.API.STREAM.INFO.KV_xy_feature_flags", b"")
            await nc.publish("$JS.API.DIRECT.GET.KV_xy_feature_flags", b'{"last_by_subj":"$KV.xy_feature_flags.x"}')
            await nc.publish("$JS.API.STREAM.MSG.GET.KV_xy_feature_flags", b'{"last_by_subj":"$KV.xy_feature_flags.x"}')
        for user in ("gateway", "aggregator"):
            errors = asyncio.run(violations(self.stack, user, read))
            self.assertFalse([e for e in errors if "permissions violation" in e.lower()], f"{user}: {errors}")

        async def write(nc):
            await nc.publish("$KV.xy_feature_flags.x", b"forged")
            await nc.publish("xy.audit.flags.x", b"forged")
        self.assertRefused("gateway", write, 'Publish to "$KV.xy_feature_flags.x"', 'Publish to "xy.audit.flags.x"')

    def test_admin_cannot_touch_market_data_or_other_streams(self):
        async def actions(nc):
            await nc.subscribe("xy.md.tick.*")
            await nc.publish("xy.md.tick.demo", b"forged")
            await nc.publish("$JS.API.STREAM.DELETE.KV_xy_users", b"")
            await nc.publish("xy.md.bar.AAPL", b"forged")
            await nc.publish("$JS.API.STREAM.PURGE.XY_BARS", b"")
        self.assertRefused("admin", actions, 'Subscription to "xy.md.tick.*"', 'Publish to "xy.md.tick.demo"',
                           'Publish to "$JS.API.STREAM.DELETE.KV_xy_users"', 'Publish to "xy.md.bar.AAPL"',
                           'Publish to "$JS.API.STREAM.PURGE.XY_BARS"')

    def test_cli_cannot_read_admins_secrets_or_replies(self):
        async def actions(nc):
            await nc.publish("$JS.API.DIRECT.GET.KV_xy_users", b'{"last_by_subj":"$KV.xy_users.deploy-check"}')
            await nc.publish("$JS.API.STREAM.MSG.GET.KV_xy_signing_keys", b'{"last_by_subj":"$KV.xy_signing_keys.ring"}')
            await nc.subscribe("_INBOX.xy-admin.>")
        self.assertRefused("cli", actions, 'Publish to "$JS.API.DIRECT.GET.KV_xy_users"',
                           'Publish to "$JS.API.STREAM.MSG.GET.KV_xy_signing_keys"', 'Subscription to "_INBOX.xy-admin.>"')

    def test_nobody_connects_without_a_key(self):
        async def ignore(error):
            pass

        async def connect():
            await nats.connect(self.stack.nats_url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3,
                               error_cb=ignore)
        with self.assertRaises(Exception) as caught:
            asyncio.run(connect())
        self.assertIn("authorization", str(caught.exception).lower())


if __name__ == "__main__":
    unittest.main()
