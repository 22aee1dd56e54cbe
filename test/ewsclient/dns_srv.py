#!/usr/bin/python3
"""A DNS server for one test: answers SRV queries from a table over UDP on 127.0.0.1, NXDOMAIN for
everything else. Standard library only.
Usage: dns_srv.py PORT NAME=PRIORITY:WEIGHT:PORT:TARGET ...   (prints "listening" once bound;
one line per query on stderr)"""
import socket
import struct
import sys


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(data):
    """(name, qtype, end offset) of the first question."""
    i, labels = 12, []
    while data[i]:
        n = data[i]
        labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
    return ".".join(labels).lower(), qtype, i + 5


def main():
    port = int(sys.argv[1])
    table = {}
    for spec in sys.argv[2:]:
        name, _, rec = spec.partition("=")
        prio, weight, tport, target = rec.split(":", 3)
        table.setdefault(name.lower().rstrip("."), []).append((int(prio), int(weight), int(tport), target))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    print("listening", flush=True)
    while True:
        data, peer = s.recvfrom(4096)
        if len(data) < 17:
            continue
        try:
            name, qtype, end = parse_question(data)
        except (IndexError, struct.error):
            continue
        answers = table.get(name, []) if qtype == 33 else []
        known = name in table
        sys.stderr.write("dns_srv: %s type %d: %d answers\n" % (name, qtype, len(answers)))
        sys.stderr.flush()
        flags = 0x8180 if known else 0x8183          # response, RD, RA; NXDOMAIN for unknown names
        head = data[:2] + struct.pack(">HHHHH", flags, 1, len(answers), 0, 0)
        out = head + data[12:end]
        for prio, weight, tport, target in answers:
            rdata = struct.pack(">HHH", prio, weight, tport) + encode_name(target)
            out += b"\xc0\x0c" + struct.pack(">HHIH", 33, 1, 60, len(rdata)) + rdata
        s.sendto(out, peer)


if __name__ == "__main__":
    main()
