"""compose.yaml checked without a Docker engine (run by `make test` as `make compose-check`).

The file must be valid against the compose-spec JSON schema (the copy beside this file), and it
must agree with what the executables accept: every environment variable is one the service's
executable lists in `--help`, every `xy` flag is one its subcommand lists, HTTP ports agree with
published ports, healthchecks and Prometheus targets, dependencies name services that exist with
the healthchecks their conditions need, the nats-server configurations the setup service
generates are accepted by the real nats-server, and the edge (nginx) routes to the services and
ports compose runs, with the gateway verifying xy-admin's tokens (deploy/nginx/compose.conf; its
syntax is nginx -t'd by make deploy-check, Tests/Deploy/test_edge.py).

Needs XY_BIN_DIR (the debug build folder holding xy, xy-realtime, xy-aggregator, xy-gateway, xy-admin),
PyYAML and jsonschema (.venv, scripts/deps.sh).
"""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).resolve().parent / "compose-spec.json"
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
AUTHORIZATION = ROOT / "deploy" / "nats" / "authorization.conf"
EDGE_CONF = ROOT / "deploy" / "nginx" / "compose.conf"
ROUTES = ROOT / "deploy" / "nginx" / "routes.conf"
SERVICE_EXECUTABLES = {"xy-realtime", "xy-aggregator", "xy-gateway", "xy-admin"}
XY_IMAGE = "xy:dev"
CONFIG_MOUNT = "/xy"


def bin_dir() -> Path:
    path = os.environ.get("XY_BIN_DIR")
    if not path:
        raise unittest.SkipTest("XY_BIN_DIR is not set")  # never under make, which sets it
    return Path(path)


