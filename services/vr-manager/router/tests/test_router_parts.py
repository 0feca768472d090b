"""More of the router program's parts: interfaces resolved, the control port's rules, ICMP
and shifted port matches, the tables saved, which egress changes cut flows, conntrack's
answers read, and the entry's answers (system calls faked, nothing runs)."""

import io
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True

import sdn_conntrack_sync  # noqa: E402
import sdn_router_conntrack as conntrack  # noqa: E402
import sdn_router_iptables as iptables  # noqa: E402
import sdn_router_state  # noqa: E402
import sdn_router_system  # noqa: E402
from sdn_router_system import RouterError  # noqa: E402
from tests.router_module import load  # noqa: E402

TAG = '-m comment --comment "sdn-router"'
PRESENT = [
    {"ifname": "eth0", "address": "52:54:00:00:00:10", "addr_info": [{"local": "169.254.3.2"}]},
    {"ifname": "eth1", "address": "52:54:00:00:00:11", "addr_info": []},
    {"ifname": "eth2", "address": "52:54:00:00:00:12", "addr_info": []},
    {"ifname": "eth3", "address": "52:54:00:00:00:13", "addr_info": [{"local": "10.0.0.1"}]},
]


def config():
    return {
        "generation": 2,
        "control": {"port": 3922, "address": "169.254.3.2"},
        "public": {"interface": "eth1", "addresses": [{"ip": "203.0.113.10", "prefixLength": 24}]},
        "networks": [
            {"id": "blue", "cidr": "192.168.50.0/24", "gateway": "192.168.50.1", "mac": "52:54:00:00:00:12"},
            {"id": "green", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"},
        ],
    }


class Completed(object):
    def __init__(self, returncode=0, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def faking(test, module, name, fake):
    test.addCleanup(setattr, module, name, getattr(module, name))
    setattr(module, name, fake)


class InterfacesTest(unittest.TestCase):
    def test_networks_by_name_mac_or_gateway_address(self):
        cfg = config()
        self.assertEqual(iptables.resolve_interfaces(cfg, PRESENT), ("eth1", {"blue": "eth2", "green": "eth3"}))
        cfg["networks"][1]["interface"] = "eth0"
        self.assertEqual(iptables.resolve_interfaces(cfg, PRESENT)[1]["green"], "eth0")

    def test_a_missing_interface_or_the_public_one_is_refused(self):
        cfg = config()
        cfg["networks"][0]["mac"] = "52:54:00:00:00:99"
        with self.assertRaises(RouterError) as caught:
            iptables.resolve_interfaces(cfg, PRESENT)
        self.assertEqual(caught.exception.code, "INTERFACE_NOT_FOUND")
        cfg = config()
        cfg["networks"][0]["interface"] = "eth1"
        with self.assertRaises(RouterError) as caught:
            iptables.resolve_interfaces(cfg, PRESENT)
        self.assertEqual(caught.exception.code, "INVALID_CONFIG")
        cfg = config()
        cfg["public"]["interface"] = "eth9"
        with self.assertRaises(RouterError):
            iptables.resolve_interfaces(cfg, PRESENT)

    def test_the_control_interface_holds_the_control_address(self):
        self.assertEqual(iptables.control_interface(config(), PRESENT), "eth0")
        self.assertIsNone(iptables.control_interface({"control": {}}, PRESENT))
        with self.assertRaises(RouterError) as caught:
            iptables.control_interface({"control": {"address": "169.254.9.9"}}, PRESENT)
        self.assertEqual(caught.exception.code, "INTERFACE_NOT_FOUND")


class RulesTest(unittest.TestCase):
    def lines(self, cfg, ctl="eth0"):
        return iptables.render_iptables(cfg, "eth1", {"blue": "eth2", "green": "eth3"}, ctl).splitlines()

    def test_the_control_port_only_on_the_control_path(self):
        lines = self.lines(config())
        for dev in ("eth1", "eth2", "eth3"):
            self.assertIn("-A INPUT -i %s -p tcp -m tcp --dport 3922 %s -j DROP" % (dev, TAG), lines)
        self.assertIn("-A INPUT -i eth0 -d 169.254.3.2/32 -p tcp -m tcp --dport 3922 %s -j ACCEPT" % TAG, lines)
        # Without a control interface the port is open to whatever is not a guest or the public side.
        lines = self.lines(config(), None)
        self.assertIn("-A INPUT -p tcp -m tcp --dport 3922 %s -j ACCEPT" % TAG, lines)

    def test_icmp_type_and_code_and_a_shifted_port_range(self):
        cfg = config()
        cfg["firewallRules"] = [
            {"publicIp": "203.0.113.10", "protocol": "icmp", "icmpType": 8, "icmpCode": 0},
            {"publicIp": "203.0.113.10", "protocol": "icmp", "icmpType": 3},
            {"publicIp": "203.0.113.10", "protocol": "udp", "startPort": 5000, "endPort": 5010, "sourceCidrs": ["198.51.100.0/24", "192.0.2.0/24"]},
        ]  # fmt: skip
        cfg["portForwards"] = [
            {"publicIp": "203.0.113.10", "privateIp": "10.0.0.7", "protocol": "udp",
             "publicStartPort": 6000, "publicEndPort": 6009, "privateStartPort": 7000, "privateEndPort": 7009},
        ]  # fmt: skip
        lines = self.lines(cfg)
        fw = [l for l in lines if l.startswith("-A SDN_FW_0 ")]
        self.assertIn("-A SDN_FW_0 -s 0.0.0.0/0 -p icmp -m icmp --icmp-type 8/0 %s -j ACCEPT" % TAG, fw)
        self.assertIn("-A SDN_FW_0 -s 0.0.0.0/0 -p icmp -m icmp --icmp-type 3 %s -j ACCEPT" % TAG, fw)
        self.assertEqual(len([l for l in fw if "--ctorigdstport 5000:5010" in l]), 2)
        self.assertIn(
            "-A PREROUTING -d 203.0.113.10/32 -p udp -m udp --dport 6000:6009 %s -j DNAT --to-destination 10.0.0.7:7000-7009/6000"
            % TAG,
            lines,
        )

    def test_tables_never_used_save_empty(self):
        faking(self, sdn_router_system, "run", lambda argv, stdin=None, check=True: Completed(stdout=""))
        self.assertEqual(iptables.iptables_save(), iptables.EMPTY_TABLES["nat"] + iptables.EMPTY_TABLES["filter"])


class EgressCutTest(unittest.TestCase):
    def cut(self, old_egress, new_egress):
        old, new = config(), config()
        old["networks"][0]["egress"], new["networks"][0]["egress"] = old_egress, new_egress
        return conntrack.conntrack_filters(old, new)

    def test_narrowing_cuts_the_network_widening_does_not(self):
        blue = [["--orig-src", "192.168.50.0/24"]]
        rule = {"protocol": "tcp", "startPort": 22}
        other = {"protocol": "udp", "startPort": 53}
        self.assertEqual(self.cut({"default": "allow"}, {"default": "deny"}), blue)
        self.assertEqual(self.cut({"default": "deny"}, {"default": "allow"}), [])
        self.assertEqual(self.cut({"default": "deny"}, {"default": "allow", "rules": [rule]}), blue)
        self.assertEqual(self.cut({"default": "allow"}, {"default": "allow", "rules": [rule]}), blue)  # a new denial
        self.assertEqual(self.cut({"default": "allow", "rules": [rule]}, {"default": "allow"}), [])
        self.assertEqual(self.cut({"default": "deny", "rules": [rule, other]}, {"default": "deny", "rules": [other]}), blue)
        self.assertEqual(self.cut({"default": "deny"}, {"default": "deny", "rules": [rule]}), [])

    def test_a_network_gone_or_moved_and_a_route_lost_cut_both_ways(self):
        old, new = config(), config()
        old["interNetworkRoutes"] = [["blue", "green"]]
        new["networks"][1]["cidr"] = "10.0.1.0/24"
        self.assertEqual(
            conntrack.conntrack_filters(old, new),
            [
                ["--orig-src", "10.0.0.0/24"],
                ["--orig-src", "192.168.50.0/24", "--orig-dst", "10.0.0.0/24"],
                ["--orig-src", "10.0.0.0/24", "--orig-dst", "192.168.50.0/24"],
            ],
        )


class CutConnectionsTest(unittest.TestCase):
    def setUp(self):
        self.answers = []
        faking(self, conntrack.shutil, "which", lambda name: "/usr/sbin/conntrack")
        faking(self, sdn_router_system, "run", lambda argv, stdin=None, check=True: self.answers.pop(0))

    def test_counts_the_deleted_flows_and_a_miss_is_no_failure(self):
        self.answers = [
            Completed(0, stderr="conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n"),
            Completed(1, stderr="conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n"),
        ]
        self.assertEqual(conntrack.cut_connections([["--orig-dst", "203.0.113.10"], ["--orig-src", "10.0.0.5"]]), (3, []))

    def test_other_answers_are_warnings_never_failures(self):
        self.answers = [Completed(1, stderr="conntrack: Operation failed: invalid parameters\n")]
        deleted, warnings = conntrack.cut_connections([["--orig-dst", "203.0.113.10"]])
        self.assertEqual(deleted, 0)
        self.assertIn("exited with 1: conntrack: Operation failed", warnings[0])
        faking(self, conntrack.shutil, "which", lambda name: None)
        self.assertIn("conntrack is not installed", conntrack.cut_connections([["--orig-dst", "x"]])[1][0])
        self.assertEqual(conntrack.cut_connections([]), (0, []))


class EntryTest(unittest.TestCase):
    """The entry point's answers: JSON on stdout, the exit status agreeing with it."""

    def setUp(self):
        self.addCleanup(os.environ.__setitem__, "PATH", os.environ["PATH"])  # the program fixes its PATH
        self.router = load()
        state_dir = tempfile.mkdtemp(prefix="sdn-router-test-")
        self.addCleanup(shutil.rmtree, state_dir)
        faking(self, sdn_router_state, "STATE_DIR", state_dir)
        faking(self, sys, "stdout", io.StringIO())

    def answer(self, argv, stdin=""):
        faking(self, sys, "stdin", io.StringIO(stdin))
        sys.stdout.seek(0)
        sys.stdout.truncate()
        status = self.router.main(["sdn-router"] + argv)
        return status, json.loads(sys.stdout.getvalue())

    def test_version_usage_and_bad_json(self):
        self.assertEqual(self.answer(["version"]), (0, {"ok": True, "result": {"version": self.router.VERSION}}))
        status, out = self.answer(["reboot"])
        self.assertEqual((status, out["ok"], out["error"]["code"]), (2, False, "USAGE"))
        status, out = self.answer(["apply"], "{not json")
        self.assertEqual((status, out["error"]["code"], out["generation"]), (1, "INVALID_CONFIG", 0))

    def test_state_before_any_apply(self):
        status, out = self.answer(["state"])
        self.assertEqual(status, 0)
        self.assertEqual(
            {k: out["result"][k] for k in ("generation", "hash", "haproxyRunning", "guestServicesRunning")},
            {"generation": 0, "hash": None, "haproxyRunning": False, "guestServicesRunning": True},
        )
        self.assertNotIn("vrrp", out["result"])
        self.assertNotIn("connectionSync", out["result"])

    def test_a_pair_member_reports_its_connection_sync(self):
        cfg = dict(config(), vrrp={"group": "pair", "virtualRouterId": 7, "priority": 100, "peers": ["169.254.3.3"]})
        sdn_router_state.write_atomic(
            sdn_router_state.state_file("state.json"), json.dumps({"generation": 2, "hash": "h", "config": cfg})
        )
        _status, out = self.answer(["state"])
        self.assertIn("vrrp", out["result"])
        # No conntrackd configuration written in this state dir: no peer to sync with yet, or none installed.
        self.assertIn(out["result"]["connectionSync"], (sdn_conntrack_sync.NO_PEER, sdn_conntrack_sync.UNAVAILABLE))

    def test_a_connection_sync_failure_is_answered_with_its_code(self):
        def failing(cfg):
            raise sdn_conntrack_sync.ConntrackSyncError("CONNTRACKD_FAILED", "conntrackd did not start")

        faking(self, self.router, "apply", failing)
        status, out = self.answer(["apply"], "{}")
        self.assertEqual((status, out["error"]["code"], out["generation"]), (1, "CONNTRACKD_FAILED", 0))


if __name__ == "__main__":
    unittest.main()
