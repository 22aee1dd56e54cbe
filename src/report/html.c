/*
 * html.c: the report as one self-contained HTML page, and a batch run's index page.
 *
 * Everything the page needs is in the file: the style, a small script that sorts the tables, the
 * chart as inline SVG. A Content-Security-Policy forbids every fetch, so the page opens offline,
 * attached to a ticket, and never reaches the network. It is rendered from the report's JSON form
 * only, so a redacted report gives a redacted page.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Unexpected findings listed at most (the JSON report has them all). */
#define HTML_MAX_FINDINGS 20000
/* Rows the chart shows at most, and at least (filled with the largest folders). */
#define CHART_MAX 40
#define CHART_MIN 12
/* Items listed under "export before rebuilding" at most. */
#define HTML_MAX_EXPORT 500

#define jstr report_jstr
#define jint report_jint
#define jat report_jat

/* ---------------------------------------------------------------- writing */

static void esc(FILE *fp, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default:
			if (*p < 0x20 && *p != '\t' && *p != '\n')
				fputc('?', fp);
			else
				fputc(*p, fp);
		}
	}
}

static void num(FILE *fp, long long v)
{
	char buf[64];
	report_plural(buf, sizeof buf, v, "", "");
	buf[strcspn(buf, " ")] = '\0';
	fputs(buf, fp);
}

static const char *style =
	":root{--ink:#1d2329;--muted:#5b6670;--line:#d8dde2;--bg:#f6f7f9;--ok:#1f7a3d;--warn:#b26a00;--bad:#b3261e;"
	"--info:#5a4fcf;--srv:#2f6db5;--cch:#3c9a5f;--diff:#c8372d;--unv:#d49a00}"
	"*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"color:var(--ink);background:var(--bg)}"
	"header.verdict{padding:22px 32px;color:#fff}header.verdict h1{margin:2px 0 4px;font-size:30px}"
	"header.verdict p{margin:2px 0}.kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;opacity:.85}"
	".v-ok{background:var(--ok)}.v-resync{background:var(--warn)}.v-rebuild{background:var(--bad)}.v-incomplete{background:var(--info)}"
	"main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}section{background:#fff;border:1px solid var(--line);"
	"border-radius:8px;padding:14px 20px;margin:16px 0}h2{font-size:19px;margin:4px 0 10px}h3{font-size:16px;margin:12px 0 6px}"
	".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin:0}"
	".tiles div{border:1px solid var(--line);border-radius:6px;padding:8px 10px}.tiles dt{color:var(--muted);font-size:13px}"
	".tiles dd{margin:0;font-size:22px;font-weight:600}.tiles .hot dd{color:var(--bad)}.tiles .unv dd{color:var(--warn)}"
	"table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;"
	"vertical-align:top}th:first-child,td:first-child{text-align:left}td.path{word-break:break-word}"
	"table.txt th,table.txt td{text-align:left}"
	"th{position:sticky;top:0;background:#eef1f4}th button{all:unset;cursor:pointer;font-weight:600}"
	"th[aria-sort=ascending] button::after{content:' \\25B2'}th[aria-sort=descending] button::after{content:' \\25BC'}"
	"tr.bad td{background:#fdecea}tr.unv td{background:#fff6dc}.only-diff tr.same{display:none}"
	".note{color:var(--muted);font-size:13px}.warn{border-left:4px solid var(--warn);padding:4px 12px;margin:10px 0;background:#fff8ec}"
	"details.group{border:1px solid var(--line);border-radius:6px;margin:6px 0}details.group>summary{padding:6px 10px;cursor:pointer;"
	"font-weight:600}details.group>summary .count{color:var(--muted);font-weight:400}"
	"ul.findings{list-style:none;margin:0;padding:0 10px 6px}ul.findings li{border-top:1px solid var(--line);padding:6px 2px}"
	"ul.findings p{margin:2px 0}.act{color:var(--muted)}.ev{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}"
	"svg text{font:12px system-ui,'DejaVu Sans',sans-serif;fill:var(--ink)}.legend span{display:inline-block;margin-right:14px}"
	".sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}"
	"footer{text-align:center;color:var(--muted);font-size:12px;padding:10px}code{font-size:13px}";

/* Sorts a table's body by the clicked column (numbers by data-v); "only folders with differences";
 * a link ending in #sort=KEY or #sort=KEY-desc (KEY: a column title in lower case, spaces as '-',
 * e.g. #sort=findings-desc) opens the page sorted so. */
