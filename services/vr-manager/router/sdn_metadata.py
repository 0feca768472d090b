#!/usr/bin/python3
"""User data, metadata and password service of the virtual router, as CloudStack's router serves them.

    sdn_metadata.py --data <metadata.json> --pidfile <file> --listen "<ip> <ip> ..."

Listens on every given address, port 80 (http://<router>/latest/user-data,
/latest/meta-data/, /latest/meta-data/<name>, and CloudStack's short /latest/<name>) and
port 8080 (the password service: `DomU_Request: send_my_password` / `saved_password`).
Started by sdn-router (sdn_guest_services.py): it binds first, then goes to the
background, so its exit status says whether it serves.

A guest is known by the address its request came from and the router address it reached:
it reads its own data and nobody else's (the router's filter drops a guest packet whose
source address is not the one bound to its MAC). The data file is read again when it
changes, so a new generation needs no signal. No password is ever stored here:
send_my_password answers "saved_password", as CloudStack's router does once a password
was fetched, and cloud-init then keeps the one it has.
"""

import argparse
import base64
import json
import os
import socket
import sys
import threading

from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import TCPServer, ThreadingMixIn

sys.dont_write_bytecode = True

META_FIELDS = (
    "availability-zone",
    "cloud-identifier",
    "instance-id",
    "local-hostname",
    "local-ipv4",
    "public-hostname",
    "public-ipv4",
    "public-keys",
    "vm-id",
)


class Data(object):
    """The data file, read again whenever its modification time or size changes."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.guests = {}

    def guest(self, local, remote):
        with self.lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                if stamp != self.stamp:
                    with open(self.path) as f:
                        self.guests = json.load(f).get("guests", {})
                    self.stamp = stamp
            except (IOError, OSError, ValueError):
                self.guests, self.stamp = {}, None
            return self.guests.get("%s %s" % (local, remote))


def answer_metadata(guest, path):
    """(status, body) for a GET of `path` by `guest` (None: not a guest of this router)."""
    if guest is None:
        return 404, b"not found\n"
    path = "/" + "/".join(p for p in path.split("?")[0].split("/") if p)
    meta = dict((k, v) for k, v in guest["meta-data"].items() if v != "")
    if path in ("/latest", "/latest/"):
        return 200, b"meta-data\nuser-data\n"
    if path == "/latest/user-data":
        if not guest.get("user-data"):
            return 404, b"no user data\n"
        return 200, base64.b64decode(guest["user-data"])
    if path == "/latest/meta-data":
        return 200, ("\n".join(k for k in META_FIELDS if k in meta) + "\n").encode()
    for prefix in ("/latest/meta-data/", "/latest/"):
        if path.startswith(prefix):
            name = path[len(prefix):]
            if name in meta:
                return 200, meta[name].encode()
    return 404, b"not found\n"


def answer_password(request):
    """CloudStack's password server: no password is kept here, so there is none to send."""
    if request in ("send_my_password", "saved_password"):
        return "saved_password"
    return "bad_request"


def handler_for(data, port):
    class Handler(BaseHTTPRequestHandler):
        server_version = "sdn-metadata"
        sys_version = ""

        def do_GET(self):
            local = self.connection.getsockname()[0]
            remote = self.client_address[0]
            if port == 8080:
                status, body = 200, answer_password(self.headers.get("DomU_Request", "")).encode()
            else:
                status, body = answer_metadata(data.guest(local, remote), self.path)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):  # no request log: the guests' paths are theirs
            pass

    return Handler


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer's own asks DNS for the address's name (getfqdn): a router whose
        # resolver is unreachable would wait for it. The name is never used here.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--listen", required=True)
    args = parser.parse_args(argv[1:])
    data = Data(args.data)
    servers = []
    try:
        for address in args.listen.split():
            for port in (80, 8080):
                servers.append(Server((address, port), handler_for(data, port)))
    except (OSError, socket.error) as e:
        sys.stderr.write("sdn_metadata: cannot listen: %s\n" % e)
        return 1
    # Bound: go to the background, so the parent's exit status says it serves.
    child = os.fork()
    if child > 0:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % child)
        os.replace(args.pidfile + ".tmp", args.pidfile)
        os._exit(0)
    os.setsid()
    threads = [threading.Thread(target=s.serve_forever) for s in servers]
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