def run_help(arguments):
    """`<exe> … --help` of the debug build; a missing executable fails the test with the cause."""
    exe = bin_dir() / arguments[0]
    if not exe.exists():
        raise AssertionError(f"{exe} is not built (make build)")
    result = subprocess.run([str(exe), *arguments[1:], "--help"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(arguments)} --help failed: {result.stderr}")
    return result.stdout


HELP_VARIABLE = re.compile(r"^  ([A-Z][A-Z0-9_]*)\s+.*\((default: (.*)|required)\)$")


def service_variables(executable):
    """{NAME: default, or None when unset or required} from a service's --help
    (XYService.ServiceRuntime.helpText); required ones also in `required_variables`."""
    text = run_help([executable])
    assert "ENVIRONMENT:" in text, f"{executable} --help lists no ENVIRONMENT"
    variables = {}
    for line in text.split("ENVIRONMENT:", 1)[1].splitlines():
        match = HELP_VARIABLE.match(line)
        if match:
            variables[match.group(1)] = match.group(3)
    assert variables, f"no variables parsed from {executable} --help"
    return variables


def required_variables(executable):
    return {m.group(1) for m in map(HELP_VARIABLE.match, run_help([executable]).splitlines()) if m and m.group(2) == "required"}


def command_flags(arguments):
    """The long flags (`--listen`) an `xy` subcommand lists in --help."""
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", run_help(arguments)))


def load_compose():
    with open(COMPOSE) as handle:
        return yaml.safe_load(handle)  # YAML anchors and merge keys resolved as compose does


def command_of(service):
    command = service.get("command")
    if isinstance(command, str):
        command = command.split()
    return command or []


def http_port(name, service):
    """The HTTP_PORT a service listens on: its environment, else the executable's default."""
    environment = service.get("environment") or {}
    if "HTTP_PORT" in environment:
        return int(environment["HTTP_PORT"])
    return int(service_variables(command_of(service)[0])["HTTP_PORT"])


def container_ports(service):
    ports = []
    for entry in service.get("ports") or []:
        text = str(entry["target"] if isinstance(entry, dict) else entry)
        ports.append(int(text.split("/")[0].rsplit(":", 1)[-1]))
    return ports


def healthcheck_url(service):
    test = (service.get("healthcheck") or {}).get("test") or []
    return next((part for part in test if isinstance(part, str) and part.startswith("http")), None)


def mounts(service):
    """{container path: source} of a service's volumes (short syntax)."""
    result = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            result[entry["target"]] = entry.get("source")
        else:
            parts = entry.split(":")
            result[parts[1]] = parts[0]
    return result


class ComposeFileTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose = load_compose()
        cls.services = cls.compose["services"]

    def xy_services(self):
        return {name: s for name, s in self.services.items() if s.get("image") == XY_IMAGE}

    def app_services(self):
        return {name: s for name, s in self.xy_services().items() if command_of(s)[:1] and command_of(s)[0] in SERVICE_EXECUTABLES}

    def test_valid_against_the_compose_spec_schema(self):
        with open(SCHEMA) as handle:
            schema = json.load(handle)
        jsonschema.Draft7Validator.check_schema(schema)
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(self.compose), key=lambda e: list(e.path))
        self.assertEqual([], [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors])
        # The same validator refuses what compose would: a misspelt key, a bad depends_on condition.
        broken = yaml.safe_load(COMPOSE.read_text())
        broken["services"]["gateway"]["healthchek"] = broken["services"]["gateway"].pop("healthcheck")
        broken["services"]["realtime"]["depends_on"]["nats"]["condition"] = "service_ready"
        self.assertEqual(2, len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))))

    def test_the_stack_and_the_cluster_profile_are_there(self):
        default = {n for n, s in self.services.items() if not s.get("profiles")}
        cluster = {n for n, s in self.services.items() if "cluster" in (s.get("profiles") or [])}
        self.assertLessEqual({"setup", "nats", "sim", "realtime", "aggregator", "admin", "gateway", "edge", "prometheus"}, default)
        self.assertLessEqual({"nats-1", "nats-2", "nats-3", "cluster-realtime", "cluster-aggregator", "cluster-gateway"}, cluster)
        for name in ("nats", "nats-1", "nats-2", "nats-3"):
            self.assertTrue(self.services[name]["image"].startswith("nats:2.12"), name)

    def test_every_environment_variable_is_one_the_executable_accepts(self):
        for name, service in self.app_services().items():
            accepted = service_variables(command_of(service)[0])
            for variable in service.get("environment") or {}:
                self.assertIn(variable, accepted, f"{name}: {command_of(service)[0]} does not read {variable}")
            for variable in required_variables(command_of(service)[0]):
                self.assertIn(variable, service.get("environment") or {}, f"{name}: required {variable} not set")

    def test_xy_commands_use_only_flags_their_subcommand_has(self):
        for name, service in self.xy_services().items():
            command = command_of(service)
            if command[0] != "xy":
                continue
            words = [w for w in command[1:] if not w.startswith("-")]
            subcommand = ["xy"]
            for word in words:  # xy sim polygon, xy dev init: the leading words that are subcommands
                if word in ("sim", "polygon", "dev", "init"):
                    subcommand.append(word)
                else:
                    break
            self.assertGreater(len(subcommand), 1, f"{name}: {command}")
            known = command_flags(subcommand)
            for flag in (w for w in command if w.startswith("--")):
                self.assertIn(flag, known, f"{name}: '{' '.join(subcommand)}' has no {flag}")

    def test_ports_and_healthchecks_match_http_port(self):
        for name, service in self.app_services().items():
            port = http_port(name, service)
            self.assertIn(port, container_ports(service), f"{name}: HTTP_PORT {port} is not published")
            url = healthcheck_url(service)
            self.assertIsNotNone(url, f"{name}: no healthcheck")
            parsed = urlparse(url)
            self.assertEqual((parsed.port, parsed.path), (port, "/healthz"), f"{name}: healthcheck {url}")
        sim = self.services["sim"]
        listen = command_of(sim)[command_of(sim).index("--listen") + 1]
        sim_port = int(listen.rsplit(":", 1)[1])
        self.assertIn(sim_port, container_ports(sim))
        self.assertEqual(urlparse(healthcheck_url(sim)).port, sim_port)
        for name, service in self.services.items():
            if service.get("image", "").startswith("nats:"):
                self.assertEqual(urlparse(healthcheck_url(service)).port, 8222, name)

    def test_upstream_and_nats_urls_reach_services_of_the_same_profile(self):
        setup = command_of(self.services["setup"])
        routes = setup[setup.index("--cluster-routes") + 1].split(",")
        cluster_nodes = {route.split(":")[0] for route in routes}
        self.assertEqual({"nats-1", "nats-2", "nats-3"}, cluster_nodes)
        for name, service in self.app_services().items():
            environment = service["environment"]
            hosts = [urlparse(url).hostname for url in environment["NATS_URLS"].split(",")]
            ports = {urlparse(url).port for url in environment["NATS_URLS"].split(",")}
            self.assertEqual({4222}, ports, name)
            profiles = set(service.get("profiles") or [])
            for host in hosts:
                self.assertIn(host, self.services, f"{name}: NATS_URLS names {host}")
                self.assertEqual(profiles, set(self.services[host].get("profiles") or []), f"{name} → {host}")
                self.assertEqual(self.services[name]["depends_on"][host]["condition"], "service_healthy", f"{name} → {host}")
            if "cluster" in profiles:
                self.assertEqual(set(hosts), cluster_nodes, f"{name}: NATS_URLS must list every cluster node")
                if "XY_STREAM_REPLICAS" in environment:
                    self.assertEqual(environment["XY_STREAM_REPLICAS"], "3", name)
            else:
                self.assertEqual(hosts, ["nats"], name)
            if "UPSTREAM_URL" in environment:
                upstream = urlparse(environment["UPSTREAM_URL"])
                sim_listen = command_of(self.services["sim"])[command_of(self.services["sim"]).index("--listen") + 1]
                self.assertEqual((upstream.hostname, upstream.port, upstream.path), ("sim", int(sim_listen.rsplit(":", 1)[1]), "/stocks"))
                sim_key = command_of(self.services["sim"])[command_of(self.services["sim"]).index("--api-key") + 1]
                self.assertEqual(environment["UPSTREAM_API_KEY"], sim_key, name)

    def test_dependencies_exist_and_healthy_conditions_have_healthchecks(self):
        for name, service in self.services.items():
            for dependency, rule in (service.get("depends_on") or {}).items():
                self.assertIn(dependency, self.services, f"{name} depends on {dependency}")
                target_profiles = set(self.services[dependency].get("profiles") or [])
                self.assertLessEqual(target_profiles, set(service.get("profiles") or []), f"{name} → {dependency}: profile")
                if rule["condition"] == "service_healthy":
                    self.assertIn("healthcheck", self.services[dependency], f"{name} waits for {dependency} healthy")
                if rule["condition"] == "service_completed_successfully":
                    self.assertEqual(self.services[dependency].get("restart"), "no", dependency)

    def test_seed_and_key_paths_are_written_by_setup_and_mounted(self):
        users = re.findall(r"\$XY_NKEY_([A-Z0-9_]+)", AUTHORIZATION.read_text())
        self.assertTrue(users)
        for name, service in self.app_services().items():
            environment = service["environment"]
            seed = environment["NATS_NKEY_SEED_FILE"]
            match = re.fullmatch(CONFIG_MOUNT + r"/seeds/([a-z0-9_]+)\.nk", seed)
            self.assertIsNotNone(match, f"{name}: {seed}")
            self.assertIn(match.group(1).upper(), users, f"{name}: no user {match.group(1)} in authorization.conf")
            self.assertEqual(mounts(service).get(CONFIG_MOUNT), "xy-config", f"{name} must mount xy-config at {CONFIG_MOUNT}")
        setup = self.services["setup"]
        self.assertEqual(command_of(setup)[command_of(setup).index("--out") + 1], CONFIG_MOUNT)
        self.assertEqual(mounts(setup).get(CONFIG_MOUNT), "xy-config")

    def test_prometheus_scrapes_every_service(self):
        prometheus = self.services["prometheus"]
        self.assertEqual(mounts(prometheus).get("/etc/prometheus/prometheus.yml"), "./deploy/prometheus/prometheus.yml")
        with open(PROMETHEUS) as handle:
            config = yaml.safe_load(handle)
        targets = set()
        for job in config["scrape_configs"]:
            self.assertEqual(job.get("metrics_path", "/metrics"), "/metrics")
            for static in job["static_configs"]:
                targets.update(static["targets"])
        expected = {f"{name}:{http_port(name, s)}" for name, s in self.app_services().items()}
        self.assertEqual(expected, targets)

    def test_the_dockerfile_builds_what_compose_runs(self):
        text = DOCKERFILE.read_text()
        built = set(re.search(r"for product in ([^;]+);", text).group(1).split())
        used = {command_of(s)[0] for s in self.xy_services().values()}
        self.assertLessEqual(used, built)
        self.assertIn("libsodium23", text)
        self.assertEqual(self.services["setup"]["build"]["dockerfile"], "deploy/Dockerfile")
        setup = command_of(self.services["setup"])
        self.assertIn(f"COPY deploy/nats/ {setup[setup.index('--templates') + 1]}/", text)
        static_dirs = {s["environment"]["WS_STATIC_DIR"] for s in self.app_services().values() if s["environment"].get("WS_STATIC_DIR")}
        for directory in static_dirs:
            self.assertIn(f"COPY Web/ {directory}/", text)

    def test_setup_generates_configurations_nats_server_accepts(self):
        setup = command_of(self.services["setup"])
        arguments = list(setup[1:])
        work = Path(tempfile.mkdtemp(prefix="xy-compose-"))
        try:
            arguments[arguments.index("--out") + 1] = str(work / "xy")
            arguments[arguments.index("--templates") + 1] = str(AUTHORIZATION.parent)
            arguments[arguments.index("--store-dir") + 1] = str(work / "data")
            result = subprocess.run([str(bin_dir() / "xy"), *arguments], capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
            for name, service in self.services.items():
                if not service.get("image", "").startswith("nats:"):
                    continue
                command = command_of(service)
                config = command[command.index("-c") + 1]
                self.assertTrue(config.startswith(CONFIG_MOUNT + "/"), name)
                local = work / "xy" / config[len(CONFIG_MOUNT) + 1:]
                self.assertTrue(local.exists(), f"{name}: setup does not write {config}")
                extra = command[command.index("-c") + 2:]
                check = subprocess.run([nats_server, "-t", "-c", str(local), *extra], capture_output=True, text=True, timeout=30)
                self.assertEqual(check.returncode, 0, f"{name}: {check.stdout}{check.stderr}")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_the_edge_routes_to_the_services_compose_runs(self):
        edge = self.services["edge"]
        self.assertTrue(edge["image"].startswith("nginx:"), "the official nginx image")
        conf = EDGE_CONF.read_text()
        volumes = mounts(edge)
        self.assertEqual(volumes.get("/etc/nginx/conf.d/default.conf"), "./deploy/nginx/compose.conf")
        include = re.search(r"^\s*include\s+(\S+);", conf, re.M).group(1)
        self.assertEqual(volumes.get(include), "./deploy/nginx/routes.conf", "routes.conf mounted where compose.conf includes it")
        root = re.search(r"^\s*root\s+(\S+);", conf, re.M).group(1)
        self.assertEqual(volumes.get(root), "./Web", "the page served at / is Web/")
        listen = int(re.search(r"^\s*listen\s+(\d+);", conf, re.M).group(1))
        self.assertIn(listen, container_ports(edge))
        self.assertEqual(urlparse(healthcheck_url(edge)).port, listen)

        # Every upstream server is a default-profile service running the right executable, on the
        # port it serves: HTTP_PORT for the gateway (WebSocket, /healthz), API_PORT for xy-admin.
        expected = {"xy_gateway": ("xy-gateway", "HTTP_PORT"), "xy_admin": ("xy-admin", "API_PORT")}
        for upstream, body in re.findall(r"upstream\s+(\w+)\s*\{(.*?)\}", conf, re.S):
            executable, port_variable = expected.pop(upstream)
            servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", body, re.M)
            self.assertTrue(servers, upstream)
            for host, port in servers:
                service = self.services[host]
                self.assertEqual(command_of(service)[0], executable, f"{upstream}: {host}")
                self.assertFalse(service.get("profiles"), f"{upstream}: {host} must run without a profile")
                variables = service_variables(executable)
                self.assertEqual(int((service.get("environment") or {}).get(port_variable, variables[port_variable])), int(port), f"{upstream}: {host}")
                self.assertIn(host, edge["depends_on"], f"the edge starts after {host}")
        self.assertEqual({}, expected, "upstreams missing from compose.conf")
        for upstream in ("xy_gateway", "xy_admin"):
            self.assertIn(f"http://{upstream}", ROUTES.read_text())

    def test_the_gateway_verifies_xy_admin_tokens_and_trusts_only_the_edge(self):
        gateway, admin, edge = self.services["gateway"], self.services["admin"], self.services["edge"]
        jwks = urlparse(gateway["environment"]["JWT_JWKS_URL"])
        self.assertEqual((jwks.hostname, jwks.port, jwks.path), ("admin", int(admin["environment"]["API_PORT"]), "/.well-known/jwks.json"))
        self.assertNotIn("JWT_PUBLIC_KEY", gateway["environment"])
        self.assertEqual(gateway["depends_on"]["admin"]["condition"], "service_healthy")
        edge_port = container_ports(edge)[0]
        origins = gateway["environment"]["WS_ALLOWED_ORIGINS"].split(",")
        self.assertIn(f"http://localhost:{edge_port}", origins, "pages of the edge's origin may open the WebSocket")
        address = edge["networks"]["default"]["ipv4_address"]
        self.assertEqual(gateway["environment"]["WS_TRUSTED_PROXIES"], address)
        self.assertEqual(admin["environment"]["TRUSTED_PROXIES"], address)
        subnet = self.compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
        network = ipaddress.ip_network(subnet)
        self.assertIn(ipaddress.ip_address(address), network)
        self.assertNotEqual(ipaddress.ip_address(address), network.network_address + 1, "not the bridge's own address")
        self.assertNotIn("8081", " ".join(map(str, admin.get("ports") or [])), "the API is reached through the edge only")
        self.assertEqual(gateway["environment"]["WS_STATIC_DIR"], "", "the edge serves the page")


if __name__ == "__main__":
    unittest.main()
