"""sdn-router apply against fakes of the system (no command runs): the steps in order, and
the undo stack -- a failure at step k undoes exactly steps k-1 ... 1, the last first."""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True

import sdn_conntrack_sync  # noqa: E402
import sdn_guest_services  # noqa: E402
import sdn_router_apply  # noqa: E402
import sdn_router_haproxy  # noqa: E402
import sdn_router_state  # noqa: E402
import sdn_router_system  # noqa: E402
import sdn_vrrp  # noqa: E402
from sdn_router_system import RouterError  # noqa: E402
from sdn_router_undo import UndoStack  # noqa: E402

PREVIOUS_ROUTE = "default via 198.51.100.1 dev eth0 proto static"
PRESENT = [
    {"ifname": "eth0", "mtu": 1500, "addr_info": [{"family": "inet", "local": "169.254.3.2", "prefixlen": 16}]},
    {"ifname": "eth1", "mtu": 1500, "addr_info": []},
    {"ifname": "eth2", "mtu": 1500, "addr_info": []},
    # Already holds its gateway address: nothing to add, nothing to undo.
    {"ifname": "eth3", "mtu": 1450, "addr_info": [{"family": "inet", "local": "10.0.0.1", "prefixlen": 24}]},
]

# The steps that change the router, in the order apply takes them, and how each is undone.
STEPS = [
    ("ip addr add 203.0.113.10/24 dev eth1", "ip addr del 203.0.113.10/24 dev eth1"),
    ("ip addr add 192.168.50.1/24 dev eth2", "ip addr del 192.168.50.1/24 dev eth2"),
    ("ip link set dev eth2 mtu 1450", "ip link set dev eth2 mtu 1500"),
    ("ip route replace default via 203.0.113.1 dev eth1", "ip route replace " + PREVIOUS_ROUTE),
    ("guest services", "guest services undone"),
    ("iptables-restore <new rules>", "iptables-restore <previous rules>"),
    ("haproxy -D -f haproxy.cfg", None),  # its undo: the previous haproxy.cfg back (checked apart)
    ("conntrackd stopped", "conntrackd undone"),  # not a pair member: conntrackd is given no configuration
]
HAPROXY = [do for do, _undo in STEPS].index("haproxy -D -f haproxy.cfg")


