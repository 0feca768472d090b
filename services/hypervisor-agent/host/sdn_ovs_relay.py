"""The vr-manager's path to a virtual router that only this host can reach (XenServer's
link-local control network), as CloudStack's router_proxy.sh was -- but the router's host
key is pinned (router_proxy.sh used StrictHostKeyChecking=no). Not an OVS operation. The
key offered is the host's relay key, provisioned by the operator."""

import base64
import gzip
import hashlib
import ipaddress
import os
import random
import re
import shlex
import subprocess
import tempfile
import time

import sdn_ovs_args as args_
import sdn_ovs_cmd as ovs
from sdn_ovs_cmd import HostError

RELAY_IDENTITY = "/root/.ssh/id_sdn_router"
RELAY_KEY_NAME = "id_sdn_router"
FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9_./-]{1,255}$")
LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
# The router program's own commands, as in libs/contracts router-relay.ts (the agent checks
# them first; this is the host's own line of defence against a caller that is not the agent).
ROUTER_PROGRAM_NAME = "sdn-router"
ROUTER_PROGRAM_COMMANDS = ("version", "state", "apply")
# The files deployed into the program's folder and their modes (ROUTER_PROGRAM_FILES there).
ROUTER_PROGRAM_FILES = {
    ROUTER_PROGRAM_NAME: "755",
    "sdn_guest_config.py": "644",
    "sdn_guest_services.py": "644",
    "sdn_metadata.py": "755",
    "sdn_vrrp.py": "755",
    "sdn_conntrack_sync.py": "644",
    "sdn_router_system.py": "644",
    "sdn_router_state.py": "644",
    "sdn_router_undo.py": "644",
    "sdn_router_checks.py": "644",
    "sdn_router_iptables.py": "644",
    "sdn_router_haproxy.py": "644",
    "sdn_router_conntrack.py": "644",
    "sdn_router_apply.py": "644",
}
ROUTER_DEPLOY_SCRIPT = (
    'umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1.new" && chmod "$2" "$1.new" && mv -f "$1.new" "$1"'
)


def _clean_path(p):
    return bool(PATH_RE.match(p)) and all(seg not in ("", ".", "..") for seg in p.split("/")[1:])


def _program_path(p):
    return _clean_path(p) and p.endswith("/" + ROUTER_PROGRAM_NAME)


def _router_program_command(argv):
    if len(argv) == 2 and _program_path(argv[0]):
        return argv[1] in ROUTER_PROGRAM_COMMANDS
    if len(argv) == 3 and argv[:2] == ["mkdir", "-p"]:
        return _clean_path(argv[2])
    if len(argv) != 6 or not _clean_path(argv[4]):
        return False
    mode = ROUTER_PROGRAM_FILES.get(argv[4].rsplit("/", 1)[-1])
    return mode is not None and argv == ["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", argv[4], mode]


def check_relay(address, identity, argv):
    """Refuses what a relay must never do: reach past the link-local control network, use
    another key than the relay key, or run anything but the router program's commands."""
    if ipaddress.IPv4Address(address) not in LINK_LOCAL:
        raise HostError("RELAY_ADDRESS_NOT_LINK_LOCAL", "%s is not a link-local router address" % address)
    if not _clean_path(identity) or os.path.basename(identity) != RELAY_KEY_NAME:
        raise HostError("RELAY_KEY_NOT_ALLOWED", "%s is not the relay key (%s)" % (identity, RELAY_KEY_NAME))
    if not _router_program_command(argv):
        raise HostError("RELAY_COMMAND_NOT_ALLOWED", "'%s' is not a command of the router program" % argv[0])


