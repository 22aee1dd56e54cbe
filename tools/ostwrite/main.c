/* ostwrite: command line. Expands a fixture into a snapshot, or writes it as .pst/.ost. */
#include "ostwrite.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *o)
{
	fputs("usage: ostwrite --expand FIXTURE [-o OUT]\n"
	      "       ostwrite FIXTURE --format pst|ost|ost4k -o FILE [--damage MODE]\n"
	      "                [--damage-report FILE]\n"
	      "\n"
	      "  --expand           write the expanded mailbox as a snapshot (docs/SNAPSHOT.md)\n"
	      "  --format F         pst: 64-bit Unicode PST; ost: Unicode OST, 512-byte pages;\n"
	      "                     ost4k: Unicode OST, 4 KiB pages, zlib-compressed blocks\n"
	      "  -o, --output FILE  output file (--expand: default stdout)\n"
	      "  --damage MODE      bad-block-crc, truncate, bad-btree-pointer, zero-page,\n"
	      "                     unreadable-message, unlisted-message (docs/FIXTURES.md)\n"
	      "  --damage-report F  write what was damaged as JSON to F (also printed on stderr)\n"
	      "  --data-block-size N  ost4k only: bytes of value data per block (default 8176,\n"
	      "                     at most 65535), to try readers on larger compressed blocks\n"
	      "  -h, --help         this help\n",
	      o);
}

static const struct {
	const char *name;
	enum ow_damage mode;
} damage_modes[] = {
	{"bad-block-crc", OW_DAMAGE_BAD_BLOCK_CRC},
	{"truncate", OW_DAMAGE_TRUNCATE},
	{"bad-btree-pointer", OW_DAMAGE_BAD_BTREE_POINTER},
	{"zero-page", OW_DAMAGE_ZERO_PAGE},
	{"unreadable-message", OW_DAMAGE_UNREADABLE_MESSAGE},
	{"unlisted-message", OW_DAMAGE_UNLISTED_MESSAGE},
};

static int expand(const char *fixture_path, const char *out_path)
{
	struct fixture *fx = NULL;
	struct fx_error err = {{0}};
	FILE *o = stdout;
	char tmp[4096];
	int rc = 1;
	if (fixture_load(&fx, fixture_path, &err) < 0) {
		fprintf(stderr, "ostwrite: %s\n", err.msg);
		goto done;
	}
	if (out_path) {
		/* written aside and renamed, so a reader never sees half a snapshot */
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", out_path) >= (int)sizeof(tmp))
			goto done;
		o = fopen(tmp, "w");
		if (!o) {
			perror(tmp);
			goto done;
		}
	}
	if (fixture_write_snapshot(fx, o, &err) < 0) {
		fprintf(stderr, "ostwrite: %s\n", err.msg);
		goto done;
	}
	if (out_path) {
		int bad = fclose(o) != 0;
		o = stdout;
		if (bad || rename(tmp, out_path) < 0) {
			perror(out_path);
			goto done;
		}
	} else if (fflush(stdout) != 0) {
		goto done;
	}
	rc = 0;
done:
	if (o != stdout) {
		fclose(o);
		remove(tmp);
	}
	fixture_free(fx);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"expand", no_argument, NULL, 'e'},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"damage", required_argument, NULL, 'd'},
		{"damage-report", required_argument, NULL, 'r'},
		{"data-block-size", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ow_options opt = {.format = OW_PST};
	int do_expand = 0, have_format = 0, c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': do_expand = 1; break;
		case 'o': opt.out_path = optarg; break;
		case 'r': opt.damage_report = optarg; break;
		case 'b': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 64 || v > 65535) {
				fputs("ostwrite: --data-block-size takes 64..65535\n", stderr);
				return 2;
			}
			opt.data_block_size = (unsigned)v;
			break;
		}
		case 'f':
			have_format = 1;
			if (strcmp(optarg, "pst") == 0)
				opt.format = OW_PST;
			else if (strcmp(optarg, "ost") == 0)
				opt.format = OW_OST;
			else if (strcmp(optarg, "ost4k") == 0)
				opt.format = OW_OST4K;
			else {
				fprintf(stderr, "ostwrite: unknown format \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'd': {
			size_t i;
			for (i = 0; i < sizeof(damage_modes) / sizeof(damage_modes[0]); i++)
				if (strcmp(optarg, damage_modes[i].name) == 0)
					break;
			if (i == sizeof(damage_modes) / sizeof(damage_modes[0])) {
				fprintf(stderr, "ostwrite: unknown damage mode \"%s\"\n", optarg);
				return 2;
			}
			opt.damage = damage_modes[i].mode;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (do_expand)
		return expand(argv[optind], opt.out_path);
	if (opt.data_block_size && opt.format != OW_OST4K) {
		fputs("ostwrite: --data-block-size is for --format ost4k only\n", stderr);
		return 2;
	}
	if (!have_format || !opt.out_path) {
		fputs("ostwrite: --format and -o are needed to write a file\n", stderr);
		return 2;
	}
	struct fixture *fx = NULL;
	struct fx_error err = {{0}};
	int rc = 1;
	if (fixture_load(&fx, argv[optind], &err) < 0 || ow_write_file(fx, &opt, &err) < 0)
		fprintf(stderr, "ostwrite: %s\n", err.msg[0] ? err.msg : "failed");
	else
		rc = 0;
	fixture_free(fx);
	return rc;
}
