"""Unit tests of sdn_ovs_cmd.py (the process helper, Python 3.6 spelling) and setup_bridge.

Run with `python3 -m unittest discover -s services/hypervisor-agent/host/tests -t
services/hypervisor-agent/host` (the fidelity test also runs them on pyenv's Python 3.6).
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sdn_ovs_bridges  # noqa: E402
import sdn_ovs_cmd  # noqa: E402


def table(headings, rows):
    return {"headings": headings, "data": rows}


class RunTest(unittest.TestCase):
    def test_returns_status_and_decoded_output(self):
        status, out, err = sdn_ovs_cmd.run([sys.executable, "-c", "import sys; print('out'); sys.stderr.write('err'); sys.exit(3)"], 10)
        self.assertEqual((status, out, err), (3, "out\n", "err"))

    def test_passes_bytes_when_asked(self):
        status, out, _err = sdn_ovs_cmd.run(["cat"], 10, stdin=b"\x00\x01", decode=False)
        self.assertEqual((status, out), (0, b"\x00\x01"))

    def test_raises_like_subprocess_run(self):
        with self.assertRaises(FileNotFoundError):
            sdn_ovs_cmd.run(["/nonexistent/ovs-vsctl"], 10)
        with self.assertRaises(subprocess.TimeoutExpired):
            sdn_ovs_cmd.run(["sleep", "5"], 0.2)

    def test_vsctl_without_ovs_is_not_an_ovs_host(self):
        saved = sdn_ovs_cmd.VSCTL
        sdn_ovs_cmd.VSCTL = "/nonexistent/ovs-vsctl"
        try:
            with self.assertRaises(sdn_ovs_cmd.HostError) as caught:
                sdn_ovs_cmd.vsctl(["list", "Bridge"])
            self.assertEqual(caught.exception.code, "NOT_AN_OVS_HOST")
        finally:
            sdn_ovs_cmd.VSCTL = saved


class SetupBridgeTest(unittest.TestCase):
    """setup_bridge against a recorded ovs-vsctl: what it asks, given what exists."""

    def setUp(self):
        self.calls = []
        self.bridges = []
        self.saved = sdn_ovs_cmd.vsctl

        def fake(*commands):
            self.calls.append(commands)
            if commands[0][-2:] == ["list", "Bridge"]:
                rows = [[b["name"], b["datapath_type"], ["map", sorted(b["external_ids"].items())]] for b in self.bridges]
                return [table(["name", "datapath_type", "external_ids"], rows)]
            return []

        sdn_ovs_cmd.vsctl = fake

    def tearDown(self):
        sdn_ovs_cmd.vsctl = self.saved

    def bridge(self, name, datapath="system", **ids):
        self.bridges.append({"name": name, "datapath_type": datapath, "external_ids": ids})

    def test_creates_an_absent_bridge_in_the_datapath_of_the_others(self):
        self.bridge("xenbr0", "netdev")
        self.assertEqual(sdn_ovs_bridges.setup_bridge({"bridge": "xapi3", "networkId": "n1"}), {"bridge": "xapi3", "created": True})
        write = self.calls[-1]
        self.assertEqual(write[0], ["--may-exist", "add-br", "xapi3"])
        self.assertIn("datapath_type=netdev", write[1])
        self.assertIn('external_ids:sdn-network-id="n1"', write[1])

    def test_takes_over_the_bridge_network_attach_made(self):
        # xcp-networkd made it (network.attach): untagged, so newly set up, datapath left alone.
        self.bridge("xenbr0")
        self.bridge("xapi3", **{"xs-network-uuids": "u"})
        self.assertEqual(sdn_ovs_bridges.setup_bridge({"bridge": "xapi3", "networkId": "n1"}), {"bridge": "xapi3", "created": True})
        self.assertFalse(any(a.startswith("datapath_type=") for a in self.calls[-1][1]))

    def test_is_idempotent_for_its_own_bridge(self):
        self.bridge("xapi3", **{"sdn-network-id": "n1"})
        self.assertEqual(sdn_ovs_bridges.setup_bridge({"bridge": "xapi3", "networkId": "n1"}), {"bridge": "xapi3", "created": False})

    def test_refuses_a_bridge_of_another_network(self):
        self.bridge("xapi3", **{"sdn-network-id": "n2"})
        with self.assertRaises(sdn_ovs_cmd.HostError) as caught:
            sdn_ovs_bridges.setup_bridge({"bridge": "xapi3", "networkId": "n1"})
        self.assertEqual(caught.exception.code, "BRIDGE_CONFLICT")


if __name__ == "__main__":
    unittest.main()
