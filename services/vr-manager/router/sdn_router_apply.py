"""`sdn-router apply`: puts the router's WHOLE desired configuration in force, or nothing.

A generation older than the applied one is refused (the same generation is accepted again
only with the same content). Everything that can be checked is checked before the router
is touched (the configuration, its interfaces, haproxy -c); then each step that changes the
router pushes its undo on an UndoStack, and a failure unwinds it in reverse, so what ran
before keeps running: addresses added are removed, MTUs and the default route put back,
the guest services and the tables saved before the apply restored, the previous haproxy
configuration and conntrackd's back in place. Once committed, what the new configuration no longer has is
dropped and the connections it revoked are cut (a failure there is a warning: the rules
are in force).
"""

import fcntl
import ipaddress
import json
import os
import sys

import sdn_conntrack_sync as conntrack_sync
import sdn_guest_services as guest_services
import sdn_router_conntrack as conntrack
import sdn_router_haproxy as haproxy
import sdn_router_iptables as iptables
import sdn_router_state as state
import sdn_router_system as system
import sdn_vrrp as vrrp
from sdn_router_checks import check_config
from sdn_router_system import RouterError
from sdn_router_undo import UndoStack

IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
NONLOCAL_BIND = "/proc/sys/net/ipv4/ip_nonlocal_bind"


