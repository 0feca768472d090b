"""sdn_guest.port_security_flows: a bridge's anti-spoofing flows, replaced whole by cookie."""

import unittest

import sdn_guest

COOKIE = sdn_guest.PORT_SECURITY_COOKIE


class PortSecurityFlowsTest(unittest.TestCase):
    def test_no_port_only_clears_the_cookie(self):
        self.assertEqual(sdn_guest.port_security_flows([]), "delete cookie=%s/-1\n" % COOKIE)

    def test_a_port_sends_from_its_mac_and_ip_only(self):
        lines = sdn_guest.port_security_flows([("vnet0", "52:54:00:00:00:01", "10.0.0.5")]).splitlines()
        self.assertEqual(lines[0], "delete cookie=%s/-1" % COOKIE)
        allow = "add cookie=%s,priority=40000,in_port=vnet0,dl_src=52:54:00:00:00:01," % COOKIE
        self.assertEqual(
            lines[1:],
            [
                "add cookie=%s,priority=40100,in_port=vnet0,udp,tp_dst=3784,actions=drop" % COOKIE,
                allow + "ip,nw_src=10.0.0.5,actions=NORMAL",
                allow + "arp,arp_sha=52:54:00:00:00:01,arp_spa=10.0.0.5,actions=NORMAL",
                allow + "arp,arp_sha=52:54:00:00:00:01,arp_spa=0.0.0.0,actions=NORMAL",
                allow + "udp,nw_src=0.0.0.0,nw_dst=255.255.255.255,tp_src=68,tp_dst=67,actions=NORMAL",
                "add cookie=%s,priority=39000,in_port=vnet0,actions=drop" % COOKIE,
            ],
        )

    def test_without_an_address_the_port_is_held_to_its_mac(self):
        text = sdn_guest.port_security_flows([("vif3.0", "aa:00:00:00:00:02", None)])
        self.assertIn("in_port=vif3.0,dl_src=aa:00:00:00:00:02,ip,actions=NORMAL", text)
        self.assertNotIn("nw_src", text)
        self.assertIn("in_port=vif3.0,actions=drop", text)

    def test_ports_are_in_a_stable_order(self):
        a = sdn_guest.port_security_flows([("b", "aa:00:00:00:00:02", None), ("a", "aa:00:00:00:00:01", None)])
        b = sdn_guest.port_security_flows([("a", "aa:00:00:00:00:01", None), ("b", "aa:00:00:00:00:02", None)])
        self.assertEqual(a, b)


# What ovs-ofctl 3.1 prints for the flows of ("vnet0", "02:00:00:00:00:01", "10.0.0.1"): its
# own field order, the cookie first, no statistics (--names --no-stats, cookie=.../-1).
DUMPED = """\
 cookie=0x5d5ec00000000001, priority=40100,udp,in_port=vnet0,tp_dst=3784 actions=drop
 cookie=0x5d5ec00000000001, priority=39000,in_port=vnet0 actions=drop
 cookie=0x5d5ec00000000001, priority=40000,udp,in_port=vnet0,dl_src=02:00:00:00:00:01,nw_src=0.0.0.0,\
nw_dst=255.255.255.255,tp_src=68,tp_dst=67 actions=NORMAL
 cookie=0x5d5ec00000000001, priority=40000,arp,in_port=vnet0,dl_src=02:00:00:00:00:01,arp_spa=0.0.0.0,\
arp_sha=02:00:00:00:00:01 actions=NORMAL
 cookie=0x5d5ec00000000001, priority=40000,arp,in_port=vnet0,dl_src=02:00:00:00:00:01,arp_spa=10.0.0.1,\
arp_sha=02:00:00:00:00:01 actions=NORMAL
 cookie=0x5d5ec00000000001, priority=40000,ip,in_port=vnet0,dl_src=02:00:00:00:00:01,nw_src=10.0.0.1 actions=NORMAL
"""


class InstalledFlowsTest(unittest.TestCase):
    """restore_flows compares a bridge's dump with what port_security_flows would add."""

    def setUp(self):
        self.wanted = sdn_guest.wanted_flows(
            sdn_guest.port_security_flows([("vnet0", "02:00:00:00:00:01", "10.0.0.1")])
        )

    def test_the_installed_set_matches_whatever_the_field_order(self):
        self.assertEqual(len(self.wanted), 6)
        self.assertEqual(sdn_guest.dumped_flows(DUMPED), self.wanted)

    def test_flows_lost_in_a_vswitchd_restart_differ(self):
        self.assertEqual(sdn_guest.dumped_flows(""), set())
        self.assertNotEqual(sdn_guest.dumped_flows(""), self.wanted)

    def test_one_missing_or_changed_flow_differs(self):
        lines = DUMPED.splitlines()
        self.assertNotEqual(sdn_guest.dumped_flows("\n".join(lines[1:])), self.wanted)
        changed = DUMPED.replace("nw_src=10.0.0.1 actions=NORMAL", "nw_src=10.0.0.9 actions=NORMAL")
        self.assertNotEqual(sdn_guest.dumped_flows(changed), self.wanted)

    def test_a_reply_header_is_no_flow(self):
        self.assertEqual(sdn_guest.dumped_flows("NXST_FLOW reply (xid=0x4):\n" + DUMPED), self.wanted)


if __name__ == "__main__":
    unittest.main()
