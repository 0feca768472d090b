"""Guest services of the virtual router: checks and rendering (pure; sdn_guest_services.py runs them).

For every network whose configuration carries "guestServices", the router serves:

- DHCP (dnsmasq): static leases only, one per guest NIC the ovs-element plugged (MAC ->
  address, hostname); a MAC not listed gets no answer. Options: router, DNS server (the
  router), domain, MTU (26), classless static routes (121) to the networks it routes to.
- DNS (the same dnsmasq): <hostname>.<domain> and reverse lookups for the guests,
  "data-server" (CloudStack's name for the router), other names forwarded upstream.
- User data and metadata in CloudStack's format (sdn_metadata.py) on the gateway
  addresses, port 80 (and 169.254.169.254 through DNAT), and its password service on 8080.

A VM reads only its own data: the metadata server answers by source address, and the
filter drops any guest packet to the router whose source address is not the one bound to
its MAC (nat_rules / filter_rules, rendered into sdn-router's one iptables-restore).
"""

import base64
import binascii
import ipaddress
import json
import re

HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
KEY_RE = re.compile(r"^[a-z0-9@.-]+ [A-Za-z0-9+/]+={0,3}( [^\r\n]{0,256})?$")
USER_DATA_MAX = 32768
METADATA_IP = "169.254.169.254"


class GuestServiceError(Exception):
    """A failure with a stable code (sdn-router answers it like its own)."""

    def __init__(self, code, message):
        super(GuestServiceError, self).__init__(message)
        self.code = code


# ---------------------------------------------------------------- input checks


def _ip(value, where):
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise ValueError("%s is not an IPv4 address: %r" % (where, value))


