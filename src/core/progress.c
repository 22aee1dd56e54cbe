/*
 * progress.c: progress of the long steps on stderr (core.h).
 *
 * Several steps can run at once (a scan reads the cache file while it pulls the mailbox), so the
 * terminal form is a small board: one line per running step, redrawn in place (cursor up, clear),
 * each line cut to the terminal's width so that it never wraps. A step that ends prints its final
 * line above the board, where it stays. Other forms: plain lines a few seconds apart (text asked
 * for where stderr is not a terminal), and JSON Lines (one object per event, for wrappers).
 */
#include "core.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BOARD_MAX 8            /* steps shown at once */
#define TTY_EVERY_MS 100       /* terminal redraws at most this often */
#define PLAIN_EVERY_MS 5000    /* plain lines of one step at most this often */
#define JSON_EVERY_MS 1000     /* JSON events of one step at most this often */
#define ETA_AFTER_MS 2000      /* no time left before the rate has settled a little */

struct progress_task {
	const char *name;
	int64_t start_ms, last_ms;
	progress_state st;
	bool has_state;
};

static progress_mode mode = PROGRESS_AUTO;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static progress_task *board[BOARD_MAX];
static int n_board;
static int drawn;              /* terminal lines of the board now on screen */
static int64_t last_draw_ms;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void progress_set_mode(progress_mode m)
{
	pthread_mutex_lock(&lock);
	mode = m;
	pthread_mutex_unlock(&lock);
}

progress_mode progress_get_mode(void)
{
	return mode;
}

int progress_mode_parse(const char *text, progress_mode *out)
{
	static const struct {
		const char *name;
		progress_mode m;
	} names[] = {{"auto", PROGRESS_AUTO}, {"always", PROGRESS_TEXT}, {"text", PROGRESS_TEXT},
	             {"never", PROGRESS_NEVER}, {"json", PROGRESS_JSON}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(text, names[i].name) == 0) {
			*out = names[i].m;
			return 0;
		}
	return -1;
}

void progress_state_init(progress_state *st)
{
	memset(st, 0, sizeof *st);
	st->eta_count = -1;
	st->bytes = st->requests = st->retries = st->waiting = st->running = st->failed = -1;
}

int progress_state_count(progress_state *st, const char *name, int64_t done, int64_t total)
{
	if (st->n_count >= PROGRESS_MAX_COUNTS)
		return PROGRESS_MAX_COUNTS - 1;
	st->count[st->n_count] = (progress_count){name, done, total};
	return st->n_count++;
}

/* The form progress takes now: NEVER, TEXT on a terminal (tty true), TEXT elsewhere, or JSON. */
static progress_mode effective(bool *tty)
{
	*tty = isatty(STDERR_FILENO) == 1;
	if (mode == PROGRESS_AUTO)
		return *tty ? PROGRESS_TEXT : PROGRESS_NEVER;
	return mode;
}

static int term_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* 12,345 */
static void put_int(or_buf *b, int64_t v)
{
	char digits[32];
	snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
	size_t n = strlen(digits);
	if (v < 0)
		buf_append(b, "-", 1);
	for (size_t i = 0; i < n; i++) {
		buf_append(b, &digits[i], 1);
		if ((n - i - 1) % 3 == 0 && i + 1 < n)
			buf_append(b, ",", 1);
	}
}