def config(generation=3):
    return {
        "generation": generation,
        "control": {"port": 3922, "address": "169.254.3.2"},
        "public": {"interface": "eth1", "gateway": "203.0.113.1", "addresses": [{"ip": "203.0.113.10", "prefixLength": 24}]},
        "networks": [
            {"id": "blue", "cidr": "192.168.50.0/24", "gateway": "192.168.50.1", "interface": "eth2", "mtu": 1450},
            {"id": "green", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1", "interface": "eth3", "mtu": 1450},
        ],
        "loadBalancers": [
            {"id": "web", "publicIp": "203.0.113.10", "publicPort": 80, "privatePort": 8080,
             "algorithm": "roundrobin", "members": ["192.168.50.11"]},
        ],
    }  # fmt: skip


class Completed(object):
    def __init__(self, returncode=0, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


class FakeSystem(unittest.TestCase):
    """Replaces every system call of apply by a record in self.log; self.failing names the
    step (an entry of STEPS) that fails."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sdn-router-test-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.log = []
        self.failing = None
        patches = [
            (sdn_router_state, "STATE_DIR", self.dir),
            (sdn_router_system, "run", self.run_),
            (sdn_router_system, "links", lambda: json.loads(json.dumps(PRESENT))),
            (sdn_router_system, "write_proc", lambda path, text: self.log.append("write %s %s" % (path, text))),
            (sdn_router_haproxy, "check", lambda text: None),
            (sdn_router_haproxy, "running_pid", lambda: None),
            (sdn_router_haproxy, "stop", lambda: self.log.append("haproxy stop")),
            (sdn_guest_services, "Services", self.services()),
            (sdn_vrrp, "Keepalived", self.keepalived()),
            (sdn_conntrack_sync, "ConntrackSync", self.conntrack_sync()),
        ]
        for module, name, fake in patches:
            self.addCleanup(setattr, module, name, getattr(module, name))
            setattr(module, name, fake)

    def run_(self, argv, stdin=None, check=True):
        if argv[:2] == ["ip", "route"] and argv[2] == "show":
            return Completed(stdout=PREVIOUS_ROUTE + "\n")
        if argv[0] == "iptables-save":
            return Completed(stdout="*%s\n:INPUT ACCEPT [0:0]\nCOMMIT\n" % argv[2])
        line = " ".join(argv)
        if argv[0] == "iptables-restore":
            line += " <previous rules>" if stdin.startswith("*nat\n:INPUT") else " <new rules>"
        if argv[0] == "haproxy":
            line = "haproxy -D -f " + os.path.basename(argv[3])
        self.log.append(line)
        if line == self.failing:
            if check:
                raise RouterError("COMMAND_FAILED", "%s failed" % line)
            return Completed(returncode=1, stderr="refused")
        return Completed()

    def services(self):
        test = self

        class Services(object):
            def __init__(self, state_dir):
                pass

            def apply(self, cfg, guest):
                test.log.append("guest services")
                if test.failing == "guest services":
                    raise RouterError("DNSMASQ_FAILED", "fake")
                return lambda: test.log.append("guest services undone")

            def state(self):
                return {"dnsmasqRunning": True, "metadataRunning": True}

        return Services

    def keepalived(self):
        test = self

        class Keepalived(object):
            def __init__(self, state_dir):
                pass

            def current(self):
                return None

            def apply(self, text):
                test.log.append("keepalived")
                return lambda: test.log.append("keepalived undone")

            def stop(self):
                test.log.append("keepalived stop")

        return Keepalived

    def conntrack_sync(self):
        test = self

        class ConntrackSync(object):
            def __init__(self, state_dir):
                pass

            def apply(self, text):
                test.log.append("conntrackd stopped" if text is None else "conntrackd:" + text)
                if test.failing == "conntrackd stopped":
                    raise sdn_conntrack_sync.ConntrackSyncError("CONNTRACKD_FAILED", "fake")
                return lambda: test.log.append("conntrackd undone")

            def state(self, paired):
                return sdn_conntrack_sync.RUNNING if paired else None

        return ConntrackSync

    def haproxy_cfg(self):
        path = os.path.join(self.dir, "haproxy.cfg")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()


class ApplyStepsTest(FakeSystem):
    def test_the_steps_in_order_and_nothing_undone_on_success(self):
        result = sdn_router_apply.apply(config())
        self.assertEqual(result["generation"], 3)
        self.assertTrue(result["changed"])
        changes = [l for l in self.log if not l.startswith("write /proc")]
        self.assertEqual(changes, [do for do, _undo in STEPS])
        self.assertEqual(self.log[0], "write /proc/sys/net/ipv4/ip_forward 1")
        self.assertIn("listen lb-web", self.haproxy_cfg())
        with open(os.path.join(self.dir, "state.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved["generation"], 3)
        self.assertEqual(sorted(saved["addresses"]), [["eth1", "203.0.113.10/24"], ["eth2", "192.168.50.1/24"]])

    def test_a_failure_at_step_k_undoes_exactly_the_steps_before_it_last_first(self):
        for k in range(1, len(STEPS) + 1):
            with self.subTest(failing=STEPS[k - 1][0]):
                self.log, self.failing = [], STEPS[k - 1][0]
                with self.assertRaises((RouterError, sdn_conntrack_sync.ConntrackSyncError)):
                    sdn_router_apply.apply(config())
                at = self.log.index(self.failing)
                done = [l for l in self.log[:at] if not l.startswith("write /proc")]
                self.assertEqual(done, [do for do, _undo in STEPS[: k - 1]])
                self.assertEqual(self.log[at + 1 :], [undo for _do, undo in reversed(STEPS[: k - 1]) if undo])
                self.assertIsNone(self.haproxy_cfg())
                self.assertFalse(os.path.exists(os.path.join(self.dir, "state.json")))

    def test_haproxy_failing_to_start_puts_its_previous_configuration_back_and_undoes_the_rest(self):
        with open(os.path.join(self.dir, "haproxy.cfg"), "w") as f:
            f.write("# the previous configuration\n")
        self.failing = "haproxy -D -f haproxy.cfg"
        with self.assertRaises(RouterError):
            sdn_router_apply.apply(config())
        at = self.log.index(self.failing)
        self.assertEqual(self.log[at + 1 :], [undo for _do, undo in reversed(STEPS[:HAPROXY])])
        self.assertEqual(self.haproxy_cfg(), "# the previous configuration\n")

    def test_a_pair_member_syncs_connections_with_its_peer_and_says_so(self):
        cfg = config()
        cfg["vrrp"] = {"group": "pair", "virtualRouterId": 7, "priority": 100, "sourceAddress": "169.254.3.2",
                       "peers": ["169.254.3.3"]}  # fmt: skip
        result = sdn_router_apply.apply(cfg)
        self.assertEqual(result["connectionSync"], sdn_conntrack_sync.RUNNING)
        # conntrackd after keepalived, with its configuration for the control link to the peer.
        synced = [l for l in self.log if l.startswith("conntrackd")]
        self.assertEqual(synced, ["conntrackd:" + sdn_conntrack_sync.render(cfg, "eth0", self.dir)])
        self.assertIn("IPv4_Destination_Address 169.254.3.3", synced[0])
        self.assertLess(self.log.index("keepalived"), self.log.index(synced[0]))
        self.assertNotIn("connectionSync", sdn_router_apply.apply(config(4)))

    def test_a_stale_generation_touches_nothing(self):
        sdn_router_apply.apply(config(5))
        self.log = []
        with self.assertRaises(RouterError) as caught:
            sdn_router_apply.apply(config(4))
        self.assertEqual(caught.exception.code, "STALE_GENERATION")
        self.assertEqual(self.log, [])
        # The same generation and content again: accepted, nothing changes.
        self.assertFalse(sdn_router_apply.apply(config(5))["changed"])
        self.assertEqual(self.log, [])


class UndoStackTest(unittest.TestCase):
    def test_unwinds_in_reverse_and_empties(self):
        done, undo = [], UndoStack()
        for i in range(1, 4):
            undo.push("step %d" % i, lambda i=i: done.append(i))
        self.assertEqual(len(undo), 3)
        self.assertEqual(undo.unwind(), [])
        self.assertEqual(done, [3, 2, 1])
        self.assertEqual(len(undo), 0)

    def test_a_failing_undo_does_not_stop_the_others(self):
        done, undo = [], UndoStack()
        undo.push("first", lambda: done.append(1))
        undo.push("second", lambda: 1 / 0)
        undo.push("third", lambda: done.append(3))
        saved, sys.stderr = sys.stderr, open(os.devnull, "w")
        try:
            failed = undo.unwind()
        finally:
            sys.stderr.close()
            sys.stderr = saved
        self.assertEqual(done, [3, 1])
        self.assertEqual(len(failed), 1)
        self.assertIn("undoing second failed: ZeroDivisionError", failed[0])

    def test_run_unwinds_on_failure_and_raises_the_first_error(self):
        done = []

        def steps(undo):
            undo.push("a", lambda: done.append("a"))
            raise RouterError("X", "step b failed")

        with self.assertRaises(RouterError) as caught:
            UndoStack().run(steps)
        self.assertEqual(str(caught.exception), "step b failed")
        self.assertEqual(done, ["a"])
        self.assertEqual(UndoStack().run(lambda undo: 42), 42)


if __name__ == "__main__":
    unittest.main()
