"""A network's bridge (set up, taken over from XAPI's network.attach, destroyed) and the
state of Open vSwitch as the agent reads it (ovs_state)."""

import sdn_ipsec
import sdn_ovs_args as args_
import sdn_ovs_cmd as ovs
from sdn_ovs_cmd import TAG_MANAGED, TAG_NETWORK, TAG_ROLE, HostError


def setup_bridge(args):
    bridge = args_.string(args, "bridge", args_.NAME_RE)
    network_id = args_.string(args, "networkId", args_.ID_RE)
    bridges = ovs.bridges()
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
    settings = ovs.tags("external_ids", {TAG_MANAGED: "true", TAG_NETWORK: network_id, TAG_ROLE: "network"})
    if not exists:
        # Tunnels only work inside the datapath that holds the underlay (netdev in a
        # userspace lab, system on a real host): new bridges follow the existing ones.
        kinds = [b["datapath_type"] for b in bridges if b["datapath_type"]]
        if kinds:
            settings.append("datapath_type=%s" % kinds[0])
    cmds.append(["set", "Bridge", bridge] + settings)
    ovs.vsctl(*cmds)
    return {"bridge": bridge, "created": created}


def destroy_bridge(args):
    network_id = args_.string(args, "networkId", args_.ID_RE)
    bridge = ovs.bridge_of(network_id, required=False)
    if bridge is None:
        return {"bridge": None, "destroyed": False}
    ovs.vsctl(["--if-exists", "del-br", bridge])
    return {"bridge": bridge, "destroyed": True}


def ovs_state(args):
    network_id = args_.string(args, "networkId", args_.ID_RE, required=False)
    bridges, ports, ifaces = ovs.vsctl(
        ["--columns=_uuid,name,datapath_type,external_ids,ports", "list", "Bridge"],
        ["--columns=_uuid,name,protected,external_ids,interfaces", "list", "Port"],
        ["--columns=_uuid,name,type,options,ofport,error,mac_in_use,external_ids", "list", "Interface"],
    )
    return {"bridges": state_of(ovs.rows(bridges), ovs.rows(ports), ovs.rows(ifaces), network_id)}


def state_of(bridges, ports, ifaces, network_id=None):
    """The bridges (of network_id, if given) with their ports and interfaces, from decoded rows."""
    iface_by_id = {}
    for i in ifaces:
        iface_by_id[i["_uuid"]] = {
            "name": i["name"],
            "type": i["type"] or "system",
            "options": sdn_ipsec.redact_options(i["options"]),
            "ofport": ovs.single(i["ofport"]),
            "error": ovs.single(i["error"]),
            "mac": ovs.single(i["mac_in_use"]),
            "externalIds": i["external_ids"],
        }
    port_by_id = {}
    for p in ports:
        port_by_id[p["_uuid"]] = {
            "name": p["name"],
            "protected": bool(p["protected"]),
            "externalIds": p["external_ids"],
            "interfaces": sorted(
                (iface_by_id[u] for u in ovs.as_list(p["interfaces"]) if u in iface_by_id), key=lambda x: x["name"]
            ),
        }
    out = []
    for b in bridges:
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
                    (port_by_id[u] for u in ovs.as_list(b["ports"]) if u in port_by_id), key=lambda x: x["name"]
                ),
            }
        )
    return sorted(out, key=lambda x: x["name"])
