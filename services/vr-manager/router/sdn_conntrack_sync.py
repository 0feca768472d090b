#!/usr/bin/python3
"""Connection tracking sync for redundant pairs: conntrackd for sdn-router (Python 3.6).

A pair member with a peer runs conntrackd (Debian package `conntrackd`, 1.4.7 in Debian 12)
when the router has it: FTFW mode over UDP on the control link, the same link VRRP uses,
from this member's control address to its peer's (the router's filter takes the sync
datagrams from the peer's control address only: filter_rules). Each member keeps the
flows it forwards in conntrackd's internal cache and sends them to its peer, which keeps
them in its external cache, off the kernel's table; keepalived's notify (sdn_vrrp.py
notify, then on_state here) does what conntrackd's own primary-backup.sh does:

    MASTER  commit the external cache into the kernel's table (-c), flush both caches (-f),
            fill the internal one from the kernel again (-R), send it all to the peer (-B)
    BACKUP  start conntrackd if it is not running, shorten the kernel's timers of the
            flows this member no longer forwards (-t), ask the master for its flows (-n)
    FAULT   shorten the timers (-t)

So an established connection through NAT (source NAT, static NAT, a port forward) finds
its entry, with its NAT mapping, on the new master. conntrackd runs in the router's
network namespace (its netlink sockets read that namespace's table) with its lock file,
control socket and log in <state dir>/conntrack, `Systemd off`.

Only forwarded flows are synchronised: the router's own addresses (control, gateways,
public addresses) are ignored, as in conntrackd's examples, so connections to the router
itself (SSH, haproxy, DNS) are not: they end with their process on the old master anyway.

While it runs, the member does not pick up TCP flows in the middle
(net.netfilter.nf_conntrack_tcp_loose = 0): a packet of a flow that arrives on a new master
before the commit would otherwise get an entry of its own, un-NATed, which then blocks the
committed one. Such a packet is dropped and its retransmission finds the committed entry.

Without a conntrackd binary the pair works as before, and `state` says "unavailable".
"""

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import time

SYNC_PORT = 3780
BINARY = "conntrackd"
# What `state` reports: synchronising, no peer to synchronise with, no binary, not running.
RUNNING, NO_PEER, UNAVAILABLE, STOPPED = "running", "no-peer", "unavailable", "stopped"
TCP_LOOSE = "/proc/sys/net/netfilter/nf_conntrack_tcp_loose"
# keepalived's notify may run with a bare environment: the binary is looked up here.
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ConntrackSyncError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code


def available():
    return shutil.which(BINARY, path=PATH) is not None


def _peer(cfg):
    v = cfg.get("vrrp")
    if v is None or not v.get("peers"):
        return None
    return v["peers"][0]


def own_addresses(cfg):
    """The router's own addresses: flows to or from them are not synchronised."""
    out = ["127.0.0.1"]
    control = (cfg.get("control") or {}).get("address")
    if control:
        out.append(control)
    out += [n["gateway"] for n in cfg.get("networks") or []]
    out += [a["ip"] for a in (cfg.get("public") or {}).get("addresses") or []]
    return list(dict.fromkeys(out))


def render(cfg, ctl, state_dir):
    """conntrackd.conf for this member, or None when it has no peer (nothing to sync with)."""
    peer = _peer(cfg)
    if peer is None or ctl is None:
        return None
    d = os.path.join(state_dir, "conntrack")
    ignore = ["      IPv4_address %s" % a for a in own_addresses(cfg)]
    out = [
        "# written by sdn-router: do not edit",
        "Sync {",
        # FTFW: acknowledged, resent when lost; a backup asks for a full resync (-n).
        "  Mode FTFW {",
        "    DisableExternalCache off",
        "  }",
        "  UDP {",
        "    IPv4_address %s" % cfg["vrrp"]["sourceAddress"],
        "    IPv4_Destination_Address %s" % peer,
        "    Port %d" % SYNC_PORT,
        "    Interface %s" % ctl,
        "    SndSocketBuffer 1249280",
        "    RcvSocketBuffer 1249280",
        "    Checksum on",
        "  }",
        "}",
        "General {",
        "  Systemd off",
        "  HashSize 32768",
        "  HashLimit 131072",
        "  LogFile %s" % os.path.join(d, "conntrackd.log"),
        "  Syslog off",
        "  LockFile %s" % os.path.join(d, "conntrackd.lock"),
        "  UNIX {",
        "    Path %s" % os.path.join(d, "conntrackd.ctl"),
        "  }",
        "  NetlinkBufferSize 2097152",
        "  NetlinkBufferSizeMaxGrowth 8388608",
        "  Filter From Userspace {",
        "    Protocol Accept {",
        "      TCP",
        "      UDP",
        "    }",
        "    Address Ignore {",
    ]
    out += ignore
    out += ["    }", "  }", "}", ""]
    return "\n".join(out)


