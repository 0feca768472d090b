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
"""

import base64
import fcntl
import gzip
import hashlib
import ipaddress
import json
import os
import platform
import re
import shlex
import socket
import subprocess
import tempfile

import sdn_guest
import sdn_ipsec

VERSION = "1.5.0"

VSCTL = os.environ.get("SDN_OVS_VSCTL", "ovs-vsctl")
OFCTL = os.environ.get("SDN_OVS_OFCTL", "ovs-ofctl")
VSCTL_TIMEOUT_S = 20
# Tunnel types (a network's encapsulation) and their largest key: GRE keys are 32 bits,
# VXLAN network identifiers 24 (VXLAN keeps OVS's default UDP port, 4789).
MAX_KEY = {"gre": 2**32 - 1, "vxlan": 2**24 - 1}
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # Linux IFNAMSIZ - 1
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")

TAG_MANAGED = "sdn-managed"
TAG_NETWORK = "sdn-network-id"
TAG_ROLE = "sdn-role"
TAG_PORT_SECURITY = "sdn-port-security"

# BFD on every tunnel: with these timers a dead path is declared after mult x max(min_rx,
# the peer's min_tx) = 3 s. check_tnl_key stays false: it makes BFD accept only control
# packets with tunnel key 0, and ours carry the network's key (options:key is fixed); the
# tunnel port itself only takes packets with that key, so a control packet it passes to BFD
# already proves this network's path (ovs-vswitchd.conf.db(5), Interface bfd column).
BFD_DEFAULTS = {"min_rx": 1000, "min_tx": 100, "mult": 3}
BFD_LIMITS = {"min_rx": (1, 3600000), "min_tx": (1, 3600000), "mult": (1, 255)}


class HostError(Exception):
    """A failure the caller can act on; `code` is stable, the message is for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class OvsError(HostError):
    def __init__(self, message):
        super().__init__("OVS_COMMAND_FAILED", message)


# ---------------------------------------------------------------- argument checks


def _str(args, name, pattern=None, required=True):
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise HostError("INVALID_ARGUMENT", "missing argument '%s'" % name)
        return None
    if not isinstance(value, str):
        raise HostError("INVALID_ARGUMENT", "argument '%s' must be a string" % name)
    if pattern is not None and not pattern.match(value):
        raise HostError("INVALID_ARGUMENT", "argument '%s' is not valid: %r" % (name, value))
    return value


def _tunnel_type(args):
    value = args.get("type", "gre")
    if value not in MAX_KEY:
        raise HostError("INVALID_ARGUMENT", "argument 'type' must be gre or vxlan, not %r" % (value,))
    return value


def _key(args, tunnel_type="gre"):
    value = args.get("key")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    top = MAX_KEY[tunnel_type]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
        raise HostError(
            "INVALID_ARGUMENT", "argument 'key' of a %s tunnel must be an integer from 0 to %d" % (tunnel_type, top)
        )
    return value


def _bfd(args):
    """The BFD timers: the defaults, each overridable by args['bfd'] (minRxMs, minTxMs, mult)."""
    given = args.get("bfd") or {}
    if not isinstance(given, dict):
        raise HostError("INVALID_ARGUMENT", "argument 'bfd' must be an object")
    out = dict(BFD_DEFAULTS)
    for column, name in (("min_rx", "minRxMs"), ("min_tx", "minTxMs"), ("mult", "mult")):
        if name not in given:
            continue
        v, (low, high) = given[name], BFD_LIMITS[column]
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise HostError("INVALID_ARGUMENT", "bfd.%s must be an integer from %d to %d" % (name, low, high))
        out[column] = v
    return out


def _ip(value, name):
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError):
        raise HostError("INVALID_ARGUMENT", "argument '%s' is not an IPv4 address: %r" % (name, value))


# ---------------------------------------------------------------- processes


