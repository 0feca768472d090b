"""The router's load balancers: haproxy's configuration rendered (pure), checked with
`haproxy -c` before it is used, and haproxy started, reloaded (-sf) and stopped."""

import os
import signal
import tempfile
import time

import sdn_router_state as state
import sdn_router_system as system
from sdn_router_system import RouterError


def render(cfg):
    lbs = cfg.get("loadBalancers") or []
    if not lbs:
        return None
    out = [
        "# written by sdn-router: do not edit",
        "global",
        "    maxconn 4000",
        "defaults",
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout check 2s",
    ]
    for lb in lbs:
        hc = lb.get("healthCheck") or {}
        check = "check inter %dms fall %d rise %d" % (hc.get("intervalMs", 2000), hc.get("fall", 2), hc.get("rise", 2))
        out += [
            "listen lb-%s" % lb["id"],
            "    bind %s:%d" % (lb["publicIp"], lb["publicPort"]),
            "    balance %s" % lb["algorithm"],
        ]
        for i, m in enumerate(lb.get("members") or []):
            out.append("    server m%d %s:%d %s" % (i, m, lb["privatePort"], check))
    return "\n".join(out) + "\n"


def running_pid():
    try:
        with open(state.state_file("haproxy.pid")) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return None


def check(text):
    fd, path = tempfile.mkstemp(dir=state.STATE_DIR, prefix="haproxy-check-", suffix=".cfg")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        p = system.run(["haproxy", "-c", "-q", "-f", path], check=False)
        if p.returncode != 0:
            raise RouterError("HAPROXY_CONFIG_INVALID", "haproxy -c refused the configuration: %s" % system.tail(p))
    finally:
        os.unlink(path)


def start(path):
    """Starts haproxy on `path`, replacing a running one only once the new one is up (-sf)."""
    old = running_pid()
    argv = ["haproxy", "-D", "-f", path, "-p", state.state_file("haproxy.pid")]
    if old is not None:
        argv += ["-sf", str(old)]
    p = system.run(argv, check=False)
    if p.returncode != 0:
        raise RouterError("HAPROXY_RELOAD_FAILED", "haproxy did not start on the new configuration: %s" % system.tail(p))


def stop():
    pid = running_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if running_pid() is None:
            return
        time.sleep(0.05)
