"""Which devices of a host may be plugged into a guest network, and whose they are.

Used by sdn_ovs_ports.plug_vif before it touches Open vSwitch. Two questions, both answered
from what the host itself records, never from what the caller claims:

- Is the device a guest's? Only the kinds a hypervisor makes for a VM pass: a tun/tap
  (KVM, Xen HVM emulation), a veth, or a Xen netback vif. A physical NIC, a bond, a bridge,
  an Open vSwitch internal port, the loopback, a device that holds an address of the host
  or that is already a member of another bridge or bond (the underlay, the management
  interface) is refused.
- Is it that VM's? On KVM, libvirt's record of the running domain: `virsh domiflist` when
  libvirtd runs, else the domain status files libvirt writes (/run/libvirt/qemu/<name>.xml,
  with <interface><target dev=.../>), else the vm-id that the toolstack (not this program)
  set on the Open vSwitch interface. On XenServer / XCP-ng the agent asks XAPI before
  calling (the VIF must be one of the VM's) and says so with verifiedBy=xapi.

Refusals never name another VM or account: a tenant learns only that the device is not
the one it named. Python 3.6 (dom0): no capture_output/text in subprocess.
"""

import os
import subprocess
import xml.etree.ElementTree as ET

# Lets a lab host (a namespace, no libvirtd) keep its status files elsewhere.
LIBVIRT_STATUS_DIR = os.environ.get("SDN_LIBVIRT_STATUS_DIR", "/run/libvirt/qemu")
LIBVIRT_SOCKETS = ("/run/libvirt/libvirt-sock", "/var/run/libvirt/libvirt-sock")
VIRSH = os.environ.get("SDN_VIRSH", "virsh")
TIMEOUT_S = 15
GUEST_KINDS = ("tun", "veth")


class Refused(Exception):
    """The device may not be plugged; `code` is a stable host error code."""

    def __init__(self, code, message):
        super(Refused, self).__init__(message)
        self.code = code


def _run(argv):
    try:
        proc = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc


def _sys(device, *parts):
    return os.path.join("/sys/class/net", device, *parts)


def _link_details(device):
    """(kind, has_address) from `ip -d addr show`: the kind line follows the link/ line."""
    proc = _run(["ip", "-d", "addr", "show", "dev", device])
    if proc is None or proc.returncode != 0:
        return None, False
    lines = [l.strip() for l in proc.stdout.splitlines()]
    kind = None
    for i, line in enumerate(lines):
        if line.startswith("link/") and i + 1 < len(lines):
            words = lines[i + 1].split()
            if words and not words[0].startswith(("inet", "altname")):
                kind = words[0]
            break
    has_address = any(l.startswith("inet ") or (l.startswith("inet6 ") and "scope link" not in l) for l in lines)
    return kind, has_address


def _is_xen_vif(device):
    subsystem = _sys(device, "device", "subsystem")
    return os.path.islink(subsystem) and os.path.basename(os.readlink(subsystem)) == "xen-backend"


def _not_a_guest(device, what):
    return Refused("NOT_A_GUEST_DEVICE", "device %s is not a VM's interface: it is %s" % (device, what))


def check_kind(device, ovs_interface, ovs_bridge_managed):
    """Refuses every device that is not a VM's port.

    `ovs_interface` is the device's Open vSwitch Interface row (or None); `ovs_bridge_managed`
    is True/False for the bridge holding its port (None when it is on none).
    """
    if device == "lo" or _read(_sys(device, "type")) == "772":
        raise _not_a_guest(device, "the loopback")
    if os.path.isdir(_sys(device, "bridge")) or (ovs_interface is not None and ovs_interface.get("type") == "internal"):
        raise _not_a_guest(device, "a bridge or an Open vSwitch internal port")
    if os.path.isdir(_sys(device, "bonding")):
        raise _not_a_guest(device, "a bond")
    xen_vif = _is_xen_vif(device)
    if os.path.exists(_sys(device, "device")) and not xen_vif:
        raise _not_a_guest(device, "a physical NIC")
    if os.path.exists(_sys(device, "master")) or ovs_bridge_managed is False:
        raise _not_a_guest(
            device,
            "a member of a bridge or bond the controller does not manage (a host interface, or a port held elsewhere)",
        )
    kind, has_address = _link_details(device)
    if has_address:
        raise _not_a_guest(device, "an interface holding an address of the host")
    if not xen_vif and kind not in GUEST_KINDS and not os.path.exists(_sys(device, "tun_flags")):
        raise _not_a_guest(device, "of a kind hypervisors do not make for VMs (%s)" % (kind or "unknown"))


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except (IOError, OSError):
        return None


# ---------------------------------------------------------------- ownership (KVM)


def _libvirtd_runs():
    return any(os.path.exists(s) for s in LIBVIRT_SOCKETS)


def _virsh_devices(vm_id):
    """The VM's interface devices per `virsh domiflist`; None when libvirt has no such VM."""
    proc = _run([VIRSH, "-q", "domiflist", vm_id])
    if proc is None:
        return None
    if proc.returncode != 0:
        return set() if "failed to get domain" in proc.stderr.lower() else None
    return set(line.split()[0] for line in proc.stdout.splitlines() if line.split() and line.split()[0] != "-")


