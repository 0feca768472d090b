"""The router program's configuration checks: the whole configuration is checked before
anything is touched, and a bad one is refused with INVALID_CONFIG (pure)."""

import ipaddress
import re

import sdn_guest_config as guest_config
import sdn_vrrp as vrrp
from sdn_router_system import RouterError

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
PROTOCOLS_FW = ("tcp", "udp", "icmp", "all")
ALGORITHMS = ("roundrobin", "leastconn", "source")


def invalid(message):
    return RouterError("INVALID_CONFIG", message)


def _obj(value, where):
    if not isinstance(value, dict):
        raise invalid("%s must be an object" % where)
    return value


def _list(value, where):
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("%s must be a list" % where)
    return value


def _int(value, where, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid("%s must be an integer from %d to %d" % (where, low, high))
    return value


def _ip(value, where):
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise invalid("%s is not an IPv4 address: %r" % (where, value))


def _cidr(value, where):
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError, TypeError):
        raise invalid("%s is not an IPv4 CIDR without host bits: %r" % (where, value))


def _match(value, pattern, where, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise invalid("%s is not valid: %r" % (where, value))
    return value


def _ports(rule, where, start_key="startPort", end_key="endPort"):
    start = _int(rule.get(start_key), "%s.%s" % (where, start_key), 1, 65535)
    end = _int(rule.get(end_key, start), "%s.%s" % (where, end_key), 1, 65535)
    if end < start:
        raise invalid("%s: %s %d is below %s %d" % (where, end_key, end, start_key, start))
    return start, end


def check_config(cfg):
    """Checks the whole configuration before anything is touched; raises INVALID_CONFIG."""
    _obj(cfg, "the configuration")
    gen = _int(cfg.get("generation"), "generation", 1, 2**53)
    control = _obj(cfg.get("control", {}), "control")
    _int(control.get("port", 3922), "control.port", 1, 65535)
    if control.get("address") is not None:
        _ip(control["address"], "control.address")
    if vrrp.check(cfg.get("vrrp")) is not None and control.get("address") is None:
        raise invalid("vrrp needs control.address (VRRP runs between the members' control addresses)")
    public = _obj(cfg.get("public"), "public")
    _match(public.get("interface"), NAME_RE, "public.interface")
    if public.get("gateway") is not None:
        _ip(public["gateway"], "public.gateway")
    public_ips = set()
    for i, a in enumerate(_list(public.get("addresses"), "public.addresses")):
        _obj(a, "public.addresses[%d]" % i)
        public_ips.add(_ip(a.get("ip"), "public.addresses[%d].ip" % i))
        _int(a.get("prefixLength"), "public.addresses[%d].prefixLength" % i, 1, 32)

    def public_ip(value, where):
        ip = _ip(value, where)
        if ip not in public_ips:
            raise invalid("%s %s is not one of the public addresses" % (where, ip))
        return ip

    network_ids = set()
    for i, n in enumerate(_list(cfg.get("networks"), "networks")):
        where = "networks[%d]" % i
        _obj(n, where)
        network_ids.add(_match(n.get("id"), ID_RE, where + ".id"))
        net = ipaddress.IPv4Network(_cidr(n.get("cidr"), where + ".cidr"))
        if ipaddress.IPv4Address(_ip(n.get("gateway"), where + ".gateway")) not in net:
            raise invalid("%s.gateway is outside %s" % (where, net))
        _match(n.get("interface"), NAME_RE, where + ".interface", required=False)
        _match(n.get("mac"), MAC_RE, where + ".mac", required=False)
        if n.get("mtu") is not None:
            _int(n["mtu"], where + ".mtu", 576, 9000)
        if n.get("sourceNatIp") is not None:
            public_ip(n["sourceNatIp"], where + ".sourceNatIp")
        egress = _obj(n.get("egress", {}), where + ".egress")
        if egress.get("default", "allow") not in ("allow", "deny"):
            raise invalid("%s.egress.default must be allow or deny" % where)
        for j, r in enumerate(_list(egress.get("rules"), where + ".egress.rules")):
            _check_traffic(_obj(r, "%s.egress.rules[%d]" % (where, j)), "%s.egress.rules[%d]" % (where, j))
            for c in _list(r.get("destinationCidrs"), "%s.egress.rules[%d].destinationCidrs" % (where, j)):
                _cidr(c, "%s.egress.rules[%d].destinationCidrs" % (where, j))
    for i, s in enumerate(_list(cfg.get("staticNats"), "staticNats")):
        where = "staticNats[%d]" % i
        _obj(s, where)
        public_ip(s.get("publicIp"), where + ".publicIp")
        _ip(s.get("privateIp"), where + ".privateIp")
    for i, p in enumerate(_list(cfg.get("portForwards"), "portForwards")):
        where = "portForwards[%d]" % i
        _obj(p, where)
        public_ip(p.get("publicIp"), where + ".publicIp")
        _ip(p.get("privateIp"), where + ".privateIp")
        if p.get("protocol") not in ("tcp", "udp"):
            raise invalid("%s.protocol must be tcp or udp" % where)
        ps, pe = _ports(p, where, "publicStartPort", "publicEndPort")
        qs, qe = _ports(p, where, "privateStartPort", "privateEndPort")
        if pe - ps != qe - qs:
            raise invalid("%s: the public and private port ranges differ in length" % where)
    for i, f in enumerate(_list(cfg.get("firewallRules"), "firewallRules")):
        where = "firewallRules[%d]" % i
        _check_traffic(_obj(f, where), where)
        public_ip(f.get("publicIp"), where + ".publicIp")
        for c in _list(f.get("sourceCidrs"), where + ".sourceCidrs"):
            _cidr(c, where + ".sourceCidrs")
    for i, lb in enumerate(_list(cfg.get("loadBalancers"), "loadBalancers")):
        where = "loadBalancers[%d]" % i
        _obj(lb, where)
        _match(lb.get("id"), ID_RE, where + ".id")
        public_ip(lb.get("publicIp"), where + ".publicIp")
        _int(lb.get("publicPort"), where + ".publicPort", 1, 65535)
        _int(lb.get("privatePort"), where + ".privatePort", 1, 65535)
        if lb.get("algorithm") not in ALGORITHMS:
            raise invalid("%s.algorithm must be one of %s" % (where, ", ".join(ALGORITHMS)))
        for j, m in enumerate(_list(lb.get("members"), where + ".members")):
            _ip(m, "%s.members[%d]" % (where, j))
        hc = _obj(lb.get("healthCheck", {}), where + ".healthCheck")
        _int(hc.get("intervalMs", 2000), where + ".healthCheck.intervalMs", 100, 3600000)
        _int(hc.get("fall", 2), where + ".healthCheck.fall", 1, 100)
        _int(hc.get("rise", 2), where + ".healthCheck.rise", 1, 100)
    for i, pair in enumerate(_list(cfg.get("interNetworkRoutes"), "interNetworkRoutes")):
        where = "interNetworkRoutes[%d]" % i
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
            raise invalid("%s must be a pair of two different network ids" % where)
        for n in pair:
            if n not in network_ids:
                raise invalid("%s names network %r, which this router does not serve" % (where, n))
    try:
        guest_config.check(cfg)
    except ValueError as e:
        raise invalid(str(e))
    return gen


def _check_traffic(rule, where):
    proto = rule.get("protocol")
    if proto not in PROTOCOLS_FW:
        raise invalid("%s.protocol must be one of %s" % (where, ", ".join(PROTOCOLS_FW)))
    if proto in ("tcp", "udp") and rule.get("startPort") is not None:
        _ports(rule, where)
    if proto == "icmp":
        _int(rule.get("icmpType", -1), where + ".icmpType", -1, 255)
        _int(rule.get("icmpCode", -1), where + ".icmpCode", -1, 255)