def _int(value, where, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError("%s must be an integer from %d to %d" % (where, low, high))
    return value


def _match(value, pattern, where):
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError("%s is not valid: %r" % (where, value))
    return value


def served(cfg):
    """The networks with guest services, in configuration order."""
    return [n for n in cfg.get("networks") or [] if n.get("guestServices") is not None]


def check(cfg):
    """Checks every network's guestServices; raises ValueError naming the bad field."""
    seen_domains = set()
    for i, n in enumerate(cfg.get("networks") or []):
        gs = n.get("guestServices")
        if gs is None:
            continue
        where = "networks[%d].guestServices" % i
        if not isinstance(gs, dict):
            raise ValueError("%s must be an object" % where)
        net = ipaddress.IPv4Network(n["cidr"])
        domain = _match(gs.get("domain"), DOMAIN_RE, where + ".domain")
        if len(domain) > 200:
            raise ValueError("%s.domain is longer than 200 characters" % where)
        if domain in seen_domains:
            raise ValueError("%s.domain %s is another network's domain too" % (where, domain))
        seen_domains.add(domain)
        for j, s in enumerate(gs.get("upstreams") or []):
            _ip(s, "%s.upstreams[%d]" % (where, j))
        _int(gs.get("mtu"), where + ".mtu", 576, 9000)
        _int(gs.get("leaseSeconds"), where + ".leaseSeconds", 120, 31536000)
        for j, r in enumerate(gs.get("routes") or []):
            try:
                ipaddress.IPv4Network(r.get("cidr"), strict=True)
            except (ValueError, TypeError, AttributeError):
                raise ValueError("%s.routes[%d].cidr is not an IPv4 CIDR: %r" % (where, j, r))
        macs, ips, names = set(), set(), set()
        for j, g in enumerate(gs.get("guests") or []):
            gw = "%s.guests[%d]" % (where, j)
            if not isinstance(g, dict):
                raise ValueError("%s must be an object" % gw)
            mac = _match(g.get("mac"), MAC_RE, gw + ".mac").lower()
            ip = _ip(g.get("ip"), gw + ".ip")
            if ipaddress.IPv4Address(ip) not in net or ip == n["gateway"]:
                raise ValueError("%s.ip %s is not a guest address of %s" % (gw, ip, net))
            name = _match(g.get("hostname"), HOSTNAME_RE, gw + ".hostname").lower()
            for value, pool, what in ((mac, macs, "MAC"), (ip, ips, "address"), (name, names, "hostname")):
                if value in pool:
                    raise ValueError("%s: %s %s is another guest's too" % (gw, what, value))
                pool.add(value)
            _match(g.get("instanceId"), ID_RE, gw + ".instanceId")
            if g.get("publicIp") is not None:
                _ip(g["publicIp"], gw + ".publicIp")
            if g.get("userData") is not None:
                try:
                    data = base64.b64decode(g["userData"], validate=True)
                except (binascii.Error, ValueError, TypeError):
                    raise ValueError("%s.userData is not base64" % gw)
                if len(data) > USER_DATA_MAX:
                    raise ValueError("%s.userData is %d bytes, above %d" % (gw, len(data), USER_DATA_MAX))
            keys = g.get("publicKeys") or []
            if not isinstance(keys, list) or len(keys) > 16:
                raise ValueError("%s.publicKeys must be a list of at most 16 keys" % gw)
            for k, key in enumerate(keys):
                _match(key, KEY_RE, "%s.publicKeys[%d]" % (gw, k))


# ---------------------------------------------------------------- rendering


def _tag(i):
    return "n%d" % i


def render_conf(cfg, guest, paths):
    """dnsmasq's main configuration: what only a restart changes (interfaces, ranges, files)."""
    nets = served(cfg)
    out = [
        "# written by sdn-router: do not edit",
        "pid-file=%s" % paths["pid"],
        # The state folder is private to root (it holds the guests' user data).
        "user=root",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "bind-dynamic",
        "domain-needed",
        "bogus-priv",
        "localise-queries",
        "log-facility=%s" % paths["log"],
        "dhcp-authoritative",
        "dhcp-ignore=tag:!known",
        "dhcp-leasefile=%s" % paths["leases"],
        "dhcp-hostsfile=%s" % paths["hosts"],
        "dhcp-optsfile=%s" % paths["opts"],
        "addn-hosts=%s" % paths["names"],
        "servers-file=%s" % paths["servers"],
    ]
    for i, n in enumerate(nets):
        net = ipaddress.IPv4Network(n["cidr"])
        out.append("interface=%s" % guest[n["id"]])
        out.append(
            "dhcp-range=set:%s,%s,static,%s,%ds"
            % (_tag(i), net.network_address, net.netmask, n["guestServices"]["leaseSeconds"])
        )
    return "\n".join(out) + "\n"


def render_opts(cfg):
    """DHCP options per network (dhcp-optsfile, re-read on SIGHUP)."""
    out = []
    for i, n in enumerate(served(cfg)):
        gs, gw, tag = n["guestServices"], n["gateway"], _tag(i)
        out += [
            "tag:%s,option:router,%s" % (tag, gw),
            "tag:%s,option:dns-server,%s" % (tag, gw),
            "tag:%s,option:domain-name,%s" % (tag, gs["domain"]),
            "tag:%s,option:domain-search,%s" % (tag, gs["domain"]),
            "tag:%s,option:mtu,%d" % (tag, gs["mtu"]),
        ]
        routes = [r["cidr"] for r in gs.get("routes") or []]
        if routes:
            # A client given option 121 ignores option 3 (RFC 3442): the default route goes in too.
            pairs = ["%s,%s" % (c, gw) for c in routes] + ["0.0.0.0/0,%s" % gw]
            out.append("tag:%s,option:classless-static-route,%s" % (tag, ",".join(pairs)))
    return "\n".join(out) + "\n"


def render_hosts(cfg):
    """The static leases (dhcp-hostsfile, re-read on SIGHUP): MAC, address, hostname."""
    out = []
    for n in served(cfg):
        for g in n["guestServices"].get("guests") or []:
            out.append("%s,%s,%s" % (g["mac"].lower(), g["ip"], g["hostname"].lower()))
    return "\n".join(out) + ("\n" if out else "")


def render_names(cfg):
    """DNS names (addn-hosts, re-read on SIGHUP): each guest's FQDN (first: its reverse name) and data-server."""
    out = []
    for n in served(cfg):
        domain = n["guestServices"]["domain"]
        out.append("%s data-server data-server.%s" % (n["gateway"], domain))
        for g in n["guestServices"].get("guests") or []:
            out.append("%s %s.%s" % (g["ip"], g["hostname"].lower(), domain))
    return "\n".join(out) + "\n"


def render_servers(cfg):
    """Upstream servers and local domains (servers-file, re-read on SIGHUP)."""
    gateways = {n["gateway"] for n in cfg.get("networks") or []}
    out, upstreams = [], []
    for n in served(cfg):
        gs = n["guestServices"]
        # Our own domains and reverse zones are answered here, never forwarded.
        out.append("server=/%s/" % gs["domain"])
        for s in gs.get("upstreams") or []:
            if s not in gateways and s not in upstreams:
                upstreams.append(s)
    out += ["server=%s" % s for s in upstreams]
    return "\n".join(out) + "\n"


def render_metadata(cfg):
    """What the metadata server serves: per "<gateway> <guest address>", the guest's data."""
    guests = {}
    for n in served(cfg):
        domain = n["guestServices"]["domain"]
        for g in n["guestServices"].get("guests") or []:
            public = g.get("publicIp") or ""
            guests["%s %s" % (n["gateway"], g["ip"])] = {
                "meta-data": {
                    "availability-zone": n["id"],
                    "instance-id": g["instanceId"],
                    "vm-id": g["instanceId"],
                    "local-hostname": g["hostname"].lower(),
                    "local-ipv4": g["ip"],
                    "public-hostname": public,
                    "public-ipv4": public,
                    "cloud-identifier": "CloudStack-{%s}" % domain,
                    "public-keys": "\n".join(g.get("publicKeys") or []),
                },
                "user-data": g.get("userData") or "",
            }
    return json.dumps({"guests": guests}, sort_keys=True) + "\n"


def metadata_listen(cfg):
    """The addresses the metadata server listens on: every served network's gateway."""
    return sorted({n["gateway"] for n in served(cfg)}, key=lambda a: ipaddress.IPv4Address(a))


def nat_rules(cfg, guest, comment):
    """The link-local metadata address, as CloudStack routers answer it: DNAT to the gateway."""
    return [
        "-A PREROUTING -i %s -d %s/32 -p tcp -m tcp --dport 80 %s -j DNAT --to-destination %s:80"
        % (guest[n["id"]], METADATA_IP, comment, n["gateway"])
        for n in served(cfg)
    ]


def filter_rules(cfg, guest, comment):
    """
    Chains and INPUT rules that drop a guest's packet to the router unless its source
    address is the one bound to its MAC (DHCP, which comes from 0.0.0.0, excepted): so a VM
    cannot take another's address to read its metadata. Goes before the guest ACCEPT.
    """
    chains, rules = [], []
    for i, n in enumerate(served(cfg)):
        chain = "SDN_GS_%d" % i
        chains.append(":%s - [0:0]" % chain)
        rules.append("-A INPUT -i %s %s -j %s" % (guest[n["id"]], comment, chain))
        rules.append("-A %s -p udp -m udp --sport 68 --dport 67 %s -j RETURN" % (chain, comment))
        for g in n["guestServices"].get("guests") or []:
            rules.append("-A %s -s %s/32 -m mac --mac-source %s %s -j RETURN" % (chain, g["ip"], g["mac"], comment))
        rules.append("-A %s %s -j DROP" % (chain, comment))
    return chains, rules
