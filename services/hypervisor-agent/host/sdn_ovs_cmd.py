"""Running Open vSwitch's commands for the host programs (sdn_ovs.py and its modules).

The process helper (Python 3.6 spelling), ovs-vsctl (every write of a call in ONE
invocation, one OVSDB transaction) and ovs-ofctl, the decoding of OVSDB JSON data, the
tags we put on everything we create, and the typed errors every module raises.
"""

import json
import os
import subprocess

VSCTL = os.environ.get("SDN_OVS_VSCTL", "ovs-vsctl")
OFCTL = os.environ.get("SDN_OVS_OFCTL", "ovs-ofctl")
VSCTL_TIMEOUT_S = 20

TAG_MANAGED = "sdn-managed"
TAG_NETWORK = "sdn-network-id"
TAG_ROLE = "sdn-role"
TAG_PORT_SECURITY = "sdn-port-security"


class HostError(Exception):
    """A failure the caller can act on; `code` is stable, the message is for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class OvsError(HostError):
    def __init__(self, message):
        super().__init__("OVS_COMMAND_FAILED", message)


# ---------------------------------------------------------------- processes


def run(argv, timeout, stdin=None, decode=True):
    """Runs argv, returns (exit status, stdout, stderr); raises FileNotFoundError or
    subprocess.TimeoutExpired as subprocess.run does. With decode (the default) the pipes
    carry text, else bytes.

    Written for dom0's Python 3.6 (XenServer 8, XCP-ng 8.3): subprocess.run's capture and
    text keywords arrived in 3.7, so the pipes and universal_newlines are spelled out.
    """
    proc = subprocess.run(
        argv,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=decode,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- ovs-vsctl


def vsctl(*commands, **opts):
    """Runs the commands in one ovs-vsctl invocation (one OVSDB transaction).

    Each command is a list of words. Returns one parsed JSON table per command that
    prints one (list/find), in order. secret=True: the words hold a secret (an IPsec key),
    so ovs-vsctl must not log its command line ("Called as ...") to syslog.
    """
    argv = [VSCTL, "--timeout=%d" % VSCTL_TIMEOUT_S, "--format=json", "--data=json"]
    if opts.get("secret"):
        argv += ["-vsyslog:off", "-vfile:off"]
    for command in commands:
        argv.append("--")
        argv.extend(command)
    try:
        status, out, err = run(argv, VSCTL_TIMEOUT_S + 5)
    except FileNotFoundError:
        raise HostError("NOT_AN_OVS_HOST", "%s is not installed on this host" % VSCTL)
    except subprocess.TimeoutExpired:
        raise OvsError("ovs-vsctl did not finish within %d s" % (VSCTL_TIMEOUT_S + 5))
    if status != 0:
        raise OvsError((err.strip() or out.strip() or "exit status %d" % status))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def value(v):
    """Decodes an OVSDB JSON datum: maps to dicts, sets to lists, uuids to strings."""
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
        kind, body = v
        if kind == "map":
            return {k: value(x) for k, x in body}
        if kind == "set":
            return [value(x) for x in body]
        if kind in ("uuid", "named-uuid"):
            return body
    return v


def rows(table):
    heads = table["headings"]
    return [{h: value(cell) for h, cell in zip(heads, row)} for row in table["data"]]


def as_list(v):
    return v if isinstance(v, list) else [v]


def single(v):
    """An optional column: an empty set means absent."""
    if isinstance(v, list):
        return v[0] if v else None
    return v


def tags(prefix, mapping):
    return ["%s:%s=%s" % (prefix, k, json.dumps(str(v))) for k, v in mapping.items()]


def bridges():
    (table,) = vsctl(["--columns=name,datapath_type,external_ids", "list", "Bridge"])
    return rows(table)


def bridge_of(network_id, required=True):
    for b in bridges():
        if b["external_ids"].get(TAG_NETWORK) == network_id:
            return b["name"]
    if required:
        raise HostError("BRIDGE_NOT_FOUND", "no bridge for network %s on this host; set it up first" % network_id)
    return None


def ovs_version():
    try:
        _status, out, _err = run([VSCTL, "--version"], 10)
    except FileNotFoundError:
        raise HostError("NOT_AN_OVS_HOST", "%s is not installed on this host" % VSCTL)
    first = out.splitlines()[0] if out else ""
    return first.rsplit(" ", 1)[-1] if first else "unknown"


def rundir_file(name):
    """A file in Open vSwitch's run directory (OVS_RUNDIR in a lab, else the system one)."""
    return os.path.join(os.environ.get("OVS_RUNDIR") or "/var/run/openvswitch", name)


# ---------------------------------------------------------------- ovs-ofctl


def ofctl(what, argv, stdin=None):
    try:
        status, out, err = run([OFCTL, "-O", "OpenFlow14"] + argv, VSCTL_TIMEOUT_S, stdin=stdin)
    except FileNotFoundError:
        raise HostError("NOT_AN_OVS_HOST", "%s is not installed on this host" % OFCTL)
    except subprocess.TimeoutExpired:
        raise OvsError("ovs-ofctl did not finish within %d s" % VSCTL_TIMEOUT_S)
    if status != 0:
        raise OvsError("%s: %s" % (what, err.strip() or out.strip() or status))
    return out
