"""Encrypted networks' tunnels on the host: fail closed, the key in one transaction, never answered."""

import os
import shutil
import tempfile
import unittest

import sdn_ipsec
import sdn_ovs
import sdn_ovs_bridges
import sdn_ovs_cmd
import sdn_ovs_tunnels
from sdn_ovs_cmd import HostError

PSK = "ab" * 32


class IpsecChecksTest(unittest.TestCase):
    def setUp(self):
        self.rundir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.rundir)

    def pidfile(self, pid):
        with open(os.path.join(self.rundir, "ovs-monitor-ipsec.pid"), "w") as f:
            f.write("%d\n" % pid)

    def test_the_key_is_hex_of_at_least_256_bits_and_never_echoed(self):
        self.assertEqual(sdn_ipsec.check_psk(PSK), PSK)
        for bad in ("ab" * 31, 'a"b' * 30, PSK.upper(), None, 5, PSK + " x"):
            with self.assertRaises(sdn_ipsec.IpsecError) as caught:
                sdn_ipsec.check_psk(bad)
            self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
            self.assertNotIn(PSK[:16], str(caught.exception))

    def test_the_monitor_must_run(self):
        self.assertFalse(sdn_ipsec.monitor_running(self.rundir))
        self.pidfile(os.getpid())
        self.assertTrue(sdn_ipsec.monitor_running(self.rundir))
        # A stale pidfile (no such process) is not a running monitor.
        self.pidfile(2**22 + 12345)
        self.assertFalse(sdn_ipsec.monitor_running(self.rundir))

    def test_refusals_name_the_reason(self):
        self.pidfile(os.getpid())
        sdn_ipsec.check_host("br-n1", "", self.rundir)
        sdn_ipsec.check_host("br-n1", "system", self.rundir)
        with self.assertRaises(sdn_ipsec.IpsecError) as caught:
            sdn_ipsec.check_host("br-n1", "netdev", self.rundir)
        self.assertEqual(caught.exception.code, "IPSEC_DATAPATH_UNSUPPORTED")
        self.assertIn("netdev", str(caught.exception))
        os.remove(os.path.join(self.rundir, "ovs-monitor-ipsec.pid"))
        with self.assertRaises(sdn_ipsec.IpsecError) as caught:
            sdn_ipsec.check_host("br-n1", "system", self.rundir)
        self.assertEqual(caught.exception.code, "IPSEC_UNAVAILABLE")

    def test_state_answers_say_a_key_is_set_not_which(self):
        self.assertEqual(sdn_ipsec.redact_options({"psk": PSK, "key": "9"}), {"psk": "<set>", "key": "9"})
        self.assertEqual(sdn_ipsec.redact_options({"key": "9"}), {"key": "9"})

    def test_ovs_state_never_carries_the_key(self):
        ifaces = [{"_uuid": "i1", "name": "gre-a", "type": "gre", "options": {"psk": PSK, "remote_ip": "10.0.0.2"},
                   "ofport": 1, "error": ["set", []], "mac_in_use": ["set", []], "external_ids": {}}]  # fmt: skip
        ports = [{"_uuid": "p1", "name": "gre-a", "protected": True, "external_ids": {}, "interfaces": "i1"}]
        bridges = [{"name": "br-n1", "datapath_type": "", "external_ids": {"sdn-network-id": "n1"}, "ports": "p1"}]
        out = sdn_ovs_bridges.state_of(bridges, ports, ifaces)
        self.assertEqual(out[0]["ports"][0]["interfaces"][0]["options"], {"psk": "<set>", "remote_ip": "10.0.0.2"})
        self.assertNotIn(PSK, repr(out))


class QuietVsctlTest(unittest.TestCase):
    def setUp(self):
        self.argv = []
        self.real = sdn_ovs_cmd.run
        sdn_ovs_cmd.run = lambda argv, timeout, stdin=None, decode=True: self.argv.append(argv) or (0, "", "")

    def tearDown(self):
        sdn_ovs_cmd.run = self.real

    def test_a_secret_command_line_is_kept_out_of_ovs_vsctl_logs(self):
        sdn_ovs_cmd.vsctl(["set", "Interface", "gre-a", "options:psk=%s" % PSK], secret=True)
        sdn_ovs_cmd.vsctl(["list", "Bridge"])
        self.assertLessEqual({"-vsyslog:off", "-vfile:off"}, set(self.argv[0]))
        self.assertFalse({"-vsyslog:off", "-vfile:off"} & set(self.argv[1]))


