#!/usr/bin/python3
"""Traffic probe for the vr-manager lab tests (run inside a namespace).

    probe.py serve <port> <name> [udp]      answers every connection / datagram with "<name> <peer-ip>"
    probe.py get <ip> <port> [udp] [--source <ip>] [--timeout <s>]
                                            prints the answer; exits 1 when none came
    probe.py echo <port>                    echoes every line of every TCP connection back
    probe.py hold <ip> <port> <control>     keeps ONE TCP connection open to an echo server;
                                            each line sent to the Unix socket <control> goes
                                            over it and is answered "ok <echo>" or "dead <why>"
"""

import os
import socket
import socketserver
import sys


def serve(port, name, udp):
    if udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        while True:
            _data, peer = s.recvfrom(2048)
            s.sendto(("%s %s\n" % (name, peer[0])).encode(), peer)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        conn, peer = s.accept()
        try:
            conn.sendall(("%s %s\n" % (name, peer[0])).encode())
        except OSError:
            pass
        conn.close()


def get(ip, port, udp, source, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    try:
        if udp:
            s.sendto(b"hello", (ip, port))
            data = s.recvfrom(2048)[0]
        else:
            s.connect((ip, port))
            data = s.recv(2048)
    except OSError as e:
        sys.stderr.write("%s\n" % e)
        return 1
    if not data:
        return 1
    sys.stdout.write(data.decode())
    return 0


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)


def echo(port):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer(("0.0.0.0", port), Echo).serve_forever()


def hold(ip, port, control, timeout):
    conn = socket.create_connection((ip, port), timeout=timeout)
    reader = conn.makefile("rb")
    # The control socket appears only once the connection is up: its path tells the test so.
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(control + ".tmp")
    os.rename(control + ".tmp", control)
    server.listen(4)
    dead = None
    while True:
        client, _ = server.accept()
        with client, client.makefile("rwb") as ctl:
            line = ctl.readline()
            if dead is None:
                try:
                    conn.sendall(line)
                    back = reader.readline()
                    if not back:
                        dead = "closed by the peer"
                except OSError as e:
                    dead = str(e) or e.__class__.__name__
            ctl.write(("dead %s\n" % dead if dead else "ok %s" % back.decode()).encode())


def main(argv):
    opts = {"--source": None, "--timeout": "2"}
    words = []
    i = 1
    while i < len(argv):
        if argv[i] in opts:
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            words.append(argv[i])
            i += 1
    udp = "udp" in words
    words = [w for w in words if w != "udp"]
    if words[0] == "echo":
        return echo(int(words[1]))
    if words[0] == "hold":
        return hold(words[1], int(words[2]), words[3], float(opts["--timeout"]))
    if words[0] == "serve":
        return serve(int(words[1]), words[2], udp)
    return get(words[1], int(words[2]), udp, opts["--source"], float(opts["--timeout"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