def _status_devices(vm_id):
    """The VM's interface devices per libvirt's status files; None when there are none to read."""
    try:
        names = sorted(n for n in os.listdir(LIBVIRT_STATUS_DIR) if n.endswith(".xml"))
    except OSError:
        return None
    for name in names:
        try:
            root = ET.parse(os.path.join(LIBVIRT_STATUS_DIR, name)).getroot()
        except (ET.ParseError, IOError, OSError):
            continue
        domain = root if root.tag == "domain" else root.find("domain")
        if domain is None or vm_id not in (domain.findtext("name"), domain.findtext("uuid")):
            continue
        return set(
            t.get("dev") for t in domain.findall("./devices/interface/target") if t.get("dev")
        )
    return set()


def check_owner(device, vm_id, ovs_interface):
    """Refuses a device that the host's records do not give to VM `vm_id`."""
    not_owned = Refused(
        "DEVICE_NOT_OWNED", "device %s is not an interface of VM %s on this host" % (device, vm_id)
    )
    devices = _virsh_devices(vm_id) if _libvirtd_runs() else None
    if devices is None:
        devices = _status_devices(vm_id)
    if devices is not None:
        if device not in devices:
            raise not_owned
        return "libvirt"
    # No libvirt here: a vm-id the toolstack set on the port (ours carry sdn-nic-id).
    ids = (ovs_interface or {}).get("external_ids", {})
    if ids.get("vm-id") and "sdn-nic-id" not in ids:
        if ids["vm-id"] != vm_id:
            raise not_owned
        return "ovs"
    raise Refused(
        "DEVICE_NOT_OWNED",
        "nothing on this host records device %s as an interface of VM %s (no libvirt domain, no vm-id)"
        % (device, vm_id),
    )


# ---------------------------------------------------------------- port security

# Every port-security flow carries this cookie: a bridge's set is replaced whole by cookie.
PORT_SECURITY_COOKIE = "0x5d5ec00000000001"
ALLOW_PRIORITY = 40000
DROP_PRIORITY = 39000
# Above the allows: a guest's own BFD control packets (UDP 3784) are dropped, because the
# tunnels run BFD without check_tnl_key (docs/tunnel-health.md) and a guest could otherwise
# forge its network's tunnel health.
BFD_DROP_PRIORITY = 40100


def port_security_flows(ports):
    """The ovs-ofctl add-flows text that makes a bridge's port-security flows exactly
    `ports`: (port name, MAC, IPv4 or None) for each guest port that has it on.

    A port may send IPv4 from its address, ARP for its address (and RFC 5227 probes,
    sender 0.0.0.0), and DHCP discovery from 0.0.0.0, all from its MAC; anything else it
    sends is dropped, and so is BFD (UDP 3784) it sends. Without a known address the port is held to its MAC only. Ports
    without port security (routers, appliances) get no flow and keep the bridge's NORMAL
    forwarding. Meant for `ovs-ofctl --bundle`: the delete and the adds apply as one.
    """
    lines = ["delete cookie=%s/-1" % PORT_SECURITY_COOKIE]
    for name, mac, ip in sorted(ports):
        base = "cookie=%s,priority=%%d,in_port=%s" % (PORT_SECURITY_COOKIE, name)
        src = "%s,dl_src=%s" % (base % ALLOW_PRIORITY, mac)
        if ip:
            allowed = [
                "ip,nw_src=%s" % ip,
                "arp,arp_sha=%s,arp_spa=%s" % (mac, ip),
                "arp,arp_sha=%s,arp_spa=0.0.0.0" % mac,
                "udp,nw_src=0.0.0.0,nw_dst=255.255.255.255,tp_src=68,tp_dst=67",
            ]
        else:
            allowed = ["ip", "arp,arp_sha=%s" % mac]
        lines.append("add %s,udp,tp_dst=3784,actions=drop" % (base % BFD_DROP_PRIORITY))
        lines.extend("add %s,%s,actions=NORMAL" % (src, a) for a in allowed)
        lines.append("add %s,actions=drop" % (base % DROP_PRIORITY))
    return "\n".join(lines) + "\n"


def _canonical(flow):
    """A flow as a comparable set of its words (priority, match fields, actions), whatever
    their order: ovs-ofctl prints the fields in its own order, not in the one added."""
    words = frozenset(w.strip() for w in flow.replace(" actions=", ",actions=").split(",") if w.strip())
    return frozenset(w for w in words if not w.startswith("cookie="))


def wanted_flows(text):
    """The flows port_security_flows(...) text adds, as canonical sets."""
    return set(_canonical(l[len("add "):]) for l in text.splitlines() if l.startswith("add "))


def dumped_flows(output):
    """The flows of `ovs-ofctl --names --no-stats dump-flows` output, as canonical sets
    (its reply header lines, e.g. NXST_FLOW reply, are not flows)."""
    return set(_canonical(l) for l in output.splitlines() if l.strip().startswith("cookie="))

