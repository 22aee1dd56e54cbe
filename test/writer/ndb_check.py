"""Checks the NDB layer of a .pst/.ost independently of ostwrite's code: header CRCs, every B-tree
page (type, CRC, signature, back pointer), every block of the block B-tree (CRC over the stored
bytes, signature, back pointer, 4 KiB trailer sizes; zlib data must inflate to the stated size) and
that the AMap marks every page and block allocated. Works on real Outlook files too (encrypted
or not, since CRCs cover the stored bytes). Prints a summary; exit 1 on the first kind of error.
Usage: ndb_check.py FILE"""
import struct
import sys
import zlib

d = open(sys.argv[1], "rb").read()
errors = []


def crc(b):
    return zlib.crc32(b, 0xFFFFFFFF) ^ 0xFFFFFFFF  # MS-PST's CRC: initial 0, no final xor


def sig(ib, bid):
    v = ib ^ bid
    return ((v >> 16) ^ v) & 0xFFFF


ver = struct.unpack_from("<H", d, 10)[0]
k4 = ver == 36
PG, AREA, BODY = (4096, 4056, 4072) if k4 else (512, 488, 496)
ALIGN, TRAILER = (512, 24) if k4 else (64, 16)
UNIT, COVER, FIRST = (512, 4072 * 8 * 512, 0x22000) if k4 else (64, 496 * 8 * 64, 0x4400)
if struct.unpack_from("<I", d, 4)[0] != crc(d[8:8 + 471]):
    errors.append("header: partial CRC")
if struct.unpack_from("<I", d, 524)[0] != crc(d[8:8 + 516]):
    errors.append("header: full CRC")
pages = []


def walk(ib, bid, ptype, out):
    p = d[ib:ib + PG]
    if len(p) < PG:
        errors.append("page at %d beyond the end" % ib)
        return
    t = p[BODY:]
    if t[0] != ptype or t[1] != ptype:
        errors.append("page at %d: type %02x" % (ib, t[0]))
        return
    if struct.unpack_from("<I", t, 4)[0] != crc(p[:BODY]):
        errors.append("page at %d: CRC" % ib)
    if struct.unpack_from("<Q", t, 8)[0] != bid:
        errors.append("page at %d: back pointer" % ib)
    if struct.unpack_from("<H", t, 2)[0] != sig(ib, bid):
        errors.append("page at %d: signature" % ib)
    pages.append(ib)
    if k4:
        n, _, size, level = struct.unpack_from("<HHBB", p, AREA)
    else:
        n, _, size, level = struct.unpack_from("<BBBB", p, AREA)
    for i in range(n):
        e = p[i * size:(i + 1) * size]
        if level:
            cbid, cib = struct.unpack_from("<QQ", e, 8)
            walk(cib, cbid, ptype, out)
        else:
            out.append(e)


nbt, bbt = [], []
walk(struct.unpack_from("<Q", d, 224)[0], struct.unpack_from("<Q", d, 216)[0], 0x81, nbt)
walk(struct.unpack_from("<Q", d, 240)[0], struct.unpack_from("<Q", d, 232)[0], 0x80, bbt)
spans = []
for e in bbt:
    bid, ib, cb = struct.unpack_from("<QQH", e)
    total = (cb + TRAILER + ALIGN - 1) // ALIGN * ALIGN
    t = d[ib + total - TRAILER:ib + total]
    if len(t) < TRAILER:
        errors.append("block %d beyond the end" % bid)
        continue
    tcb, tsig, tcrc, tbid = struct.unpack_from("<HHIQ", t)
    data = d[ib:ib + cb]
    if tcb != cb:
        errors.append("block %d: size %d in trailer, %d in index" % (bid, tcb, cb))
    if tcrc != crc(data):
        errors.append("block %d: CRC" % bid)
    if tbid != bid:
        errors.append("block %d: back pointer %d" % (bid, tbid))
    if tsig != sig(ib, bid):
        errors.append("block %d: signature" % bid)
    if k4:
        inflated = struct.unpack_from("<H", t, 18)[0]
        try:
            if inflated != cb and len(zlib.decompress(data)) != inflated:
                errors.append("block %d: inflates to another size" % bid)
        except zlib.error:
            errors.append("block %d: does not inflate" % bid)
    spans.append((ib, total))
if struct.unpack_from("<B", d, 248)[0] == 2:  # fAMapValid: the maps must cover what is used
    def allocated(off):
        region = (off - FIRST) // COVER
        amap = FIRST + region * COVER
        bit = (off - amap) // UNIT
        return d[amap + bit // 8] & (0x80 >> (bit % 8))
    for ib, total in spans + [(p, PG) for p in pages]:
        if not allocated(ib) or not allocated(ib + total - 1):
            errors.append("AMap: %d..%d not marked allocated" % (ib, ib + total))
            break
for e in errors[:20]:
    print("ndb_check:", e)
print("ndb_check: %s: %d pages, %d nodes, %d blocks, %d errors" % (
    sys.argv[1], len(pages), len(nbt), len(bbt), len(errors)))
sys.exit(1 if errors else 0)
