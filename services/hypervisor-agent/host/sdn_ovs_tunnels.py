"""A network's tunnels: the whole set applied in one transaction, and their BFD health."""

import hashlib

import sdn_ipsec
import sdn_ovs_args as args_
import sdn_ovs_cmd as ovs
from sdn_ovs_cmd import TAG_MANAGED, TAG_NETWORK, TAG_ROLE, HostError


def tunnel_port_name(key, remote_ip, tunnel_type="gre"):
    """A stable name within Linux's 15 characters, unique per (type, key, remote address):
    a GRE and a VXLAN network's tunnels to one host never share a name. GRE names are what
    they were before VXLAN."""
    if tunnel_type == "gre":
        return "gre-" + hashlib.sha1(("%d/%s" % (key, remote_ip)).encode()).hexdigest()[:11]
    return "vxl-" + hashlib.sha1(("%s/%d/%s" % (tunnel_type, key, remote_ip)).encode()).hexdigest()[:11]


def tagged_ports(network_id, role):
    (table,) = ovs.vsctl(
        ["--columns=name,external_ids", "find", "Port", "external_ids:%s=%s" % (TAG_NETWORK, network_id)]
    )
    return {p["name"]: p["external_ids"] for p in ovs.rows(table) if p["external_ids"].get(TAG_ROLE) == role}


def tunnel_commands(bridge, network_id, desired, tunnel_type, key, bfd, psk=None):
    """The ovs-vsctl commands stating every desired tunnel {port name: (remote ip, peer host
    id)}: re-stating each one repairs drift (a lost option, protected reset). With psk, each
    tunnel is encrypted (ovs-monitor-ipsec reads options:psk)."""
    ipsec = [] if psk is None else ["options:psk=%s" % psk]
    cmds = []
    for name, (ip, peer) in sorted(desired.items()):
        port_tags = {TAG_MANAGED: "true", TAG_NETWORK: network_id, TAG_ROLE: "tunnel", "sdn-remote-ip": ip}
        if peer:
            port_tags["sdn-peer-host-id"] = peer
        cmds.append(["--may-exist", "add-port", bridge, name])
        cmds.append(
            ["set", "Interface", name, "type=%s" % tunnel_type, "options:remote_ip=%s" % ip, "options:key=%d" % key]
            + ipsec
            + ovs.tags("external_ids", {TAG_MANAGED: "true", TAG_NETWORK: network_id})
            + ovs.tags("bfd", dict({"enable": "true", "check_tnl_key": "false"}, **bfd))
        )
        # protected: split horizon, a frame from one tunnel never leaves by another.
        cmds.append(["set", "Port", name, "protected=true"] + ovs.tags("external_ids", port_tags))
    return cmds


def apply_tunnels(args):
    network_id = args_.string(args, "networkId", args_.ID_RE)
    tunnel_type = args_.tunnel_type(args)
    key = args_.key(args, tunnel_type)
    bfd = args_.bfd(args)
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
        ip = args_.ip(r.get("ip"), "remotes[].ip")
        peer = args_.string(r, "hostId", args_.ID_RE, required=False)
        name = tunnel_port_name(key, ip, tunnel_type)
        if name in desired:
            raise HostError("INVALID_ARGUMENT", "remote %s is listed twice" % ip)
        desired[name] = (ip, peer)
    bridge = ovs.bridge_of(network_id)
    cmds = []
    if psk is not None:
        # Checked before anything is written: a host that cannot encrypt gets no tunnel at all.
        ipsec_check(args)
        cmds.append(sdn_ipsec.skb_mark_command())
    existing = tagged_ports(network_id, "tunnel")
    removed = sorted(n for n in existing if n not in desired)
    added = sorted(n for n in desired if n not in existing)
    cmds += [["--if-exists", "del-port", n] for n in removed]
    cmds += tunnel_commands(bridge, network_id, desired, tunnel_type, key, bfd, psk)
    if cmds:
        ovs.vsctl(*cmds, **({"secret": True} if psk is not None else {}))
    return {
        "bridge": bridge,
        "added": added,
        "removed": removed,
        "tunnels": [{"port": n, "remoteIp": ip} for n, (ip, _p) in sorted(desired.items())],
    }


def ipsec_check(args):
    """Whether this host can encrypt the network's tunnels (the KVM OVSDB path asks first)."""
    bridge = ovs.bridge_of(args_.string(args, "networkId", args_.ID_RE))
    datapath = [b["datapath_type"] for b in ovs.bridges() if b["name"] == bridge]
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
    tables = ovs.vsctl(*[[columns, "find", "Interface", "type=%s" % t] for t in sorted(args_.MAX_KEY)])
    out = []
    for i in [row for table in tables for row in ovs.rows(table)]:
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
