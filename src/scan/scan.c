/* scan.c: capture both sides, compare, report (see scan.h). */
#include "scan.h"
#include "ost/ost.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct {
	const char *path;
	snap_t *snap;
	or_error err;
	int rc;
	double ms;
} load_job;

static void *load_one(void *arg)
{
	load_job *j = arg;
	double t0 = now_ms();
	j->rc = snap_load_compared(&j->snap, j->path, &j->err);
	j->ms = now_ms() - t0;
	return NULL;
}

int scan_load_pair(const char *const paths[2], snap_t *out[2], double ms[2], or_error *err)
{
	load_job jobs[2] = {{.path = paths[0]}, {.path = paths[1]}};
	/* Standard input cannot be read by two threads; files can. */
	or_run_two(load_one, &jobs[0], &jobs[1], strcmp(paths[0], "-") != 0 && strcmp(paths[1], "-") != 0);
	for (int s = 0; s < 2; s++)
		if (jobs[s].rc != 0) {
			int rc = or_fail(err, jobs[s].rc, "%s", jobs[s].err.message);
			snap_free(jobs[0].snap);
			snap_free(jobs[1].snap);
			out[0] = out[1] = NULL;
			return rc;
		}
	for (int s = 0; s < 2; s++) {
		out[s] = jobs[s].snap;
		ms[s] = jobs[s].ms;
	}
	return 0;
}

/* "the server (URL) is a@x, the cache (FILE) is b@x" */
static void side_text(const diff_result *r, const scan_compare_options *opt, const diff_sides *d, int s,
                      bool with_mailbox, char *out, size_t size)
{
	const char *in = opt->input[s];
	snprintf(out, size, "the %s%s%s%s", diff_side_label(r, s), in ? " (" : "", in ? in : "", in ? ")" : "");
	if (with_mailbox && d->mailbox[s]) {
		size_t n = strlen(out);
		snprintf(out + n, size - n, " is %s", d->mailbox[s]);
	}
}

static void sides_problem_text(const diff_result *r, const diff_sides *d, const scan_compare_options *opt,
                               char *out, size_t size)
{
	char a[200], b[200];
	side_text(r, opt, d, 0, d->problem != DIFF_SIDES_PST || d->side != 0, a, sizeof a);
	side_text(r, opt, d, 1, d->problem != DIFF_SIDES_PST || d->side != 1, b, sizeof b);
	switch (d->problem) {
	case DIFF_SIDES_PST:
		snprintf(out, size,
		         "%s is a .pst file, not the cache of a mailbox (Outlook caches a mailbox in an .ost); "
		         "the other side: %s",
		         d->side == 0 ? a : b, d->side == 0 ? b : a);
		break;
	case DIFF_SIDES_OTHER_MAILBOX:
		snprintf(out, size,
		         "these are two different mailboxes: %s, %s (two addresses of one mailbox, an alias, differ "
		         "too)",
		         a, b);
		break;
	default: {
		int s = d->comparable[0] <= d->comparable[1] ? 0 : 1;
		snprintf(out, size,
		         "the two sides share almost nothing: %s, %s; %lld of the %lld items of the %s pair (a cache and "
		         "its mailbox pair nearly all of the smaller side's): two mailboxes, or a cache of an earlier "
		         "incarnation of this one",
		         a, b, (long long)d->paired, (long long)d->comparable[s], diff_side_label(r, s));
		break;
	}
	}
}

