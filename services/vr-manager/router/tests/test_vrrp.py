"""Unit tests of the redundant pair's keepalived rendering and checks (sdn_vrrp.py)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True

import sdn_vrrp as vrrp  # noqa: E402
import sdn_router_apply  # noqa: E402
import sdn_router_checks  # noqa: E402
import sdn_router_iptables  # noqa: E402
from sdn_router_system import RouterError  # noqa: E402
from tests.router_module import PATH as ROUTER_PATH  # noqa: E402


def config():
    return {
        "generation": 3,
        "control": {"port": 3922, "address": "10.0.0.50"},
        "public": {
            "interface": "eth1",
            "gateway": "203.0.113.1",
            "addresses": [{"ip": "203.0.113.10", "prefixLength": 24}],
        },
        "networks": [
            {"id": "net-a", "cidr": "10.1.0.0/24", "gateway": "10.1.0.1", "interface": "eth2"},
            {"id": "net-b", "cidr": "10.2.0.0/16", "gateway": "10.2.0.1", "interface": "eth3"},
        ],
        "vrrp": {
            "group": "web-pair",
            "virtualRouterId": 42,
            "priority": 100,
            "sourceAddress": "10.0.0.50",
            "peers": ["10.0.0.51"],
        },
    }


GUEST = {"net-a": "eth2", "net-b": "eth3"}


class RenderTest(unittest.TestCase):
    def setUp(self):
        self.text = vrrp.render(config(), "eth1", GUEST, "ctl0", "/var/lib/sdn-router")

    def test_every_gateway_and_public_address_floats(self):
        self.assertIn("    10.1.0.1/24 dev eth2", self.text)
        self.assertIn("    10.2.0.1/16 dev eth3", self.text)
        self.assertIn("    203.0.113.10/24 dev eth1", self.text)
        self.assertIn("default via 203.0.113.1 dev eth1", self.text)

    def test_vrrpv3_over_the_control_link_with_half_second_adverts(self):
        self.assertIn("interface ctl0", self.text)
        self.assertIn("mcast_src_ip 10.0.0.50", self.text)
        self.assertIn("version 3", self.text)
        self.assertIn("advert_int 0.5", self.text)
        # keepalived refuses authentication with VRRPv3.
        self.assertNotIn("authentication", self.text)
        self.assertIn("virtual_router_id 42", self.text)

    def test_preempt_off_both_start_as_backup(self):
        self.assertIn("state BACKUP", self.text)
        self.assertIn("nopreempt", self.text)
        self.assertNotIn("state MASTER", self.text)

    def test_guest_and_public_interfaces_are_tracked(self):
        self.assertIn("track_interface {\n    eth1\n    eth2\n    eth3\n  }", self.text)

    def test_notify_records_into_the_state_dir(self):
        self.assertRegex(self.text, r'notify ".*/sdn_vrrp.py notify /var/lib/sdn-router"')

    def test_a_peer_joining_changes_nothing_for_keepalived(self):
        # A changed keepalived configuration reloads it; a reload of the VRRP sockets sends a master back to BACKUP.
        cfg = config()
        cfg["vrrp"]["peers"] = []
        self.assertEqual(vrrp.render(cfg, "eth1", GUEST, "ctl0", "/var/lib/sdn-router"), self.text)

    def test_no_default_route_without_a_public_gateway(self):
        cfg = config()
        cfg["public"]["gateway"] = None
        self.assertNotIn("virtual_routes", vrrp.render(cfg, "eth1", GUEST, "ctl0", "/x"))

    @unittest.skipUnless(shutil.which("keepalived") and os.geteuid() == 0, "needs keepalived and root")
    def test_keepalived_accepts_it(self):
        # keepalived checks that the interfaces exist: veths, in a network namespace of our own.
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write(self.text)
            f.flush()
            links = "; ".join("ip link add %s type veth peer name p%s" % (d, d) for d in ("ctl0", "eth1", "eth2", "eth3"))
            script = "%s; exec keepalived --config-test -f %s" % (links, f.name)
            p = subprocess.Popen(["unshare", "--net", "sh", "-c", script], stderr=subprocess.PIPE)
            _, err = p.communicate()
            self.assertEqual(p.returncode, 0, err)


class FilterTest(unittest.TestCase):
    def test_adverts_only_from_the_peer_on_the_control_interface(self):
        self.assertEqual(
            vrrp.filter_rules(config(), "ctl0", "-m comment"),
            ["-A INPUT -i ctl0 -s 10.0.0.51/32 -p vrrp -m comment -j ACCEPT"],
        )
        cfg = config()
        del cfg["vrrp"]
        self.assertEqual(vrrp.filter_rules(cfg, "ctl0", ""), [])

    def test_the_router_filter_takes_them(self):
        rules = sdn_router_iptables.render_iptables(config(), "eth1", GUEST, "ctl0")
        self.assertIn("-A INPUT -i ctl0 -s 10.0.0.51/32 -p vrrp", rules)


class CheckTest(unittest.TestCase):
    def refused(self, **change):
        v = dict(config()["vrrp"], **change)
        with self.assertRaises(vrrp.VrrpError) as e:
            vrrp.check(v)
        self.assertEqual(e.exception.code, "INVALID_CONFIG")

    def test_absent_is_fine(self):
        self.assertIsNone(vrrp.check(None))

    def test_bad_sections_are_refused(self):
        self.refused(group="Web Pair")
        self.refused(virtualRouterId=0)
        self.refused(virtualRouterId=256)
        self.refused(priority=255)
        self.refused(priority=True)
        self.refused(peers=["10.0.0.51", "10.0.0.52"])
        self.refused(peers=["not-an-ip"])
        self.refused(sourceAddress=None)

    def test_a_pair_member_needs_a_control_address(self):
        cfg = config()
        del cfg["control"]["address"]
        with self.assertRaises(RouterError):
            sdn_router_checks.check_config(cfg)

    def test_a_pair_member_puts_no_address_itself(self):
        self.assertEqual(sdn_router_apply.desired_addresses(config(), "eth1", GUEST), [])
        cfg = config()
        del cfg["vrrp"]
        self.assertEqual(len(sdn_router_apply.desired_addresses(cfg, "eth1", GUEST)), 3)


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_notify_records_the_state(self):
        vrrp.notify(self.dir, ["INSTANCE", "sdn", "MASTER", "100"])
        k = vrrp.Keepalived(self.dir)
        with open(k.state_path) as f:
            self.assertEqual(json.load(f)["state"], "MASTER")
        # keepalived is not running here: nothing is held, whatever was recorded.
        self.assertEqual(k.state(), {"state": "UNKNOWN", "running": False})

    def test_unknown_states_are_recorded_as_unknown(self):
        vrrp.notify(self.dir, ["INSTANCE", "sdn", "STOP", "100"])
        with open(vrrp.Keepalived(self.dir).state_path) as f:
            self.assertEqual(json.load(f)["state"], "UNKNOWN")


class WatchTest(unittest.TestCase):
    """`sdn-router vrrp-watch` as the vr-manager runs it: a line per change, heartbeats between."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.k = vrrp.Keepalived(self.dir)
        os.makedirs(self.k.dir)
        # keepalived "runs": its pid file names this (living) process.
        with open(self.k.pid, "w") as f:
            f.write(str(os.getpid()))
        vrrp.notify(self.dir, ["INSTANCE", "sdn", "BACKUP", "240"])
        env = dict(os.environ, SDN_ROUTER_STATE_DIR=self.dir)
        self.p = subprocess.Popen(
            [sys.executable, ROUTER_PATH, "vrrp-watch"], stdout=subprocess.PIPE, env=env, universal_newlines=True
        )

    def tearDown(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.p.stdout.close()
        shutil.rmtree(self.dir)

    def line(self):
        return json.loads(self.p.stdout.readline())

    def test_prints_each_change_and_heartbeats(self):
        self.assertEqual(self.line(), {"state": "BACKUP", "running": True})
        # Silence would mean a lost watch: the same state comes again within a heartbeat.
        self.assertEqual(self.line(), {"state": "BACKUP", "running": True})
        vrrp.notify(self.dir, ["INSTANCE", "sdn", "MASTER", "240"])
        seen = [self.line() for _ in range(3)]
        self.assertIn({"state": "MASTER", "running": True}, seen)
        # keepalived gone: nothing is held any more, whatever was recorded.
        os.unlink(self.k.pid)
        seen = [self.line() for _ in range(3)]
        self.assertIn({"state": "UNKNOWN", "running": False}, seen)

    def test_ends_when_its_reader_leaves(self):
        self.line()
        self.p.stdout.close()
        self.assertIsNotNone(self.p.wait(timeout=5))


if __name__ == "__main__":
    unittest.main()
