"""The compose `cluster` profile's NATS side on loopback: three nats-server nodes from the
`cluster.conf` that `xy dev init --cluster-routes` writes, the aggregator reaching them through all
three URLs with XY_STREAM_REPLICAS=3, and the loss of a node survived.

Needs XY_BIN_DIR (debug build folder). Run by `make test` (make deploy-check).
"""
import shutil
import subprocess
import time
import unittest

import test_least_privilege as support


class ClusterTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = support.Stack()
        stack = cls.stack
        try:
            cls.nodes = [{"client": support.free_port(), "monitor": support.free_port(), "route": support.free_port()} for _ in range(3)]
            routes = ",".join(f"127.0.0.1:{node['route']}" for node in cls.nodes)
            nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
            for index, node in enumerate(cls.nodes, start=1):
                out = stack.work / f"n{index}"
                if index > 1:  # every node must know the same users: share the first node's keys
                    out.mkdir()
                    shutil.copytree(stack.work / "n1" / "seeds", out / "seeds")
                    shutil.copytree(stack.work / "n1" / "jwt", out / "jwt")
                init = stack.xy("dev", "init", "--out", str(out), "--templates", str(support.TEMPLATES),
                                "--listen", f"127.0.0.1:{node['client']}", "--http", f"127.0.0.1:{node['monitor']}",
                                "--store-dir", str(out / "data"), "--cluster-routes", routes,
                                "--cluster-listen", f"127.0.0.1:{node['route']}")
                if init.returncode != 0:
                    raise AssertionError(f"xy dev init failed: {init.stderr}")
                stack.start(f"nats-{index}", [nats_server, "-c", str(out / "nats" / "cluster.conf"), "--server_name", f"n{index}"])
            for index, node in enumerate(cls.nodes, start=1):
                stack.wait_http(f"nats-{index}", f"http://127.0.0.1:{node['monitor']}/healthz")
            cls.urls = ",".join(f"nats://127.0.0.1:{node['client']}" for node in cls.nodes)
            environment = stack.service_env("aggregator", stack.ports["aggregator"])
            environment.update({"NATS_URLS": cls.urls, "NATS_NKEY_SEED_FILE": str(stack.work / "n1" / "seeds" / "aggregator.nk"),
                                "XY_STREAM_REPLICAS": "3"})
            stack.start("aggregator", [str(stack.bin / "xy-aggregator")], environment)
            stack.wait_http("aggregator", f"http://127.0.0.1:{stack.ports['aggregator']}/healthz", timeout=90)
        except BaseException:
            stack.down()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.down()

    def cli(self, node, *arguments, timeout=30):
        url = f"nats://127.0.0.1:{self.nodes[node]['client']}"
        return self.stack.xy(*arguments, "-s", url, "--nkey", str(self.stack.work / "n1" / "seeds" / "cli.nk"), timeout=timeout)

    def test_streams_have_three_replicas_and_survive_a_node(self):
        for stream in ("XY_TICKS", "XY_BARS"):
            info = self.cli(1, "js", "stream", "info", stream)
            self.assertEqual(0, info.returncode, info.stderr)
            self.assertIn("replicas: 3", info.stdout)
        # Snapshots (every 3 s) reach a client on another node.
        first = self.cli(2, "sub", "xy.md.snapshot.demo", "--count", "1", timeout=20)
        self.assertEqual(0, first.returncode, first.stderr)

        # The node the aggregator started on (the first URL it could reach) goes away: it moves
        # to another URL of NATS_URLS, and the replicated streams keep storing.
        self.stack.stop("nats-1")
        deadline = time.monotonic() + 30
        while support.http_status(f"http://127.0.0.1:{self.stack.ports['aggregator']}/healthz") != 200:
            self.assertLess(time.monotonic(), deadline, self.stack.log("aggregator"))
            time.sleep(0.5)
        after = self.cli(2, "sub", "xy.md.snapshot.demo", "--count", "2", timeout=30)
        self.assertEqual(0, after.returncode, after.stderr)
        info = self.cli(2, "js", "stream", "info", "XY_TICKS")
        self.assertEqual(0, info.returncode, info.stderr)


if __name__ == "__main__":
    unittest.main()