int scan_compare(const snap_t *a, const snap_t *b, const scan_compare_options *opt, report_t **rep,
                 scan_outcome *outcome, or_error *err)
{
	diff_result *res = NULL;
	*rep = NULL;
	memset(outcome, 0, sizeof *outcome);
	double t0 = now_ms();
	int rc = diff_run(a, b, &opt->diff, &res, err);
	if (rc)
		return or_wrap(err, "comparing");
	double diff_ms = now_ms() - t0;
	diff_sides sides;
	diff_check_sides(res, &sides);
	if (sides.problem != DIFF_SIDES_OK) {
		char why[512];
		sides_problem_text(res, &sides, opt, why, sizeof why);
		if (!opt->force) {
			diff_result_free(res);
			return or_fail(err, OR_ERR_MISMATCH, "%s; --force compares them anyway", why);
		}
		log_warn("%s; compared anyway (--force)", why);
	}
	report_options ropt = {.input = {opt->input[0], opt->input[1]}, .redact = opt->redact, .key = opt->key,
	                       .key_len = opt->key_len, .key_from_file = opt->key_from_file,
	                       .load_ms = {opt->load_ms[0], opt->load_ms[1]}, .diff_ms = diff_ms,
	                       .generated = filetime_now(),
	                       .forced = sides.problem != DIFF_SIDES_OK ? diff_sides_problem_name(sides.problem) : NULL};
	t0 = now_ms();
	if ((rc = report_build(rep, res, &ropt, err)) != 0) {
		diff_result_free(res);
		return or_wrap(err, "building the report");
	}
	report_set_timing(*rep, "report_ms", now_ms() - t0);
	if (opt->capture_ms[0] > 0)
		report_set_timing(*rep, "capture_ms_a", opt->capture_ms[0]);
	if (opt->capture_ms[1] > 0)
		report_set_timing(*rep, "capture_ms_b", opt->capture_ms[1]);

	outcome->verdict = res->advice.verdict;
	outcome->exit_code = diff_verdict_exit_code(res->advice.verdict);
	for (size_t i = 0; i < res->n_findings; i++) {
		const diff_finding *f = &res->findings[i];
		if (f->expected)
			outcome->expected++;
		else if (f->kind < FIND_KIND_COUNT)
			outcome->by_kind[f->kind]++;
	}
	outcome->only_in_cache = res->n_exports;
	outcome->items[0] = res->items[0];
	outcome->items[1] = res->items[1];
	diff_result_free(res);
	return 0;
}

const char *server_protocol_name(server_protocol p)
{
	return p == SERVER_GRAPH ? "graph" : "ews";
}

pull_options *scan_server_pull(scan_server *s)
{
	return s->protocol == SERVER_GRAPH ? &s->graph.pull : &s->ews.pull;
}

const pull_options *scan_server_pull_const(const scan_server *s)
{
	return s->protocol == SERVER_GRAPH ? &s->graph.pull : &s->ews.pull;
}

int scan_server_capture(const scan_server *s, const char *out_path, snap_t **keep, pull_summary *summary,
                        or_error *err)
{
	if (s->protocol == SERVER_GRAPH)
		return keep ? graph_capture_snap(&s->graph, keep, summary, err) : graph_capture(&s->graph, out_path, summary, err);
	return keep ? ews_capture_snap(&s->ews, keep, summary, err) : ews_capture(&s->ews, out_path, summary, err);
}

bool scan_url_is_exchange_online(const char *url)
{
	/* The EWS hosts of Exchange Online, worldwide and in the national clouds. */
	static const char *const hosts[] = {
		"outlook.office365.com", "outlook.office.com", "outlook.office365.us", "outlook-dod.office365.us",
		"partner.outlook.cn", "webmail.apps.mil",
	};
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t n = strcspn(h, ":/?#");
	for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++)
		if (strlen(hosts[i]) == n && strncasecmp(h, hosts[i], n) == 0)
			return true;
	return false;
}

typedef struct {
	const scan_options *opt;
	const char *out;       /* the snapshot file, or NULL: kept in `snap` */
	snap_t *snap;
	ost_summary sum;
	or_error err;
	int rc;
	double ms;
	/* Each side stops when the other fails: a wrong password is not reported after the whole
	 * cache file was read, nor a damaged cache after the whole mailbox was pulled. */
	volatile bool stop_cache, stop_server;
} cache_job;

static void *capture_cache(void *arg)
{
	cache_job *j = arg;
	/* a temporary snapshot is read back at once and removed: it need not reach the disk */
	/* the cache's progress line shows when the server's does (--no-progress, batch: neither) */
	ost_options oo = {.reader = j->opt->reader, .recover = j->opt->recover,
	                  .mailbox = scan_server_pull_const(&j->opt->server)->mailbox, .cancel = &j->stop_cache,
	                  .progress = scan_server_pull_const(&j->opt->server)->progress};
	/* recorded in the cache snapshot's header, and so in the report */
	char options_json[96];
	ost_options_describe(&oo, options_json, sizeof options_json);
	oo.options_json = options_json;
	double t0 = now_ms();
	j->rc = j->out ? ost_capture(j->opt->ost_path, &oo, j->out, &j->sum, &j->err)
	               : ost_capture_snap(j->opt->ost_path, &oo, &j->snap, &j->sum, &j->err);
	j->ms = now_ms() - t0;
	if (j->rc)
		j->stop_server = true;
	return NULL;
}

