"""Unit tests of the guest services' checks and rendering (python3 -m unittest discover -s router/tests -t router)."""

import base64
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True

import sdn_guest_config as gc  # noqa: E402
import sdn_metadata as md  # noqa: E402

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2sga2V5IGZvciB0ZXN0cyBvbmx5IDAwMDAwMDAw ann@example"


def config():
    return {
        "networks": [
            {
                "id": "net-a",
                "cidr": "10.1.0.0/24",
                "gateway": "10.1.0.1",
                "guestServices": {
                    "domain": "web.internal",
                    "upstreams": ["203.0.113.53", "10.1.0.1"],
                    "mtu": 1450,
                    "leaseSeconds": 3600,
                    "routes": [{"cidr": "10.2.0.0/24"}],
                    "guests": [
                        {
                            "mac": "02:AA:00:00:00:01",
                            "ip": "10.1.0.11",
                            "hostname": "Web-1",
                            "instanceId": "vm-1",
                            "publicIp": "203.0.113.10",
                            "userData": base64.b64encode(b"#cloud-config\n").decode(),
                            "publicKeys": [KEY],
                        },
                        {"mac": "02:aa:00:00:00:02", "ip": "10.1.0.12", "hostname": "web-2", "instanceId": "vm-2"},
                    ],
                },
            },
            {"id": "net-b", "cidr": "10.2.0.0/24", "gateway": "10.2.0.1"},
        ]
    }


PATHS = dict((k, "/s/" + k) for k in ("pid", "log", "leases", "hosts", "opts", "names", "servers"))
GUEST = {"net-a": "eth2", "net-b": "eth3"}


class CheckTest(unittest.TestCase):
    def test_accepts_a_valid_configuration(self):
        gc.check(config())

    def refused(self, change, words):
        cfg = config()
        change(cfg["networks"][0]["guestServices"])
        with self.assertRaises(ValueError) as caught:
            gc.check(cfg)
        self.assertIn(words, str(caught.exception))

    def test_refuses_bad_fields(self):
        def guest(field, value):
            return lambda gs: gs["guests"][0].__setitem__(field, value)

        self.refused(lambda gs: gs.__setitem__("domain", "Bad_Domain"), "domain is not valid")
        self.refused(lambda gs: gs.__setitem__("mtu", 100), "mtu must be an integer")
        self.refused(guest("mac", "02:aa"), "mac is not valid")
        self.refused(guest("ip", "10.9.0.1"), "is not a guest address")
        self.refused(guest("ip", "10.1.0.1"), "is not a guest address")
        self.refused(guest("hostname", "a;b"), "hostname is not valid")
        self.refused(guest("userData", "not base64!"), "userData is not base64")
        self.refused(guest("userData", base64.b64encode(b"x" * 32769).decode()), "above 32768")
        self.refused(guest("publicKeys", ["ssh-ed25519 AAAA\nrm -rf /"]), "publicKeys[0] is not valid")
        self.refused(guest("hostname", "WEB-2"), "hostname web-2 is another guest's too")
        self.refused(guest("mac", "02:aa:00:00:00:02"), "MAC 02:aa:00:00:00:02 is another guest's too")


