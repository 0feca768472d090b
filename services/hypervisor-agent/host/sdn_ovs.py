"""Open vSwitch operations of the SDN controller's host programs.

Shared by the XAPI plugin (sdn-ovs) and the KVM script (sdn-ovs-kvm); both only decode
their arguments and encode the answer. Every function takes one dict of arguments and
returns a JSON-serialisable dict, or raises HostError with a stable code.

Rules kept here (and broken by CloudStack's ovstunnel, see the project notes):
- all writes of one call go to ovs-vsctl in ONE invocation, i.e. one OVSDB transaction;
- everything we create is tagged in external_ids (sdn-managed, sdn-network-id, sdn-role),
  so state can be found, reported and cleaned up, and nothing untagged is ever removed;
- --may-exist / --if-exists make every call idempotent;
- process output is decoded text, exit status is checked, failures are raised.

This file holds the version, the host's facts and the table of functions; the functions
live in the modules beside it, one per concern (all deployed with it, see
services/hypervisor-agent/src/drivers/host-programs.ts):
  sdn_ovs_cmd.py      running ovs-vsctl / ovs-ofctl, OVSDB data, tags, HostError
  sdn_ovs_args.py     argument checks
  sdn_ovs_bridges.py  setup_bridge, destroy_bridge, ovs_state
  sdn_ovs_tunnels.py  apply_tunnels, ipsec_check, tunnel_health
  sdn_ipsec.py        whether this host can encrypt tunnels, the key kept off logs and answers
  sdn_ovs_ports.py    plug_vif, unplug_vif, list_vms
  sdn_ovs_flows.py    port-security flows, restore_flows
  sdn_ovs_relay.py    router_relay
  sdn_guest.py        whose a device is, and the port-security flow text
"""

import ipaddress
import json
import platform
import socket

import sdn_ovs_args as args_
import sdn_ovs_cmd as ovs
from sdn_ovs_bridges import destroy_bridge, ovs_state, setup_bridge
from sdn_ovs_cmd import HostError, OvsError
from sdn_ovs_flows import restore_flows
from sdn_ovs_ports import list_vms, plug_vif, unplug_vif
from sdn_ovs_relay import router_relay
from sdn_ovs_tunnels import apply_tunnels, ipsec_check, tunnel_health

# Of this file and the modules beside it (sdn_ovs_*.py, sdn_guest.py, sdn_ipsec.py): the
# agent deploys them all when a host answers another version.
VERSION = "1.6.2"

__all__ = ["FUNCTIONS", "HostError", "VERSION"]


def version(_args):
    return {"version": VERSION, "python": platform.python_version()}


def host_info(_args):
    ovs_version = ovs.ovs_version()
    try:
        bridges = ovs.bridges()
    except OvsError as e:
        raise HostError("NOT_AN_OVS_HOST", "Open vSwitch does not answer on this host: %s" % e)
    os_name, os_version = _os_release()
    return {
        "version": VERSION,
        "ovsVersion": ovs_version,
        # Where ovsdb-server listens, for the agent's OVSDB client (forwarded over SSH).
        "ovsdbSocket": ovs.rundir_file("db.sock"),
        "hostname": socket.gethostname(),
        "os": os_name,
        "osVersion": os_version,
        "kernel": platform.release(),
        "bridges": sorted(b["name"] for b in bridges),
    }


def _os_release():
    fields = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                fields[k] = v.strip('"')
    except OSError:
        pass
    return fields.get("NAME", platform.system()), fields.get("VERSION_ID", platform.release())


def _netmask(prefix):
    return str(ipaddress.IPv4Network("0.0.0.0/%d" % prefix).netmask)


def fetch_interface(args):
    """The tunnel endpoint: the interface named `label`, or the one holding `address`."""
    label = args_.string(args, "label", args_.NAME_RE, required=False)
    address = args.get("address")
    if label is None and not address:
        raise HostError("INVALID_ARGUMENT", "give 'label' or 'address'")
    if address:
        address = args_.ip(address, "address")
    status, out, err = ovs.run(["ip", "-j", "-4", "addr", "show"], 10)
    if status != 0:
        raise HostError("COMMAND_FAILED", "ip addr failed: %s" % err.strip())
    for link in json.loads(out or "[]"):
        for a in link.get("addr_info", []):
            if a.get("family") != "inet":
                continue
            if (label is not None and link["ifname"] == label) or (label is None and a.get("local") == address):
                return {
                    "device": link["ifname"],
                    "ip": a["local"],
                    "prefixLength": a["prefixlen"],
                    "netmask": _netmask(a["prefixlen"]),
                    "mac": _mac_of(link["ifname"]),
                }
    what = "interface %s with an IPv4 address" % label if label is not None else "interface holding %s" % address
    raise HostError("INTERFACE_NOT_FOUND", "no %s on this host" % what)


def _mac_of(device):
    try:
        with open("/sys/class/net/%s/address" % device) as f:
            return f.read().strip()
    except OSError:
        return None


FUNCTIONS = {
    "version": version,
    "host_info": host_info,
    "setup_bridge": setup_bridge,
    "destroy_bridge": destroy_bridge,
    "apply_tunnels": apply_tunnels,
    "ipsec_check": ipsec_check,
    "plug_vif": plug_vif,
    "unplug_vif": unplug_vif,
    "ovs_state": ovs_state,
    "restore_flows": restore_flows,
    "tunnel_health": tunnel_health,
    "fetch_interface": fetch_interface,
    "list_vms": list_vms,
    "router_relay": router_relay,
}
