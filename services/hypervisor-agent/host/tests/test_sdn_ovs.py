"""The host modules' pure parts and the transactions they build (ovs-vsctl recorded, not run)."""

import unittest

import sdn_ovs_args
import sdn_ovs_cmd
import sdn_ovs_tunnels
from sdn_ovs_cmd import HostError


class ArgumentsTest(unittest.TestCase):
    def test_keys_cover_the_32_bit_range_and_nothing_else(self):
        self.assertEqual(sdn_ovs_args.key({"key": 4294967295}), 4294967295)
        self.assertEqual(sdn_ovs_args.key({"key": "42"}), 42)
        for bad in (-1, 4294967296, True, "4x", None, 1.5):
            with self.assertRaises(HostError) as caught:
                sdn_ovs_args.key({"key": bad})
            self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_vnis_cover_the_24_bit_range_and_nothing_else(self):
        self.assertEqual(sdn_ovs_args.key({"key": 16777215}, "vxlan"), 16777215)
        for bad in (16777216, 4294967295, -1):
            with self.assertRaises(HostError) as caught:
                sdn_ovs_args.key({"key": bad}, "vxlan")
            self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_tunnel_types_are_gre_by_default_or_vxlan(self):
        self.assertEqual(sdn_ovs_args.tunnel_type({}), "gre")
        self.assertEqual(sdn_ovs_args.tunnel_type({"type": "vxlan"}), "vxlan")
        for bad in ("geneve", "", None, 4):
            with self.assertRaises(HostError) as caught:
                sdn_ovs_args.tunnel_type({"type": bad})
            self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_addresses_are_ipv4_only(self):
        self.assertEqual(sdn_ovs_args.ip("10.0.0.1", "ip"), "10.0.0.1")
        for bad in ("10.0.0.256", "fe80::1", "", None):
            with self.assertRaises(HostError):
                sdn_ovs_args.ip(bad, "ip")

    def test_string_arguments_are_checked_against_their_pattern(self):
        self.assertEqual(sdn_ovs_args.string({"device": "vnet1"}, "device", sdn_ovs_args.NAME_RE), "vnet1")
        self.assertIsNone(sdn_ovs_args.string({}, "vmId", required=False))
        for bad in ({"device": "vnet1; rm -rf /"}, {"device": 5}, {}):
            with self.assertRaises(HostError):
                sdn_ovs_args.string(bad, "device", sdn_ovs_args.NAME_RE)


class OvsdbDatumTest(unittest.TestCase):
    def test_maps_sets_and_uuids_decode(self):
        self.assertEqual(sdn_ovs_cmd.value(["map", [["a", "1"], ["b", ["uuid", "u-1"]]]]), {"a": "1", "b": "u-1"})
        self.assertEqual(sdn_ovs_cmd.value(["set", [1, 2]]), [1, 2])
        self.assertIsNone(sdn_ovs_cmd.single([]))
        self.assertEqual(sdn_ovs_cmd.value("plain"), "plain")


