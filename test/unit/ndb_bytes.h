/* Building Unicode NDB files byte by byte in the unit tests (test_ndb.c, test_ndb_read.c): little-
 * endian stores, a page's and a block's trailer, and a header whose two B-tree roots are one
 * page each (NBT: bid 1, BBT: bid 2). Needs ndb_crc (ost/ndb.h). */
#ifndef OSTRECON_TEST_NDB_BYTES_H
#define OSTRECON_TEST_NDB_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t sig(uint64_t ib, uint64_t bid)
{
	ib ^= bid;
	return (uint16_t)((uint16_t)(ib >> 16) ^ (uint16_t)ib);
}

/* The trailer of the 512-byte page at `ib` in `file`: ptype, signature, CRC, bid. */
static inline void seal_page(uint8_t *file, size_t ib, uint8_t ptype, uint64_t bid)
{
	uint8_t *pg = file + ib, *t = pg + 496;
	t[0] = t[1] = ptype;
	put16(t + 2, sig(ib, bid));
	put32(t + 4, ndb_crc(0, pg, 496));
	put64(t + 8, bid);
}

/* The trailer of the `cb`-byte block at `ib`, which takes `total` bytes in the file. */
static inline void seal_block(uint8_t *file, uint64_t ib, uint16_t cb, size_t total, uint64_t bid)
{
	uint8_t *t = file + ib + total - 16;
	put16(t, cb);
	put16(t + 2, sig(ib, bid));
	put32(t + 4, ndb_crc(0, file + ib, cb));
	put64(t + 8, bid);
}

static inline void seal_header(uint8_t *h)
{
	put32(h + 4, ndb_crc(0, h + 8, 471));
	put32(h + 524, ndb_crc(0, h + 8, 516));
}

/* An OST header (wVer 23) for a file of `size` bytes, its NBT root page at nbt_ib and its BBT
 * root page at bbt_ib, sealed. */
static inline void put_header(uint8_t *h, uint64_t size, uint64_t nbt_ib, uint64_t bbt_ib)
{
	memcpy(h, "!BDN", 4);
	memcpy(h + 8, "SO", 2);
	put16(h + 10, 23);
	put64(h + 184, size);
	put64(h + 216, 1);
	put64(h + 224, nbt_ib);
	put64(h + 232, 2);
	put64(h + 240, bbt_ib);
	h[512] = 0x80;
	seal_header(h);
}

/* A node B-tree of one leaf page at `ib` (bid 1) holding one node: `nid`, its data block, its
 * parent. */
static inline void put_one_node(uint8_t *file, size_t ib, uint32_t nid, uint64_t data, uint32_t parent)
{
	uint8_t *e = file + ib;
	put64(e, nid);
	put64(e + 8, data);
	put64(e + 16, 0);
	put32(e + 24, parent);
	file[ib + 488] = 1;
	file[ib + 489] = 15;
	file[ib + 490] = 32;
	seal_page(file, ib, 0x81, 1);
}

#endif