int scan_check_writable(const char *path, or_error *err)
{
	if (strcmp(path, "-") == 0)
		return 0;
	struct stat st;
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? or_fail(err, OR_ERR_USAGE, "%s is a folder, not a file", path)
		       : access(path, W_OK) == 0 ? 0 : or_fail(err, OR_ERR_USAGE, "%s cannot be written: %s", path, strerror(errno));
	char dir[4096];
	str_copy(dir, path, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		str_copy(dir, ".", sizeof dir);
	if (access(dir, W_OK | X_OK) != 0)
		return or_fail(err, OR_ERR_USAGE, "%s cannot be written: %s: %s", path, dir, strerror(errno));
	return 0;
}

/* Where the two snapshots go when they are kept. */
static int snapshot_paths(const char *dir, char server[600], char cache[600], or_error *err)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return or_fail(err, OR_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
	snprintf(server, 600, "%s/server.jsonl", dir);
	snprintf(cache, 600, "%s/cache.jsonl", dir);
	return 0;
}

int scan_run(const scan_options *opt, report_t **rep, scan_outcome *outcome, or_error *err)
{
	char server_path[600] = "", cache_path[600] = "";
	/* Unless the snapshots are kept, both stay in memory: the comparison gets what it would have
	 * read back from the files, without writing and parsing them. */
	bool in_memory = opt->snapshot_dir == NULL;
	snap_t *snaps[2] = {NULL, NULL};
	*rep = NULL;
	memset(outcome, 0, sizeof *outcome);
	double t0 = now_ms();
	/* What can be checked in a moment is, before either side starts its long part. */
	int rc = ost_probe(opt->ost_path, err);
	if (rc) {
		outcome->cache_unreadable = rc == OR_ERR_FORMAT;
		return or_wrap(err, "cache file");
	}
	if (opt->report_path && (rc = scan_check_writable(opt->report_path, err)) != 0)
		return rc;
	rc = in_memory ? 0 : snapshot_paths(opt->snapshot_dir, server_path, cache_path, err);
	if (rc)
		return rc;

	/* The cache file is read while the server answers: neither waits for the other. */
	cache_job job = {.opt = opt, .out = in_memory ? NULL : cache_path};
	pthread_t th;
	bool threaded = or_thread_create(&th, capture_cache, &job) == 0;
	if (!threaded)
		capture_cache(&job);
	pull_summary es;
	or_error server_err = {0};
	double ts = now_ms();
	scan_server server = opt->server;
	scan_server_pull(&server)->cancel = &job.stop_server;
	int server_rc = scan_server_capture(&server, in_memory ? NULL : server_path, in_memory ? &snaps[0] : NULL,
	                                    &es, &server_err);
	if (server_rc)
		job.stop_cache = true;
	double server_ms = now_ms() - ts;
	const pull_options *po = scan_server_pull_const(&opt->server);
	if (threaded)
		pthread_join(th, NULL);
	outcome->requests = es.requests;
	if (server_rc && job.rc && job.stop_cache) /* the cache stopped because the server failed */
		job.rc = 0;
	if (job.rc) { /* (and the server stopped because of it, if it had not finished) */
		outcome->cache_unreadable = job.rc == OR_ERR_FORMAT;
		rc = or_fail(err, job.rc, "cache file %s: %s", opt->ost_path, job.err.message);
		goto out;
	}
	if (server_rc) {
		rc = or_fail(err, server_rc, "server %s, mailbox %s: %s", po->url, po->mailbox, server_err.message);
		goto out;
	}
	scan_compare_options copt = opt->compare;
	copt.input[0] = opt->snapshot_dir ? server_path : po->url;
	copt.input[1] = opt->ost_path;
	copt.capture_ms[0] = server_ms;
	copt.capture_ms[1] = job.ms;
	if (in_memory) {
		snaps[1] = job.snap;
		job.snap = NULL;
	} else {
		const char *const paths[2] = {server_path, cache_path};
		if ((rc = scan_load_pair(paths, snaps, copt.load_ms, err)) != 0)
			goto out;
	}
	if ((rc = scan_compare(snaps[0], snaps[1], &copt, rep, outcome, err)) != 0)
		goto out;
	outcome->requests = es.requests;
	if (opt->report_path && (rc = report_save(*rep, opt->report_path, err)) != 0) {
		report_free(*rep);
		*rep = NULL;
		goto out;
	}
out:
	snap_free(snaps[0]);
	snap_free(snaps[1]);
	snap_free(job.snap);
	outcome->seconds = (now_ms() - t0) / 1e3;
	return rc;
}