class TunnelNamesTest(unittest.TestCase):
    def test_names_are_stable_short_and_distinct(self):
        a = sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.2")
        self.assertEqual(a, sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.2"))
        self.assertLessEqual(len(a), 15)
        self.assertNotEqual(a, sdn_ovs_tunnels.tunnel_port_name(8, "10.0.0.2"))
        self.assertNotEqual(a, sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.3"))

    def test_a_vxlan_tunnel_never_takes_a_gre_tunnels_name(self):
        v = sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.2", "vxlan")
        self.assertLessEqual(len(v), 15)
        self.assertTrue(v.startswith("vxl-"))
        self.assertEqual(sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.2", "gre"), sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.2"))
        self.assertNotEqual(v, sdn_ovs_tunnels.tunnel_port_name(7, "10.0.0.2"))


class ApplyTunnelsTest(unittest.TestCase):
    """apply_tunnels sends the whole set in ONE transaction, removes only our ports, protects each."""

    def setUp(self):
        self.calls = []
        self.real = sdn_ovs_cmd.vsctl, sdn_ovs_cmd.bridge_of, sdn_ovs_tunnels.tagged_ports
        stale = sdn_ovs_tunnels.tunnel_port_name(9, "10.0.0.9")
        kept = sdn_ovs_tunnels.tunnel_port_name(9, "10.0.0.2")
        sdn_ovs_cmd.bridge_of = lambda network_id, required=True: "br-n1"
        sdn_ovs_tunnels.tagged_ports = lambda network_id, role: {stale: {}, kept: {}}
        sdn_ovs_cmd.vsctl = lambda *commands: self.calls.append(commands) or []
        self.stale, self.kept = stale, kept

    def tearDown(self):
        sdn_ovs_cmd.vsctl, sdn_ovs_cmd.bridge_of, sdn_ovs_tunnels.tagged_ports = self.real

    def test_one_transaction_for_the_whole_set(self):
        result = sdn_ovs_tunnels.apply_tunnels(
            {"networkId": "n1", "key": 9, "remotes": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.3", "hostId": "h3"}]}
        )
        self.assertEqual(len(self.calls), 1)
        commands = self.calls[0]
        self.assertIn(["--if-exists", "del-port", self.stale], commands)
        self.assertEqual(result["removed"], [self.stale])
        self.assertEqual(result["added"], [sdn_ovs_tunnels.tunnel_port_name(9, "10.0.0.3")])
        protected = [c for c in commands if c[:2] == ["set", "Port"]]
        self.assertEqual(len(protected), 2)
        self.assertTrue(all("protected=true" in c for c in protected))
        interfaces = [c for c in commands if c[:2] == ["set", "Interface"]]
        self.assertTrue(all("type=gre" in c and "options:key=9" in c for c in interfaces))

    def test_every_tunnel_runs_bfd_with_the_default_timers(self):
        sdn_ovs_tunnels.apply_tunnels({"networkId": "n1", "key": 9, "remotes": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}]})
        interfaces = [c for c in self.calls[0] if c[:2] == ["set", "Interface"]]
        self.assertEqual(len(interfaces), 2)
        for c in interfaces:
            for word in ('bfd:enable="true"', 'bfd:check_tnl_key="false"', 'bfd:min_rx="1000"', 'bfd:mult="3"'):
                self.assertIn(word, c)

    def test_bfd_timers_are_configurable_and_checked(self):
        sdn_ovs_tunnels.apply_tunnels(
            {"networkId": "n1", "key": 9, "remotes": [{"ip": "10.0.0.2"}], "bfd": {"minRxMs": 300, "minTxMs": 300, "mult": 5}}
        )
        (c,) = [c for c in self.calls[0] if c[:2] == ["set", "Interface"]]
        for word in ('bfd:min_rx="300"', 'bfd:min_tx="300"', 'bfd:mult="5"'):
            self.assertIn(word, c)
        for bad in ({"mult": 0}, {"minRxMs": "100"}, {"minTxMs": True}, "fast"):
            with self.assertRaises(HostError) as caught:
                sdn_ovs_tunnels.apply_tunnels({"networkId": "n1", "key": 9, "remotes": [], "bfd": bad})
            self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        self.assertEqual(len(self.calls), 1)

    def test_vxlan_tunnels_carry_the_vni_with_bfd_on(self):
        result = sdn_ovs_tunnels.apply_tunnels(
            {"networkId": "n1", "type": "vxlan", "key": 5001, "remotes": [{"ip": "10.0.0.2"}]}
        )
        name = sdn_ovs_tunnels.tunnel_port_name(5001, "10.0.0.2", "vxlan")
        self.assertEqual(result["tunnels"], [{"port": name, "remoteIp": "10.0.0.2"}])
        (c,) = [c for c in self.calls[0] if c[:2] == ["set", "Interface"]]
        for word in ("type=vxlan", "options:key=5001", "options:remote_ip=10.0.0.2", 'bfd:enable="true"'):
            self.assertIn(word, c)
        # The GRE ports this network had are not its tunnels any more: removed in the same transaction.
        self.assertEqual(result["removed"], sorted([self.stale, self.kept]))
        with self.assertRaises(HostError):
            sdn_ovs_tunnels.apply_tunnels({"networkId": "n1", "type": "vxlan", "key": 2**24, "remotes": []})
        self.assertEqual(len(self.calls), 1)

    def test_a_remote_listed_twice_is_refused_before_anything_runs(self):
        with self.assertRaises(HostError):
            sdn_ovs_tunnels.apply_tunnels({"networkId": "n1", "key": 9, "remotes": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.2"}]})
        self.assertEqual(self.calls, [])


class TunnelHealthTest(unittest.TestCase):
    """tunnel_health reports the managed tunnels' bfd_status as OVS has it, and only those."""

    def setUp(self):
        self.real = sdn_ovs_cmd.vsctl
        managed = ["map", [["sdn-managed", "true"], ["sdn-network-id", "n1"]]]
        status = ["map", [["state", "down"], ["forwarding", "false"], ["diagnostic", "Control Detection Time Expired"]]]
        table = {
            "headings": ["name", "options", "bfd", "bfd_status", "external_ids"],
            "data": [
                ["gre-b", ["map", [["remote_ip", "10.0.0.3"]]], ["map", [["enable", "true"]]], status, managed],
                ["gre-a", ["map", [["remote_ip", "10.0.0.2"]]], ["map", []], ["map", []], managed],
                ["theirs", ["map", [["remote_ip", "10.0.0.4"]]], ["map", [["enable", "true"]]], status, ["map", []]],
            ],
        }
        vxlan = {
            "headings": table["headings"],
            "data": [["vxl-c", ["map", [["remote_ip", "10.0.0.5"]]], ["map", [["enable", "true"]]], status, managed]],
        }
        self.commands = []
        sdn_ovs_cmd.vsctl = lambda *commands: self.commands.append(commands) or [table, vxlan]

    def tearDown(self):
        sdn_ovs_cmd.vsctl = self.real

    def test_managed_tunnels_with_their_status(self):
        result = sdn_ovs_tunnels.tunnel_health({})
        self.assertEqual([t["port"] for t in result["tunnels"]], ["gre-a", "gre-b", "vxl-c"])
        a, b, c = result["tunnels"]
        self.assertEqual(c["remoteIp"], "10.0.0.5")
        self.assertEqual(a, {"port": "gre-a", "networkId": "n1", "remoteIp": "10.0.0.2", "bfdEnabled": False, "bfdStatus": {}})
        self.assertTrue(b["bfdEnabled"])
        self.assertEqual(b["bfdStatus"]["state"], "down")
        (one_invocation,) = self.commands
        self.assertEqual([c[-1] for c in one_invocation], ["type=gre", "type=vxlan"])


if __name__ == "__main__":
    unittest.main()
