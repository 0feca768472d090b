#!/usr/bin/python3
"""Redundant router pairs: keepalived VRRP for sdn-router (Python 3.6, standard library).

A configuration with a "vrrp" section makes the router one member of a pair. keepalived
(Debian package `keepalived`) then holds the floating addresses, on the master only: every
network's gateway on its guest interface, every public address and the default route on
the public interface; sdn-router no longer puts them in place itself. VRRP runs on the
control link (multicast, from the control address; the filter takes it from the peer's
control address only), VRRPv3 with an advert every half second (VRRPv2's password would
tie the adverts to whole seconds), and both members start as BACKUP with preemption off: the first member registered (priority 250, the second 240)
becomes master when the pair starts, and a member that comes back later stays backup.

Every service runs on both members, bound to the floating addresses even where they are
absent (net.ipv4.ip_nonlocal_bind): only the master receives their traffic, and dnsmasq
answers DHCP only on an interface that holds an address of the network, so nothing has
to start in the failover gap. keepalived calls this file as its notify script:

    sdn_vrrp.py notify <state dir> INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>

which records the state for `sdn-router state` and for `sdn-router vrrp-watch` (watch
below), which the vr-manager keeps running to learn each change at once.
"""

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time

import sdn_conntrack_sync as conntrack_sync

HERE = os.path.dirname(os.path.realpath(__file__))
GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STATES = ("MASTER", "BACKUP", "FAULT")
ADVERT_INT_S = "0.5"


class VrrpError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code


def check(v):
    """Checks a configuration's "vrrp" section (None: not a pair member); raises VrrpError."""
    if v is None:
        return None

    def bad(what):
        raise VrrpError("INVALID_CONFIG", "vrrp.%s" % what)

    if not isinstance(v, dict):
        bad("(the section) must be an object")
    if not isinstance(v.get("group"), str) or not GROUP_RE.match(v["group"]):
        bad("group must be a lower-case name")
    for key, low, high in (("virtualRouterId", 1, 255), ("priority", 1, 254)):
        n = v.get(key)
        if not isinstance(n, int) or isinstance(n, bool) or not low <= n <= high:
            bad("%s must be an integer from %d to %d" % (key, low, high))
    peers = v.get("peers")
    if not isinstance(peers, list) or len(peers) > 1:
        bad("peers must be a list of at most one address")
    for a in [v.get("sourceAddress")] + peers:
        try:
            ipaddress.IPv4Address(a)
        except (ValueError, TypeError, ipaddress.AddressValueError):
            bad("sourceAddress and peers must be IPv4 addresses (got %r)" % (a,))
    return v


def floating(cfg, pub, guest):
    """The addresses keepalived moves to the master: (address/prefix, interface)."""
    out = []
    for n in cfg.get("networks") or []:
        prefix = ipaddress.IPv4Network(n["cidr"]).prefixlen
        out.append(("%s/%d" % (n["gateway"], prefix), guest[n["id"]]))
    for a in cfg["public"].get("addresses") or []:
        out.append(("%s/%d" % (a["ip"], a["prefixLength"]), pub))
    return out


def render(cfg, pub, guest, ctl, state_dir):
    """keepalived.conf for this member (cfg["vrrp"] set; ctl: the control interface)."""
    v = cfg["vrrp"]
    addresses = ["    %s dev %s" % a for a in floating(cfg, pub, guest)]
    tracked = sorted(set([pub] + list(guest.values())))
    notify = "%s notify %s" % (os.path.join(HERE, "sdn_vrrp.py"), state_dir)
    out = [
        "# written by sdn-router: do not edit",
        "global_defs {",
        "  router_id sdn-%s" % v["group"],
        "  script_user root",
        "  enable_script_security",
        "  vrrp_garp_master_repeat 3",
        "  vrrp_garp_master_refresh 10",
        "}",
        "vrrp_instance sdn {",
        # Both BACKUP with nopreempt: a member that comes back never takes over by itself.
        "  state BACKUP",
        "  nopreempt",
        "  interface %s" % ctl,
        "  virtual_router_id %d" % v["virtualRouterId"],
        "  priority %d" % v["priority"],
        # VRRPv3: sub-second adverts. A backup takes over after three missed adverts plus
        # (256 - priority) / 256 of one: 1.53 s at 240, where VRRPv2's whole seconds made it 3.06 s.
        "  version 3",
        "  advert_int %s" % ADVERT_INT_S,
    ]
    # Multicast on the control link, from the control address: the configuration does not
    # name the peer, so a peer joining or leaving does not reload keepalived (a reload that
    # changes the VRRP sockets sends the master back to BACKUP: the addresses would move).
    # VRRPv3 has no authentication: the router's filter takes adverts from the peer's control
    # address on the control interface only (filter_rules), which is what VRRPv2's password,
    # sent in clear on the same link, gave.
    out += ["  mcast_src_ip %s" % v["sourceAddress"]]
    # A member whose guest or public interface is down cannot serve: FAULT, the peer takes over.
    out += ["  track_interface {"]
    out += ["    %s" % t for t in tracked]
    out += ["  }"]
    # The adverts name the first address only: VRRP's 20-address limit does not apply.
    out += ["  virtual_ipaddress {"] + addresses[:1] + ["  }"]
    if len(addresses) > 1:
        out += ["  virtual_ipaddress_excluded {"] + addresses[1:] + ["  }"]
    gw = cfg["public"].get("gateway")
    if gw:
        out += ["  virtual_routes {", "    default via %s dev %s" % (gw, pub), "  }"]
    out += ['  notify "%s"' % notify, "}", ""]
    return "\n".join(out)


