"""Counts the tunnel packets crossing one underlay port, by encapsulation and key.

Run inside the lab's underlay namespace: `underlay_capture.py <interface> <seconds>`.
Prints "ready" once its socket is open, reads raw frames (AF_PACKET) for that long, then
prints one JSON object: for each
"gre:<key>" (IPv4 protocol 47 with a key) and "vxlan:<vni>" (UDP to port 4789) seen, how
many packets carried it and how many of those carry an ICMP echo inside. What a tcpdump
would show, without tcpdump on the machine.
"""

import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
GRE_KEY_PRESENT = 0x2000
GRE_CHECKSUM_PRESENT = 0x8000
VXLAN_PORT = 4789


def inner_is_icmp_echo(frame):
    """An inner Ethernet frame holding an IPv4 ICMP echo request or reply."""
    if len(frame) < 35 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP or frame[23] != 1:
        return False
    ihl = (frame[14] & 0x0F) * 4
    return len(frame) > 14 + ihl and frame[14 + ihl] in (0, 8)


def classify(frame):
    """("gre", key, inner) or ("vxlan", vni, inner) for a tunnel packet, else None."""
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ihl = (frame[14] & 0x0F) * 4
    proto, body = frame[23], frame[14 + ihl :]
    if proto == 47 and len(body) >= 8:
        flags = struct.unpack("!H", body[0:2])[0]
        if not flags & GRE_KEY_PRESENT:
            return ("gre", None, b"")
        at = 8 if flags & GRE_CHECKSUM_PRESENT else 4
        return ("gre", struct.unpack("!I", body[at : at + 4])[0], body[at + 4 :])
    if proto == 17 and len(body) >= 16 and struct.unpack("!H", body[2:4])[0] == VXLAN_PORT:
        return ("vxlan", int.from_bytes(body[12:15], "big"), body[16:])
    return None


def main():
    interface, seconds = sys.argv[1], float(sys.argv[2])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((interface, 0))
    s.settimeout(0.2)
    # The caller starts its traffic on this line: nothing sent before it would be seen.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    seen = {}
    end = time.time() + seconds
    while time.time() < end:
        try:
            frame = s.recv(65535)
        except socket.timeout:
            continue
        kind = classify(frame)
        if kind is None:
            continue
        entry = seen.setdefault("%s:%s" % (kind[0], kind[1]), {"packets": 0, "icmp": 0})
        entry["packets"] += 1
        if inner_is_icmp_echo(kind[2]):
            entry["icmp"] += 1
    print(json.dumps(seen, sort_keys=True))


if __name__ == "__main__":
    main()