def filter_rules(cfg, ctl, comment):
    """INPUT rules for the sync datagrams: from the peer's control address, on the control interface."""
    peer = _peer(cfg)
    if peer is None or ctl is None:
        return []
    return ["-A INPUT -i %s -s %s/32 -p udp -m udp --dport %d %s -j ACCEPT" % (ctl, peer, SYNC_PORT, comment)]


def _set_tcp_loose(on):
    try:
        with open(TCP_LOOSE, "w") as f:
            f.write("1" if on else "0")
    except (IOError, OSError):
        pass  # no conntrack module loaded: nothing is tracked, nothing to pick up


class ConntrackSync(object):
    """conntrackd for one router: its files in <state dir>/conntrack."""

    def __init__(self, state_dir):
        self.dir = os.path.join(state_dir, "conntrack")
        self.conf = os.path.join(self.dir, "conntrackd.conf")
        self.lock = os.path.join(self.dir, "conntrackd.lock")
        self.socket = os.path.join(self.dir, "conntrackd.ctl")
        self.log = os.path.join(self.dir, "conntrackd.log")
        self.state_dir = state_dir

    def running(self):
        """Whether conntrackd answers on its control socket (a connect: no process started)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(0.5)
            s.connect(self.socket)
            return True
        except (IOError, OSError):
            return False
        finally:
            s.close()

    def current(self):
        try:
            with open(self.conf) as f:
                return f.read()
        except (IOError, OSError):
            return None

    def state(self, paired):
        """What `sdn-router state` reports as connectionSync (None: not a pair member)."""
        if not paired:
            return None
        if not available():
            return UNAVAILABLE
        if self.current() is None:
            return NO_PEER
        return RUNNING if self.running() else STOPPED

    def apply(self, text):
        """Puts `text` in force (None: stops conntrackd); returns an undo. conntrackd has no
        reload: a changed configuration restarts it, and it asks for or sends the flows again."""
        old = self.current()
        if text is None or not available():
            if old is not None or self.running():
                self.stop()
            return lambda: None
        if text == old and self.running():
            return lambda: None
        with self._exclusive():
            self._write(text)
            self._restart()

        def undo():
            if old is None:
                self.stop()
                return
            with self._exclusive():
                self._write(old)
                self._restart()

        return undo

    def _write(self, text):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.conf)

    def _ctl(self, flag):
        """One conntrackd client command; its exit status (failures are logged, never raised)."""
        with open(self.log, "a") as log:
            binary = shutil.which(BINARY, path=PATH) or BINARY
            p = subprocess.Popen([binary, "-C", self.conf, flag], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            try:
                return p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return -1

    @contextlib.contextmanager
    def _exclusive(self):
        """One start, stop or state change at a time: keepalived's notify runs beside an apply."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        with open(os.path.join(self.dir, "op.lock"), "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def _restart(self):
        if self.running():
            self._ctl("-k")
            self._wait(lambda: not self.running(), 5)
        self._start()
        # A fresh conntrackd has an empty external cache: as backup, ask the peer for its
        # flows; as master, send it ours (its own may have restarted with ours lost).
        self._ctl("-B" if _recorded_state(self.state_dir) == "MASTER" else "-n")

    def _start(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        # A lock left by a conntrackd that did not stop cleanly (killed) keeps the next one from starting.
        if os.path.exists(self.lock) and not self.running():
            os.unlink(self.lock)
        _set_tcp_loose(False)
        code = self._ctl("-d")
        if code != 0 or not self._wait(self.running, 5):
            raise ConntrackSyncError(
                "CONNTRACKD_FAILED", "conntrackd did not start (exit %s): see %s" % (code, self.log)
            )

    @staticmethod
    def _wait(predicate, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def stop(self):
        with self._exclusive():
            self._stop()

    def _stop(self):
        if self.running():
            self._ctl("-k")
            self._wait(lambda: not self.running(), 5)
        for path in (self.conf, self.lock):
            if os.path.exists(path):
                os.unlink(path)
        _set_tcp_loose(True)

    def on_state(self, state):
        """keepalived's notify: primary-backup.sh's steps for the new VRRP state."""
        if self.current() is None or not available():
            return  # no peer, or no conntrackd: nothing to do
        with self._exclusive():
            self._on_state(state)

    def _on_state(self, state):
        if state == "MASTER":
            for flag in ("-c", "-f", "-R", "-B"):
                self._ctl(flag)
        elif state == "BACKUP":
            if not self.running():
                try:
                    self._start()
                except ConntrackSyncError:
                    return
            self._ctl("-t")
            self._ctl("-n")
        elif state == "FAULT":
            self._ctl("-t")


def _recorded_state(state_dir):
    """The VRRP state keepalived's notify last recorded (sdn_vrrp's file), or None."""
    try:
        with open(os.path.join(state_dir, "vrrp", "state")) as f:
            return json.load(f).get("state")
    except (IOError, OSError, ValueError):
        return None
