"""The host modules' pure parts: the port and tunnel transactions, the secured ports read
back, the state report, the relay's allow-list; and restore_flows against recorded OVS."""

import os
import shutil
import tempfile
import unittest

import sdn_guest
import sdn_ovs_bridges
import sdn_ovs_cmd
import sdn_ovs_flows
import sdn_ovs_ports
import sdn_ovs_relay
import sdn_ovs_tunnels
from sdn_ovs_cmd import HostError


def table(headings, rows):
    return {"headings": headings, "data": rows}


def ids(**kv):
    return ["map", sorted(kv.items())]


def words(command):
    return set(command)


class VifCommandsTest(unittest.TestCase):
    def test_a_secured_port_with_its_address(self):
        add, iface, port = sdn_ovs_ports.vif_commands("br-n1", "vnet0", "n1", "nic1", "52:54:00:AA:00:01", "vm1", "10.0.0.5", True)
        self.assertEqual(add, ["--may-exist", "add-port", "br-n1", "vnet0"])
        self.assertEqual(iface[:3], ["set", "Interface", "vnet0"])
        self.assertLessEqual(
            {'external_ids:iface-id="nic1"', 'external_ids:attached-mac="52:54:00:aa:00:01"', 'external_ids:vm-id="vm1"'},
            words(iface),
        )
        self.assertLessEqual(
            {'external_ids:sdn-port-security="true"', 'external_ids:sdn-mac="52:54:00:aa:00:01"',
             'external_ids:sdn-ip="10.0.0.5"', 'external_ids:sdn-role="vif"', 'external_ids:sdn-network-id="n1"'},
            words(port),
        )  # fmt: skip

    def test_without_an_address_a_stale_one_is_removed_and_unsecured_says_so(self):
        commands = sdn_ovs_ports.vif_commands("br-n1", "vnet0", "n1", "nic1", None, None, None, False)
        self.assertEqual(commands[-1], ["remove", "Port", "vnet0", "external_ids", "sdn-ip"])
        self.assertIn('external_ids:sdn-port-security="false"', commands[2])
        self.assertFalse(any("vm-id" in w or "attached-mac" in w for w in commands[1]))


class TunnelCommandsTest(unittest.TestCase):
    def test_each_tunnel_is_added_typed_keyed_with_bfd_and_protected(self):
        bfd = {"min_rx": 300, "min_tx": 100, "mult": 3}
        commands = sdn_ovs_tunnels.tunnel_commands("br-n1", "n1", {"vxl-a": ("10.0.0.2", "h2")}, "vxlan", 5001, bfd)
        add, iface, port = commands
        self.assertEqual(add, ["--may-exist", "add-port", "br-n1", "vxl-a"])
        self.assertEqual(iface[:6], ["set", "Interface", "vxl-a", "type=vxlan", "options:remote_ip=10.0.0.2", "options:key=5001"])
        self.assertLessEqual({'bfd:enable="true"', 'bfd:check_tnl_key="false"', 'bfd:min_rx="300"'}, words(iface))
        self.assertEqual(port[:4], ["set", "Port", "vxl-a", "protected=true"])
        self.assertLessEqual({'external_ids:sdn-peer-host-id="h2"', 'external_ids:sdn-remote-ip="10.0.0.2"'}, words(port))

    def test_in_name_order_and_no_peer_tag_without_a_peer(self):
        commands = sdn_ovs_tunnels.tunnel_commands(
            "br", "n1", {"gre-b": ("10.0.0.3", None), "gre-a": ("10.0.0.2", None)}, "gre", 7, {}
        )
        self.assertEqual([c[3] for c in commands[::3]], ["gre-a", "gre-b"])
        self.assertFalse(any("sdn-peer-host-id" in w for c in commands for w in c))


