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


if __name__ == "__main__":
    unittest.main()
