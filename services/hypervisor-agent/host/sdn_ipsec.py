"""IPsec of an encrypted network's tunnels (OVS's ovs-monitor-ipsec with strongSwan).

Fail closed: an encrypted network's tunnels are written only when this host can encrypt
them. ovs-monitor-ipsec (Debian's openvswitch-ipsec) turns a tunnel's options:psk into
strongSwan transport-mode SAs, and the kernel's xfrm applies them to the tunnel packets of
the KERNEL datapath only: a bridge on the userspace (netdev) datapath sends its tunnel
packets itself, past xfrm, so they would leave in clear. Both cases refuse with a code
before anything is written; nothing here ever logs or answers the key.
"""

import errno
import os
import re

MONITOR = "ovs-monitor-ipsec"
# The pre-shared key as the controller makes it: hex (ovs-monitor-ipsec writes it between
# double quotes into ipsec.secrets, so no quote, backslash or space may appear), >= 256 bits.
PSK_RE = re.compile(r"^[0-9a-f]{64,256}$")
# other_config:ipsec_skb_mark: ovs-monitor-ipsec installs drop policies for tunnel packets
# with this mark that no SA covers, so nothing leaves in clear while an SA comes up. 0/1 is
# OVS's documented value; an admin's own value is kept (only set when absent).
SKB_MARK = "0/1"


class IpsecError(Exception):
    """Raised with a host error code (sdn_ovs turns it into a HostError)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def check_psk(psk):
    if not isinstance(psk, str) or not PSK_RE.match(psk):
        # The message never repeats the value.
        raise IpsecError("INVALID_ARGUMENT", "argument 'psk' must be 64 to 256 lowercase hex digits")
    return psk


def _rundir():
    return os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")


def monitor_running(rundir=None):
    """True when ovs-monitor-ipsec's pidfile names a live process."""
    path = os.path.join(rundir or _rundir(), MONITOR + ".pid")
    try:
        with open(path) as f:
            pid = int(f.read().strip() or "0")
    except (IOError, OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def check_host(bridge, datapath_type, rundir=None):
    """Refuses (IpsecError) when this host cannot encrypt the bridge's tunnels."""
    if (datapath_type or "system") != "system":
        raise IpsecError(
            "IPSEC_DATAPATH_UNSUPPORTED",
            "bridge %s runs the %s datapath: its tunnel packets bypass the kernel's IPsec, so an encrypted "
            "network's tunnels would carry cleartext; refused (use the kernel datapath)" % (bridge, datapath_type),
        )
    if not monitor_running(rundir):
        raise IpsecError(
            "IPSEC_UNAVAILABLE",
            "%s is not running on this host (install and start openvswitch-ipsec with strongSwan); "
            "an encrypted network's tunnels are refused rather than carried in clear" % MONITOR,
        )


def skb_mark_command():
    """ovs-vsctl's `add` to a map keeps a key already present: an admin's own mark stays."""
    return ["add", "Open_vSwitch", ".", "other_config", "ipsec_skb_mark=%s" % SKB_MARK]


def redact_options(options):
    """A tunnel's options as answered off the host: the key never leaves it (only that it is set)."""
    if "psk" not in options:
        return options
    return dict(options, psk="<set>")
