"""Port security on a bridge: the anti-spoofing flows of its secured ports (rendered by
sdn_guest.port_security_flows), replaced whole in one OpenFlow bundle, and put back after
ovs-vswitchd restarted (restore_flows)."""

import fcntl

import sdn_guest
import sdn_ovs_cmd as ovs
from sdn_ovs_cmd import TAG_MANAGED, TAG_NETWORK, TAG_PORT_SECURITY, HostError


def secured_ports_query(network_id):
    """ovs-vsctl commands reading the network's ports with port security and every interface's ofport."""
    return [
        ["--columns=name,external_ids", "find", "Port",
         "external_ids:%s=%s" % (TAG_NETWORK, network_id), "external_ids:%s=true" % TAG_PORT_SECURITY],
        ["--columns=name,ofport", "list", "Interface"],
    ]


def flows_lock():
    """Serialises the read-the-ports-then-replace-the-flows steps of this host's programs:
    a bundle built from an older read must not land after one built from a newer read
    (a port plugged meanwhile would be left without its flows, i.e. unsecured)."""
    path = ovs.rundir_file("sdn-flows.lock")
    try:
        f = open(path, "a")
    except OSError as e:
        raise HostError("NOT_AN_OVS_HOST", "cannot open %s: %s" % (path, e))
    fcntl.flock(f, fcntl.LOCK_EX)
    return f  # closing it releases the lock


def secured_ports(tables, network_id=None):
    """(name, MAC, IP) of the secured ports (of network_id, if given) in the last two
    tables (secured ports, every interface's ofport), skipping a port whose interface
    failed (ofport -1, e.g. its VM's device is gone)."""
    ports, ifaces = tables[-2:]
    failed = set(i["name"] for i in ovs.rows(ifaces) if i["ofport"] == -1)
    return [
        (p["name"], p["external_ids"].get("sdn-mac"), p["external_ids"].get("sdn-ip"))
        for p in ovs.rows(ports)
        if p["name"] not in failed
        and p["external_ids"].get("sdn-mac")
        and network_id in (None, p["external_ids"].get(TAG_NETWORK))
    ]


def apply_port_security(bridge, tables):
    """Replaces the bridge's port-security flows with those of its secured ports, in one
    OpenFlow bundle (one ovs-ofctl per bridge change, no gap while they are replaced)."""
    flows = sdn_guest.port_security_flows(secured_ports(tables))
    ovs.ofctl("port security flows on %s" % bridge, ["--bundle", "add-flows", bridge, "-"], stdin=flows)


def restore_flows(_args):
    """Puts back the port-security flows of every managed bridge whose flows are not what
    its ports' tags ask for: ovs-vswitchd forgets all flows when it restarts while the
    database (ports, tags) survives. One dump per bridge; a bridge that matches is left
    alone, one that does not gets its whole set again in one bundle."""
    cookie = "cookie=%s/-1" % sdn_guest.PORT_SECURITY_COOKIE
    with flows_lock():
        tables = ovs.vsctl(
            ["--columns=name,external_ids", "list", "Bridge"],
            ["--columns=name,external_ids", "find", "Port", "external_ids:%s=true" % TAG_PORT_SECURITY],
            ["--columns=name,ofport", "list", "Interface"],
        )
        bridges = [b for b in ovs.rows(tables[0]) if b["external_ids"].get(TAG_MANAGED) == "true"]
        restored = []
        for b in sorted(bridges, key=lambda x: x["name"]):
            network_id = b["external_ids"].get(TAG_NETWORK)
            text = sdn_guest.port_security_flows(secured_ports(tables, network_id))
            dump = ovs.ofctl("flows of %s" % b["name"], ["--names", "--no-stats", "dump-flows", b["name"], cookie])
            if sdn_guest.dumped_flows(dump) != sdn_guest.wanted_flows(text):
                ovs.ofctl("port security flows on %s" % b["name"], ["--bundle", "add-flows", b["name"], "-"], stdin=text)
                restored.append({"bridge": b["name"], "networkId": network_id})
    return {"checked": len(bridges), "restored": restored}