def run(argv, timeout, stdin=None, decode=True):
    """Runs argv, returns (exit status, stdout, stderr); raises FileNotFoundError or
    subprocess.TimeoutExpired as subprocess.run does.

    Written for dom0's Python 3.6 (XenServer 8, XCP-ng 8.3): subprocess.run's shorthand for
    captured pipes and decoded text arrived in 3.7, so the pipes and universal_newlines are
    spelled out; decode=False returns bytes.
    """
    proc = subprocess.run(
        argv,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=decode,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- ovs-vsctl


def vsctl(*commands, **opts):
    """Runs the commands in one ovs-vsctl invocation (one OVSDB transaction).

    Each command is a list of words. Returns one parsed JSON table per command that
    prints one (list/find), in order. secret=True: the words hold a secret (an IPsec key),
    so ovs-vsctl must not log its command line ("Called as ...") to syslog.
    """
    argv = [VSCTL, "--timeout=%d" % VSCTL_TIMEOUT_S, "--format=json", "--data=json"]
    if opts.get("secret"):
        argv += ["-vsyslog:off", "-vfile:off"]
    for command in commands:
        argv.append("--")
        argv.extend(command)
    try:
        status, out, err = run(argv, VSCTL_TIMEOUT_S + 5)
    except FileNotFoundError:
        raise HostError("NOT_AN_OVS_HOST", "%s is not installed on this host" % VSCTL)
    except subprocess.TimeoutExpired:
        raise OvsError("ovs-vsctl did not finish within %d s" % (VSCTL_TIMEOUT_S + 5))
    if status != 0:
        raise OvsError((err.strip() or out.strip() or "exit status %d" % status))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _value(v):
    """Decodes an OVSDB JSON datum: maps to dicts, sets to lists, uuids to strings."""
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
        kind, body = v
        if kind == "map":
            return {k: _value(x) for k, x in body}
        if kind == "set":
            return [_value(x) for x in body]
        if kind in ("uuid", "named-uuid"):
            return body
    return v


def _rows(table):
    heads = table["headings"]
    return [{h: _value(cell) for h, cell in zip(heads, row)} for row in table["data"]]


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _single(v):
    """An optional column: an empty set means absent."""
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _tags(prefix, mapping):
    return ["%s:%s=%s" % (prefix, k, json.dumps(str(v))) for k, v in mapping.items()]


def _bridges():
    (table,) = vsctl(["--columns=name,datapath_type,external_ids", "list", "Bridge"])
    return _rows(table)


def _bridge_of(network_id, required=True):
    for b in _bridges():
        if b["external_ids"].get(TAG_NETWORK) == network_id:
            return b["name"]
    if required:
        raise HostError("BRIDGE_NOT_FOUND", "no bridge for network %s on this host; set it up first" % network_id)
    return None


def ovs_version():
    try:
        _status, out, _err = run([VSCTL, "--version"], 10)
    except FileNotFoundError:
        raise HostError("NOT_AN_OVS_HOST", "%s is not installed on this host" % VSCTL)
    first = out.splitlines()[0] if out else ""
    return first.rsplit(" ", 1)[-1] if first else "unknown"


# ---------------------------------------------------------------- functions


def version(_args):
    return {"version": VERSION, "python": platform.python_version()}


def host_info(_args):
    ovs = ovs_version()
    try:
        bridges = _bridges()
    except OvsError as e:
        raise HostError("NOT_AN_OVS_HOST", "Open vSwitch does not answer on this host: %s" % e)
    os_name, os_version = _os_release()
    return {
        "version": VERSION,
        "ovsVersion": ovs,
        # Where ovsdb-server listens, for the agent's OVSDB client (forwarded over SSH).
        "ovsdbSocket": os.path.join(os.environ.get("OVS_RUNDIR") or "/var/run/openvswitch", "db.sock"),
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


def setup_bridge(args):
    bridge = _str(args, "bridge", NAME_RE)
    network_id = _str(args, "networkId", ID_RE)
    bridges = _bridges()
    for b in bridges:
        owner = b["external_ids"].get(TAG_NETWORK)
        if b["name"] == bridge and owner not in (None, network_id):
            raise HostError("BRIDGE_CONFLICT", "bridge %s already belongs to network %s" % (bridge, owner))
        if b["name"] != bridge and owner == network_id:
            raise HostError("BRIDGE_CONFLICT", "network %s already has bridge %s on this host" % (network_id, b["name"]))
    exists = any(b["name"] == bridge for b in bridges)
    # "created": newly set up for this network. On XAPI hosts network.attach has usually
    # made the bridge already (xcp-networkd), untagged; the tags make it ours.
    created = not any(b["name"] == bridge and b["external_ids"].get(TAG_NETWORK) == network_id for b in bridges)
    cmds = [["--may-exist", "add-br", bridge]]
    settings = _tags("external_ids", {TAG_MANAGED: "true", TAG_NETWORK: network_id, TAG_ROLE: "network"})
    if not exists:
        # Tunnels only work inside the datapath that holds the underlay (netdev in a
        # userspace lab, system on a real host): new bridges follow the existing ones.
        kinds = [b["datapath_type"] for b in bridges if b["datapath_type"]]
        if kinds:
            settings.append("datapath_type=%s" % kinds[0])
    cmds.append(["set", "Bridge", bridge] + settings)
    vsctl(*cmds)
    return {"bridge": bridge, "created": created}


def destroy_bridge(args):
    network_id = _str(args, "networkId", ID_RE)
    bridge = _bridge_of(network_id, required=False)
    if bridge is None:
        return {"bridge": None, "destroyed": False}
    vsctl(["--if-exists", "del-br", bridge])
    return {"bridge": bridge, "destroyed": True}


def tunnel_port_name(key, remote_ip, tunnel_type="gre"):
    """A stable name within Linux's 15 characters, unique per (type, key, remote address):
    a GRE and a VXLAN network's tunnels to one host never share a name. GRE names are what
    they were before VXLAN."""
    if tunnel_type == "gre":
        return "gre-" + hashlib.sha1(("%d/%s" % (key, remote_ip)).encode()).hexdigest()[:11]
    return "vxl-" + hashlib.sha1(("%s/%d/%s" % (tunnel_type, key, remote_ip)).encode()).hexdigest()[:11]


def _tagged_ports(network_id, role):
    (table,) = vsctl(
        ["--columns=name,external_ids", "find", "Port", "external_ids:%s=%s" % (TAG_NETWORK, network_id)]
    )
    return {p["name"]: p["external_ids"] for p in _rows(table) if p["external_ids"].get(TAG_ROLE) == role}


def apply_tunnels(args):
    network_id = _str(args, "networkId", ID_RE)
    tunnel_type = _tunnel_type(args)
    key = _key(args, tunnel_type)
    bfd = _bfd(args)
    psk = args.get("psk")
    if psk is not None:
        psk = _ipsec(sdn_ipsec.check_psk, psk)
    remotes = args.get("remotes")
    if not isinstance(remotes, list):
        raise HostError("INVALID_ARGUMENT", "argument 'remotes' must be a list")
    desired = {}
    for r in remotes:
        if not isinstance(r, dict):
            raise HostError("INVALID_ARGUMENT", "each remote must be an object with an 'ip'")
        ip = _ip(r.get("ip"), "remotes[].ip")
        peer = _str(r, "hostId", ID_RE, required=False)
        name = tunnel_port_name(key, ip, tunnel_type)
        if name in desired:
            raise HostError("INVALID_ARGUMENT", "remote %s is listed twice" % ip)
        desired[name] = (ip, peer)
    bridge = _bridge_of(network_id)
    cmds = []
    ipsec = []
    if psk is not None:
        # Checked before anything is written: a host that cannot encrypt gets no tunnel at all.
        ipsec_check(args)
        cmds.append(sdn_ipsec.skb_mark_command())
        ipsec = ["options:psk=%s" % psk]
    existing = _tagged_ports(network_id, "tunnel")
    removed = sorted(n for n in existing if n not in desired)
    added = sorted(n for n in desired if n not in existing)
    cmds += [["--if-exists", "del-port", n] for n in removed]
    for name, (ip, peer) in sorted(desired.items()):
        # Re-stating every desired tunnel repairs drift (a lost option, protected reset).
        port_tags = {TAG_MANAGED: "true", TAG_NETWORK: network_id, TAG_ROLE: "tunnel", "sdn-remote-ip": ip}
        if peer:
            port_tags["sdn-peer-host-id"] = peer
        cmds.append(["--may-exist", "add-port", bridge, name])
        cmds.append(
            ["set", "Interface", name, "type=%s" % tunnel_type, "options:remote_ip=%s" % ip, "options:key=%d" % key]
            + ipsec
            + _tags("external_ids", {TAG_MANAGED: "true", TAG_NETWORK: network_id})
            + _tags("bfd", dict({"enable": "true", "check_tnl_key": "false"}, **bfd))
        )
        # protected: split horizon, a frame from one tunnel never leaves by another.
        cmds.append(["set", "Port", name, "protected=true"] + _tags("external_ids", port_tags))
    if cmds:
        vsctl(*cmds, **({"secret": True} if psk is not None else {}))
    return {
        "bridge": bridge,
        "added": added,
        "removed": removed,
        "tunnels": [{"port": n, "remoteIp": ip} for n, (ip, _p) in sorted(desired.items())],
    }


def ipsec_check(args):
    """Whether this host can encrypt the network's tunnels (the KVM OVSDB path asks first)."""
    bridge = _bridge_of(_str(args, "networkId", ID_RE))
    datapath = [b["datapath_type"] for b in _bridges() if b["name"] == bridge]
    _ipsec(sdn_ipsec.check_host, bridge, (datapath or [""])[0])
    return {"bridge": bridge}


def _ipsec(check, *args):
    try:
        return check(*args)
    except sdn_ipsec.IpsecError as e:
        raise HostError(e.code, str(e))


def tunnel_health(_args):
    """Every managed tunnel's BFD status, as OVS reports it (bfd_status); no judgement here."""
    columns = "--columns=name,options,bfd,bfd_status,external_ids"
    tables = vsctl(*[[columns, "find", "Interface", "type=%s" % t] for t in sorted(MAX_KEY)])
    out = []
    for i in [row for table in tables for row in _rows(table)]:
        if i["external_ids"].get(TAG_MANAGED) != "true" or not i["external_ids"].get(TAG_NETWORK):
            continue
        out.append(
            {
                "port": i["name"],
                "networkId": i["external_ids"][TAG_NETWORK],
                "remoteIp": i["options"].get("remote_ip", ""),
                "bfdEnabled": i["bfd"].get("enable") == "true",
                "bfdStatus": i["bfd_status"],
            }
        )
    return {"tunnels": sorted(out, key=lambda t: t["port"])}


def plug_vif(args):
    network_id = _str(args, "networkId", ID_RE)
    device = _str(args, "device", NAME_RE)
    nic_id = _str(args, "nicId", ID_RE)
    mac = _str(args, "mac", MAC_RE, required=False)
    vm_id = _str(args, "vmId", ID_RE, required=False)
    ip = _str(args, "ip", required=False)
    if ip:
        _ip(ip, "ip")
    secured = args.get("portSecurity", True)
    if not isinstance(secured, bool):
        raise HostError("INVALID_ARGUMENT", "argument 'portSecurity' must be a boolean")
    if secured and not mac:
        raise HostError("INVALID_ARGUMENT", "port security needs the NIC's 'mac'")
    if not os.path.exists("/sys/class/net/%s" % device):
        raise HostError("DEVICE_NOT_FOUND", "network device %s does not exist on this host" % device)
    _check_guest_device(device, vm_id, args.get("verifiedBy"))
    bridge = _bridge_of(network_id)
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
        ["set", "Interface", device] + _tags("external_ids", iface_tags),
        ["set", "Port", device] + _tags("external_ids", port_tags),
    ]
    if not ip:
        commands.append(["remove", "Port", device, "external_ids", "sdn-ip"])
    with _flows_lock():
        tables = vsctl(*(commands + _secured_ports_query(network_id)))
        _apply_port_security(bridge, tables)
    return {"bridge": bridge, "port": device}



def _secured_ports_query(network_id):
    """ovs-vsctl commands reading the network's ports with port security and every interface's ofport."""
    return [
        ["--columns=name,external_ids", "find", "Port",
         "external_ids:%s=%s" % (TAG_NETWORK, network_id), "external_ids:%s=true" % TAG_PORT_SECURITY],
        ["--columns=name,ofport", "list", "Interface"],
    ]


def _flows_lock():
    """Serialises the read-the-ports-then-replace-the-flows steps of this host's programs:
    a bundle built from an older read must not land after one built from a newer read
    (a port plugged meanwhile would be left without its flows, i.e. unsecured)."""
    path = os.path.join(os.environ.get("OVS_RUNDIR") or "/var/run/openvswitch", "sdn-flows.lock")
    try:
        f = open(path, "a")
    except OSError as e:
        raise HostError("NOT_AN_OVS_HOST", "cannot open %s: %s" % (path, e))
    fcntl.flock(f, fcntl.LOCK_EX)
    return f  # closing it releases the lock


def _secured_ports(tables, network_id=None):
    """(name, MAC, IP) of the secured ports (of network_id, if given) in the last two
    tables (secured ports, every interface's ofport), skipping a port whose interface
    failed (ofport -1, e.g. its VM's device is gone)."""
    ports, ifaces = tables[-2:]
    failed = set(i["name"] for i in _rows(ifaces) if i["ofport"] == -1)
    return [
        (p["name"], p["external_ids"].get("sdn-mac"), p["external_ids"].get("sdn-ip"))
        for p in _rows(ports)
        if p["name"] not in failed
        and p["external_ids"].get("sdn-mac")
        and network_id in (None, p["external_ids"].get(TAG_NETWORK))
    ]


def _ofctl(what, argv, stdin=None):
    try:
        status, out, err = run([OFCTL, "-O", "OpenFlow14"] + argv, VSCTL_TIMEOUT_S, stdin=stdin)
    except FileNotFoundError:
        raise HostError("NOT_AN_OVS_HOST", "%s is not installed on this host" % OFCTL)
    except subprocess.TimeoutExpired:
        raise OvsError("ovs-ofctl did not finish within %d s" % VSCTL_TIMEOUT_S)
    if status != 0:
        raise OvsError("%s: %s" % (what, err.strip() or out.strip() or status))
    return out


def _apply_port_security(bridge, tables):
    """Replaces the bridge's port-security flows with those of its secured ports, in one
    OpenFlow bundle (one ovs-ofctl per bridge change, no gap while they are replaced)."""
    flows = sdn_guest.port_security_flows(_secured_ports(tables))
    _ofctl("port security flows on %s" % bridge, ["--bundle", "add-flows", bridge, "-"], stdin=flows)


def restore_flows(_args):
    """Puts back the port-security flows of every managed bridge whose flows are not what
    its ports' tags ask for: ovs-vswitchd forgets all flows when it restarts while the
    database (ports, tags) survives. One dump per bridge; a bridge that matches is left
    alone, one that does not gets its whole set again in one bundle."""
    cookie = "cookie=%s/-1" % sdn_guest.PORT_SECURITY_COOKIE
    with _flows_lock():
        tables = vsctl(
            ["--columns=name,external_ids", "list", "Bridge"],
            ["--columns=name,external_ids", "find", "Port", "external_ids:%s=true" % TAG_PORT_SECURITY],
            ["--columns=name,ofport", "list", "Interface"],
        )
        bridges = [b for b in _rows(tables[0]) if b["external_ids"].get(TAG_MANAGED) == "true"]
        restored = []
        for b in sorted(bridges, key=lambda x: x["name"]):
            network_id = b["external_ids"].get(TAG_NETWORK)
            text = sdn_guest.port_security_flows(_secured_ports(tables, network_id))
            dump = _ofctl("flows of %s" % b["name"], ["--names", "--no-stats", "dump-flows", b["name"], cookie])
            if sdn_guest.dumped_flows(dump) != sdn_guest.wanted_flows(text):
                _ofctl("port security flows on %s" % b["name"], ["--bundle", "add-flows", b["name"], "-"], stdin=text)
                restored.append({"bridge": b["name"], "networkId": network_id})
    return {"checked": len(bridges), "restored": restored}


def _check_guest_device(device, vm_id, verified_by):
    """Refuses a device that is not a VM's port, or (unless XAPI vouched) not VM vm_id's."""
    ifaces, ports, bridges = vsctl(
        ["--columns=name,type,external_ids", "find", "Interface", "name=%s" % device],
        ["--columns=_uuid", "find", "Port", "name=%s" % device],
        ["--columns=ports,external_ids", "list", "Bridge"],
    )
    iface = (_rows(ifaces) or [None])[0]
    port = (_rows(ports) or [{}])[0].get("_uuid")
    holder = [b for b in _rows(bridges) if port is not None and port in _as_list(b["ports"])]
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
    network_id = _str(args, "networkId", ID_RE)
    device = _str(args, "device", NAME_RE)
    (table,) = vsctl(["--columns=name,external_ids", "find", "Port", "name=%s" % device])
    rows = _rows(table)
    if not rows:
        return {"port": device, "removed": False}
    owner = rows[0]["external_ids"].get(TAG_NETWORK)
    if owner != network_id:
        raise HostError("NOT_MANAGED", "port %s is not a port of network %s" % (device, network_id))
    bridge = _bridge_of(network_id, required=False)
    with _flows_lock():
        tables = vsctl(*([["--if-exists", "del-port", device]] + _secured_ports_query(network_id)))
        if bridge:
            _apply_port_security(bridge, tables)
    return {"port": device, "removed": True}


def ovs_state(args):
    network_id = _str(args, "networkId", ID_RE, required=False)
    bridges, ports, ifaces = vsctl(
        ["--columns=_uuid,name,datapath_type,external_ids,ports", "list", "Bridge"],
        ["--columns=_uuid,name,protected,external_ids,interfaces", "list", "Port"],
        ["--columns=_uuid,name,type,options,ofport,error,mac_in_use,external_ids", "list", "Interface"],
    )
    iface_by_id = {}
    for i in _rows(ifaces):
        iface_by_id[i["_uuid"]] = {
            "name": i["name"],
            "type": i["type"] or "system",
            "options": sdn_ipsec.redact_options(i["options"]),
            "ofport": _single(i["ofport"]),
            "error": _single(i["error"]),
            "mac": _single(i["mac_in_use"]),
            "externalIds": i["external_ids"],
        }
    port_by_id = {}
    for p in _rows(ports):
        port_by_id[p["_uuid"]] = {
            "name": p["name"],
            "protected": bool(p["protected"]),
            "externalIds": p["external_ids"],
            "interfaces": sorted(
                (iface_by_id[u] for u in _as_list(p["interfaces"]) if u in iface_by_id), key=lambda x: x["name"]
            ),
        }
    out = []
    for b in _rows(bridges):
        owner = b["external_ids"].get(TAG_NETWORK)
        if network_id is not None and owner != network_id:
            continue
        out.append(
            {
                "name": b["name"],
                "datapathType": b["datapath_type"] or "system",
                "managed": b["external_ids"].get(TAG_MANAGED) == "true",
                "networkId": owner,
                "externalIds": b["external_ids"],
                "ports": sorted(
                    (port_by_id[u] for u in _as_list(b["ports"]) if u in port_by_id), key=lambda x: x["name"]
                ),
            }
        )
    return {"bridges": sorted(out, key=lambda x: x["name"])}


def _netmask(prefix):
    return str(ipaddress.IPv4Network("0.0.0.0/%d" % prefix).netmask)


def fetch_interface(args):
    """The tunnel endpoint: the interface named `label`, or the one holding `address`."""
    label = _str(args, "label", NAME_RE, required=False)
    address = args.get("address")
    if label is None and not address:
        raise HostError("INVALID_ARGUMENT", "give 'label' or 'address'")
    if address:
        address = _ip(address, "address")
    status, out, err = run(["ip", "-j", "-4", "addr", "show"], 10)
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


def list_vms(_args):
    """VMs as seen by Open vSwitch: libvirt (and PlugVif) tag their ports with vm-id."""
    (table,) = vsctl(["--columns=name,external_ids", "list", "Interface"])
    vms = {}
    for i in _rows(table):
        vm_id = i["external_ids"].get("vm-id")
        if not vm_id:
            continue
        vm = vms.setdefault(vm_id, {"id": vm_id, "name": vm_id, "powerState": "Running", "nics": []})
        vm["nics"].append({"device": i["name"], "mac": i["external_ids"].get("attached-mac")})
    return {"vms": sorted(vms.values(), key=lambda v: v["id"])}


# ---------------------------------------------------------------- router relay
#
# Not an OVS operation: the vr-manager's path to a virtual router that only this host can
# reach (XenServer's link-local control network), as CloudStack's router_proxy.sh was --
# but the router's host key is pinned (router_proxy.sh used StrictHostKeyChecking=no).
# The key offered is the host's relay key, provisioned by the operator.

RELAY_IDENTITY = "/root/.ssh/id_sdn_router"
RELAY_KEY_NAME = "id_sdn_router"
FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9_./-]{1,255}$")
LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
# The router program's own commands, as in libs/contracts router-relay.ts (the agent checks
# them first; this is the host's own line of defence against a caller that is not the agent).
ROUTER_PROGRAM_NAME = "sdn-router"
ROUTER_PROGRAM_COMMANDS = ("version", "state", "apply")
# The files deployed into the program's folder and their modes (ROUTER_PROGRAM_FILES there).
ROUTER_PROGRAM_FILES = {
    ROUTER_PROGRAM_NAME: "755",
    "sdn_guest_config.py": "644",
    "sdn_guest_services.py": "644",
    "sdn_metadata.py": "755",
    "sdn_vrrp.py": "755",
    "sdn_conntrack_sync.py": "644",
}
ROUTER_DEPLOY_SCRIPT = (
    'umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1.new" && chmod "$2" "$1.new" && mv -f "$1.new" "$1"'
)


