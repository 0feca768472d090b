"""Encrypted networks' tunnels on the host: fail closed, the key in one transaction, never answered."""

import os
import shutil
import tempfile
import unittest

import sdn_ipsec
import sdn_ovs

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


class EncryptedApplyTunnelsTest(unittest.TestCase):
    """apply_tunnels with a psk: checked first, then ONE transaction with the key and the skb mark."""

    def setUp(self):
        self.calls = []
        self.real = sdn_ovs.vsctl, sdn_ovs._bridge_of, sdn_ovs._tagged_ports, sdn_ovs._bridges, os.environ.get("OVS_RUNDIR")
        self.rundir = tempfile.mkdtemp()
        os.environ["OVS_RUNDIR"] = self.rundir
        self.datapath = ""
        sdn_ovs._bridge_of = lambda network_id, required=True: "br-n1"
        sdn_ovs._tagged_ports = lambda network_id, role: {}
        sdn_ovs._bridges = lambda: [{"name": "br-n1", "datapath_type": self.datapath, "external_ids": {}}]
        sdn_ovs.vsctl = lambda *commands, **opts: self.calls.append((commands, opts)) or []

    def tearDown(self):
        sdn_ovs.vsctl, sdn_ovs._bridge_of, sdn_ovs._tagged_ports, sdn_ovs._bridges, rundir = self.real
        if rundir is None:
            del os.environ["OVS_RUNDIR"]
        else:
            os.environ["OVS_RUNDIR"] = rundir
        shutil.rmtree(self.rundir)

    def monitor_runs(self):
        with open(os.path.join(self.rundir, "ovs-monitor-ipsec.pid"), "w") as f:
            f.write("%d\n" % os.getpid())

    def apply(self):
        return sdn_ovs.apply_tunnels(
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
            with self.assertRaises(sdn_ovs.HostError) as caught:
                self.apply()
            self.assertEqual(caught.exception.code, code)
            self.assertEqual(self.calls, [])

    def test_a_plain_network_is_untouched_by_ipsec(self):
        self.datapath = "netdev"
        sdn_ovs.apply_tunnels({"networkId": "n1", "key": 9, "remotes": [{"ip": "10.0.0.2"}]})
        commands, opts = self.calls[0]
        self.assertEqual(opts, {})
        self.assertFalse(any("psk" in " ".join(c) or "ipsec_skb_mark" in " ".join(c) for c in commands))


if __name__ == "__main__":
    unittest.main()
