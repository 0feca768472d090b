"""sdn_guest: whose a device is (libvirt status files, the toolstack's vm-id) and what kind it is."""

import os
import subprocess
import tempfile
import unittest

import sdn_guest

STATUS = """<domstatus state='running' reason='booted' pid='4242'>
  <domain type='kvm' id='7'>
    <name>%s</name>
    <uuid>%s</uuid>
    <devices>
      <interface type='bridge'>
        <mac address='52:54:00:aa:bb:01'/>
        <target dev='%s'/>
      </interface>
    </devices>
  </domain>
</domstatus>
"""


class Owner(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        for name, uuid, dev in (("web", "0b7f8a52-3c61-4d6e-9a7b-2f1e0d9c8b7a", "vnet0"), ("db", "uuid-db", "vnet1")):
            with open(os.path.join(self.dir.name, name + ".xml"), "w") as f:
                f.write(STATUS % (name, uuid, dev))
        self.saved = (sdn_guest.LIBVIRT_STATUS_DIR, sdn_guest._libvirtd_runs)
        sdn_guest.LIBVIRT_STATUS_DIR = self.dir.name
        sdn_guest._libvirtd_runs = lambda: False

    def tearDown(self):
        sdn_guest.LIBVIRT_STATUS_DIR, sdn_guest._libvirtd_runs = self.saved

    def test_a_vms_own_device_by_name_or_uuid(self):
        self.assertEqual(sdn_guest.check_owner("vnet0", "web", None), "libvirt")
        self.assertEqual(sdn_guest.check_owner("vnet0", "0b7f8a52-3c61-4d6e-9a7b-2f1e0d9c8b7a", None), "libvirt")

    def test_another_vms_device_is_refused_without_naming_it(self):
        with self.assertRaises(sdn_guest.Refused) as e:
            sdn_guest.check_owner("vnet1", "web", None)
        self.assertEqual(e.exception.code, "DEVICE_NOT_OWNED")
        self.assertNotIn("db", str(e.exception))

    def test_an_unknown_vm_owns_nothing(self):
        with self.assertRaises(sdn_guest.Refused):
            sdn_guest.check_owner("vnet0", "nobody", None)

    def test_without_libvirt_the_toolstacks_vm_id_decides(self):
        sdn_guest.LIBVIRT_STATUS_DIR = os.path.join(self.dir.name, "absent")
        toolstack = {"external_ids": {"vm-id": "web"}}
        self.assertEqual(sdn_guest.check_owner("tap3", "web", toolstack), "ovs")
        with self.assertRaises(sdn_guest.Refused):
            sdn_guest.check_owner("tap3", "other", toolstack)
        # A vm-id this program wrote itself (sdn-nic-id beside it) proves nothing.
        with self.assertRaises(sdn_guest.Refused):
            sdn_guest.check_owner("tap3", "web", {"external_ids": {"vm-id": "web", "sdn-nic-id": "nic-1"}})
        with self.assertRaises(sdn_guest.Refused):
            sdn_guest.check_owner("tap3", "web", None)


IP_VETH = """3: vx0@vx1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default qlen 1000
    link/ether 96:14:26:70:aa:64 brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535
    veth numtxqueues 2 numrxqueues 2 gso_max_size 65536
%s"""


class Kind(unittest.TestCase):
    def setUp(self):
        self.saved = sdn_guest._run

    def tearDown(self):
        sdn_guest._run = self.saved

    def fake_ip(self, text):
        sdn_guest._run = lambda argv: subprocess.CompletedProcess(argv, 0, text, "")

    def test_reads_the_kind_and_host_addresses(self):
        self.fake_ip(IP_VETH % "")
        self.assertEqual(sdn_guest._link_details("vx0"), ("veth", False))
        self.fake_ip(IP_VETH % "    inet 10.9.9.1/24 scope global vx0\n       valid_lft forever")
        self.assertEqual(sdn_guest._link_details("vx0"), ("veth", True))
        self.fake_ip(IP_VETH % "    inet6 fe80::1/64 scope link\n")
        self.assertEqual(sdn_guest._link_details("vx0"), ("veth", False))

    def test_refuses_the_loopback_and_ovs_internal_ports(self):
        for device, iface in (("lo", None), ("no-such-dev0", {"type": "internal"})):
            with self.assertRaises(sdn_guest.Refused) as e:
                sdn_guest.check_kind(device, iface, None)
            self.assertEqual(e.exception.code, "NOT_A_GUEST_DEVICE")

    def test_refuses_a_port_of_a_bridge_the_controller_does_not_manage(self):
        if not os.path.isdir("/sys/class/net/lo"):
            self.skipTest("no sysfs")
        with self.assertRaises(sdn_guest.Refused):
            sdn_guest.check_kind("no-such-dev0", None, False)


if __name__ == "__main__":
    unittest.main()
