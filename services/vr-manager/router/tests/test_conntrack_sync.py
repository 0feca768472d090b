"""Unit tests of the pair's connection tracking sync (sdn_conntrack_sync.py): conntrackd's
configuration, the filter rule, and the commands keepalived's notify runs (against a stand-in
conntrackd that records its arguments; the lab test runs the real one)."""

import os
import shutil
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True

import sdn_conntrack_sync as sync  # noqa: E402
import sdn_router_iptables  # noqa: E402


def config(peers=("10.0.0.51",)):
    return {
        "control": {"port": 3922, "address": "10.0.0.50"},
        "public": {"interface": "eth1", "addresses": [{"ip": "203.0.113.10", "prefixLength": 24}]},
        "networks": [{"id": "net-a", "cidr": "10.1.0.0/24", "gateway": "10.1.0.1", "interface": "eth2"}],
        "vrrp": {
            "group": "web-pair",
            "virtualRouterId": 42,
            "priority": 250,
            "sourceAddress": "10.0.0.50",
            "peers": list(peers),
        },
    }


# A stand-in conntrackd: appends its last argument to calls.txt; "-d" opens the control
# socket the module connects to (a listening Unix socket, kept by a child process).
FAKE = """#!/usr/bin/python3
import os, socket, sys
d = os.path.dirname(os.path.realpath(__file__))
with open(os.path.join(d, "calls.txt"), "a") as f:
    f.write(sys.argv[-1] + "\\n")
conf = open(sys.argv[2]).read()
path = [l.split()[1] for l in conf.splitlines() if l.strip().startswith("Path ")][0]
if sys.argv[-1] == "-d":
    if os.fork() == 0:
        os.setsid()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(8)
        while True:
            c, _ = s.accept()
            if c.recv(16) == b"stop":
                os.unlink(path)
                os._exit(0)
            c.close()
elif sys.argv[-1] == "-k":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"stop")
"""


class RenderTest(unittest.TestCase):
    def setUp(self):
        self.text = sync.render(config(), "ctl0", "/var/lib/sdn-router")

    def test_ftfw_over_udp_on_the_control_link_to_the_peer(self):
        self.assertIn("Mode FTFW {", self.text)
        self.assertIn("IPv4_address 10.0.0.50\n", self.text)
        self.assertIn("IPv4_Destination_Address 10.0.0.51", self.text)
        self.assertIn("Interface ctl0", self.text)
        self.assertIn("Port 3780", self.text)
        self.assertNotIn("Multicast", self.text)

    def test_runs_in_the_namespace_with_its_files_in_the_state_dir(self):
        self.assertIn("Systemd off", self.text)
        self.assertIn("LockFile /var/lib/sdn-router/conntrack/conntrackd.lock", self.text)
        self.assertIn("Path /var/lib/sdn-router/conntrack/conntrackd.ctl", self.text)
        self.assertIn("LogFile /var/lib/sdn-router/conntrack/conntrackd.log", self.text)

    def test_the_routers_own_addresses_are_not_synchronised(self):
        ignored = self.text.split("Address Ignore {")[1].split("}")[0].split()
        self.assertEqual(
            [a for a in ignored if a != "IPv4_address"], ["127.0.0.1", "10.0.0.50", "10.1.0.1", "203.0.113.10"]
        )

    def test_nothing_without_a_peer_or_outside_a_pair(self):
        self.assertIsNone(sync.render(config(peers=()), "ctl0", "/s"))
        cfg = config()
        del cfg["vrrp"]
        self.assertIsNone(sync.render(cfg, "ctl0", "/s"))
        self.assertIsNone(sync.render(config(), None, "/s"))

    def test_filter_takes_the_sync_from_the_peer_on_the_control_interface_only(self):
        self.assertEqual(
            sync.filter_rules(config(), "ctl0", "C"),
            ["-A INPUT -i ctl0 -s 10.0.0.51/32 -p udp -m udp --dport 3780 C -j ACCEPT"],
        )
        self.assertEqual(sync.filter_rules(config(peers=()), "ctl0", "C"), [])

    def test_the_router_filter_takes_it(self):
        rules = sdn_router_iptables.render_iptables(config(), "eth1", {"net-a": "eth2"}, "ctl0").splitlines()
        self.assertIn(
            '-A INPUT -i ctl0 -s 10.0.0.51/32 -p udp -m udp --dport 3780 -m comment --comment "sdn-router" -j ACCEPT',
            rules,
        )
        cfg = config()
        del cfg["vrrp"]
        rules = sdn_router_iptables.render_iptables(cfg, "eth1", {"net-a": "eth2"}, "ctl0")
        self.assertNotIn("3780", rules)


