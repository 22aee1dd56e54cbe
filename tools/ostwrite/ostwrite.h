/* ostwrite: writes a fixture (tools/fixture) as a .pst or .ost file, optionally damaged. */
#ifndef OSTWRITE_H
#define OSTWRITE_H

#include "../fixture/fixture.h"

enum ow_format { OW_PST, OW_OST, OW_OST4K };

enum ow_damage {
	OW_DAMAGE_NONE,
	OW_DAMAGE_BAD_BLOCK_CRC,
	OW_DAMAGE_TRUNCATE,
	OW_DAMAGE_BAD_BTREE_POINTER,
	OW_DAMAGE_ZERO_PAGE,
	OW_DAMAGE_UNREADABLE_MESSAGE,
	OW_DAMAGE_UNLISTED_MESSAGE,
};

struct ow_options {
	enum ow_format format;
	enum ow_damage damage;
	const char *out_path;
	const char *damage_report; /* JSON file describing the damage, or NULL */
	unsigned data_block_size;  /* 0: 8176; else bytes of data per block of values (ost4k only) */
};

int ow_write_file(const struct fixture *fx, const struct ow_options *opt, struct fx_error *err);

#endif
