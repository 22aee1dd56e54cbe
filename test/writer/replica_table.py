"""Reads descriptor 0x801 (the replica GUID table, a "6c" heap) of an unencrypted OST straight from
the file, independently of ostwrite's code, and prints {replid: GUID} as JSON. It walks the node
B-tree and block B-tree, inflates 4 KiB-format blocks, and follows the HN: hidUserRoot -> 6c header
(BTH hid, values hid) -> BTH records (GUID, replid); it checks values[replid] == GUID.
Usage: replica_table.py FILE"""
import json
import struct
import sys
import zlib

d = open(sys.argv[1], "rb").read()
k4 = struct.unpack_from("<H", d, 10)[0] == 36
PG, AREA = (4096, 4056) if k4 else (512, 488)


def leaves(ib, out):
    if k4:
        n, _, size, level = struct.unpack_from("<HHBB", d, ib + AREA)
    else:
        n, _, size, level = struct.unpack_from("<BBBB", d, ib + AREA)
    for i in range(n):
        e = d[ib + i * size: ib + (i + 1) * size]
        if level:
            leaves(struct.unpack_from("<Q", e, 16)[0], out)
        else:
            out.append(e)


nbt, bbt = [], []
leaves(struct.unpack_from("<Q", d, 224)[0], nbt)
leaves(struct.unpack_from("<Q", d, 240)[0], bbt)
blocks = {}
for e in bbt:
    bid, ib, cb = struct.unpack_from("<QQH", e)
    blocks[bid & ~1] = (ib, cb)
node = [e for e in nbt if struct.unpack_from("<Q", e)[0] == 0x801]
if not node:
    sys.exit("no descriptor 0x801")
ib, cb = blocks[struct.unpack_from("<Q", node[0], 8)[0] & ~1]
data = d[ib:ib + cb]
if k4:
    trailer = ib + ((cb + 24 + 511) // 512) * 512 - 24
    if struct.unpack_from("<H", d, trailer + 18)[0] != cb:
        data = zlib.decompress(data)
assert data[2] == 0xEC and data[3] == 0x6C, "not a 6c heap"
pm = struct.unpack_from("<H", data, 0)[0]
n_alloc = struct.unpack_from("<H", data, pm)[0]
offs = struct.unpack_from("<%dH" % (n_alloc + 1), data, pm + 4)


def alloc(hid):
    i = (hid >> 5) & 0x7FF
    return data[offs[i - 1]:offs[i]]


root = alloc(struct.unpack_from("<I", data, 4)[0])
bth_hid, vals_hid = struct.unpack_from("<II", root)
bth = alloc(bth_hid)
assert bth[0] == 0xB5 and bth[1] == 16 and bth[2] == 2 and bth[3] == 0, "unexpected BTH header"
recs = alloc(struct.unpack_from("<I", bth, 4)[0])
vals = alloc(vals_hid)
table = {}
for i in range(0, len(recs), 18):
    guid, replid = recs[i:i + 16].hex(), struct.unpack_from("<H", recs, i + 16)[0]
    assert vals[replid * 16:replid * 16 + 16].hex() == guid, "values[%d] is not its GUID" % replid
    table[replid] = guid
keys = [recs[i:i + 16] for i in range(0, len(recs), 18)]
assert keys == sorted(keys), "records not sorted by GUID"
print(json.dumps(table, sort_keys=True))
