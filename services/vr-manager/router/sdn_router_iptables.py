"""The router's packet filter and NAT: the guest and public interfaces resolved, and the
whole nat and filter tables rendered as ONE iptables-restore input (source NAT, static NAT,
port forwarding, ingress firewall per public IP, egress per network, routing between guest
networks); the tables as they are, saved to restore on failure."""

import sdn_conntrack_sync as conntrack_sync
import sdn_guest_config as guest_config
import sdn_router_system as system
import sdn_vrrp as vrrp
from sdn_router_checks import invalid
from sdn_router_system import RouterError

TAG = "sdn-router"  # comment on every iptables rule we write


def resolve_interfaces(cfg, present):
    """Maps the public interface and every network to a present interface; raises INTERFACE_NOT_FOUND."""
    by_name = {l["ifname"]: l for l in present}
    pub = cfg["public"]["interface"]
    if pub not in by_name:
        raise RouterError("INTERFACE_NOT_FOUND", "public interface %s does not exist" % pub)
    guest = {}
    for n in cfg.get("networks") or []:
        name = n.get("interface")
        if name is None and n.get("mac"):
            name = next((l["ifname"] for l in present if l.get("address", "").lower() == n["mac"].lower()), None)
        if name is None:
            name = next(
                (l["ifname"] for l in present for a in l.get("addr_info", []) if a.get("local") == n["gateway"]), None
            )
        if name is None or name not in by_name:
            raise RouterError(
                "INTERFACE_NOT_FOUND",
                "no interface for network %s (interface %s, MAC %s, gateway %s)"
                % (n["id"], n.get("interface"), n.get("mac"), n["gateway"]),
            )
        if name == pub:
            raise invalid("network %s uses the public interface %s" % (n["id"], pub))
        guest[n["id"]] = name
    return pub, guest


def control_interface(cfg, present):
    """The interface holding the control address (None without one); raises INTERFACE_NOT_FOUND."""
    address = (cfg.get("control") or {}).get("address")
    if not address:
        return None
    for l in present:
        if any(a.get("local") == address for a in l.get("addr_info", [])):
            return l["ifname"]
    # Rules that keep the control port to an interface we cannot name would cut us off.
    raise RouterError("INTERFACE_NOT_FOUND", "no interface holds the control address %s" % address)


def _ports_arg(start, end):
    return str(start) if start == end else "%d:%d" % (start, end)


def _proto_match(rule, orig_dst_port=False, dport=True):
    """iptables match arguments for a rule's protocol, ports and ICMP type/code."""
    proto = rule["protocol"]
    if proto == "all":
        return ""
    out = "-p %s" % proto
    if proto == "icmp":
        t, c = rule.get("icmpType", -1), rule.get("icmpCode", -1)
        if t != -1:
            out += " -m icmp --icmp-type %d%s" % (t, "" if c == -1 else "/%d" % c)
    elif rule.get("startPort") is not None:
        ports = _ports_arg(rule["startPort"], rule.get("endPort", rule["startPort"]))
        if orig_dst_port:
            out += " -m conntrack --ctorigdstport %s" % ports
        elif dport:
            out += " -m %s --dport %s" % (proto, ports)
    return out