static const char *script =
	"(function(){"
	"document.querySelectorAll('table.sortable').forEach(function(t){"
	"var hs=t.tHead.rows[0].cells;"
	"Array.prototype.forEach.call(hs,function(th,i){var b=th.querySelector('button');if(!b)return;"
	"b.addEventListener('click',function(){var asc=th.getAttribute('aria-sort')!=='ascending';"
	"Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort')});"
	"th.setAttribute('aria-sort',asc?'ascending':'descending');var isnum=th.getAttribute('data-type')==='num';"
	"var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);"
	"var key=function(r){var c=r.cells[i],v=c.getAttribute('data-v');return isnum?Number(v===null?c.textContent:v):"
	"(v===null?c.textContent:v).toLowerCase()};"
	"var ks=rows.map(function(r,n){return[key(r),n,r]});"
	"ks.sort(function(a,b){var c=a[0]<b[0]?-1:a[0]>b[0]?1:0;return(asc?c:-c)||a[1]-b[1]});"
	"var f=document.createDocumentFragment();ks.forEach(function(k){f.appendChild(k[2])});body.appendChild(f)})})});"
	"var o=document.getElementById('only-diff'),ft=document.getElementById('folder-table');"
	"if(o&&ft){var u=function(){ft.classList.toggle('only-diff',o.checked)};o.addEventListener('change',u);u()}"
	"var m=/^#sort=([a-z0-9-]+?)(-desc)?$/.exec(location.hash);"
	"if(m){var h=document.querySelector('th[data-key=\"'+m[1]+'\"] button');if(h){h.click();if(m[2])h.click()}}"
	"})();";

static void page_head(FILE *fp, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
	      "script-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"ostrecon " OSTRECON_VERSION "\">\n<title>",
	      fp);
	esc(fp, title);
	fprintf(fp, "</title>\n<style>%s</style></head>\n<body>\n", style);
}

static void page_foot(FILE *fp, const char *note)
{
	fputs("<footer>", fp);
	esc(fp, note);
	fprintf(fp, "</footer>\n<script>%s</script>\n</body></html>\n", script);
}

static int write_page(const char *path, void (*body)(FILE *, const void *), const void *ctx, or_error *err)
{
	atomic_file af;
	int rc = atomic_open(&af, path, err);
	if (rc)
		return rc;
	body(af.fp, ctx);
	if (ferror(af.fp)) {
		int e = errno;
		atomic_abort(&af);
		return or_fail(err, OR_ERR_IO, "cannot write %s: %s", path, strerror(e ? e : EIO));
	}
	return atomic_commit(&af, err);
}

/* ---------------------------------------------------------------- the report page */

static const char *verdict_class(const char *v)
{
	if (strncmp(v, "in_sync", 7) == 0)
		return "v-ok";
	if (strcmp(v, "resync_folders") == 0)
		return "v-resync";
	if (strcmp(v, "incomplete") == 0)
		return "v-incomplete";
	return "v-rebuild";
}

static const char *side_label(const json_t *root, size_t s)
{
	const char *l = jstr(json_array_get(json_object_get(root, "sides"), s), "label");
	return *l ? l : s ? "B" : "A";
}

static void capitalized(FILE *fp, const char *s)
{
	if (*s >= 'a' && *s <= 'z') {
		fputc(*s - 'a' + 'A', fp);
		s++;
	}
	esc(fp, s);
}

static const char *mailbox_of(const json_t *root)
{
	const json_t *sides = json_object_get(root, "sides");
	for (size_t s = 0; s < 2; s++)
		if (*jstr(json_array_get(sides, s), "mailbox"))
			return jstr(json_array_get(sides, s), "mailbox");
	return "";
}

static void verdict_header(FILE *fp, const json_t *root)
{
	const char *v = jstr(root, "verdict");
	const json_t *a = json_object_get(root, "advice");
	fprintf(fp, "<header class=\"verdict %s\" id=\"verdict\"><p class=\"kicker\">ostrecon report", verdict_class(v));
	if (*mailbox_of(root)) {
		fputs(" &middot; ", fp);
		esc(fp, mailbox_of(root));
	}
	fputs("</p>\n<h1>", fp);
	capitalized(fp, report_verdict_words(v));
	fputs("</h1>\n<p class=\"title\">", fp);
	esc(fp, jstr(a, "title"));
	fprintf(fp, "</p>\n<p>Verdict <code>%s</code>, exit code %lld", v, jint(root, "exit_code"));
	if (*jstr(root, "generated")) {
		fputs(", generated ", fp);
		esc(fp, jstr(root, "generated"));
	}
	if (strcmp(jstr(json_object_get(root, "redaction"), "method"), "none") != 0)
		fputs(", redacted (identifying strings replaced by keyed hashes)", fp);
	fputs("</p>\n", fp);
	const char *forced = report_forced_words(root);
	if (forced) {
		fputs("<p class=\"forced\">", fp);
		esc(fp, forced);
		fputs("</p>\n", fp);
	}
	fputs("</header>\n", fp);
}