class SecuredPortsTest(unittest.TestCase):
    def tables(self):
        ports = table(
            ["name", "external_ids"],
            [
                ["vnet0", ids(**{"sdn-mac": "aa:00:00:00:00:01", "sdn-ip": "10.0.0.5", "sdn-network-id": "n1"})],
                ["vnet1", ids(**{"sdn-mac": "aa:00:00:00:00:02", "sdn-network-id": "n2"})],
                ["vnet2", ids(**{"sdn-mac": "aa:00:00:00:00:03", "sdn-network-id": "n1"})],  # its VM is gone
                ["vnet3", ids(**{"sdn-network-id": "n1"})],  # no MAC: nothing to hold it to
            ],
        )
        ifaces = table(["name", "ofport"], [["vnet0", 1], ["vnet1", 2], ["vnet2", -1], ["vnet3", 4]])
        return [table(["x"], []), ports, ifaces]

    def test_failed_interfaces_and_ports_without_a_mac_are_left_out(self):
        self.assertEqual(
            sdn_ovs_flows.secured_ports(self.tables()),
            [("vnet0", "aa:00:00:00:00:01", "10.0.0.5"), ("vnet1", "aa:00:00:00:00:02", None)],
        )
        self.assertEqual([p[0] for p in sdn_ovs_flows.secured_ports(self.tables(), "n2")], ["vnet1"])


class RestoreFlowsTest(unittest.TestCase):
    """restore_flows replaces the flows of a bridge that lost them, and only of that one."""

    def setUp(self):
        run_dir = tempfile.mkdtemp(prefix="sdn-ovs-test-")
        self.addCleanup(shutil.rmtree, run_dir)
        saved_env = os.environ.get("OVS_RUNDIR")
        os.environ["OVS_RUNDIR"] = run_dir
        self.addCleanup(lambda: os.environ.pop("OVS_RUNDIR") if saved_env is None else os.environ.update(OVS_RUNDIR=saved_env))
        ports = [("vnet0", "aa:00:00:00:00:01", "10.0.0.5", "n1"), ("vnet1", "aa:00:00:00:00:02", None, "n2")]
        self.kept = sdn_guest.port_security_flows([ports[0][:3]])
        bridges = table(
            ["name", "external_ids"],
            [
                ["br-n1", ids(**{"sdn-managed": "true", "sdn-network-id": "n1"})],
                ["br-n2", ids(**{"sdn-managed": "true", "sdn-network-id": "n2"})],
                ["xenbr0", ids()],
            ],
        )
        secured = table(
            ["name", "external_ids"],
            [[n, ids(**dict({"sdn-mac": m, "sdn-network-id": net}, **({"sdn-ip": ip} if ip else {})))] for n, m, ip, net in ports],
        )
        ifaces = table(["name", "ofport"], [["vnet0", 1], ["vnet1", 2]])
        self.ofctl = []

        def ofctl(what, argv, stdin=None):
            self.ofctl.append((argv[-2] if stdin is None else argv[2], stdin))
            if "dump-flows" in argv:  # br-n1 kept its flows, br-n2 lost them (vswitchd restarted)
                kept = "".join(" %s\n" % l[4:] for l in self.kept.splitlines() if l.startswith("add "))
                return "NXST_FLOW reply:\n" + (kept if argv[-2] == "br-n1" else "")
            return ""

        for name, fake in (("vsctl", lambda *commands: [bridges, secured, ifaces]), ("ofctl", ofctl)):
            self.addCleanup(setattr, sdn_ovs_cmd, name, getattr(sdn_ovs_cmd, name))
            setattr(sdn_ovs_cmd, name, fake)

    def test_only_the_bridge_that_lost_its_flows_gets_them_again(self):
        result = sdn_ovs_flows.restore_flows({})
        self.assertEqual(result, {"checked": 2, "restored": [{"bridge": "br-n2", "networkId": "n2"}]})
        bundles = [(bridge, text) for bridge, text in self.ofctl if text is not None]
        self.assertEqual(bundles, [("br-n2", sdn_guest.port_security_flows([("vnet1", "aa:00:00:00:00:02", None)]))])