def render_iptables(cfg, pub, guest, ctl=None):
    """The whole nat and filter tables as one iptables-restore input."""
    comment = '-m comment --comment "%s"' % TAG
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    for s in cfg.get("staticNats") or []:
        nat.append("-A PREROUTING -d %s/32 %s -j DNAT --to-destination %s" % (s["publicIp"], comment, s["privateIp"]))
    for p in cfg.get("portForwards") or []:
        ps, pe = p["publicStartPort"], p.get("publicEndPort", p["publicStartPort"])
        qs, qe = p["privateStartPort"], p.get("privateEndPort", p["privateStartPort"])
        if ps == qs and pe == qe:
            target = p["privateIp"]
        elif ps == pe:
            target = "%s:%d" % (p["privateIp"], qs)
        else:  # shifted port map: public port ps+k goes to private port qs+k
            target = "%s:%d-%d/%d" % (p["privateIp"], qs, qe, ps)
        nat.append(
            "-A PREROUTING -d %s/32 -p %s -m %s --dport %s %s -j DNAT --to-destination %s"
            % (p["publicIp"], p["protocol"], p["protocol"], _ports_arg(ps, pe), comment, target)
        )
    for s in cfg.get("staticNats") or []:
        nat.append("-A POSTROUTING -s %s/32 -o %s %s -j SNAT --to-source %s" % (s["privateIp"], pub, comment, s["publicIp"]))
    for n in cfg.get("networks") or []:
        if n.get("sourceNatIp"):
            nat.append(
                "-A POSTROUTING -s %s -o %s %s -j SNAT --to-source %s" % (n["cidr"], pub, comment, n["sourceNatIp"])
            )
    nat.extend(guest_config.nat_rules(cfg, guest, comment))
    nat.append("COMMIT")

    flt = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":SDN_FW_IN - [0:0]"]
    body = []
    control = cfg.get("control") or {}
    port = control.get("port", 3922)
    body.append("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED %s -j ACCEPT" % comment)
    body.append("-A INPUT -i lo %s -j ACCEPT" % comment)
    # The control port (sshd) only on the control path, which must survive any configuration
    # or the router is lost; never from the public interface or a guest network, whatever
    # local address a packet is sent to (Linux takes any of its addresses on any interface).
    for dev in dict.fromkeys([pub] + [guest[n["id"]] for n in cfg.get("networks") or []]):
        if dev != ctl:
            body.append("-A INPUT -i %s -p tcp -m tcp --dport %d %s -j DROP" % (dev, port, comment))
    if ctl is not None:
        body.append(
            "-A INPUT -i %s -d %s/32 -p tcp -m tcp --dport %d %s -j ACCEPT" % (ctl, control["address"], port, comment)
        )
    else:
        body.append("-A INPUT -p tcp -m tcp --dport %d %s -j ACCEPT" % (port, comment))
    body.extend(vrrp.filter_rules(cfg, ctl, comment))
    body.extend(conntrack_sync.filter_rules(cfg, ctl, comment))
    # A guest reaches the router only from the address bound to its MAC (metadata is by address).
    guest_chains, guest_rules = guest_config.filter_rules(cfg, guest, comment)
    flt.extend(guest_chains)
    body.extend(guest_rules)
    for n in cfg.get("networks") or []:
        body.append("-A INPUT -i %s %s -j ACCEPT" % (guest[n["id"]], comment))
    body.append("-A INPUT -i %s %s -j SDN_FW_IN" % (pub, comment))
    body.append("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED %s -j ACCEPT" % comment)
    body.append("-A FORWARD -i %s -m conntrack --ctstate DNAT %s -j SDN_FW_IN" % (pub, comment))

    # Ingress firewall, per public IP: matched on the ORIGINAL destination, so one chain
    # guards the router's own services (load balancers), port forwards and static NAT.
    addresses = [a["ip"] for a in cfg["public"].get("addresses") or []]
    for i, ip in enumerate(addresses):
        chain = "SDN_FW_%d" % i
        flt.append(":%s - [0:0]" % chain)
        body.append("-A SDN_FW_IN -m conntrack --ctorigdst %s/32 %s -j %s" % (ip, comment, chain))
        for f in cfg.get("firewallRules") or []:
            if f["publicIp"] != ip:
                continue
            match = _proto_match(f, orig_dst_port=True)
            for src in f.get("sourceCidrs") or ["0.0.0.0/0"]:
                body.append("-A %s -s %s %s %s -j ACCEPT" % (chain, src, match, comment))

    # Egress, per network: the rules are the exceptions to the network's default policy.
    for i, n in enumerate(cfg.get("networks") or []):
        chain = "SDN_EG_%d" % i
        flt.append(":%s - [0:0]" % chain)
        body.append("-A FORWARD -i %s -o %s %s -j %s" % (guest[n["id"]], pub, comment, chain))
        egress = n.get("egress") or {}
        default = egress.get("default", "allow")
        exception = "DROP" if default == "allow" else "ACCEPT"
        for r in egress.get("rules") or []:
            match = _proto_match(r)
            for dst in r.get("destinationCidrs") or ["0.0.0.0/0"]:
                body.append("-A %s -d %s %s %s -j %s" % (chain, dst, match, comment, exception))
        body.append("-A %s %s -j %s" % (chain, comment, "ACCEPT" if default == "allow" else "DROP"))

    for a, b in cfg.get("interNetworkRoutes") or []:
        for x, y in ((a, b), (b, a)):
            body.append("-A FORWARD -i %s -o %s %s -j ACCEPT" % (guest[x], guest[y], comment))
    flt.extend(body)
    flt.append("COMMIT")
    return "\n".join(nat + flt) + "\n"


EMPTY_TABLES = {
    "nat": "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n",
    "filter": "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
}


def iptables_save():
    """The nat and filter tables as they are, to restore on failure (a table never used saves empty)."""
    out = ""
    for table in ("nat", "filter"):
        text = system.run(["iptables-save", "-t", table], check=False).stdout
        out += text if ("*%s" % table) in text else EMPTY_TABLES[table]
    return out