def _ssh_fingerprint(blob_b64):
    digest = hashlib.sha256(base64.b64decode(blob_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


# sshd drops unauthenticated connections at random beyond MaxStartups (default 10:30:100), and
# ssh-keyscan opens one per key type: a few relay calls at once (a router program deploy) got
# "Connection closed by remote host" (or a reset) and no key. Such a scan is tried again after
# a pause; so is the command's own connection when sshd dropped it before identifying itself
# (ssh's "kex_exchange_identification: ..."): nothing ran on the router then.
SCAN_ATTEMPTS = 4
SSH_ATTEMPTS = 4
DROPPED = ("Connection closed by remote host", "Connection reset by peer")
NOT_IDENTIFIED = b"kex_exchange_identification"


def _pause_before(attempt, pause):
    pause(0.2 * (attempt + 1) + random.random() * 0.3)


def _scan(address, port):
    """ssh-keyscan's output: the host key lines and what it said on stderr."""
    try:
        _status, scanned, err = ovs.run(["ssh-keyscan", "-p", str(port), "-T", "5", address], 15)
    except subprocess.TimeoutExpired:
        return "", ""
    return scanned, err


def _scanned_keys(address, port, scan=_scan, pause=time.sleep):
    """The router's host keys (fields of known_hosts lines), scanned again while sshd dropped the scan."""
    for attempt in range(SCAN_ATTEMPTS):
        scanned, err = scan(address, port)
        keys = [l.split() for l in scanned.splitlines() if l.strip() and not l.startswith("#")]
        keys = [k for k in keys if len(k) >= 3]
        if keys or not any(d in err for d in DROPPED):
            return keys
        _pause_before(attempt, pause)
    return []


def _run_ssh(ssh, timeout, stdin, run=ovs.run, pause=time.sleep):
    """ssh's status, stdout and stderr, run again while sshd dropped it before identifying."""
    for attempt in range(SSH_ATTEMPTS):
        status, out, err = run(ssh, timeout, stdin=stdin, decode=False)
        if status != 255 or NOT_IDENTIFIED not in err or attempt == SSH_ATTEMPTS - 1:
            return status, out, err
        _pause_before(attempt, pause)


def _pinned_known_host(address, port, fingerprint):
    """The router's host key line for known_hosts, if it presents the pinned key."""
    keys = _scanned_keys(address, port)
    if not keys:
        raise HostError("ROUTER_UNREACHABLE", "no SSH server answers at %s:%d from this host" % (address, port))
    for _host, key_type, blob in keys:
        if _ssh_fingerprint(blob) == fingerprint:
            return "[%s]:%d %s %s\n" % (address, port, key_type, blob)
    seen = ", ".join(sorted(_ssh_fingerprint(k[2]) for k in keys))
    raise HostError("ROUTER_HOST_KEY_MISMATCH", "%s:%d presents %s, not %s" % (address, port, seen, fingerprint))


def router_relay(args):
    address = args_.ip(args.get("address"), "address")
    port = args.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise HostError("INVALID_ARGUMENT", "argument 'port' must be a port number")
    user = args_.string(args, "username", USER_RE)
    fingerprint = args_.string(args, "hostKeyFingerprint", FINGERPRINT_RE)
    identity = args_.string(args, "identityFile", PATH_RE, required=False) or RELAY_IDENTITY
    argv = args.get("argv")
    if not isinstance(argv, list) or not 1 <= len(argv) <= 32 or not all(isinstance(a, str) for a in argv):
        raise HostError("INVALID_ARGUMENT", "argument 'argv' must be a list of 1 to 32 strings")
    packed = args.get("stdinGzipBase64") or ""
    try:
        stdin = gzip.decompress(base64.b64decode(packed, validate=True)) if packed else b""
    except (ValueError, OSError, EOFError):
        raise HostError("INVALID_ARGUMENT", "argument 'stdinGzipBase64' is not base64 of gzip data")
    timeout = min(int(args.get("timeoutMs", 60000)), 600000) / 1000.0
    check_relay(address, identity, argv)
    if not os.path.exists(identity):
        raise HostError("RELAY_KEY_MISSING", "the relay key %s is not on this host" % identity)
    with tempfile.TemporaryDirectory(prefix="sdn-relay-") as tmp:
        known_hosts = os.path.join(tmp, "known_hosts")
        with open(known_hosts, "w") as f:
            f.write(_pinned_known_host(address, port, fingerprint))
        ssh = [
            "ssh", "-F", "/dev/null", "-p", str(port), "-l", user, "-i", identity,
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            address, "--", " ".join(shlex.quote(a) for a in argv),
        ]  # fmt: skip
        try:
            status, out, err = _run_ssh(ssh, timeout, stdin)
        except subprocess.TimeoutExpired:
            raise HostError("ROUTER_TIMEOUT", "the command on %s took over %.0f s" % (address, timeout))
    stderr = err.decode("utf-8", "replace")
    if status == 255:  # ssh's own failure: the command never ran
        raise HostError("ROUTER_SSH_FAILED", "SSH from this host to %s:%d failed: %s" % (address, port, stderr.strip()[-500:]))
    return {"exitCode": status, "stdout": out.decode("utf-8", "replace"), "stderr": stderr}
