"""Checks of the host programs' arguments: every value is checked before anything runs,
and a bad one is refused with INVALID_ARGUMENT (pure: no process, no file)."""

import ipaddress
import re

from sdn_ovs_cmd import HostError

# Tunnel types (a network's encapsulation) and their largest key: GRE keys are 32 bits,
# VXLAN network identifiers 24 (VXLAN keeps OVS's default UDP port, 4789).
MAX_KEY = {"gre": 2**32 - 1, "vxlan": 2**24 - 1}
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # Linux IFNAMSIZ - 1
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")

# BFD on every tunnel: with these timers a dead path is declared after mult x max(min_rx,
# the peer's min_tx) = 3 s. check_tnl_key stays false: it makes BFD accept only control
# packets with tunnel key 0, and ours carry the network's key (options:key is fixed); the
# tunnel port itself only takes packets with that key, so a control packet it passes to BFD
# already proves this network's path (ovs-vswitchd.conf.db(5), Interface bfd column).
BFD_DEFAULTS = {"min_rx": 1000, "min_tx": 100, "mult": 3}
BFD_LIMITS = {"min_rx": (1, 3600000), "min_tx": (1, 3600000), "mult": (1, 255)}


def string(args, name, pattern=None, required=True):
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


def tunnel_type(args):
    value = args.get("type", "gre")
    if value not in MAX_KEY:
        raise HostError("INVALID_ARGUMENT", "argument 'type' must be gre or vxlan, not %r" % (value,))
    return value


def key(args, tunnel_type="gre"):
    value = args.get("key")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    top = MAX_KEY[tunnel_type]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
        raise HostError(
            "INVALID_ARGUMENT", "argument 'key' of a %s tunnel must be an integer from 0 to %d" % (tunnel_type, top)
        )
    return value


def bfd(args):
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


def ip(value, name):
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError):
        raise HostError("INVALID_ARGUMENT", "argument '%s' is not an IPv4 address: %r" % (name, value))