class RenderTest(unittest.TestCase):
    def test_static_leases_only_from_the_guests(self):
        self.assertEqual(gc.render_hosts(config()), "02:aa:00:00:00:01,10.1.0.11,web-1\n02:aa:00:00:00:02,10.1.0.12,web-2\n")
        conf = gc.render_conf(config(), GUEST, PATHS)
        self.assertIn("dhcp-ignore=tag:!known\n", conf)
        self.assertIn("dhcp-range=set:n0,10.1.0.0,static,255.255.255.0,3600s\n", conf)
        self.assertIn("interface=eth2\n", conf)
        self.assertNotIn("eth3", conf)  # net-b has no guest services

    def test_options_router_dns_domain_mtu_and_classless_routes(self):
        opts = gc.render_opts(config()).splitlines()
        self.assertIn("tag:n0,option:router,10.1.0.1", opts)
        self.assertIn("tag:n0,option:dns-server,10.1.0.1", opts)
        self.assertIn("tag:n0,option:domain-name,web.internal", opts)
        self.assertIn("tag:n0,option:mtu,1450", opts)
        # RFC 3442: with option 121 the client ignores option 3, so the default route is in it.
        self.assertIn("tag:n0,option:classless-static-route,10.2.0.0/24,10.1.0.1,0.0.0.0/0,10.1.0.1", opts)
        cfg = config()
        cfg["networks"][0]["guestServices"]["routes"] = []
        self.assertNotIn("classless", gc.render_opts(cfg))

    def test_names_and_upstreams(self):
        names = gc.render_names(config()).splitlines()
        self.assertEqual(
            names,
            ["10.1.0.1 data-server data-server.web.internal", "10.1.0.11 web-1.web.internal", "10.1.0.12 web-2.web.internal"],
        )
        # The router's own address is never an upstream (it would ask itself).
        self.assertEqual(gc.render_servers(config()).splitlines(), ["server=/web.internal/", "server=203.0.113.53"])

    def test_spoofing_guard_and_link_local_metadata(self):
        chains, rules = gc.filter_rules(config(), GUEST, "-m comment")
        self.assertEqual(chains, [":SDN_GS_0 - [0:0]"])
        self.assertEqual(rules[0], "-A INPUT -i eth2 -m comment -j SDN_GS_0")
        self.assertIn("-A SDN_GS_0 -s 10.1.0.11/32 -m mac --mac-source 02:AA:00:00:00:01 -m comment -j RETURN", rules)
        self.assertEqual(rules[-1], "-A SDN_GS_0 -m comment -j DROP")
        self.assertEqual(
            gc.nat_rules(config(), GUEST, "-m comment"),
            ["-A PREROUTING -i eth2 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -m comment -j DNAT --to-destination 10.1.0.1:80"],
        )


class MetadataTest(unittest.TestCase):
    def guest(self, ip):
        return json.loads(gc.render_metadata(config()))["guests"].get("10.1.0.1 %s" % ip)

    def test_a_guest_reads_its_own_data(self):
        g = self.guest("10.1.0.11")
        self.assertEqual(md.answer_metadata(g, "/latest/user-data"), (200, b"#cloud-config\n"))
        self.assertEqual(md.answer_metadata(g, "/latest/meta-data/instance-id"), (200, b"vm-1"))
        self.assertEqual(md.answer_metadata(g, "/latest/meta-data/local-hostname"), (200, b"web-1"))
        self.assertEqual(md.answer_metadata(g, "/latest/public-ipv4"), (200, b"203.0.113.10"))
        self.assertEqual(md.answer_metadata(g, "/latest/meta-data/public-keys"), (200, KEY.encode()))
        listing = md.answer_metadata(g, "/latest/meta-data/")[1].decode().split()
        self.assertIn("local-ipv4", listing)
        self.assertIn("public-keys", listing)

    def test_no_data_no_answer(self):
        g = self.guest("10.1.0.12")
        self.assertEqual(md.answer_metadata(g, "/latest/user-data")[0], 404)
        self.assertNotIn("public-keys", md.answer_metadata(g, "/latest/meta-data/")[1].decode().split())
        self.assertEqual(md.answer_metadata(None, "/latest/user-data")[0], 404)  # not a guest of this router
        self.assertEqual(md.answer_metadata(g, "/latest/meta-data/../../etc/passwd")[0], 404)

    def test_password_service_has_none(self):
        self.assertEqual(md.answer_password("send_my_password"), "saved_password")
        self.assertEqual(md.answer_password("saved_password"), "saved_password")
        self.assertEqual(md.answer_password("anything else"), "bad_request")


if __name__ == "__main__":
    unittest.main()