static void advice_section(FILE *fp, const json_t *root)
{
	const json_t *a = json_object_get(root, "advice"), *v;
	size_t i;
	fputs("<section id=\"advice\"><h2>What to do</h2>\n<ol>", fp);
	json_array_foreach(json_object_get(a, "steps"), i, v) {
		fputs("<li>", fp);
		esc(fp, json_string_value(v) ? json_string_value(v) : "");
		fputs("</li>", fp);
	}
	fputs("</ol>\n", fp);
	const json_t *folders = json_object_get(a, "folders");
	if (json_array_size(folders)) {
		fputs("<p>Folders with differences:</p><ul>", fp);
		json_array_foreach(folders, i, v) {
			fputs("<li>", fp);
			esc(fp, json_string_value(v) ? json_string_value(v) : "");
			fputs("</li>", fp);
		}
		fputs("</ul>\n", fp);
	}
	fputs("<p class=\"note\">Why: ", fp);
	esc(fp, jstr(a, "why"));
	fputs(".</p>\n", fp);
	const json_t *ex = json_object_get(root, "export_before_rebuild");
	if (json_array_size(ex)) {
		char n[64];
		long long count = jint(a, "export_count");
		fputs("<div class=\"warn\" id=\"export\"><h3>Export before rebuilding</h3><p>", fp);
		esc(fp, report_plural(n, sizeof n, count, "item exists", "items exist"));
		fprintf(fp, " only in the cache (or could not be checked on the server): a rebuild or a resync would lose %s. "
		            "Export %s first.</p>\n",
		        count == 1 ? "it" : "them", count == 1 ? "it" : "them");
		fputs("<table class=\"txt\"><thead><tr><th>Folder</th><th>Subject</th><th>Type</th><th>Date</th><th>Checked</th></tr></thead><tbody>", fp);
		json_array_foreach(ex, i, v) {
			if (i == HTML_MAX_EXPORT)
				break;
			fputs("<tr><td class=\"path\">", fp);
			esc(fp, jstr(v, "folder"));
			fputs("</td><td>", fp);
			esc(fp, jstr(v, "subject"));
			fputs("</td><td>", fp);
			esc(fp, jstr(v, "class"));
			fprintf(fp, "</td><td>%.10s</td><td>%s</td></tr>\n", jstr(v, "date"),
			        json_is_true(json_object_get(v, "unverified")) ? "unverified" : "only in the cache");
		}
		fputs("</tbody></table>", fp);
		if ((long long)json_array_size(ex) > HTML_MAX_EXPORT || count > (long long)json_array_size(ex)) {
			fputs("<p class=\"note\">The first ", fp);
			num(fp, (long long)(json_array_size(ex) < HTML_MAX_EXPORT ? json_array_size(ex) : HTML_MAX_EXPORT));
			fputs(" are listed; the JSON report lists them all.</p>", fp);
		}
		fputs("</div>\n", fp);
	}
	fputs("</section>\n", fp);
}

static void tile(FILE *fp, const char *cls, const char *what, long long v)
{
	fprintf(fp, "<div class=\"%s\"><dt>", cls);
	esc(fp, what);
	fputs("</dt><dd>", fp);
	num(fp, v);
	fputs("</dd></div>", fp);
}

static void summary_section(FILE *fp, const json_t *root)
{
	const json_t *sum = json_object_get(root, "summary");
	char w[2][64], t[2][96];
	for (size_t s = 0; s < 2; s++) {
		report_where(side_label(root, s), w[s], sizeof w[s]);
		snprintf(t[s], sizeof t[s], "Missing %s", w[s]);
	}
	fputs("<section id=\"summary\"><h2>Summary</h2>\n<dl class=\"tiles\">", fp);
	tile(fp, jint(sum, "findings") ? "hot" : "", "Findings that need action", jint(sum, "findings"));
	tile(fp, "", "Items the same on both sides", jint(sum, "matched"));
	tile(fp, jint(sum, "differing") ? "hot" : "", "Items that differ", jint(sum, "differing"));
	tile(fp, jat(sum, "missing_on", 0) ? "hot" : "", t[0], jat(sum, "missing_on", 0));
	tile(fp, jat(sum, "missing_on", 1) ? "hot" : "", t[1], jat(sum, "missing_on", 1));
	tile(fp, "", "Expected differences", jint(sum, "expected"));
	tile(fp, jint(sum, "unverified") ? "unv" : "", "Items unverified", jint(sum, "unverified"));
	tile(fp, "", "Folders", jint(sum, "folders"));
	fputs("</dl>\n", fp);
	const json_t *win = json_object_get(root, "sync_window");
	if (json_is_true(json_object_get(win, "applied"))) {
		char a[64];
		fputs("<p>Sync window: ", fp);
		if (strcmp(jstr(win, "mode"), "inferred") == 0) {
			fprintf(fp, "inferred from the data, about %s (the cache holds no mail before %.10s); ",
			        report_plural(a, sizeof a, jint(win, "inferred_days"), "day", "days"), jstr(win, "cutoff"));
		} else {
			esc(fp, jstr(win, "option"));
			fprintf(fp, " (cutoff %.10s); ", jstr(win, "cutoff"));
		}
		fprintf(fp, "%s older on the server %s expected to be missing.</p>\n",
		        report_plural(a, sizeof a, jint(win, "items_outside"), "item", "items"),
		        jint(win, "items_outside") == 1 ? "is" : "are");
	}
	fputs("</section>\n", fp);
}

static long long row_diffs(const json_t *row)
{
	return jint(row, "differing") + jat(row, "missing_on", 0) + jat(row, "missing_on", 1) + jint(row, "unverified");
}

typedef struct {
	const json_t *row;
	long long key;
	size_t index;
} chart_row;

static int chart_cmp(const void *a, const void *b)
{
	const chart_row *x = a, *y = b;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void bar(FILE *fp, double x, double y, double w, double h, const char *color)
{
	fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" fill=\"var(%s)\"/>", x, y, w, h, color);
}

