/* cmd_ost.c: `ostrecon ost FILE`: snapshot a cache file. */
#include "cli.h"
#include "ost/ost.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

int cli_reader_parse(const char *name, ost_reader *out)
{
	if (strcmp(name, "native") == 0)
		*out = OST_READER_NATIVE;
	else if (strcmp(name, "libpff") == 0)
		*out = OST_READER_LIBPFF;
	else
		return -1;
	return 0;
}

static void help(void)
{
	printf("Usage: ostrecon ost FILE [-o OUT] [--mailbox ADDRESS] [--reader native|libpff] [--recover]\n"
	       "                        [--no-crc-check] [--progress[=WHEN]|--no-progress] [-q|-v]\n\n"
	       "Lists an Outlook cache file (.ost, or .pst) read-only and writes its snapshot (JSON Lines,\n"
	       "docs/SNAPSHOT.md): the folder tree, every message with its source key and the properties\n"
	       "the comparison uses, every part that could not be read, and an integrity section.\n\n"
	       "  -o, --output OUT     write the snapshot to OUT (default: standard output); written to a\n"
	       "                       temporary file and renamed, so OUT is never left half-written\n"
	       "      --mailbox ADDR   record the mailbox address in the snapshot\n"
	       "      --reader NAME    native (default): the file's node database read directly, in time\n"
	       "                       linear in its size; libpff: Debian's libpff, whose opening of a\n"
	       "                       file grows with the square of its messages (a cross-check)\n"
	       "      --recover        also run libpff's scan for deleted (recoverable) items and count\n"
	       "                       them; it opens the file with libpff and reads all of it\n"
	       "      --no-recover     do not (the default)\n"
	       "      --no-crc-check   skip the scan of the file's own page and block checksums (CRCs,\n"
	       "                       trailers), which reads every block once\n"
	       "%s"
	       "      --no-progress    no progress on stderr (as --progress=never)\n"
	       "  -q, --quiet          only errors on stderr\n"
	       "  -v, --verbose        more detail on stderr\n"
	       "      --log-file FILE  also write a timestamped log to FILE (-v detail at least)\n"
	       "  -h, --help           this help\n\n"
	       "Exit codes: 0 read completely, 2 snapshot written but parts of the file could not be read\n"
	       "(listed in it), 3 the file cannot be read at all (nothing written), 64 usage error.\n",
	       cli_progress_help);
}

int cmd_ost(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"mailbox", required_argument, NULL, 'm'},
		{"no-recover", no_argument, NULL, 'R'}, {"no-crc-check", no_argument, NULL, 'C'},
		{"recover", no_argument, NULL, 'r'}, {"reader", required_argument, NULL, 'E'},
		{"no-progress", no_argument, NULL, 'P'}, CLI_PROGRESS_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'}, CLI_LOG_LONG_OPTIONS, {0}};
	const char *out = "-";
	ost_options opt = {.recover = false, .progress = true};
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		int r = cli_progress_option(c, optarg, "ost");
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case 'm': opt.mailbox = optarg; break;
		case 'P': opt.progress = false; break;
		case 'R': opt.recover = false; break;
		case 'r': opt.recover = true; break;
		case 'E':
			if (cli_reader_parse(optarg, &opt.reader) != 0)
				return cli_usage_error("ost", "--reader takes native or libpff");
			break;
		case 'C': opt.no_crc_check = true; break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("ost", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("ost", optind >= argc ? "a cache file is required" : "only one cache file at a time");
	const char *path = argv[optind];

	struct stat st;
	if (stat(path, &st) != 0) {
		log_error("%s: %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	if (S_ISDIR(st.st_mode)) {
		log_error("%s is a directory, not a cache file", path);
		return EXIT_ERROR;
	}
	if (strcmp(out, "-") != 0 && cli_same_file(out, path)) {
		log_error("refusing to write the snapshot over the cache file itself");
		return EXIT_USAGE;
	}
	char options_json[96];
	ost_options_describe(&opt, options_json, sizeof options_json);
	opt.options_json = options_json;

	ost_summary sum;
	or_error err = {0};
	char what[1100];
	snprintf(what, sizeof what, "the listing of %s", path);
	or_set_activity(what);
	if (ost_capture(path, &opt, out, &sum, &err) != 0) {
		log_error("%s: %s", path, err.message);
		return EXIT_ERROR;
	}
	log_info("%s: %zu folders, %zu messages, %zu read errors%s%s; %zu objects without a full key",
	         path, sum.folders, sum.items, sum.errors, sum.corrupted ? ", file flagged as corrupted" : "",
	         sum.bad_checksums ? ", bad pages or blocks (checksums)" : "", sum.unresolved_keys);
	return sum.errors || sum.corrupted || sum.bad_checksums ? EXIT_INCOMPLETE : EXIT_OK;
}
