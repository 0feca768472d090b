"""The host's relay deploys exactly the router program's files: its list (sdn_ovs_relay.py)
agrees with the router folder, and with the contracts' ROUTER_PROGRAM_FILES (the vr-manager's
deploy list) modes included."""

import os
import re
import unittest

import sdn_ovs_relay

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
ROUTER_DIR = os.path.join(REPO, "services", "vr-manager", "router")
CONTRACT = os.path.join(REPO, "libs", "contracts", "src", "commands", "router-relay.ts")


def shipped():
    """The router folder's program files: sdn-router and the sdn_*.py beside it."""
    return sorted(n for n in os.listdir(ROUTER_DIR) if n == "sdn-router" or (n.startswith("sdn_") and n.endswith(".py")))


class RouterFilesTest(unittest.TestCase):
    def test_the_relay_allows_every_router_file(self):
        self.assertEqual(sorted(sdn_ovs_relay.ROUTER_PROGRAM_FILES), shipped())
        self.assertEqual(sdn_ovs_relay.ROUTER_PROGRAM_FILES["sdn-router"], "755")

    def test_the_contracts_list_the_same_files(self):
        with open(CONTRACT) as f:
            text = f.read()
        body = text[text.index("ROUTER_PROGRAM_FILES") :]
        body = body[: body.index("};")]
        listed = dict(re.findall(r'"([^"]+)": "(\d{3})"', body))
        listed["sdn-router"] = re.search(r'\[ROUTER_PROGRAM_NAME\]: "(\d{3})"', body).group(1)
        self.assertEqual(listed, sdn_ovs_relay.ROUTER_PROGRAM_FILES)


if __name__ == "__main__":
    unittest.main()