static void chart_section(FILE *fp, const json_t *root)
{
	const json_t *rows = json_object_get(root, "folders"), *row;
	size_t n = json_array_size(rows), i, k = 0, n_rest = 0;
	chart_row *pick = calloc(n + 1, sizeof *pick), *rest = calloc(n + 1, sizeof *rest);
	if (!pick || !rest) {
		free(pick);
		free(rest);
		return;
	}
	json_array_foreach(rows, i, row) {
		long long big = jat(row, "count", 0) > jat(row, "count", 1) ? jat(row, "count", 0) : jat(row, "count", 1);
		if (report_row_interesting(row))
			pick[k++] = (chart_row){row, jint(row, "findings") * 1000000 + row_diffs(row), i};
		else if (big > 0)
			rest[n_rest++] = (chart_row){row, big, i};
	}
	qsort(pick, k, sizeof *pick, chart_cmp);
	if (k > CHART_MAX)
		k = CHART_MAX;
	qsort(rest, n_rest, sizeof *rest, chart_cmp);
	for (size_t j = 0; k < CHART_MIN && j < n_rest; j++)
		pick[k++] = rest[j];
	free(rest);
	fputs("<section id=\"chart\"><h2>Folders at a glance</h2>\n", fp);
	if (!k) {
		fputs("<p>No folder holds items.</p></section>\n", fp);
		free(pick);
		return;
	}
	long long max = 1;
	for (size_t j = 0; j < k; j++) {
		for (size_t s = 0; s < 2; s++)
			if (jat(pick[j].row, "count", s) > max)
				max = jat(pick[j].row, "count", s);
		if (row_diffs(pick[j].row) > max)
			max = row_diffs(pick[j].row);
	}
	const double label_w = 300, bars_x = 310, bars_w = 560, row_h = 44;
	fprintf(fp, "<svg role=\"img\" aria-label=\"Items per folder on each side, and differences\" viewBox=\"0 0 960 %.0f\" "
	            "width=\"100%%\">",
	        row_h * (double)k + 8);
	static const char *const colors[3] = {"--srv", "--cch", "--diff"};
	for (size_t j = 0; j < k; j++) {
		const json_t *r = pick[j].row;
		double y = 4 + row_h * (double)j;
		char label[256];
		report_text_shorten(jstr(r, "folder"), 42, true, label, sizeof label);
		fputs("<g><title>", fp);
		esc(fp, jstr(r, "folder"));
		fprintf(fp, ": %s %lld, %s %lld; %lld differ, %lld missing %s, %lld missing %s, %lld unverified</title>",
		        side_label(root, 0), jat(r, "count", 0), side_label(root, 1), jat(r, "count", 1), jint(r, "differing"),
		        jat(r, "missing_on", 0), side_label(root, 0), jat(r, "missing_on", 1), side_label(root, 1),
		        jint(r, "unverified"));
		fprintf(fp, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", label_w, y + 20);
		esc(fp, label);
		fputs("</text>", fp);
		long long vals[3] = {jat(r, "count", 0), jat(r, "count", 1), row_diffs(r)};
		for (int b = 0; b < 3; b++) {
			if (b == 2 && vals[b] == 0)
				continue;
			double w = (double)vals[b] / (double)max * bars_w, by = y + 2 + 12 * b;
			if (vals[b] > 0 && w < 2)
				w = 2;
			bar(fp, bars_x, by, w, b == 2 ? 9 : 10, b == 2 && !jint(r, "findings") ? "--unv" : colors[b]);
			fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">", bars_x + w + 4, by + 9);
			num(fp, vals[b]);
			fprintf(fp, "%s</text>", b == 2 ? (!jint(r, "findings") ? " unverified" : vals[b] == 1 ? " difference" : " differences") : "");
		}
		fputs("</g>", fp);
	}
	fputs("</svg>\n<p class=\"legend\">", fp);
	for (size_t s = 0; s < 2; s++) {
		char w[64];
		report_where(side_label(root, s), w, sizeof w);
		fprintf(fp, "<span><i class=\"sw\" style=\"background:var(%s)\"></i>items ", s ? "--cch" : "--srv");
		esc(fp, w);
		fputs("</span>", fp);
	}
	fputs("<span><i class=\"sw\" style=\"background:var(--diff)\"></i>differences (missing, changed or moved)</span>"
	      "<span><i class=\"sw\" style=\"background:var(--unv)\"></i>unverified</span></p>\n", fp);
	if (n > k) {
		fputs("<p class=\"note\">", fp);
		num(fp, (long long)k);
		fputs(" of ", fp);
		num(fp, (long long)n);
		fputs(" folders charted (those with differences first, then the largest); the table lists every one.</p>\n", fp);
	}
	fputs("</section>\n", fp);
	free(pick);
}