class EncryptedApplyTunnelsTest(unittest.TestCase):
    """apply_tunnels with a psk: checked first, then ONE transaction with the key and the skb mark."""

    def setUp(self):
        self.calls = []
        self.real = (
            sdn_ovs_cmd.vsctl, sdn_ovs_cmd.bridge_of, sdn_ovs_cmd.bridges, sdn_ovs_tunnels.tagged_ports,
            os.environ.get("OVS_RUNDIR"),
        )  # fmt: skip
        self.rundir = tempfile.mkdtemp()
        os.environ["OVS_RUNDIR"] = self.rundir
        self.datapath = ""
        sdn_ovs_cmd.bridge_of = lambda network_id, required=True: "br-n1"
        sdn_ovs_tunnels.tagged_ports = lambda network_id, role: {}
        sdn_ovs_cmd.bridges = lambda: [{"name": "br-n1", "datapath_type": self.datapath, "external_ids": {}}]
        sdn_ovs_cmd.vsctl = lambda *commands, **opts: self.calls.append((commands, opts)) or []

    def tearDown(self):
        real = self.real
        sdn_ovs_cmd.vsctl, sdn_ovs_cmd.bridge_of, sdn_ovs_cmd.bridges, sdn_ovs_tunnels.tagged_ports, rundir = real
        if rundir is None:
            del os.environ["OVS_RUNDIR"]
        else:
            os.environ["OVS_RUNDIR"] = rundir
        shutil.rmtree(self.rundir)

    def monitor_runs(self):
        with open(os.path.join(self.rundir, "ovs-monitor-ipsec.pid"), "w") as f:
            f.write("%d\n" % os.getpid())

    def apply(self):
        return sdn_ovs_tunnels.apply_tunnels(
            {"networkId": "n1", "key": 9, "psk": PSK, "remotes": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}]}
        )

    def test_every_tunnel_carries_the_key_in_one_quiet_transaction(self):
        self.monitor_runs()
        result = self.apply()
        self.assertEqual(len(self.calls), 1)
        commands, opts = self.calls[0]
        # The key is on ovs-vsctl's command line: it must not log it ("Called as ...").
        self.assertEqual(opts, {"secret": True})
        self.assertIn(["add", "Open_vSwitch", ".", "other_config", "ipsec_skb_mark=0/1"], commands)
        interfaces = [c for c in commands if c[:2] == ["set", "Interface"]]
        self.assertEqual(len(interfaces), 2)
        self.assertTrue(all("options:psk=%s" % PSK in c for c in interfaces))
        self.assertNotIn(PSK, repr(result))

    def test_a_host_that_cannot_encrypt_writes_nothing(self):
        for datapath, monitor, code in (
            ("netdev", True, "IPSEC_DATAPATH_UNSUPPORTED"),
            ("", False, "IPSEC_UNAVAILABLE"),
        ):
            self.datapath = datapath
            pidfile = os.path.join(self.rundir, "ovs-monitor-ipsec.pid")
            if monitor:
                self.monitor_runs()
            elif os.path.exists(pidfile):
                os.remove(pidfile)
            with self.assertRaises(HostError) as caught:
                self.apply()
            self.assertEqual(caught.exception.code, code)
            self.assertEqual(self.calls, [])

    def test_the_check_alone_answers_the_bridge_or_the_refusal(self):
        self.assertIs(sdn_ovs.FUNCTIONS["ipsec_check"], sdn_ovs_tunnels.ipsec_check)
        self.monitor_runs()
        self.assertEqual(sdn_ovs_tunnels.ipsec_check({"networkId": "n1"}), {"bridge": "br-n1"})
        self.datapath = "netdev"
        with self.assertRaises(HostError) as caught:
            sdn_ovs_tunnels.ipsec_check({"networkId": "n1"})
        self.assertEqual(caught.exception.code, "IPSEC_DATAPATH_UNSUPPORTED")
        self.assertEqual(self.calls, [])

    def test_a_plain_network_is_untouched_by_ipsec(self):
        self.datapath = "netdev"
        sdn_ovs_tunnels.apply_tunnels({"networkId": "n1", "key": 9, "remotes": [{"ip": "10.0.0.2"}]})
        commands, opts = self.calls[0]
        self.assertEqual(opts, {})
        self.assertFalse(any("psk" in " ".join(c) or "ipsec_skb_mark" in " ".join(c) for c in commands))


if __name__ == "__main__":
    unittest.main()