def filter_rules(cfg, ctl, comment):
    """INPUT rules for the VRRP adverts: from the peer, on the control interface only."""
    v = cfg.get("vrrp")
    if v is None or ctl is None:
        return []
    return ["-A INPUT -i %s -s %s/32 -p vrrp %s -j ACCEPT" % (ctl, p, comment) for p in v["peers"]]


# ---------------------------------------------------------------- keepalived


class Keepalived(object):
    """keepalived for one router: its files in <state dir>/vrrp."""

    def __init__(self, state_dir):
        self.dir = os.path.join(state_dir, "vrrp")
        self.conf = os.path.join(self.dir, "keepalived.conf")
        self.pid = os.path.join(self.dir, "keepalived.pid")
        self.state_path = os.path.join(self.dir, "state")

    def _pid(self):
        try:
            with open(self.pid) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (IOError, OSError, ValueError):
            return None

    def running(self):
        return self._pid() is not None

    def current(self):
        try:
            with open(self.conf) as f:
                return f.read()
        except (IOError, OSError):
            return None

    def apply(self, text):
        """Checks and puts `text` in force (start, or reload on SIGHUP); returns an undo."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        old = self.current()
        if text == old and self.running():
            return lambda: None
        candidate = self.conf + ".new"
        with open(candidate, "w") as f:
            f.write(text)
        p = subprocess.Popen(
            ["keepalived", "--config-test", "-f", candidate],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )
        _, err = p.communicate()
        if p.returncode != 0:
            os.unlink(candidate)
            raise VrrpError("KEEPALIVED_CONFIG_INVALID", "keepalived refused its configuration: %s" % err.strip()[-400:])
        os.rename(candidate, self.conf)
        self._start_or_reload()

        def undo():
            if old is None:
                self.stop()
                return
            with open(self.conf, "w") as f:
                f.write(old)
            self._start_or_reload()

        return undo

    def _start_or_reload(self):
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGHUP)
            return
        # In the foreground of a session of its own, logging to a file beside its state (a
        # router may have no syslog); it writes its pid file itself.
        vrrp_pid = os.path.join(self.dir, "vrrp.pid")
        argv = ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp"]
        argv += ["-f", self.conf, "-p", self.pid, "-r", vrrp_pid, "-c", self.pid + ".checkers"]
        with open(os.path.join(self.dir, "keepalived.log"), "a") as log:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        for _ in range(50):
            if self.running():
                return
            if p.poll() is not None:
                break
            time.sleep(0.1)
        raise VrrpError("KEEPALIVED_FAILED", "keepalived did not start (exit %s): see %s/keepalived.log" % (p.poll(), self.dir))

    def stop(self):
        """Stops keepalived (it removes the addresses it holds) and forgets the state."""
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not self.running():
                    break
                time.sleep(0.1)
        for path in (self.conf, self.state_path):
            if os.path.exists(path):
                os.unlink(path)

    def state(self):
        """{"state": MASTER | BACKUP | FAULT | UNKNOWN, "running": bool} as notify recorded it."""
        running = self.running()
        state = "UNKNOWN"
        try:
            with open(self.state_path) as f:
                recorded = json.load(f).get("state")
            if running and recorded in STATES:
                state = recorded
        except (IOError, OSError, ValueError):
            pass
        return {"state": state, "running": running}


def notify(state_dir, args):
    """keepalived's notify: records the new state ("STOP" is keepalived ending: nothing held)."""
    state = args[2] if len(args) >= 3 else "UNKNOWN"
    k = Keepalived(state_dir)
    os.makedirs(k.dir, mode=0o700, exist_ok=True)
    tmp = k.state_path + ".new"
    with open(tmp, "w") as f:
        json.dump({"state": state if state in STATES else "UNKNOWN", "at": time.time()}, f)
    os.rename(tmp, k.state_path)
    # Then the connection tracking sync's steps for that state (the state is recorded first:
    # the vr-manager's watch sees the takeover at once; the commit takes longer).
    conntrack_sync.ConntrackSync(state_dir).on_state(state)


# How often `watch` looks at the state (a file and a pid: cheap), and the longest it stays
# silent: its reader takes a watch that printed nothing for three heartbeats as lost.
WATCH_TICK_S = 0.1
WATCH_HEARTBEAT_S = 0.5


def watch(state_dir, out):
    """Prints {"state", "running"} as a JSON line at once, within a tick of every change
    (the notify script's record, keepalived's death), and every heartbeat otherwise.
    Ends when its reader is gone (the write fails)."""
    k = Keepalived(state_dir)
    last = None
    printed_at = 0.0
    try:
        while True:
            now = time.time()
            current = k.state()
            if current != last or now - printed_at >= WATCH_HEARTBEAT_S:
                out.write(json.dumps(current) + "\n")
                out.flush()
                last, printed_at = current, now
            time.sleep(WATCH_TICK_S)
    except (BrokenPipeError, KeyboardInterrupt):
        return


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "notify":
        sys.stderr.write("usage: sdn_vrrp.py notify <state dir> INSTANCE <name> <state> <priority>\n")
        sys.exit(2)
    notify(sys.argv[2], sys.argv[3:])
