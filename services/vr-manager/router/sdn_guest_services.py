"""Guest services of the virtual router: runs dnsmasq and the metadata server (for sdn-router).

What changes with the guests (leases, names, domains, upstream servers, options, user
data) is re-read by dnsmasq on SIGHUP, in milliseconds, and by the metadata server by
itself; only a change of the served networks (interfaces, ranges, lease time) restarts
dnsmasq, and only a change of the gateway addresses the metadata server. Services.apply
returns an undo that puts the previous files back and signals or restarts what it changed,
so a later failure of the apply leaves the previous DHCP/DNS configuration serving.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

from sdn_guest_config import (
    GuestServiceError,
    metadata_listen,
    render_conf,
    render_hosts,
    render_metadata,
    render_names,
    render_opts,
    render_servers,
    served,
)

HERE = os.path.dirname(os.path.realpath(__file__))


# ---------------------------------------------------------------- processes


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def _write(path, text, current):
    """Replaces the file atomically (rename), only when its text changes: most pushes change one or two."""
    if text == current:
        return
    if text is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _pid(path):
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, 0)
        return pid
    except (IOError, OSError, ValueError, IndexError):
        return None


def _stop(pidfile):
    pid = _pid(pidfile)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if _pid(pidfile) is None:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


def _spawn(argv, log):
    """Runs a program that daemonizes (its parent exits once it serves); its output goes to `log`."""
    with open(log, "a") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        try:
            return p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            return -1


def _log_tail(path):
    text = (_read(path) or "").strip()
    return text[-600:] if text else "(no output)"


class Services(object):
    """dnsmasq and the metadata server of one router, with their files in `state_dir`."""

    FILES = ("conf", "opts", "hosts", "names", "servers", "metadata", "listen")

    def __init__(self, state_dir):
        base = os.path.join(state_dir, "guests")
        self.base = base
        self.paths = {
            "conf": os.path.join(base, "dnsmasq.conf"),
            "opts": os.path.join(base, "dhcp-opts"),
            "hosts": os.path.join(base, "dhcp-hosts"),
            "names": os.path.join(base, "names"),
            "servers": os.path.join(base, "servers"),
            "metadata": os.path.join(base, "metadata.json"),
            "listen": os.path.join(base, "metadata.listen"),
            "pid": os.path.join(base, "dnsmasq.pid"),
            "leases": os.path.join(base, "dnsmasq.leases"),
            "log": os.path.join(base, "dnsmasq.log"),
            "metadata_pid": os.path.join(base, "metadata.pid"),
            "metadata_log": os.path.join(base, "metadata.log"),
        }

    def render(self, cfg, guest):
        if not served(cfg):
            return dict((k, None) for k in self.FILES)
        return {
            "conf": render_conf(cfg, guest, self.paths),
            "opts": render_opts(cfg),
            "hosts": render_hosts(cfg),
            "names": render_names(cfg),
            "servers": render_servers(cfg),
            "metadata": render_metadata(cfg),
            "listen": " ".join(metadata_listen(cfg)) + "\n",
        }

    def dnsmasq_running(self):
        return _pid(self.paths["pid"]) is not None

    def metadata_running(self):
        return _pid(self.paths["metadata_pid"]) is not None

    def _start_dnsmasq(self):
        code = _spawn(["dnsmasq", "-C", self.paths["conf"]], self.paths["log"])
        if code != 0:
            raise GuestServiceError(
                "DNSMASQ_FAILED", "dnsmasq did not start (exit %d): %s" % (code, _log_tail(self.paths["log"]))
            )

    def _start_metadata(self, listen):
        argv = [sys.executable, os.path.join(HERE, "sdn_metadata.py"), "--data", self.paths["metadata"]]
        argv += ["--pidfile", self.paths["metadata_pid"], "--listen", listen.strip()]
        code = _spawn(argv, self.paths["metadata_log"])
        if code != 0:
            raise GuestServiceError(
                "METADATA_FAILED",
                "the metadata server did not start (exit %d): %s" % (code, _log_tail(self.paths["metadata_log"])),
            )

    def _dnsmasq(self, files, restart, reread):
        """Makes dnsmasq serve `files`: a restart (a new main configuration), a SIGHUP (`reread`: others changed)."""
        if files["conf"] is None:
            _stop(self.paths["pid"])
        elif restart or not self.dnsmasq_running():
            _stop(self.paths["pid"])
            self._start_dnsmasq()
        elif reread:
            os.kill(_pid(self.paths["pid"]), signal.SIGHUP)

    def _metadata(self, files, restart):
        """Makes the metadata server listen where `files` say (it re-reads its data file by itself)."""
        if files["listen"] is None:
            _stop(self.paths["metadata_pid"])
        elif restart or not self.metadata_running():
            _stop(self.paths["metadata_pid"])
            self._start_metadata(files["listen"])

    def check_conf(self, text):
        """dnsmasq --test on a configuration before it replaces the running one."""
        fd, path = tempfile.mkstemp(dir=self.base, prefix="check-", suffix=".conf")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            p = subprocess.Popen(
                ["dnsmasq", "--test", "-C", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True
            )
            out, err = p.communicate(timeout=30)
            if p.returncode != 0:
                raise GuestServiceError(
                    "DNSMASQ_CONFIG_INVALID", "dnsmasq --test refused the configuration: %s" % (err or out).strip()
                )
        finally:
            os.unlink(path)

    def apply(self, cfg, guest):
        """Serves the configuration; returns an undo that puts back what served before."""
        os.makedirs(self.base, mode=0o700, exist_ok=True)
        new = self.render(cfg, guest)
        old = dict((k, _read(self.paths[k])) for k in self.FILES)
        was_dnsmasq, was_metadata = self.dnsmasq_running(), self.metadata_running()
        restart_dnsmasq = new["conf"] is not None and (new["conf"] != old["conf"] or not was_dnsmasq)
        restart_metadata = new["listen"] is not None and (new["listen"] != old["listen"] or not was_metadata)
        if restart_dnsmasq:
            self.check_conf(new["conf"])
        reread = any(new[k] != old[k] for k in ("opts", "hosts", "names", "servers"))

        def undo():
            for k in self.FILES:
                _write(self.paths[k], old[k], new[k])
            self._dnsmasq(old if was_dnsmasq else dict(old, conf=None), restart_dnsmasq, reread)
            self._metadata(old if was_metadata else dict(old, listen=None), restart_metadata)

        try:
            for k in self.FILES:
                _write(self.paths[k], new[k], old[k])
            self._dnsmasq(new, restart_dnsmasq, reread)
            self._metadata(new, restart_metadata)
        except BaseException:
            try:
                undo()
            except Exception as e:  # the first failure is the one to report
                sys.stderr.write("sdn-router: guest services not put back: %s\n" % e)
            raise
        return undo

    def state(self):
        return {"dnsmasqRunning": self.dnsmasq_running(), "metadataRunning": self.metadata_running()}
