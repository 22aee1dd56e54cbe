/*
 * export.h: the safe fix carried out: what the cache holds (the report's export list, a folder, or
 * all of it) copied into a new Unicode .pst before the OST is rebuilt. The cache is read with
 * src/ost (read-only), the file written with src/pst: every property (named ones remapped through
 * the new file's map), recipients, attachments and embedded messages to any depth, bodies byte for
 * byte. The user's folder paths are recreated under one top folder named after the run, so that an
 * import lands in one place.
 *
 * An item that cannot be read in full is exported with what can be read and listed with the
 * reasons; nothing is skipped silently. The output appears only when complete and never replaces
 * an existing file.
 */
#ifndef OSTRECON_EXPORT_H
#define OSTRECON_EXPORT_H

#include "core/core.h"
#include "report/report.h"

/* Where messages go that are nodes of the cache but listed in no folder's table (Outlook does not
 * show them; `ostrecon ost` counts them as orphan_items): a folder of this name under the top
 * folder. */
#define EXPORT_UNLISTED_FOLDER "Not in any folder"

typedef struct {
	const char *ost_path;     /* the cache (opened read-only) */
	const char *out_path;     /* the .pst to create; must not exist */
	report_t *report;         /* export its list (and note where each item went), or NULL */
	bool all;                 /* every item of the cache (associated ones too) */
	const char *folder;       /* only this folder and below: "Inbox/Projects" (below the IPM subtree)
	                           * or a snapshot path "/Root - Mailbox/IPM_SUBTREE/Inbox"; NULL: any */
	int64_t since;            /* only items dated at or after this FILETIME; 0: any */
	const char *top_name;     /* the top folder's name; NULL: "ostrecon export <UTC time>" */
	bool progress;            /* a progress line on stderr */
} export_options;

typedef struct {
	size_t selected, complete, partial, failed;
	size_t folders;
	size_t unlisted;          /* messages no folder's table lists, exported into UNLISTED_FOLDER */
	size_t not_selected;      /* entries of the report's export list outside --folder or --since */
	bool keys_unknown;        /* the cache's source keys could not be worked out (none added) */
	size_t unreadable_folders; /* folders whose subfolders or messages could not be listed */
	uint64_t bytes;           /* size of the .pst written */
	uint64_t source_bytes;    /* size of the cache file */
	double seconds;
	char top_folder[128];
} export_summary;

/* Exports; 0 when the file was written (summary->partial, ->failed and ->unreadable_folders say
 * whether every item came whole), or a negative or_code when nothing could be written (the cache
 * does not open, the output exists, the disk is full...), in which case no file is left behind.
 * The file is written beside its name and registered with core's signal cleanup
 * (or_cleanup_on_signals): an interrupted run leaves no partial file either. */
int export_run(const export_options *opt, export_summary *summary, or_error *err);

#endif
