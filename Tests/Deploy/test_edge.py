"""The edge's nginx configurations, checked by the real nginx (`nginx -t`, run by make deploy-check).

Both edges share deploy/nginx/routes.conf: make up's configuration, written by
scripts/edge-config.sh with several gateways and admins, and compose's deploy/nginx/compose.conf
(the official image's conf.d file; its service names are replaced by loopback addresses here,
since nginx resolves upstream hosts when it loads the file). make up-down-check runs the first one
for real in front of the stack. Needs Debian's nginx (scripts/deps.sh).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "deploy" / "nginx" / "routes.conf"
COMPOSE_CONF = ROOT / "deploy" / "nginx" / "compose.conf"
EDGE_CONFIG = ROOT / "scripts" / "edge-config.sh"


def nginx():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_test(prefix, config):
    """(exit status, output) of `nginx -t` on `config`, with every path under `prefix`."""
    result = subprocess.run([nginx(), "-e", "stderr", "-t", "-p", str(prefix), "-c", str(config)],
                            capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout + result.stderr


class EdgeConfigurationTests(unittest.TestCase):
    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="xy-edge-"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)

    def test_make_up_configuration_is_valid_with_several_gateways_and_admins(self):
        out = self.work / "edge"
        result = subprocess.run([str(EDGE_CONFIG), str(out), "127.0.0.1:18000", str(ROOT / "Web"),
                                 "127.0.0.1:18080,127.0.0.1:18081", "127.0.0.1:18082,127.0.0.1:18083"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        text = (out / "nginx.conf").read_text()
        gateways = re.search(r"upstream xy_gateway \{(.*?)\}", text, re.S).group(1)
        admins = re.search(r"upstream xy_admin \{(.*?)\}", text, re.S).group(1)
        self.assertEqual(re.findall(r"server (\S+) ", gateways), ["127.0.0.1:18080", "127.0.0.1:18081"])
        self.assertEqual(re.findall(r"server (\S+) ", admins), ["127.0.0.1:18082", "127.0.0.1:18083"])
        self.assertIn(f"include {ROUTES};", text)
        for line in ("daemon off;", f"pid {out}/nginx.pid;"):
            self.assertIn(line, text)
        for temp in re.findall(r"_temp_path (\S+);", text):
            self.assertTrue(temp.startswith(f"{out}/"), f"{temp} outside the run folder")
        status, output = nginx_test(out, out / "nginx.conf")
        self.assertEqual(status, 0, output)

    def test_edge_config_refuses_what_is_not_host_port(self):
        result = subprocess.run([str(EDGE_CONFIG), str(self.work / "edge"), "127.0.0.1:18000", str(ROOT / "Web"),
                                 "gateway", "127.0.0.1:18082"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("'gateway' is not HOST:PORT", result.stderr)

    def test_compose_configuration_is_valid(self):
        conf = COMPOSE_CONF.read_text()
        # The container's paths and names, mapped onto this machine.
        included = re.search(r"^\s*include\s+(\S+);", conf, re.M).group(1)
        conf = conf.replace(included, str(ROOT / "deploy" / "nginx" / "routes.conf"))
        conf = re.sub(r"^(\s*root\s+)\S+;", rf"\g<1>{ROOT / 'Web'};", conf, flags=re.M)
        conf = re.sub(r"^(\s*server\s+)[A-Za-z][\w.-]*:", r"\g<1>127.0.0.1:", conf, flags=re.M)
        conf = re.sub(r"^(\s*listen\s+)(\d+);", r"\g<1>127.0.0.1:\2;", conf, flags=re.M)
        (self.work / "temp").mkdir()
        main = self.work / "nginx.conf"
        main.write_text(
            f"pid {self.work}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
            f"    include /etc/nginx/mime.types;\n    access_log off;\n"
            + "".join(f"    {kind}_temp_path {self.work}/temp/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + conf + "\n}\n")
        status, output = nginx_test(self.work, main)
        self.assertEqual(status, 0, output)
        # The same check refuses a broken file, so a pass means something.
        main.write_text(main.read_text().replace("upstream xy_admin ", "upstream xy_admins ", 1))
        status, output = nginx_test(self.work, main)
        self.assertNotEqual(status, 0, output)


if __name__ == "__main__":
    unittest.main()