def _clean_path(p):
    return bool(PATH_RE.match(p)) and all(seg not in ("", ".", "..") for seg in p.split("/")[1:])


def _program_path(p):
    return _clean_path(p) and p.endswith("/" + ROUTER_PROGRAM_NAME)


def _router_program_command(argv):
    if len(argv) == 2 and _program_path(argv[0]):
        return argv[1] in ROUTER_PROGRAM_COMMANDS
    if len(argv) == 3 and argv[:2] == ["mkdir", "-p"]:
        return _clean_path(argv[2])
    if len(argv) != 6 or not _clean_path(argv[4]):
        return False
    mode = ROUTER_PROGRAM_FILES.get(argv[4].rsplit("/", 1)[-1])
    return mode is not None and argv == ["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", argv[4], mode]


def check_relay(address, identity, argv):
    """Refuses what a relay must never do: reach past the link-local control network, use
    another key than the relay key, or run anything but the router program's commands."""
    if ipaddress.IPv4Address(address) not in LINK_LOCAL:
        raise HostError("RELAY_ADDRESS_NOT_LINK_LOCAL", "%s is not a link-local router address" % address)
    if not _clean_path(identity) or os.path.basename(identity) != RELAY_KEY_NAME:
        raise HostError("RELAY_KEY_NOT_ALLOWED", "%s is not the relay key (%s)" % (identity, RELAY_KEY_NAME))
    if not _router_program_command(argv):
        raise HostError("RELAY_COMMAND_NOT_ALLOWED", "'%s' is not a command of the router program" % argv[0])


