"""The router program's pure parts: validation, iptables and haproxy rendering, conntrack cuts."""

import copy
import unittest

import sdn_router_checks as checks
import sdn_router_conntrack as conntrack
import sdn_router_haproxy as haproxy
import sdn_router_iptables as iptables
from sdn_router_system import RouterError


def config():
    return {
        "generation": 7,
        "control": {"port": 3922, "address": "169.254.3.2"},
        "public": {
            "interface": "eth1",
            "gateway": "203.0.113.1",
            "addresses": [{"ip": "203.0.113.10", "prefixLength": 24}, {"ip": "203.0.113.11", "prefixLength": 24}],
        },
        "networks": [
            {
                "id": "blue",
                "cidr": "192.168.50.0/24",
                "gateway": "192.168.50.1",
                "interface": "eth2",
                "sourceNatIp": "203.0.113.10",
                "egress": {"default": "deny", "rules": [{"protocol": "tcp", "startPort": 443, "endPort": 443}]},
            },
            {"id": "green", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1", "interface": "eth3"},
        ],
        "staticNats": [{"publicIp": "203.0.113.11", "privateIp": "10.0.0.5"}],
        "portForwards": [
            {
                "publicIp": "203.0.113.10",
                "privateIp": "192.168.50.11",
                "protocol": "tcp",
                "publicStartPort": 8080,
                "publicEndPort": 8080,
                "privateStartPort": 80,
                "privateEndPort": 80,
            }
        ],
        "firewallRules": [
            {"publicIp": "203.0.113.10", "protocol": "tcp", "startPort": 8080, "endPort": 8080, "sourceCidrs": ["198.51.100.0/24"]}
        ],
        "loadBalancers": [
            {
                "id": "web",
                "publicIp": "203.0.113.10",
                "publicPort": 80,
                "privatePort": 8000,
                "algorithm": "roundrobin",
                "members": ["192.168.50.11", "192.168.50.12"],
            }
        ],
        "interNetworkRoutes": [["blue", "green"]],
    }


GUEST = {"blue": "eth2", "green": "eth3"}


class CheckConfigTest(unittest.TestCase):
    def test_a_whole_configuration_passes_and_gives_its_generation(self):
        self.assertEqual(checks.check_config(config()), 7)

    def refused(self, mutate, words):
        cfg = config()
        mutate(cfg)
        with self.assertRaises(RouterError) as caught:
            checks.check_config(cfg)
        self.assertEqual(caught.exception.code, "INVALID_CONFIG")
        self.assertIn(words, str(caught.exception))

    def test_each_kind_of_bad_input_is_refused_with_the_field_named(self):
        self.refused(lambda c: c.update(generation=0), "generation")
        self.refused(lambda c: c["networks"][0].update(gateway="10.9.9.9"), "networks[0].gateway is outside")
        self.refused(lambda c: c["networks"][0].update(interface="eth2; reboot"), "networks[0].interface")
        self.refused(lambda c: c["staticNats"][0].update(publicIp="198.51.100.1"), "is not one of the public addresses")
        self.refused(lambda c: c["portForwards"][0].update(privateEndPort=81), "differ in length")
        self.refused(lambda c: c["firewallRules"][0].update(protocol="gre"), "firewallRules[0].protocol")
        self.refused(lambda c: c["loadBalancers"][0].update(algorithm="random"), "loadBalancers[0].algorithm")
        self.refused(lambda c: c.update(interNetworkRoutes=[["blue", "red"]]), "does not serve")
        self.refused(lambda c: c.update(interNetworkRoutes=[["blue", "blue"]]), "two different network ids")


class RenderIptablesTest(unittest.TestCase):
    def setUp(self):
        self.text = iptables.render_iptables(config(), "eth1", GUEST)
        self.lines = self.text.splitlines()

    def test_nat_holds_forwards_static_nat_and_source_nat(self):
        tag = '-m comment --comment "sdn-router"'
        self.assertIn(
            "-A PREROUTING -d 203.0.113.10/32 -p tcp -m tcp --dport 8080 %s -j DNAT --to-destination 192.168.50.11:80" % tag,
            self.lines,
        )
        self.assertIn("-A PREROUTING -d 203.0.113.11/32 %s -j DNAT --to-destination 10.0.0.5" % tag, self.lines)
        self.assertIn("-A POSTROUTING -s 10.0.0.5/32 -o eth1 %s -j SNAT --to-source 203.0.113.11" % tag, self.lines)
        self.assertIn("-A POSTROUTING -s 192.168.50.0/24 -o eth1 %s -j SNAT --to-source 203.0.113.10" % tag, self.lines)
        self.assertFalse(any("10.0.0.0/24" in l and "SNAT" in l for l in self.lines), "green has no source NAT")

    def test_filter_denies_by_default_and_opens_only_what_the_rules_say(self):
        self.assertIn(":INPUT DROP [0:0]", self.lines)
        self.assertIn(":FORWARD DROP [0:0]", self.lines)
        firewall = [l for l in self.lines if l.startswith("-A SDN_FW_0 ")]
        self.assertEqual(len(firewall), 1)
        self.assertIn("-s 198.51.100.0/24 -p tcp -m conntrack --ctorigdstport 8080", firewall[0])
        self.assertEqual([l for l in self.lines if l.startswith("-A SDN_FW_1 ")], [], "no rule opens .11")

    def test_egress_rules_are_the_exceptions_to_the_default(self):
        blue = [l for l in self.lines if l.startswith("-A SDN_EG_0 ")]
        self.assertTrue(blue[0].endswith("-j ACCEPT") and "--dport 443" in blue[0])
        self.assertTrue(blue[-1].endswith("-j DROP"))
        green = [l for l in self.lines if l.startswith("-A SDN_EG_1 ")]
        self.assertEqual(len(green), 1)
        self.assertTrue(green[0].endswith("-j ACCEPT"))

    def test_routed_networks_forward_both_ways(self):
        tag = '-m comment --comment "sdn-router"'
        self.assertIn("-A FORWARD -i eth2 -o eth3 %s -j ACCEPT" % tag, self.lines)
        self.assertIn("-A FORWARD -i eth3 -o eth2 %s -j ACCEPT" % tag, self.lines)

    def test_the_output_is_one_restore_of_two_tables(self):
        self.assertEqual([l for l in self.lines if l.startswith("*")], ["*nat", "*filter"])
        self.assertEqual(self.lines.count("COMMIT"), 2)


class RenderHaproxyTest(unittest.TestCase):
    def test_no_load_balancer_means_no_haproxy(self):
        cfg = config()
        cfg["loadBalancers"] = []
        self.assertIsNone(haproxy.render(cfg))

    def test_each_member_is_a_checked_server(self):
        text = haproxy.render(config())
        self.assertIn("listen lb-web", text)
        self.assertIn("    bind 203.0.113.10:80", text)
        self.assertIn("    server m0 192.168.50.11:8000 check inter 2000ms fall 2 rise 2", text)
        self.assertIn("    server m1 192.168.50.12:8000 check inter 2000ms fall 2 rise 2", text)


class ConntrackFiltersTest(unittest.TestCase):
    def test_a_change_that_only_grants_cuts_nothing(self):
        old = config()
        new = copy.deepcopy(old)
        new["firewallRules"].append({"publicIp": "203.0.113.11", "protocol": "all"})
        self.assertEqual(conntrack.conntrack_filters(old, new), [])

    def test_lost_rules_cut_their_scope(self):
        old = config()
        new = copy.deepcopy(old)
        new["firewallRules"] = []
        new["staticNats"] = []
        new["interNetworkRoutes"] = []
        filters = conntrack.conntrack_filters(old, new)
        self.assertIn(["--orig-dst", "203.0.113.10"], filters)
        self.assertIn(["--orig-src", "10.0.0.5"], filters)
        self.assertIn(["--orig-src", "192.168.50.0/24", "--orig-dst", "10.0.0.0/24"], filters)
        self.assertIn(["--orig-src", "10.0.0.0/24", "--orig-dst", "192.168.50.0/24"], filters)


if __name__ == "__main__":
    unittest.main()
