#!/usr/bin/python3
"""A long-lived TCP stream for the redundant routers' lab test (run inside a namespace).

    stream.py serve <port>                  sends one byte every 50 ms on every connection
    stream.py follow <ip> <port> <file>     connects, then appends to <file> a line per byte
                                            received ("<ms since epoch>"), and a last line
                                            "end <why>" when the stream ends (reset, closed)
"""

import os
import socket
import sys
import threading
import time


def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)

    def feed(conn):
        try:
            while True:
                conn.sendall(b"x")
                time.sleep(0.05)
        except OSError:
            conn.close()

    while True:
        conn, _ = s.accept()
        threading.Thread(target=feed, args=(conn,), daemon=True).start()


def follow(ip, port, path):
    s = socket.create_connection((ip, port), timeout=5)
    # Waits as long as TCP keeps the connection: the test reads the gap from the file.
    s.settimeout(None)
    out = open(path, "a", buffering=1)
    why = "closed"
    try:
        while True:
            data = s.recv(4096)
            if not data:
                break
            out.write("%d\n" % int(time.time() * 1000))
    except OSError as e:
        why = "%s: %s" % (e.__class__.__name__, e)
    out.write("end %s\n" % why)
    out.close()
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["follow"]:
        follow(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