def apply(cfg):
    gen = check_config(cfg)
    os.makedirs(state.STATE_DIR, mode=0o700, exist_ok=True)
    with open(state.state_file("lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = state.load_state()
        digest = state.config_hash(cfg)
        if gen < saved["generation"] or (gen == saved["generation"] and digest != saved["hash"]):
            raise RouterError(
                "STALE_GENERATION",
                "generation %d is not newer than the applied generation %d" % (gen, saved["generation"]),
            )
        if gen == saved["generation"]:
            return {"generation": gen, "hash": digest, "changed": False, "summary": saved.get("summary", {})}
        return _apply_locked(cfg, gen, digest, saved)


def addresses_of(present):
    return {(l["ifname"], "%s/%d" % (a["local"], a["prefixlen"])) for l in present for a in l.get("addr_info", []) if a.get("family") == "inet"}


def desired_addresses(cfg, pub, guest):
    if cfg.get("vrrp") is not None:
        return []  # keepalived holds them, on the master only
    want = [(pub, "%s/%d" % (a["ip"], a["prefixLength"])) for a in cfg["public"].get("addresses") or []]
    for n in cfg.get("networks") or []:
        prefix = ipaddress.IPv4Network(n["cidr"]).prefixlen
        want.append((guest[n["id"]], "%s/%d" % (n["gateway"], prefix)))
    return want


def _apply_locked(cfg, gen, digest, saved):
    present = system.links()
    pub, guest = iptables.resolve_interfaces(cfg, present)
    ctl = iptables.control_interface(cfg, present)
    rules = iptables.render_iptables(cfg, pub, guest, ctl)
    paired = cfg.get("vrrp") is not None
    keepalived = vrrp.Keepalived(state.STATE_DIR)
    keepalived_text = vrrp.render(cfg, pub, guest, ctl, state.STATE_DIR) if paired else None
    sync = conntrack_sync.ConntrackSync(state.STATE_DIR)
    haproxy_text = haproxy.render(cfg)
    if haproxy_text is not None:
        haproxy.check(haproxy_text)
    previous_tables = iptables.iptables_save()

    def steps(undo):
        system.write_proc(IP_FORWARD, "1")
        if paired:
            # The services bind the floating addresses on the backup too (see sdn_vrrp).
            system.write_proc(NONLOCAL_BIND, "1")
        added = add_addresses(desired_addresses(cfg, pub, guest), addresses_of(present), undo)
        set_guest_mtus(cfg, guest, present, undo)
        gw = cfg["public"].get("gateway")
        if gw and not paired:  # a pair's default route comes and goes with the master's addresses
            replace_default_route(gw, pub, undo)
        undo.push("guest services", guest_services.Services(state.STATE_DIR).apply(cfg, guest))
        restore_tables(rules, previous_tables, undo)
        serve_load_balancers(haproxy_text, undo)
        if keepalived_text is not None:
            undo.push("keepalived", keepalived.apply(keepalived_text))
        # A pair's connection tracking sync with its peer; stopped when no longer paired.
        undo.push("conntrackd", sync.apply(conntrack_sync.render(cfg, ctl, state.STATE_DIR)))
        return added

    added = UndoStack().run(steps)
    result = _commit(cfg, gen, digest, saved, (pub, guest), keepalived, haproxy_text, added)
    if paired:
        result["connectionSync"] = sync.state(True)
    return result


def add_addresses(desired, have, undo):
    """Adds the desired (device, cidr) not there yet; answers them, as [device, cidr]."""
    added = []
    for dev, cidr in desired:
        if (dev, cidr) not in have:
            system.run(["ip", "addr", "add", cidr, "dev", dev])
            added.append([dev, cidr])
            undo.push("address %s on %s" % (cidr, dev), _runner(["ip", "addr", "del", cidr, "dev", dev]))
    return added


def set_guest_mtus(cfg, guest, present, undo):
    """Gives each guest interface its network's MTU (the overlay's, below the underlay's):
    a forwarded DF packet too big for it is then answered with ICMP fragmentation-needed,
    where one the tunnel cannot carry would be dropped without a word. Pushes the MTU it
    had before for each change, as it goes."""
    now = {l["ifname"]: l.get("mtu") for l in present}
    for n in cfg.get("networks") or []:
        dev, mtu = guest[n["id"]], n.get("mtu")
        if mtu is not None and now.get(dev) != mtu:
            system.run(["ip", "link", "set", "dev", dev, "mtu", str(mtu)])
            if now.get(dev) is not None:
                undo.push("MTU of %s" % dev, _runner(["ip", "link", "set", "dev", dev, "mtu", str(now[dev])]))
            now[dev] = mtu


def replace_default_route(gw, pub, undo):
    """Routes by default via the public gateway; pushes the default route it replaced (or its absence)."""
    shown = system.run(["ip", "route", "show", "default"]).stdout.splitlines()
    old = shown[0].split() if shown else []
    system.run(["ip", "route", "replace", "default", "via", gw, "dev", pub])
    back = ["ip", "route", "replace"] + old if old else ["ip", "route", "del", "default"]
    undo.push("the default route", _runner(back))


def restore_tables(rules, previous, undo):
    """Puts the nat and filter tables in force in one iptables-restore (all or nothing)."""
    p = system.run(["iptables-restore"], stdin=rules, check=False)
    if p.returncode != 0:
        raise RouterError("IPTABLES_FAILED", "iptables-restore refused the rules: %s" % system.tail(p))
    undo.push("the nat and filter tables", _runner(["iptables-restore"], stdin=previous))


def serve_load_balancers(text, undo):
    """Writes haproxy's new configuration and (re)starts it; starts it if it is down. The
    configuration written is pushed as soon as it is (a start that fails leaves it to undo)."""
    if text is None:
        return  # dropped once committed
    path = state.state_file("haproxy.cfg")
    old = _read(path)
    if text != old:
        state.write_atomic(path, text)
        undo.push("haproxy's configuration", lambda: _put_back(path, old))
        haproxy.start(path)
    elif haproxy.running_pid() is None:
        haproxy.start(path)


def _commit(cfg, gen, digest, saved, interfaces, keepalived, haproxy_text, added):
    """Committed: drops what the new configuration no longer has, cuts the connections it
    revoked, and records the new state."""
    paired = cfg.get("vrrp") is not None
    if not paired and keepalived.current() is not None:
        keepalived.stop()
    if haproxy_text is None:
        haproxy.stop()
        _put_back(state.state_file("haproxy.cfg"), None)
    want = set(desired_addresses(cfg, *interfaces))
    managed = [tuple(a) for a in saved.get("addresses", [])] + [tuple(a) for a in added]
    kept = []
    for dev, cidr in dict.fromkeys(managed):
        if (dev, cidr) in want:
            kept.append([dev, cidr])
        else:
            system.run(["ip", "addr", "del", cidr, "dev", dev], check=False)
    result = {"generation": gen, "hash": digest, "changed": True, "summary": state.summary(cfg)}
    try:
        cut, warnings = conntrack.cut_connections(conntrack.conntrack_filters(saved.get("config") or {"public": {}}, cfg))
    except Exception as e:  # the rules are in force: this must not turn the apply into a failure
        cut, warnings = 0, ["connections were not cut: %s: %s" % (e.__class__.__name__, e)]
    result["connectionsCut"] = cut
    if warnings:
        result["warnings"] = warnings
        sys.stderr.write("".join("sdn-router: warning: %s\n" % w for w in warnings))
    record = {"generation": gen, "hash": digest, "addresses": kept, "summary": result["summary"], "config": cfg}
    state.write_atomic(state.state_file("state.json"), json.dumps(dict(record, warnings=warnings)))
    return result


def _runner(argv, stdin=None):
    """An undo that runs argv, whatever its exit status (the other undos still run)."""
    return lambda: system.run(argv, stdin=stdin, check=False)


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def _put_back(path, text):
    """Writes `text` to `path`, or removes `path` when text is None."""
    if text is not None:
        state.write_atomic(path, text)
    elif os.path.exists(path):
        os.unlink(path)