def _ssh_fingerprint(blob_b64):
    digest = hashlib.sha256(base64.b64decode(blob_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _pinned_known_host(address, port, fingerprint):
    """The router's host key line for known_hosts, if it presents the pinned key."""
    try:
        _status, scanned, _err = run(["ssh-keyscan", "-p", str(port), "-T", "5", address], 15)
    except subprocess.TimeoutExpired:
        scanned = ""
    keys = [l.split() for l in scanned.splitlines() if l.strip() and not l.startswith("#")]
    keys = [k for k in keys if len(k) >= 3]
    if not keys:
        raise HostError("ROUTER_UNREACHABLE", "no SSH server answers at %s:%d from this host" % (address, port))
    for _host, key_type, blob in keys:
        if _ssh_fingerprint(blob) == fingerprint:
            return "[%s]:%d %s %s\n" % (address, port, key_type, blob)
    seen = ", ".join(sorted(_ssh_fingerprint(k[2]) for k in keys))
    raise HostError("ROUTER_HOST_KEY_MISMATCH", "%s:%d presents %s, not %s" % (address, port, seen, fingerprint))


def router_relay(args):
    address = _ip(args.get("address"), "address")
    port = args.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise HostError("INVALID_ARGUMENT", "argument 'port' must be a port number")
    user = _str(args, "username", USER_RE)
    fingerprint = _str(args, "hostKeyFingerprint", FINGERPRINT_RE)
    identity = _str(args, "identityFile", PATH_RE, required=False) or RELAY_IDENTITY
    argv = args.get("argv")
    if not isinstance(argv, list) or not 1 <= len(argv) <= 32 or not all(isinstance(a, str) for a in argv):
        raise HostError("INVALID_ARGUMENT", "argument 'argv' must be a list of 1 to 32 strings")
    packed = args.get("stdinGzipBase64") or ""
    try:
        stdin = gzip.decompress(base64.b64decode(packed, validate=True)) if packed else b""
    except (ValueError, OSError, EOFError):
        raise HostError("INVALID_ARGUMENT", "argument 'stdinGzipBase64' is not base64 of gzip data")
    timeout = min(int(args.get("timeoutMs", 60000)), 600000) / 1000.0
    check_relay(address, identity, argv)
    if not os.path.exists(identity):
        raise HostError("RELAY_KEY_MISSING", "the relay key %s is not on this host" % identity)
    with tempfile.TemporaryDirectory(prefix="sdn-relay-") as tmp:
        known_hosts = os.path.join(tmp, "known_hosts")
        with open(known_hosts, "w") as f:
            f.write(_pinned_known_host(address, port, fingerprint))
        ssh = [
            "ssh", "-F", "/dev/null", "-p", str(port), "-l", user, "-i", identity,
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            address, "--", " ".join(shlex.quote(a) for a in argv),
        ]  # fmt: skip
        try:
            status, out, err = run(ssh, timeout, stdin=stdin, decode=False)
        except subprocess.TimeoutExpired:
            raise HostError("ROUTER_TIMEOUT", "the command on %s took over %.0f s" % (address, timeout))
    stderr = err.decode("utf-8", "replace")
    if status == 255:  # ssh's own failure: the command never ran
        raise HostError("ROUTER_SSH_FAILED", "SSH from this host to %s:%d failed: %s" % (address, port, stderr.strip()[-500:]))
    return {"exitCode": status, "stdout": out.decode("utf-8", "replace"), "stderr": stderr}


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
