"""The router program's contact with the system: running programs, reading the links,
writing kernel settings, and the typed error every module of the program raises."""

import json
import subprocess


class RouterError(Exception):
    """A failure with a stable code; the message says why, for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def run(argv, stdin=None, check=True):
    """Runs argv with text pipes; with check, a non-zero exit raises COMMAND_FAILED.

    Spelled for Python 3.6 like the host programs (subprocess.run's capture and text
    keywords arrived in 3.7): one rule for every program we ship, whatever Python its
    machine has."""
    p = subprocess.run(
        argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60
    )
    if check and p.returncode != 0:
        raise RouterError("COMMAND_FAILED", "%s exited with %d: %s" % (" ".join(argv[:3]), p.returncode, tail(p)))
    return p


def tail(p):
    text = (p.stderr or p.stdout or "").strip()
    return text[-800:] if text else "(no output)"


def links():
    return json.loads(run(["ip", "-j", "addr", "show"]).stdout or "[]")


def write_proc(path, text):
    """Writes a kernel setting (/proc/sys/...)."""
    with open(path, "w") as f:
        f.write(text)