class StateOfTest(unittest.TestCase):
    def test_bridges_with_their_ports_and_interfaces_sorted(self):
        bridges = [
            {"name": "br-b", "datapath_type": "", "external_ids": {"sdn-network-id": "n2"}, "ports": ["p2"]},
            {"name": "br-a", "datapath_type": "netdev", "external_ids": {"sdn-managed": "true", "sdn-network-id": "n1"},
             "ports": ["p1", "p0"]},
        ]  # fmt: skip
        ports = [
            {"_uuid": "p1", "name": "vnet1", "protected": False, "external_ids": {}, "interfaces": "i1"},
            {"_uuid": "p0", "name": "gre-x", "protected": True, "external_ids": {}, "interfaces": ["i0"]},
            {"_uuid": "p2", "name": "vnet9", "protected": False, "external_ids": {}, "interfaces": []},
        ]
        ifaces = [
            {"_uuid": "i1", "name": "vnet1", "type": "", "options": {}, "ofport": [3], "error": [], "mac_in_use": ["aa:00:00:00:00:01"], "external_ids": {}},
            {"_uuid": "i0", "name": "gre-x", "type": "gre", "options": {"key": "7"}, "ofport": 1, "error": "e", "mac_in_use": [], "external_ids": {}},
        ]  # fmt: skip
        out = sdn_ovs_bridges.state_of(bridges, ports, ifaces)
        self.assertEqual([b["name"] for b in out], ["br-a", "br-b"])
        a = out[0]
        self.assertEqual((a["datapathType"], a["managed"], a["networkId"]), ("netdev", True, "n1"))
        self.assertEqual([p["name"] for p in a["ports"]], ["gre-x", "vnet1"])
        vnet1 = a["ports"][1]["interfaces"][0]
        self.assertEqual((vnet1["type"], vnet1["ofport"], vnet1["error"], vnet1["mac"]), ("system", 3, None, "aa:00:00:00:00:01"))
        self.assertEqual(out[1]["datapathType"], "system")
        self.assertEqual([b["name"] for b in sdn_ovs_bridges.state_of(bridges, ports, ifaces, "n2")], ["br-b"])


class RelayAllowListTest(unittest.TestCase):
    def deploy(self, path, mode):
        return ["sh", "-c", sdn_ovs_relay.ROUTER_DEPLOY_SCRIPT, "sh", path, mode]

    def test_every_router_file_may_be_deployed_with_its_own_mode_only(self):
        for name, mode in sdn_ovs_relay.ROUTER_PROGRAM_FILES.items():
            self.assertTrue(sdn_ovs_relay._router_program_command(self.deploy("/opt/sdn-router/" + name, mode)), name)
            other = "644" if mode == "755" else "755"
            self.assertFalse(sdn_ovs_relay._router_program_command(self.deploy("/opt/sdn-router/" + name, other)), name)
        self.assertFalse(sdn_ovs_relay._router_program_command(self.deploy("/opt/sdn-router/sdn_other.py", "644")))
        self.assertFalse(sdn_ovs_relay._router_program_command(self.deploy("/opt/sdn-router/../sdn_vrrp.py", "755")))

    def test_ssh_fingerprints_are_openssh_sha256(self):
        # base64 of b"key" -> SHA256 digest, base64 without padding, as ssh-keygen -l prints it.
        self.assertEqual(sdn_ovs_relay._ssh_fingerprint("a2V5"), "SHA256:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM")

    def test_a_host_error_names_the_refusal(self):
        with self.assertRaises(HostError) as caught:
            sdn_ovs_relay.check_relay("169.254.0.2", "/root/.ssh/id_sdn_router", ["reboot"])
        self.assertEqual(caught.exception.code, "RELAY_COMMAND_NOT_ALLOWED")


if __name__ == "__main__":
    unittest.main()
