"""The real stack for the browser tests, on free loopback ports, and the browser that drives it.

Starts `nats-server -js`, `xy sim polygon`, `xy-realtime`, `xy-aggregator` and `xy-gateway` from
the debug build (XY_BIN_DIR, default `swift build --show-bin-path`), and nginx as the edge in front
of the gateway with make up's configuration (scripts/edge-config.sh), each logging to a file in a
temporary folder, and stops them at the end. The page is reachable both ways: from the gateway
itself (most tests) and through the edge's one origin. Nothing here is a stand-in: the page talks to the
real gateway, which reads the real aggregator through the real nats-server.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True  # no __pycache__ beside the committed generated modules
sys.path.insert(0, os.path.join(ROOT, "Tests", "Interop", "generated"))

GROUP = "demo"
SYMBOLS = ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "SPY", "TSLA"]
SIM_RATE = 400  # vendor events per second over all symbols


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Every wait below is a bound, never a performance claim: on a shared two-core machine with
# compilers running, Chromium and the debug services can stall for seconds, so bounds stretch.
TIMEOUT_SCALE = float(os.environ.get("XY_BROWSER_TIMEOUT_SCALE", "3"))


def wait_until(condition, timeout, what, interval=0.1):
    """Polls `condition` until it returns something truthy; fails with `what` after `timeout` s
    (times TIMEOUT_SCALE)."""
    timeout *= TIMEOUT_SCALE
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - report the last one if it never succeeds
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def http_get(url, timeout=2):
    """(status, body text) of a GET; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def bin_dir():
    configured = os.environ.get("XY_BIN_DIR")
    if configured:
        return configured
    output = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True)
    return output.stdout.strip()


class Process:
    """One child process with its log file."""

    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.popen = None

    def start(self):
        log = open(self.log_path, "ab")
        environment = dict(os.environ)
        environment.update(self.env)
        self.popen = subprocess.Popen(self.argv, env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)
        log.close()
        return self

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as file:
                return file.read()
        except FileNotFoundError:
            return ""

    def signal(self, signum):
        if self.running():
            self.popen.send_signal(signum)

    def kill(self):
        """SIGKILL, as a crash would."""
        if self.running():
            self.popen.kill()
            self.popen.wait(timeout=10)

    def stop(self, timeout=10):
        if not self.running():
            return
        self.popen.send_signal(signal.SIGCONT)
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


