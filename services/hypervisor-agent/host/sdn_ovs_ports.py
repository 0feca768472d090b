"""A VM's port on a network's bridge: plugged with its tags and port-security flows (only a
device that is that VM's, see sdn_guest.py), unplugged, and listed per VM."""

import os

import sdn_guest
import sdn_ovs_args as args_
import sdn_ovs_cmd as ovs
import sdn_ovs_flows as flows
from sdn_ovs_cmd import TAG_MANAGED, TAG_NETWORK, TAG_PORT_SECURITY, TAG_ROLE, HostError


def vif_commands(bridge, device, network_id, nic_id, mac, vm_id, ip, secured):
    """The ovs-vsctl commands that add the port (idempotent) and state its tags."""
    iface_tags = {"iface-id": nic_id, "sdn-nic-id": nic_id}
    if mac:
        iface_tags["attached-mac"] = mac.lower()
    if vm_id:
        iface_tags["vm-id"] = vm_id
    port_tags = {TAG_MANAGED: "true", TAG_NETWORK: network_id, TAG_ROLE: "vif", "sdn-nic-id": nic_id}
    port_tags[TAG_PORT_SECURITY] = "true" if secured else "false"
    if mac:
        port_tags["sdn-mac"] = mac.lower()
    if ip:
        port_tags["sdn-ip"] = ip
    commands = [
        ["--may-exist", "add-port", bridge, device],
        ["set", "Interface", device] + ovs.tags("external_ids", iface_tags),
        ["set", "Port", device] + ovs.tags("external_ids", port_tags),
    ]
    if not ip:
        commands.append(["remove", "Port", device, "external_ids", "sdn-ip"])
    return commands


def plug_vif(args):
    network_id = args_.string(args, "networkId", args_.ID_RE)
    device = args_.string(args, "device", args_.NAME_RE)
    nic_id = args_.string(args, "nicId", args_.ID_RE)
    mac = args_.string(args, "mac", args_.MAC_RE, required=False)
    vm_id = args_.string(args, "vmId", args_.ID_RE, required=False)
    ip = args_.string(args, "ip", required=False)
    if ip:
        args_.ip(ip, "ip")
    secured = args.get("portSecurity", True)
    if not isinstance(secured, bool):
        raise HostError("INVALID_ARGUMENT", "argument 'portSecurity' must be a boolean")
    if secured and not mac:
        raise HostError("INVALID_ARGUMENT", "port security needs the NIC's 'mac'")
    if not os.path.exists("/sys/class/net/%s" % device):
        raise HostError("DEVICE_NOT_FOUND", "network device %s does not exist on this host" % device)
    check_guest_device(device, vm_id, args.get("verifiedBy"))
    bridge = ovs.bridge_of(network_id)
    commands = vif_commands(bridge, device, network_id, nic_id, mac, vm_id, ip, secured)
    with flows.flows_lock():
        tables = ovs.vsctl(*(commands + flows.secured_ports_query(network_id)))
        flows.apply_port_security(bridge, tables)
    return {"bridge": bridge, "port": device}


def check_guest_device(device, vm_id, verified_by):
    """Refuses a device that is not a VM's port, or (unless XAPI vouched) not VM vm_id's."""
    ifaces, ports, bridges = ovs.vsctl(
        ["--columns=name,type,external_ids", "find", "Interface", "name=%s" % device],
        ["--columns=_uuid", "find", "Port", "name=%s" % device],
        ["--columns=ports,external_ids", "list", "Bridge"],
    )
    iface = (ovs.rows(ifaces) or [None])[0]
    port = (ovs.rows(ports) or [{}])[0].get("_uuid")
    holder = [b for b in ovs.rows(bridges) if port is not None and port in ovs.as_list(b["ports"])]
    managed = bool(holder[0]["external_ids"].get(TAG_NETWORK)) if holder else None
    try:
        sdn_guest.check_kind(device, iface, managed)
        if verified_by != "xapi":
            if not vm_id:
                raise sdn_guest.Refused("DEVICE_NOT_OWNED", "name the VM that device %s belongs to" % device)
            sdn_guest.check_owner(device, vm_id, iface)
    except sdn_guest.Refused as e:
        raise HostError(e.code, str(e))


def unplug_vif(args):
    network_id = args_.string(args, "networkId", args_.ID_RE)
    device = args_.string(args, "device", args_.NAME_RE)
    (table,) = ovs.vsctl(["--columns=name,external_ids", "find", "Port", "name=%s" % device])
    rows = ovs.rows(table)
    if not rows:
        return {"port": device, "removed": False}
    owner = rows[0]["external_ids"].get(TAG_NETWORK)
    if owner != network_id:
        raise HostError("NOT_MANAGED", "port %s is not a port of network %s" % (device, network_id))
    bridge = ovs.bridge_of(network_id, required=False)
    with flows.flows_lock():
        tables = ovs.vsctl(*([["--if-exists", "del-port", device]] + flows.secured_ports_query(network_id)))
        if bridge:
            flows.apply_port_security(bridge, tables)
    return {"port": device, "removed": True}


def list_vms(_args):
    """VMs as seen by Open vSwitch: libvirt (and PlugVif) tag their ports with vm-id."""
    (table,) = ovs.vsctl(["--columns=name,external_ids", "list", "Interface"])
    vms = {}
    for i in ovs.rows(table):
        vm_id = i["external_ids"].get("vm-id")
        if not vm_id:
            continue
        vm = vms.setdefault(vm_id, {"id": vm_id, "name": vm_id, "powerState": "Running", "nics": []})
        vm["nics"].append({"device": i["name"], "mac": i["external_ids"].get("attached-mac")})
    return {"vms": sorted(vms.values(), key=lambda v: v["id"])}