static void th(FILE *fp, const char *title, bool numeric)
{
	char key[128];
	size_t k = 0;
	for (const char *p = title; *p && k + 1 < sizeof key; p++)
		key[k++] = *p == ' ' ? '-' : (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
	key[k] = '\0';
	fprintf(fp, "<th data-key=\"");
	esc(fp, key);
	fprintf(fp, "\"%s><button type=\"button\">", numeric ? " data-type=\"num\"" : "");
	capitalized(fp, title);
	fputs("</button></th>", fp);
}

static void td_num(FILE *fp, long long v, const char *mark)
{
	fprintf(fp, "<td data-v=\"%lld\">", v);
	num(fp, v);
	fputs(mark, fp);
	fputs("</td>", fp);
}

static void folders_section(FILE *fp, const json_t *root)
{
	const json_t *rows = json_object_get(root, "folders"), *row;
	size_t i, interesting = 0;
	json_array_foreach(rows, i, row) interesting += report_row_interesting(row);
	fputs("<section id=\"folders\"><h2>Folders (", fp);
	num(fp, (long long)json_array_size(rows));
	fputs(")</h2>\n<p class=\"note\">Click a column title to sort. '-': no such folder on that side; '?': that side "
	      "could not read the folder (its items are unverified).", fp);
	if (interesting && json_array_size(rows) > 20) {
		fputs(" <label><input type=\"checkbox\" id=\"only-diff\" checked> only the ", fp);
		num(fp, (long long)interesting);
		fputs(" folders with differences</label>", fp);
	}
	fputs("</p>\n<table class=\"sortable\" id=\"folder-table\"><thead><tr>", fp);
	char t[2][96];
	for (size_t s = 0; s < 2; s++) {
		char w[64];
		report_where(side_label(root, s), w, sizeof w);
		snprintf(t[s], sizeof t[s], "Missing %s", w);
	}
	th(fp, "Folder", false);
	th(fp, side_label(root, 0), true);
	th(fp, side_label(root, 1), true);
	th(fp, "Same", true);
	th(fp, "Differ", true);
	th(fp, t[0], true);
	th(fp, t[1], true);
	th(fp, "Expected", true);
	th(fp, "Unverified", true);
	th(fp, "Findings", true);
	/* Items without keys (the source gave neither source key nor counter) pair only by class,
	 * subject, date and folder: a column per side that has any, and the note the text report gives. */
	bool keyless[2] = {false, false};
	json_array_foreach(rows, i, row) {
		for (size_t s = 0; s < 2; s++)
			keyless[s] |= jat(row, "keyless", s) > 0;
	}
	for (size_t s = 0; s < 2; s++) {
		if (!keyless[s])
			continue;
		char w[64], title[96];
		report_where(side_label(root, s), w, sizeof w);
		snprintf(title, sizeof title, "No source keys %s", w);
		th(fp, title, true);
	}
	fputs("</tr></thead><tbody>\n", fp);
	json_array_foreach(rows, i, row) {
		bool bad = jint(row, "findings") > 0, unv = jint(row, "unverified") > 0;
		const json_t *paths = json_object_get(row, "paths"), *unr = json_object_get(row, "unreadable");
		fprintf(fp, "<tr class=\"%s\"><td class=\"path\">", bad ? "bad" : unv ? "unv" : report_row_interesting(row) ? "" : "same");
		esc(fp, jstr(row, "folder"));
		if (*jstr(row, "role") && strcmp(jstr(row, "role"), "ipm") != 0 && strcmp(jstr(row, "role"), "other") != 0) {
			fputs(" <span class=\"note\">(", fp);
			esc(fp, jstr(row, "role"));
			fputs(")</span>", fp);
		}
		fputs("</td>", fp);
		for (size_t s = 0; s < 2; s++) {
			if (json_is_null(json_array_get(paths, s)))
				fputs("<td data-v=\"-1\">-</td>", fp);
			else
				td_num(fp, jat(row, "count", s), json_is_true(json_array_get(unr, s)) ? "?" : "");
		}
		td_num(fp, jint(row, "matched"), "");
		td_num(fp, jint(row, "differing"), "");
		td_num(fp, jat(row, "missing_on", 0), "");
		td_num(fp, jat(row, "missing_on", 1), "");
		td_num(fp, jint(row, "expected"), "");
		td_num(fp, jint(row, "unverified"), "");
		td_num(fp, jint(row, "findings"), "");
		for (size_t s = 0; s < 2; s++)
			if (keyless[s])
				td_num(fp, jat(row, "keyless", s), "");
		fputs("</tr>\n", fp);
	}
	fputs("</tbody></table>", fp);
	for (size_t s = 0; s < 2; s++) {
		char line[512];
		if (!report_keyless_words(root, s, line, sizeof line))
			continue;
		fputs("\n<p class=\"note keyless\">", fp);
		esc(fp, line);
		fputs("</p>", fp);
	}
	fputs("</section>\n", fp);
}

typedef struct {
	const char *folder;
	int rank;
	size_t index;
} grouped;

static int grouped_cmp(const void *a, const void *b)
{
	const grouped *x = a, *y = b;
	int c = strcmp(x->folder, y->folder);
	if (c)
		return c;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void finding_item(FILE *fp, const json_t *root, const json_t *f)
{
	char phrase[256], text[4096];
	report_kind_phrase(f, phrase, sizeof phrase);
	fprintf(fp, "<li class=\"k-%s\"><p><b>", jstr(f, "kind"));
	esc(fp, phrase);
	fputs("</b>", fp);
	report_finding_details(f, text, sizeof text);
	if (*text) {
		fputs(": ", fp);
		esc(fp, text);
	}
	fputs("</p>", fp);
	char ev[2048], newer[256];
	report_evidence_words(root, f, ev, sizeof ev);
	report_newer_words(f, newer, sizeof newer);
	if (*ev) {
		fputs("<p class=\"ev\">", fp);
		esc(fp, ev);
		fputs("</p>", fp);
	}
	if (*newer) {
		fputs("<p>", fp);
		esc(fp, newer);
		fputs("</p>", fp);
	}
	fputs("<p class=\"act\">&rarr; ", fp);
	esc(fp, jstr(f, "action"));
	fputs("</p></li>\n", fp);
}

static void findings_section(FILE *fp, const report_t *rep)
{
	const json_t *root = rep->root;
	size_t n = report_finding_count(rep), k = 0;
	grouped *g = calloc(n + 1, sizeof *g);
	if (!g)
		return;
	for (size_t i = 0; i < n; i++)
		if (!report_finding_expected(rep, i))
			g[k++] = (grouped){report_finding_folder(rep, i), report_finding_rank(rep, i), i};
	qsort(g, k, sizeof *g, grouped_cmp);
	fputs("<section id=\"findings\"><h2>Findings that need action (", fp);
	num(fp, (long long)k);
	fputs(")</h2>\n", fp);
	if (!k)
		fputs("<p>None.</p>\n", fp);
	size_t shown = k < HTML_MAX_FINDINGS ? k : HTML_MAX_FINDINGS;
	bool open = k <= 500;
	for (size_t j = 0; j < shown;) {
		size_t end = j;
		while (end < shown && strcmp(g[end].folder, g[j].folder) == 0)
			end++;
		char cnt[64];
		fprintf(fp, "<details class=\"group\"%s><summary>", open ? " open" : "");
		esc(fp, *g[j].folder ? g[j].folder : "The whole capture");
		fputs(" <span class=\"count\">", fp);
		esc(fp, report_plural(cnt, sizeof cnt, (long long)(end - j), "finding", "findings"));
		fputs("</span></summary><ul class=\"findings\">\n", fp);
		for (; j < end; j++) {
			json_t *f = report_finding_get(rep, g[j].index);
			if (f)
				finding_item(fp, root, f);
			json_decref(f);
		}
		fputs("</ul></details>\n", fp);
	}
	if (k > shown) {
		fputs("<p class=\"note\">The first ", fp);
		num(fp, (long long)shown);
		fputs(" findings are listed; the JSON report has all ", fp);
		num(fp, (long long)k);
		fputs(".</p>\n", fp);
	}
	fputs("</section>\n", fp);
	free(g);
}

static void expected_section(FILE *fp, const report_t *rep)
{
	size_t n = 0, all = report_finding_count(rep);
	long long total = 0;
	for (size_t i = 0; i < all; i++) {
		json_t *f = report_finding_expected(rep, i) ? report_finding_get(rep, i) : NULL;
		if (f) {
			n++;
			total += jint(f, "count");
		}
		json_decref(f);
	}
	fputs("<section id=\"expected\"><h2>Expected differences</h2>\n", fp);
	if (!n) {
		fputs("<p>None.</p></section>\n", fp);
		return;
	}
	char a[64];
	fputs("<details><summary>", fp);
	esc(fp, report_plural(a, sizeof a, total, "difference", "differences"));
	fputs(" that cached mode makes on purpose (not problems): show</summary>\n<table class=\"txt\"><thead><tr><th>Folder</th>"
	      "<th>Why</th><th>Side</th><th>Items</th><th>Dates</th></tr></thead><tbody>\n", fp);
	for (size_t i = 0; i < all; i++) {
		json_t *f = report_finding_expected(rep, i) ? report_finding_get(rep, i) : NULL;
		if (!f)
			continue;
		const json_t *d = json_object_get(f, "dates");
		fputs("<tr><td class=\"path\">", fp);
		esc(fp, *jstr(f, "folder") ? jstr(f, "folder") : "-");
		fputs("</td><td style=\"text-align:left\">", fp);
		esc(fp, jstr(f, "why"));
		char w[64];
		report_where(jstr(f, "side_label"), w, sizeof w);
		fputs("</td><td>", fp);
		esc(fp, *w ? w : "-");
		fputs("</td><td>", fp);
		num(fp, jint(f, "count"));
		fprintf(fp, "</td><td>%.10s%s%.10s</td></tr>\n", jstr(d, "oldest"), d ? " to " : "", jstr(d, "newest"));
		json_decref(f);
	}
	fputs("</tbody></table></details></section>\n", fp);
}

static void integrity_section(FILE *fp, const json_t *root)
{
	const json_t *in = json_object_get(root, "integrity");
	fputs("<section id=\"integrity\"><h2>Integrity of the captures</h2>\n<table><thead><tr><th></th>", fp);
	for (size_t s = 0; s < 2; s++) {
		fputs("<th>", fp);
		capitalized(fp, side_label(root, s));
		fputs("</th>", fp);
	}
	fputs("</tr></thead><tbody>\n", fp);
	static const char *const fields[][2] = {
		{"corrupted", "Flagged as corrupted"}, {"orphan_items", "Orphan items"},
		{"recovered_items", "Recoverable (deleted) items"}, {"unreadable_items", "Unreadable items"},
		{"unreadable_folders", "Unreadable folders"}, {"errors", "Error lines in the capture"},
	};
	for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
		fputs("<tr><td>", fp);
		esc(fp, fields[k][1]);
		fputs("</td>", fp);
		for (size_t s = 0; s < 2; s++) {
			const json_t *side = json_array_get(in, s), *v = json_object_get(side, fields[k][0]);
			if (json_is_boolean(v))
				fprintf(fp, "<td>%s</td>", json_is_true(v) ? "yes" : "no");
			else if (json_is_integer(v))
				fprintf(fp, "<td>%lld</td>", (long long)json_integer_value(v));
			else
				fputs("<td>-</td>", fp);
		}
		fputs("</tr>\n", fp);
	}
	fputs("<tr><td>Stored counts that disagree</td>", fp);
	for (size_t s = 0; s < 2; s++)
		fprintf(fp, "<td>%zu</td>", json_array_size(json_object_get(json_array_get(in, s), "count_mismatches")));
	fputs("</tr></tbody></table></section>\n", fp);
}

static void prov_row(FILE *fp, const json_t *root, const char *title, const char *field)
{
	const json_t *sides = json_object_get(root, "sides");
	const json_t *a = json_object_get(json_array_get(sides, 0), field), *b = json_object_get(json_array_get(sides, 1), field);
	if (!a && !b)
		return;
	fputs("<tr><td>", fp);
	esc(fp, title);
	fputs("</td>", fp);
	const json_t *v[2] = {a, b};
	for (size_t s = 0; s < 2; s++) {
		fputs("<td class=\"path\">", fp);
		if (json_is_string(v[s]))
			esc(fp, json_string_value(v[s]));
		else if (json_is_integer(v[s]))
			num(fp, (long long)json_integer_value(v[s]));
		else if (v[s]) {
			char *d = json_dumps(v[s], JSON_COMPACT | JSON_SORT_KEYS);
			fputs("<code>", fp);
			esc(fp, d ? d : "");
			fputs("</code>", fp);
			free(d);
		} else
			fputs("-", fp);
		fputs("</td>", fp);
	}
	fputs("</tr>\n", fp);
}

static void provenance_section(FILE *fp, const json_t *root)
{
	fputs("<section id=\"provenance\"><h2>Provenance</h2>\n<table><thead><tr><th></th>", fp);
	for (size_t s = 0; s < 2; s++) {
		fputs("<th>", fp);
		capitalized(fp, side_label(root, s));
		fputs("</th>", fp);
	}
	fputs("</tr></thead><tbody>\n", fp);
	static const char *const fields[][2] = {
		{"Source", "source"}, {"Mailbox", "mailbox"}, {"File", "file"}, {"File size (bytes)", "file_size"},
		{"File format", "file_format"}, {"Server", "server"}, {"Server version", "server_version"},
		{"Snapshot", "input"}, {"Captured", "captured"}, {"Captured by", "tool"}, {"Capture options", "options"},
		{"Folders", "folders"}, {"Items", "items"}, {"Associated items", "associated_items"}, {"Errors", "errors"},
	};
	for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
		prov_row(fp, root, fields[k][0], fields[k][1]);
	fputs("</tbody></table>\n<p class=\"note\">Report made by ", fp);
	esc(fp, jstr(root, "tool"));
	fputs(" (report format ", fp);
	fprintf(fp, "%lld", jint(root, "version"));
	fputs("); comparison options ", fp);
	char *opts = json_dumps(json_object_get(root, "options"), JSON_COMPACT);
	fputs("<code>", fp);
	esc(fp, opts ? opts : "{}");
	fputs("</code>; redaction <code>", fp);
	free(opts);
	char *red = json_dumps(json_object_get(root, "redaction"), JSON_COMPACT);
	esc(fp, red ? red : "{}");
	free(red);
	fputs("</code>; timings (ms) <code>", fp);
	char *tm = json_dumps(json_object_get(root, "timings"), JSON_COMPACT | JSON_REAL_PRECISION(4));
	esc(fp, tm ? tm : "{}");
	free(tm);
	fputs("</code>.</p></section>\n", fp);
}

static void report_page(FILE *fp, const void *ctx)
{
	const report_t *rep = ctx;
	const json_t *root = rep->root;
	char title[512];
	snprintf(title, sizeof title, "ostrecon: %s%s%s", report_verdict_words(jstr(root, "verdict")),
	         *mailbox_of(root) ? " - " : "", mailbox_of(root));
	page_head(fp, title);
	verdict_header(fp, root);
	fputs("<main>\n", fp);
	advice_section(fp, root);
	summary_section(fp, root);
	chart_section(fp, root);
	folders_section(fp, root);
	findings_section(fp, rep);
	expected_section(fp, rep);
	integrity_section(fp, root);
	provenance_section(fp, root);
	fputs("</main>\n", fp);
	page_foot(fp, "ostrecon " OSTRECON_VERSION ": this page is self-contained (no network); the JSON report holds every detail.");
}

int report_save_html(const report_t *rep, const char *path, or_error *err)
{
	return write_page(path, report_page, rep, err);
}

/* ---------------------------------------------------------------- the batch index */

typedef struct {
	const char *title;
	const report_index_entry *e;
	size_t n;
} index_ctx;

static void index_page(FILE *fp, const void *vctx)
{
	const index_ctx *c = vctx;
	size_t kinds[REPORT_V_KINDS] = {0}, failed = 0, local = 0;
	for (size_t i = 0; i < c->n; i++) {
		const report_index_entry *e = &c->e[i];
		if (!e->verdict)
			failed++;
		else
			kinds[report_verdict_kind_of(e->verdict)]++;
		local += e->verdict && e->only_in_cache > 0;
	}
	size_t in_sync = kinds[REPORT_V_IN_SYNC], resync = kinds[REPORT_V_RESYNC], rebuild = kinds[REPORT_V_REBUILD],
	       incomplete = kinds[REPORT_V_INCOMPLETE];
	page_head(fp, c->title);
	const char *cls = failed || rebuild ? "v-rebuild" : resync ? "v-resync" : incomplete ? "v-incomplete" : "v-ok";
	char a[64];
	fprintf(fp, "<header class=\"verdict %s\" id=\"verdict\"><p class=\"kicker\">ostrecon batch</p><h1>", cls);
	esc(fp, report_plural(a, sizeof a, (long long)c->n, "mailbox", "mailboxes"));
	fputs("</h1><p class=\"title\">", fp);
	esc(fp, c->title);
	fputs("</p></header>\n<main><section id=\"summary\"><h2>Summary</h2><dl class=\"tiles\">", fp);
	tile(fp, "", "In sync", (long long)in_sync);
	tile(fp, resync ? "hot" : "", "Resynchronize folders", (long long)resync);
	tile(fp, rebuild ? "hot" : "", "Rebuild the OST", (long long)rebuild);
	tile(fp, incomplete ? "unv" : "", "Incomplete", (long long)incomplete);
	tile(fp, failed ? "hot" : "", "Failed", (long long)failed);
	tile(fp, local ? "unv" : "", "Items only in the cache (export first)", (long long)local);
	fputs("</dl></section>\n<section id=\"mailboxes\"><h2>Mailboxes</h2><p class=\"note\">Click a column title to "
	      "sort; each name opens the mailbox's report.</p>\n<table class=\"sortable\"><thead><tr>", fp);
	th(fp, "Line", true);
	th(fp, "Mailbox", false);
	th(fp, "Verdict", false);
	th(fp, "Findings", true);
	th(fp, "Expected", true);
	th(fp, "Only in the cache", true);
	th(fp, "Server items", true);
	th(fp, "Cache items", true);
	th(fp, "Seconds", true);
	fputs("</tr></thead><tbody>\n", fp);
	for (size_t i = 0; i < c->n; i++) {
		const report_index_entry *e = &c->e[i];
		bool bad = !e->verdict || strcmp(e->verdict, "resync_folders") == 0 || strcmp(e->verdict, "rebuild_ost") == 0;
		fprintf(fp, "<tr class=\"%s\"><td data-v=\"%ld\">%ld</td><td class=\"path\">", bad ? "bad" :
		        e->verdict && strcmp(e->verdict, "incomplete") == 0 ? "unv" : "", e->line, e->line);
		if (e->href) {
			fputs("<a href=\"", fp);
			esc(fp, e->href);
			fputs("\">", fp);
		}
		esc(fp, e->name ? e->name : "?");
		fputs(e->href ? "</a>" : "", fp);
		fputs("</td><td style=\"text-align:left\">", fp);
		if (e->verdict) {
			esc(fp, report_verdict_words(e->verdict));
			if (e->resumed)
				fputs(" <span class=\"note\">(earlier run)</span>", fp);
		} else {
			fputs("failed", fp);
			if (e->error) {
				fputs(": <span class=\"note\">", fp);
				esc(fp, e->error);
				fputs("</span>", fp);
			}
		}
		fputs("</td>", fp);
		td_num(fp, (long long)e->findings, "");
		td_num(fp, (long long)e->expected, "");
		td_num(fp, (long long)e->only_in_cache, "");
		td_num(fp, (long long)e->items[0], "");
		td_num(fp, (long long)e->items[1], "");
		fprintf(fp, "<td data-v=\"%.1f\">%.1f</td></tr>\n", e->seconds, e->seconds);
	}
	fputs("</tbody></table></section></main>\n", fp);
	page_foot(fp, "ostrecon " OSTRECON_VERSION ": the reports beside this page hold each mailbox's details.");
}

int report_save_html_index(const char *path, const char *title, const report_index_entry *entries, size_t n,
                           or_error *err)
{
	index_ctx c = {title, entries, n};
	return write_page(path, index_page, &c, err);
}
