#!/usr/bin/python3
"""Asks for a DHCP offer for a MAC until one comes (for benchmarks: a fine-grained DHCP client).

    dhcp_probe.py <interface> <mac> <timeout seconds>

Broadcasts a DHCPDISCOVER with the MAC as chaddr (broadcast flag set) every 10 ms from
<interface> and prints "<milliseconds until the offer> <offered address>" once an OFFER
for it arrives; exits 1 when none came in time.
"""

import random
import select
import socket
import struct
import sys
import time

SO_BINDTODEVICE = 25


def discover(mac, xid):
    chaddr = bytes(int(b, 16) for b in mac.split(":")) + b"\0" * 10
    head = struct.pack("!BBBBIHH4s4s4s4s16s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr)
    options = b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\x37\x03\x01\x03\x06" + b"\xff"
    return head + b"\0" * 192 + options


def main(argv):
    iface, mac, timeout = argv[1], argv[2].lower(), float(argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode())
    s.bind(("0.0.0.0", 68))
    xid = random.getrandbits(32)
    packet = discover(mac, xid)
    start = time.monotonic()
    next_send = start
    while time.monotonic() - start < timeout:
        now = time.monotonic()
        if now >= next_send:
            s.sendto(packet, ("255.255.255.255", 67))
            next_send = now + 0.01
        ready, _, _ = select.select([s], [], [], max(0.0, next_send - time.monotonic()))
        if not ready:
            continue
        data = s.recv(2048)
        if len(data) < 240 or struct.unpack("!I", data[4:8])[0] != xid:
            continue
        opts = data[240:]
        if b"\x35\x01\x02" in opts:  # DHCPOFFER
            print("%.1f %s" % ((time.monotonic() - start) * 1000, socket.inet_ntoa(data[16:20])))
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