static void put_duration(or_buf *b, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		buf_printf(b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		buf_printf(b, "%ld:%02ld", t / 60, t % 60);
}

/* Seconds left, from the rate of the ETA count so far; -1 when it cannot be told. */
static double eta_s(const progress_task *t, int64_t now)
{
	const progress_state *st = &t->st;
	if (st->eta_count < 0 || st->eta_count >= st->n_count)
		return -1;
	const progress_count *c = &st->count[st->eta_count];
	int64_t elapsed = now - t->start_ms;
	if (c->total < 0 || c->done <= 0 || c->done > c->total || elapsed < ETA_AFTER_MS)
		return -1;
	double rate = (double)c->done / ((double)elapsed / 1000.0);
	return rate > 0 ? (double)(c->total - c->done) / rate : -1;
}

static double mb_per_s(const progress_task *t, int64_t now)
{
	int64_t elapsed = now - t->start_ms;
	if (t->st.bytes < 0 || elapsed <= 0)
		return -1;
	return (double)t->st.bytes / 1e6 / ((double)elapsed / 1000.0);
}

/* "server: 12/45 folders, 3,400/10,000 items, 120 requests, 2 retries waiting, 0:40 left" */
static void text_line(const progress_task *t, int64_t now, bool final, or_buf *b)
{
	const progress_state *st = &t->st;
	buf_printf(b, "%s", t->name);
	if (st->phase && !final)
		buf_printf(b, " (%s)", st->phase);
	buf_append(b, ":", 1);
	for (int i = 0; i < st->n_count; i++) {
		buf_append(b, i ? ", " : " ", i ? 2 : 1);
		put_int(b, st->count[i].done);
		if (st->count[i].total >= 0) {
			buf_append(b, "/", 1);
			put_int(b, st->count[i].total);
		}
		buf_printf(b, " %s", st->count[i].name);
	}
	double mbs = mb_per_s(t, now);
	if (mbs >= 0)
		buf_printf(b, ", %.1f MB/s", mbs);
	if (st->requests >= 0) {
		buf_append(b, ", ", 2);
		put_int(b, st->requests);
		buf_printf(b, " request%s", st->requests == 1 ? "" : "s");
	}
	if (st->waiting > 0)
		buf_printf(b, ", %lld waiting to retry", (long long)st->waiting);
	if (st->running >= 0 && !final)
		buf_printf(b, ", %lld running", (long long)st->running);
	if (st->failed > 0)
		buf_printf(b, ", %lld failed", (long long)st->failed);
	if (final) {
		buf_append(b, ", done in ", 10);
		put_duration(b, (double)(now - t->start_ms) / 1000.0);
	} else {
		double left = eta_s(t, now);
		if (left >= 0) {
			buf_append(b, ", about ", 8);
			put_duration(b, left);
			buf_append(b, " left", 5);
		}
	}
}

static void json_line(const progress_task *t, int64_t now, const char *event, FILE *fp)
{
	const progress_state *st = &t->st;
	or_buf b = {0};
	buf_printf(&b, "{\"event\":\"%s\",\"task\":\"%s\",\"elapsed_s\":%.3f", event, t->name,
	           (double)(now - t->start_ms) / 1000.0);
	if (t->has_state) {
		if (st->phase && strcmp(event, "progress") == 0)
			buf_printf(&b, ",\"phase\":\"%s\"", st->phase);
		for (int i = 0; i < st->n_count; i++) {
			buf_printf(&b, ",\"%s\":{\"done\":%lld", st->count[i].name, (long long)st->count[i].done);
			if (st->count[i].total >= 0)
				buf_printf(&b, ",\"total\":%lld", (long long)st->count[i].total);
			buf_append(&b, "}", 1);
		}
		if (st->bytes >= 0) {
			buf_printf(&b, ",\"bytes\":%lld", (long long)st->bytes);
			double mbs = mb_per_s(t, now);
			if (mbs >= 0)
				buf_printf(&b, ",\"mb_per_s\":%.2f", mbs);
		}
		static const char *const names[] = {"requests", "retries", "retries_waiting", "running", "failed"};
		const int64_t vals[] = {st->requests, st->retries, st->waiting, st->running, st->failed};
		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
			if (vals[i] >= 0)
				buf_printf(&b, ",\"%s\":%lld", names[i], (long long)vals[i]);
		double left = strcmp(event, "progress") == 0 ? eta_s(t, now) : -1;
		if (left >= 0)
			buf_printf(&b, ",\"eta_s\":%.0f", ceil(left));
	}
	buf_append(&b, "}\n", 2);
	if (b.data)
		fputs(b.data, fp); /* one write per line: wrappers read whole lines */
	fflush(fp);
	buf_free(&b);
}

/* Moves the cursor to where the board began and clears from there (the board is gone). */
static void erase_board(void)
{
	if (!drawn)
		return;
	fputc('\r', stderr);
	for (int i = 1; i < drawn; i++)
		fputs("\033[A", stderr);
	fputs("\033[J", stderr);
	drawn = 0;
}

static void draw_board(int64_t now)
{
	int width = term_width();
	or_buf out = {0};
	if (drawn) {
		buf_append(&out, "\r", 1);
		for (int i = 1; i < drawn; i++)
			buf_append(&out, "\033[A", 3);
		buf_append(&out, "\033[J", 3);
	}
	int lines = 0;
	for (int i = 0; i < n_board; i++) {
		if (!board[i]->has_state)
			continue;
		or_buf line = {0};
		text_line(board[i], now, false, &line);
		if (lines)
			buf_append(&out, "\n", 1);
		size_t n = line.len < (size_t)(width - 1) ? line.len : (size_t)(width - 1); /* ASCII: bytes are columns */
		buf_append(&out, line.data ? line.data : "", n);
		buf_free(&line);
		lines++;
	}
	if (out.data)
		fwrite(out.data, 1, out.len, stderr);
	fflush(stderr);
	buf_free(&out);
	drawn = lines;
	last_draw_ms = now;
}

progress_task *progress_start(const char *name)
{
	bool tty;
	pthread_mutex_lock(&lock);
	progress_mode m = effective(&tty);
	progress_task *t = NULL;
	if (m != PROGRESS_NEVER && (t = calloc(1, sizeof *t))) {
		t->name = name;
		t->start_ms = t->last_ms = now_ms();
		progress_state_init(&t->st);
		if (m == PROGRESS_JSON)
			json_line(t, t->start_ms, "start", stderr);
		else if (tty && n_board < BOARD_MAX)
			board[n_board++] = t;
	}
	pthread_mutex_unlock(&lock);
	return t;
}

void progress_update(progress_task *t, const progress_state *st)
{
	if (!t)
		return;
	bool tty;
	pthread_mutex_lock(&lock);
	progress_mode m = effective(&tty);
	t->st = *st;
	bool first = !t->has_state;
	t->has_state = true;
	int64_t now = now_ms();
	if (m == PROGRESS_JSON) {
		if (now - t->last_ms >= JSON_EVERY_MS) {
			json_line(t, now, "progress", stderr);
			t->last_ms = now;
		}
	} else if (m == PROGRESS_TEXT && tty) {
		if (first || now - last_draw_ms >= TTY_EVERY_MS)
			draw_board(now);
	} else if (m == PROGRESS_TEXT && now - t->last_ms >= PLAIN_EVERY_MS) {
		or_buf line = {0};
		text_line(t, now, false, &line);
		buf_append(&line, "\n", 1);
		fputs(line.data ? line.data : "", stderr);
		buf_free(&line);
		t->last_ms = now;
	}
	pthread_mutex_unlock(&lock);
}

void progress_finish(progress_task *t, const progress_state *st)
{
	if (!t)
		return;
	bool tty;
	pthread_mutex_lock(&lock);
	progress_mode m = effective(&tty);
	if (st) {
		t->st = *st;
		t->has_state = true;
	}
	int64_t now = now_ms();
	int at = -1;
	for (int i = 0; i < n_board; i++)
		if (board[i] == t)
			at = i;
	if (at >= 0) {
		memmove(&board[at], &board[at + 1], (size_t)(n_board - at - 1) * sizeof *board);
		n_board--;
	}
	if (m == PROGRESS_JSON) {
		json_line(t, now, st ? "end" : "stopped", stderr);
	} else if (m == PROGRESS_TEXT && st) {
		or_buf line = {0};
		text_line(t, now, true, &line);
		buf_append(&line, "\n", 1);
		if (at >= 0)
			erase_board();
		fputs(line.data ? line.data : "", stderr);
		buf_free(&line);
		if (at >= 0 && n_board)
			draw_board(now);
		fflush(stderr);
	} else if (at >= 0) {
		erase_board();
		if (n_board)
			draw_board(now);
	}
	pthread_mutex_unlock(&lock);
	free(t);
}

void progress_before_log(void)
{
	pthread_mutex_lock(&lock);
	erase_board();
	pthread_mutex_unlock(&lock);
}
