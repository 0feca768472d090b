"""Unit tests of the XAPI plugin file sdn-ovs: its shell part picks dom0's Python, its
Python part answers as XenAPIPlugin.dispatch does and refuses Pythons older than 3.6."""

import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import unittest
import xmlrpc.client

HOST_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = os.path.join(HOST_DIR, "sdn-ovs")


def load_plugin():
    loader = importlib.machinery.SourceFileLoader("sdn_ovs_plugin", PLUGIN)
    spec = importlib.util.spec_from_loader("sdn_ovs_plugin", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def call(fn, args="{}"):
    return xmlrpc.client.dumps(("OpaqueRef:session", {"args": args}), methodname=fn)


def response(text):
    (value,), _ = xmlrpc.client.loads(text)
    return value


class PluginTest(unittest.TestCase):
    def setUp(self):
        self.plugin = load_plugin()
        self.saved = (sys.argv, sys.stdout)
        sys.stdout = io.StringIO()

    def tearDown(self):
        sys.argv, sys.stdout = self.saved

    def run_main(self, fn, args="{}"):
        sys.argv = ["sdn-ovs", call(fn, args)]
        sys.stdout = io.StringIO()
        self.assertEqual(self.plugin.main(), 0)
        return response(sys.stdout.getvalue())

    def test_answers_a_function_with_its_json_value(self):
        answer = self.run_main("version")
        self.assertEqual(answer["Status"], "Success")
        self.assertIn('"python": "%d.%d.' % sys.version_info[:2], answer["Value"])

    def test_unknown_function_and_host_errors_are_failures(self):
        self.assertEqual(self.run_main("nope")["ErrorDescription"], ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "nope"])
        failed = self.run_main("setup_bridge", '{"bridge": "bad name!"}')["ErrorDescription"]
        self.assertEqual(failed[:2], ["SDN_HOST_ERROR", "INVALID_ARGUMENT"])

    def test_an_old_python_gets_a_typed_refusal(self):
        self.assertEqual(self.plugin.refuse_old_python(), 0)
        description = response(sys.stdout.getvalue())["ErrorDescription"]
        self.assertEqual(description[:2], ["SDN_HOST_ERROR", "UNSUPPORTED_PYTHON"])
        self.assertIn("needs Python 3.6 or later", description[2])


class ShellPartTest(unittest.TestCase):
    def test_runs_the_python_named_by_sdn_ovs_python(self):
        env = dict(os.environ, SDN_OVS_PYTHON=sys.executable)
        proc = subprocess.run([PLUGIN, call("version")], stdout=subprocess.PIPE, env=env, universal_newlines=True)
        self.assertEqual(proc.returncode, 0)
        self.assertIn('"python": "%d.%d.' % sys.version_info[:2], response(proc.stdout)["Value"])


if __name__ == "__main__":
    unittest.main()
