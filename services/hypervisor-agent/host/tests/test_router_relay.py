"""The host's own refusals of a router relay (run: python3 -m unittest discover -s
services/hypervisor-agent/host/tests -t services/hypervisor-agent/host)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import sdn_ovs_relay  # noqa: E402
from sdn_ovs_cmd import HostError  # noqa: E402

FP = "SHA256:" + "A" * 43


def relay(**over):
    args = {
        "address": "169.254.0.2",
        "port": 3922,
        "username": "root",
        "hostKeyFingerprint": FP,
        "identityFile": "/nonexistent/id_sdn_router",
        "argv": ["/opt/sdn-router/sdn-router", "version"],
    }
    args.update(over)
    return sdn_ovs_relay.router_relay(args)


class RouterRelayRefusals(unittest.TestCase):
    def refused(self, code, **over):
        with self.assertRaises(HostError) as cm:
            relay(**over)
        self.assertEqual(cm.exception.code, code)

    def test_an_address_outside_the_link_local_network(self):
        for address in ("10.0.0.5", "127.0.0.1", "169.255.0.1"):
            self.refused("RELAY_ADDRESS_NOT_LINK_LOCAL", address=address)

    def test_another_key_than_the_relay_key(self):
        for identity in ("/root/.ssh/id_rsa", "/etc/ssh/ssh_host_ed25519_key", "/root/.ssh/../x/id_sdn_router"):
            self.refused("RELAY_KEY_NOT_ALLOWED", identityFile=identity)

    def test_a_command_that_is_not_the_router_programs(self):
        for argv in (
            ["true"],
            ["sh", "-c", "id"],
            ["/opt/sdn-router/sdn-router", "apply", "extra"],
            ["/opt/sdn-router/sdn-router", "shell"],
            ["/tmp/evil", "version"],
            ["/opt/../tmp/sdn-router", "version"],
            ["sh", "-c", "cat > /etc/passwd", "sh", "/opt/sdn-router/sdn-router", "755"],
            ["sh", "-c", sdn_ovs_relay.ROUTER_DEPLOY_SCRIPT, "sh", "/etc/cron.d/x", "755"],
        ):
            self.refused("RELAY_COMMAND_NOT_ALLOWED", argv=argv)

    def test_the_router_programs_own_commands_pass_the_checks(self):
        # Allowed requests get past the policy to the key check (the key is absent here).
        for argv in (
            ["/opt/sdn-router/sdn-router", "state"],
            ["mkdir", "-p", "/opt/sdn-router"],
            ["sh", "-c", sdn_ovs_relay.ROUTER_DEPLOY_SCRIPT, "sh", "/opt/sdn-router/sdn-router", "755"],
        ):
            self.refused("RELAY_KEY_MISSING", argv=argv)



class HostKeyScan(unittest.TestCase):
    KEY = "[169.254.0.2]:3922 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n"

    def scans(self, outcomes):
        calls = []

        def scan(_address, _port):
            calls.append(1)
            return outcomes[min(len(calls), len(outcomes)) - 1]

        keys = sdn_ovs_relay._scanned_keys("169.254.0.2", 3922, scan=scan, pause=lambda _s: None)
        return keys, len(calls)

    def test_scans_again_while_sshd_drops_the_connections(self):
        dropped = ("", "169.254.0.2: Connection closed by remote host\n")
        keys, calls = self.scans([dropped, dropped, (self.KEY, "")])
        self.assertEqual(keys, [self.KEY.split()])
        self.assertEqual(calls, 3)

    def test_gives_up_after_its_attempts(self):
        keys, calls = self.scans([("", "169.254.0.2: Connection closed by remote host\n")])
        self.assertEqual(keys, [])
        self.assertEqual(calls, sdn_ovs_relay.SCAN_ATTEMPTS)

    def test_does_not_scan_again_when_nothing_answers(self):
        keys, calls = self.scans([("", "")])
        self.assertEqual((keys, calls), ([], 1))

    def test_scans_again_when_sshd_resets_the_connections(self):
        reset = ("", "read (169.254.0.2): Connection reset by peer\n")
        keys, calls = self.scans([reset, (self.KEY, "")])
        self.assertEqual((keys, calls), ([self.KEY.split()], 2))


class RelayedCommand(unittest.TestCase):
    """The command's own connection, tried again only when nothing can have run."""

    def runs(self, outcomes):
        calls = []

        def run(argv, _timeout, stdin=None, decode=True):
            calls.append((argv, stdin, decode))
            return outcomes[min(len(calls), len(outcomes)) - 1]

        result = sdn_ovs_relay._run_ssh(["ssh", "router"], 5, b"input", run=run, pause=lambda _s: None)
        return result, calls

    def test_runs_again_while_sshd_drops_it_before_identifying(self):
        for said in (
            b"kex_exchange_identification: read: Connection reset by peer\r\n",
            b"kex_exchange_identification: Connection closed by remote host\r\n",
        ):
            result, calls = self.runs([(255, b"", said), (0, b"ok", b"")])
            self.assertEqual(result, (0, b"ok", b""))
            # The same command and input each time.
            self.assertEqual(calls, [(["ssh", "router"], b"input", False)] * 2)

    def test_gives_up_after_its_attempts(self):
        dropped = (255, b"", b"kex_exchange_identification: read: Connection reset by peer\r\n")
        result, calls = self.runs([dropped])
        self.assertEqual(result, dropped)
        self.assertEqual(len(calls), sdn_ovs_relay.SSH_ATTEMPTS)

    def test_never_runs_again_once_the_router_answered(self):
        # A refused key, a host key mismatch, the command's own failure: the router was reached.
        for outcome in (
            (255, b"", b"root@169.254.0.2: Permission denied (publickey).\r\n"),
            (255, b"", b"Host key verification failed.\r\n"),
            (255, b"", b"Connection to 169.254.0.2 closed by remote host.\r\n"),
            (1, b"", b"kex_exchange_identification in the command's own output\n"),
        ):
            result, calls = self.runs([outcome, (0, b"ok", b"")])
            self.assertEqual((result, len(calls)), (outcome, 1))


if __name__ == "__main__":
    unittest.main()