class Stack:
    def __init__(self):
        self.bin = bin_dir()
        self.work = tempfile.mkdtemp(prefix="xy-browser-")
        self.processes = []
        self.nats_url = None
        self.nats = None
        self.gateway_port = free_port()
        self.gateway_url = f"http://127.0.0.1:{self.gateway_port}"
        self.gateway = None
        self.edge_port = free_port()
        self.edge_url = f"http://127.0.0.1:{self.edge_port}"
        self.edge_dir = os.path.join(self.work, "edge")
        self.aggregator = None
        self.sim = None
        self.token = None

    def binary(self, name):
        path = os.path.join(self.bin, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{path} is missing: run 'swift build' first (make test-browser does)")
        return path

    # ── start ────────────────────────────────────────────────────────────────────────────────

    def start(self):
        try:
            self.start_nats()
            self.make_token()
            self.start_sim()
            self.start_realtime()
            self.start_aggregator()
            self.start_gateway()
            self.start_edge()
        except BaseException:
            self.dump_logs()
            self.stop()
            raise
        return self

    def spawn(self, name, argv, env=None):
        process = Process(name, argv, env or {}, self.work).start()
        self.processes.append(process)
        return process

    def start_nats(self):
        """nats-server with JetStream on a fixed free port (a restart comes back on the same one)."""
        if self.nats_url is None:
            self.nats_port = free_port()
            self.nats_url = f"nats://127.0.0.1:{self.nats_port}"
        server = shutil.which("nats-server") or "/usr/sbin/nats-server"
        store = os.path.join(self.work, "jetstream")
        self.nats = self.spawn("nats-server", [server, "-a", "127.0.0.1", "-p", str(self.nats_port), "-js", "-sd", store])
        ready_before = self.nats.log().count("Server is ready")

        def ready():
            if not self.nats.running():
                raise RuntimeError(f"nats-server exited:\n{self.nats.log()[-2000:]}")
            return self.nats.log().count("Server is ready") > ready_before

        wait_until(ready, 15, "nats-server to be ready")

    def restart_nats(self, down_seconds):
        """Stops nats-server, waits, and starts it again on the same port with the same store."""
        self.nats.stop()
        time.sleep(down_seconds)
        self.start_nats()

    def make_token(self):
        self.public_key = os.path.join(self.work, "dev.pub.pem")
        self.token = self.mint("dev")

    def mint(self, key_name):
        """A token signed by the key `key_name` (made on first use); only 'dev' is the gateway's."""
        xy = self.binary("xy")
        key = os.path.join(self.work, f"{key_name}.pem")
        if not os.path.exists(key):
            subprocess.run([xy, "token", "keygen", "--out", key], check=True, capture_output=True)
        minted = subprocess.run(
            [xy, "token", "mint", "--key", key, "--sub", "browser-test", "--subjects", "xy.md.>", "--ttl", "1h"],
            check=True, capture_output=True, text=True)
        return minted.stdout.strip().splitlines()[-1].strip()

    def start_sim(self):
        self.sim = self.spawn("sim", [
            self.binary("xy"), "sim", "polygon", "--listen", "127.0.0.1:0", "--api-key", "browser-test-key",
            "--symbols", ",".join(SYMBOLS), "--rate", str(SIM_RATE), "--seed", "7",
        ])

        def port():
            for line in self.sim.log().splitlines():
                if line.startswith("listening "):
                    return line.rsplit(":", 1)[1].strip()
            if not self.sim.running():
                raise RuntimeError("the simulator exited")
            return None

        self.sim_port = wait_until(port, 15, "the simulator to listen")

    def service_env(self, port):
        return {"NATS_URLS": self.nats_url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port), "LOG_LEVEL": "info"}

    def start_realtime(self):
        port = free_port()
        env = self.service_env(port)
        env.update({
            "UPSTREAM_URL": f"ws://127.0.0.1:{self.sim_port}/stocks", "UPSTREAM_API_KEY": "browser-test-key",
            "UPSTREAM_SYMBOLS": "*", "UPSTREAM_CHANNELS": "T,Q,AM", "UPSTREAM_SILENCE_TIMEOUT": "120s",
        })
        self.spawn("xy-realtime", [self.binary("xy-realtime")], env)
        self.wait_healthy("xy-realtime", port)

    def start_aggregator(self):
        port = free_port()
        env = self.service_env(port)
        env["AGG_GROUPS"] = f"{GROUP}=" + ",".join(SYMBOLS)
        self.aggregator = self.spawn("xy-aggregator", [self.binary("xy-aggregator")], env)
        self.wait_healthy("xy-aggregator", port)
        # Every symbol has traded and quoted before the browser looks.
        wait_until(lambda: len([t for t in self.snapshot().ticks if t.last > 0 and t.bid > 0]) == len(SYMBOLS),
                   30, "the aggregator to know every symbol")

    def start_gateway(self):
        env = self.service_env(self.gateway_port)
        env.update({
            "JWT_PUBLIC_KEY": self.public_key,
            "WS_ALLOWED_ORIGINS": f"{self.gateway_url},{self.edge_url}",
            "WS_STATIC_DIR": os.path.join(ROOT, "Web"),
        })
        self.gateway = self.spawn("xy-gateway", [self.binary("xy-gateway")], env)
        self.wait_healthy("xy-gateway", self.gateway_port)

    def start_edge(self):
        """nginx with make up's configuration in front of the gateway. There is no xy-admin in this
        stack: its upstream names a free port nobody listens on, so /api/ answers 502 here."""
        subprocess.run([os.path.join(ROOT, "scripts", "edge-config.sh"), self.edge_dir, f"127.0.0.1:{self.edge_port}",
                        os.path.join(ROOT, "Web"), f"127.0.0.1:{self.gateway_port}", f"127.0.0.1:{free_port()}"],
                       check=True, capture_output=True, text=True)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        edge = self.spawn("edge", [nginx, "-e", "stderr", "-p", self.edge_dir, "-c", os.path.join(self.edge_dir, "nginx.conf")])

        def serving():
            if not edge.running():
                raise RuntimeError(f"nginx exited:\n{edge.log()[-3000:]}")
            return http_get(f"{self.edge_url}/")[0] == 200

        wait_until(serving, 30, "the edge to serve the page", interval=0.2)

    def edge_access_log(self):
        """The edge's access log: which requests went through nginx, with their status."""
        try:
            with open(os.path.join(self.edge_dir, "access.log"), encoding="utf-8", errors="replace") as file:
                return file.read()
        except FileNotFoundError:
            return ""

    def restart_gateway(self):
        self.start_gateway()

    def restart_aggregator_on_empty_stream(self):
        """Stops xy-aggregator, deletes XY_TICKS (as its max age passing over a weekend would empty
        it) and starts it again: it has nothing to continue, so its seq starts over under a new epoch."""
        self.aggregator.stop()
        asyncio.run(self._delete_stream("XY_TICKS"))
        self.start_aggregator()

    async def _delete_stream(self, name):
        import nats

        client = await nats.connect(self.nats_url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            await client.jetstream().delete_stream(name)
        finally:
            await client.close()

    def wait_healthy(self, name, port):
        process = next(p for p in reversed(self.processes) if p.name == name)

        def healthy():
            if not process.running():
                raise RuntimeError(f"{name} exited:\n{process.log()[-3000:]}")
            status, _ = http_get(f"http://127.0.0.1:{port}/healthz")
            return status == 200

        wait_until(healthy, 60, f"{name} /healthz to be 200", interval=0.2)

    # ── look ─────────────────────────────────────────────────────────────────────────────────

    def healthz(self):
        status, body = http_get(f"{self.gateway_url}/healthz")
        return json.loads(body)

    def metric(self, name):
        """The value of an unlabelled sample of the gateway's /metrics (None when absent)."""
        _, body = http_get(f"{self.gateway_url}/metrics")
        for line in body.splitlines():
            if line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) >= 2 and parts[0] == name:
                return float(parts[1])
        return None

    def snapshot(self):
        """The aggregator's current snapshot of the group (request/reply on xy.md.snapshot.get.<group>)."""
        return asyncio.run(self._snapshot())

    async def _snapshot(self):
        import nats
        from xy.md.v1 import snapshot_pb2

        client = await nats.connect(self.nats_url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            reply = await client.request(f"xy.md.snapshot.get.{GROUP}", b"", timeout=2)
        finally:
            await client.close()
        snapshot = snapshot_pb2.Snapshot()
        snapshot.ParseFromString(reply.data)
        return snapshot

    def settled_snapshot(self):
        """With the simulator paused: the aggregator's snapshot once its seq stops moving."""
        previous = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            current = self.snapshot()
            if previous is not None and current.seq == previous.seq:
                return current
            previous = current
            time.sleep(0.4)
        raise AssertionError("the aggregator's seq kept moving with the simulator paused")

    def pause_market(self):
        self.sim.signal(signal.SIGSTOP)

    def resume_market(self):
        self.sim.signal(signal.SIGCONT)

    # ── stop ─────────────────────────────────────────────────────────────────────────────────

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes = []

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def dump_logs(self, tail=4000):
        shown = set()
        for process in self.processes:
            if process.log_path in shown:
                continue  # a restarted process appends to the same file
            shown.add(process.log_path)
            sys.stderr.write(f"\n──── {process.name} ({process.log_path}) ────\n{process.log()[-tail:]}\n")


def snapshot_rows(snapshot):
    """The snapshot's ticks in the shape the page keeps in xyStats.watchlist."""
    rows = {}
    for tick in snapshot.ticks:
        rows[tick.symbol] = {
            "last": tick.last, "change": tick.change, "changePercent": tick.change_percent,
            "bid": tick.bid, "ask": tick.ask, "volume": tick.volume, "time": tick.event_time_ns // 1_000_000,
            "lastSize": tick.last_size, "bidSize": tick.bid_size, "askSize": tick.ask_size,
            "open": tick.open, "high": tick.high, "low": tick.low, "previousClose": tick.previous_close,
        }
    return rows