class DaemonTest(unittest.TestCase):
    """Start, stop, and the notify's steps, with the stand-in conntrackd on the module's PATH."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        fake = os.path.join(self.bin, "conntrackd")
        with open(fake, "w") as f:
            f.write(FAKE)
        os.chmod(fake, stat.S_IRWXU)
        self.saved = (sync.PATH, sync.TCP_LOOSE)
        sync.PATH = self.bin
        sync.TCP_LOOSE = os.path.join(self.tmp, "tcp_loose")
        self.state_dir = os.path.join(self.tmp, "s")
        self.s = sync.ConntrackSync(self.state_dir)

    def tearDown(self):
        self.s.stop()
        sync.PATH, sync.TCP_LOOSE = self.saved
        shutil.rmtree(self.tmp)

    def calls(self):
        path = os.path.join(self.bin, "calls.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            out = f.read().split()
        os.unlink(path)
        return out

    def record_vrrp(self, state):
        os.makedirs(os.path.join(self.state_dir, "vrrp"), exist_ok=True)
        with open(os.path.join(self.state_dir, "vrrp", "state"), "w") as f:
            f.write('{"state": "%s"}' % state)

    def test_a_backup_starts_it_asks_the_master_for_its_flows_and_stops_picking_up_mid_flow(self):
        self.record_vrrp("BACKUP")
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.assertEqual(self.s.state(True), sync.RUNNING)
        self.assertEqual(self.calls(), ["-d", "-n"])
        with open(sync.TCP_LOOSE) as f:
            self.assertEqual(f.read(), "0")
        # The same configuration again: nothing restarts.
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.assertEqual(self.calls(), [])

    def test_a_master_restarted_by_a_new_configuration_sends_its_flows(self):
        self.record_vrrp("MASTER")
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.calls()
        self.s.apply(sync.render(config(peers=("10.0.0.52",)), "ctl0", self.state_dir))
        self.assertEqual(self.calls(), ["-k", "-d", "-B"])

    def test_the_notify_steps_are_primary_backup_sh_s(self):
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.calls()
        self.s.on_state("MASTER")
        self.assertEqual(self.calls(), ["-c", "-f", "-R", "-B"])
        self.s.on_state("BACKUP")
        self.assertEqual(self.calls(), ["-t", "-n"])
        self.s.on_state("FAULT")
        self.assertEqual(self.calls(), ["-t"])
        self.s.on_state("STOP")
        self.assertEqual(self.calls(), [])

    def test_a_backup_notify_starts_a_conntrackd_that_died(self):
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.s._ctl("-k")
        self.s._wait(lambda: not self.s.running(), 5)
        self.assertEqual(self.s.state(True), sync.STOPPED)
        self.calls()
        self.s.on_state("BACKUP")
        self.assertEqual(self.calls(), ["-d", "-t", "-n"])
        self.assertEqual(self.s.state(True), sync.RUNNING)

    def test_the_peer_leaving_stops_it_and_the_undo_of_a_first_start_too(self):
        undo = self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        undo()
        self.assertFalse(self.s.running())
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.s.apply(sync.render(config(peers=()), "ctl0", self.state_dir))
        self.assertFalse(self.s.running())
        self.assertEqual(self.s.state(True), sync.NO_PEER)
        with open(sync.TCP_LOOSE) as f:
            self.assertEqual(f.read(), "1")

    def test_without_the_binary_the_pair_works_and_says_so(self):
        sync.PATH = os.path.join(self.tmp, "nowhere")
        self.s.apply(sync.render(config(), "ctl0", self.state_dir))
        self.s.on_state("MASTER")
        self.assertEqual(self.s.state(True), sync.UNAVAILABLE)
        self.assertIsNone(self.s.state(False))
        self.assertFalse(os.path.exists(os.path.join(self.bin, "calls.txt")))


if __name__ == "__main__":
    unittest.main()
