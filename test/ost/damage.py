#!/usr/bin/python3
"""Writes a damaged copy of a PST/OST file.
Usage: damage.py IN OUT MODE [SEED]
  truncate    keep the first 60% of the file
  index       overwrite 64 random bytes in each B-tree root page (descriptor and offset index)
  data        overwrite 16 random runs of 32 bytes in the second half of the file (data blocks)
  header      overwrite 32 random bytes of the file header after the signature"""
import random, struct, sys

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
else:
    sys.exit('unknown mode ' + mode)
open(dst, 'wb').write(data)
