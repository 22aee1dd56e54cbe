#!/usr/bin/python3
"""Writes a damaged copy of a PST/OST file.
Usage: damage.py IN OUT MODE [SEED]
  truncate    keep the first 60% of the file
  index       overwrite 64 random bytes in each B-tree root page (descriptor and offset index)
  data        overwrite 16 random runs of 32 bytes in the second half of the file (data blocks)
  header      overwrite 32 random bytes of the file header after the signature
  far         give the first block of the block B-tree an offset past 2^48 (256 TiB), its page's
              CRC made good again (Unicode and 4 KiB formats): prints that offset"""
import random, struct, sys, zlib

src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
data = bytearray(open(src, 'rb').read())


def smash(offset, length):
    for i in range(offset, min(offset + length, len(data))):
        data[i] = rnd.randrange(256)


if mode == 'truncate':
    data = data[:len(data) * 6 // 10]
elif mode == 'index':
    ver = struct.unpack_from('<H', data, 10)[0]
    if ver >= 23:  # 64-bit: NBT root at 224, BBT root at 240
        roots = [struct.unpack_from('<Q', data, o)[0] for o in (224, 240)]
    else:          # 32-bit: NBT root at 188, BBT root at 196
        roots = [struct.unpack_from('<I', data, o)[0] for o in (188, 196)]
    for r in roots:
        smash(r + rnd.randrange(0, 448), 64)
elif mode == 'data':
    for _ in range(16):
        smash(rnd.randrange(len(data) // 2, len(data) - 32), 32)
elif mode == 'header':
    smash(4 + rnd.randrange(0, 480), 32)
elif mode == 'far':
    ver = struct.unpack_from('<H', data, 10)[0]
    if ver not in (23, 36):
        sys.exit('far: a Unicode or 4 KiB file is needed')
    page, ent_at = (4096, 4096 - 24) if ver == 36 else (512, 512 - 24)
    trailer = page - 16
    ib = struct.unpack_from('<Q', data, 240)[0]  # the block B-tree's root
    while True:
        meta = data[ib + ent_at:ib + ent_at + 8]
        cb_ent, level = (meta[4], meta[5]) if ver == 36 else (meta[2], meta[3])
        if level == 0:
            break
        ib = struct.unpack_from('<Q', data, ib + 16)[0]  # BTENTRY 0: key, BREF (bid, ib)
    far = (1 << 48) + 4096 * rnd.randrange(1, 1 << 20)
    struct.pack_into('<Q', data, ib + 8, far)  # BBTENTRY 0: BREF (bid, ib), cb, cRef
    crc = zlib.crc32(bytes(data[ib:ib + trailer]), 0xFFFFFFFF) ^ 0xFFFFFFFF  # [MS-PST] 5.3: no final xor
    struct.pack_into('<I', data, ib + trailer + 4, crc)
    print(far)
else:
    sys.exit('unknown mode ' + mode)
open(dst, 'wb').write(data)
