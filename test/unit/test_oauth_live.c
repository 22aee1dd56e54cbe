/* The OAuth module against the test identity platform endpoint (tools/graphserver/identityserver.py,
 * started here on 127.0.0.1 over HTTP and HTTPS): client secret (right, wrong, expired), unknown
 * tenant and application, certificate assertions (PS256 and RS256, and a certificate the
 * application does not know), renewal when a token nears its expiry and after a refusal, several
 * threads asking at once, the device code flow (approved after polls, declined, expired, slowed
 * down, refreshed), answers that are garbage, an HTML page, huge, late or failing, and TLS.
 * The server checks every token the module obtains (/_identity/check) and counts the requests it
 * got (/_identity/stats), so the tests see what went over the wire. Skips (77) without
 * /usr/bin/python3 and its cryptography module, or without the openssl command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "oauth_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>

#define PY "/usr/bin/python3"
#define SERVER "tools/graphserver/identityserver.py"
#define TENANT_ID "8f3c2a10-5b7e-4c1d-9a2e-1f0b3c4d5e6f"
#define TENANT "contoso.example"
#define APP "6731de76-14a6-49ae-97bc-6eba6914391e"
#define SECRET "Xy7~q.Test-Secret_value.0123456789abcd"
#define OLD_SECRET "Old~Secret.expired_2020-abcdefghij"

static struct {
	char dir[64];
	pid_t pid, tls_pid;
	char url[64], tls_url[64];
} S;

static const char *path_in(const char *name)
{
	static char buf[4][160];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", S.dir, name);
	return buf[k];
}

/* ------------------------------------------------------------ the server */

static const char *CONFIG =
	"{\"tenants\": [{\"id\": \"" TENANT_ID "\", \"domains\": [\"" TENANT "\", \"contoso.onmicrosoft.example\"],\n"
	" \"users\": [\n"
	"  {\"name\": \"Alice\", \"mailbox\": \"alice@contoso.example\", \"auto_approve_after_polls\": 2},\n"
	"  {\"name\": \"Bob\", \"mailbox\": \"bob@contoso.example\", \"decline\": true},\n"
	"  {\"name\": \"Carol\", \"mailbox\": \"carol@contoso.example\"},\n"
	"  {\"name\": \"Dave\", \"mailbox\": \"dave@contoso.example\", \"auto_approve_after_polls\": 1,"
	" \"slow_down_at_polls\": [1]}],\n"
	" \"apps\": [\n"
	"  {\"client_id\": \"" APP "\", \"display_name\": \"ostrecon\", \"secrets\": [{\"value\": \"" SECRET "\"},"
	" {\"value\": \"" OLD_SECRET "\", \"expires\": \"2020-01-01T00:00:00Z\"}], \"certificates\": [\"app.crt\"],"
	" \"roles\": [\"Mail.Read\", \"MailboxItem.Read.All\"]},\n"
	"  {\"client_id\": \"app-noconsent\", \"secrets\": [\"" SECRET "\"], \"roles\": [\"Mail.Read\"],"
	" \"admin_consent\": false},\n"
	"  {\"client_id\": \"app-short\", \"secrets\": [\"" SECRET "\"], \"expires_in\": 2},\n"
	"  {\"client_id\": \"app-slow\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"latency_ms\": 400}},\n"
	"  {\"client_id\": \"app-garbage\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"garbage\"}},\n"
	"  {\"client_id\": \"app-html\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"html\"}},\n"
	"  {\"client_id\": \"app-empty\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"empty\"}},\n"
	"  {\"client_id\": \"app-huge\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"huge\"}},\n"
	"  {\"client_id\": \"app-hang\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"hang\"}},\n"
	"  {\"client_id\": \"app-500\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"http500\"}},\n"
	"  {\"client_id\": \"app-503once\", \"secrets\": [\"" SECRET "\"], \"fault\": {\"token\": \"http503\", \"count\": 1}},\n"
	"  {\"client_id\": \"dev-ok\", \"public_client\": true, \"device_code_user\": \"alice@contoso.example\","
	" \"device_code\": {\"interval\": 1, \"expires_in\": 30}, \"delegated_scopes\": [\"Mail.Read\", \"User.Read\"]},\n"
	"  {\"client_id\": \"dev-decline\", \"public_client\": true, \"device_code_user\": \"bob@contoso.example\","
	" \"device_code\": {\"interval\": 1, \"expires_in\": 30}},\n"
	"  {\"client_id\": \"dev-expire\", \"public_client\": true, \"device_code_user\": \"carol@contoso.example\","
	" \"device_code\": {\"interval\": 1, \"expires_in\": 3}},\n"
	"  {\"client_id\": \"dev-slow\", \"public_client\": true, \"device_code_user\": \"dave@contoso.example\","
	" \"device_code\": {\"interval\": 1, \"expires_in\": 30}},\n"
	"  {\"client_id\": \"dev-noconsent\", \"public_client\": true, \"device_code_user\": \"alice@contoso.example\","
	" \"device_code\": {\"interval\": 1, \"expires_in\": 30}, \"delegated_scopes\": [\"User.Read\"]},\n"
	"  {\"client_id\": \"dev-confidential\", \"secrets\": [\"" SECRET "\"],"
	" \"device_code_user\": \"alice@contoso.example\", \"device_code\": {\"interval\": 1, \"expires_in\": 30}}\n"
	" ]}]}\n";

/* Starts identityserver.py; waits (bounded) for its "listening on" line. */
static int start_server(const char *name, bool tls, pid_t *pid, char *url, size_t url_size)
{
	char out[160], err[160], logf[160];
	snprintf(out, sizeof out, "%s/%s.out", S.dir, name);
	snprintf(err, sizeof err, "%s/%s.err", S.dir, name);
	snprintf(logf, sizeof logf, "%s/%s.log", S.dir, name);
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		if (tls)
			execl(PY, PY, SERVER, "--config", path_in("config.json"), "--port", "0", "--log", logf, "--tls-cert",
			      path_in("tls.crt"), "--tls-key", path_in("tls.key"), (char *)NULL);
		else
			execl(PY, PY, SERVER, "--config", path_in("config.json"), "--port", "0", "--log", logf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 150; i++) {
		char *text = read_text(out);
		char *line = text ? strstr(text, "listening on 127.0.0.1:") : NULL;
		long port = line ? strtol(line + 23, NULL, 10) : 0;
		free(text);
		if (port > 0) {
			snprintf(url, url_size, "%s://127.0.0.1:%ld", tls ? "https" : "http", port);
			return 0;
		}
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			break;
		}
		oauth_sleep_ms(100);
	}
	char *e = read_text(err);
	fprintf(stderr, "the identity server did not start: %s\n", e ? e : "");
	free(e);
	return -1;
}

static void stop_server(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
		oauth_sleep_ms(50);
	if (waitpid(*pid, NULL, WNOHANG) == 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static int setup(void **state)
{
	snprintf(S.dir, sizeof S.dir, "/tmp/oauth-live-XXXXXX");
	if (!mkdtemp(S.dir))
		return -1;
	if (make_rsa_cert(S.dir, "app", 2048) || make_rsa_cert(S.dir, "other", 2048) || make_rsa_cert(S.dir, "tls", 2048) ||
	    write_text(path_in("config.json"), CONFIG))
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (start_server("http", false, &S.pid, S.url, sizeof S.url) ||
	    start_server("https", true, &S.tls_pid, S.tls_url, sizeof S.tls_url))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	stop_server(&S.pid);
	stop_server(&S.tls_pid);
	if (S.dir[0])
		sh("rm -rf %s", S.dir);
	curl_global_cleanup();
	return 0;
}

/* ------------------------------------------------------------ helpers */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	oauth_sbuf *b = ud;
	return oauth_sbuf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* GET base + path (with a bearer token when given): the JSON answer, its status in *status. */
static json_t *server_get(const char *path, const char *bearer, long *status)
{
	CURL *h = curl_easy_init();
	oauth_sbuf body = {0};
	char url[256], auth[OAUTH_TOKEN_MAX + 32];
	snprintf(url, sizeof url, "%s%s", S.url, path);
	struct curl_slist *hdrs = NULL;
	if (bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	json_t *j = cc == CURLE_OK && body.data ? json_loads(body.data, 0, NULL) : NULL;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	oauth_sbuf_wipe(&body);
	return j;
}

/* POST a form to base + path; the HTTP status. */
static long server_post(const char *path, const char *form)
{
	CURL *h = curl_easy_init();
	oauth_sbuf body = {0};
	char url[256];
	long status = 0;
	snprintf(url, sizeof url, "%s%s", S.url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	oauth_sbuf_wipe(&body);
	return status;
}

/* Requests the server got from an application, of a grant type. */
static long requests(const char *client_id, const char *grant)
{
	long status = 0;
	json_t *j = server_get("/_identity/stats", NULL, &status);
	long n = (long)json_integer_value(json_object_get(json_object_get(json_object_get(j, "by_app"), client_id), grant));
	json_decref(j);
	return n;
}

static long device_stat(const char *what)
{
	long status = 0;
	json_t *j = server_get("/_identity/stats", NULL, &status);
	long n = (long)json_integer_value(json_object_get(json_object_get(j, "device"), what));
	json_decref(j);
	return n;
}

/* What the server says of a token it issued (its check_bearer); NULL when it refuses it. */
static json_t *checked(const char *token)
{
	long status = 0;
	json_t *j = server_get("/_identity/check", token, &status);
	if (status != 200) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static oauth_options secret_opts(const char *client_id)
{
	oauth_options o = {.flow = OAUTH_FLOW_SECRET, .authority = S.url, .tenant = TENANT, .client_id = client_id,
	                   .secret = SECRET, .timeout_s = 10};
	return o;
}

/* One token through a new client: its rc; the token in tok, the error in err. */
static int one_token(const oauth_options *o, char *tok, size_t size, or_error *err)
{
	oauth_client *c = NULL;
	or_error_clear(err);
	tok[0] = '\0';
	int rc = oauth_new(&c, o, err);
	if (!rc)
		rc = oauth_token(c, false, tok, size, err);
	oauth_free(c);
	/* Whatever happened, no secret in the message. */
	assert_null(strstr(err->message, SECRET));
	assert_null(strstr(err->message, OLD_SECRET));
	return rc;
}

static void says(const or_error *err, const char *what)
{
	if (!strstr(err->message, what))
		fail_msg("'%s' does not say '%s'", err->message, what);
}

/* -------------------------------------------------- client credentials */

static void secret_gives_a_token_the_server_accepts(void **state)
{
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	oauth_options o = secret_opts(APP);
	long before = requests(APP, "client_credentials");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
	assert_int_equal(requests(APP, "client_credentials"), before + 1);
	json_t *who = checked(tok);
	assert_non_null(who);
	assert_string_equal(json_string_value(json_object_get(who, "app")), APP);
	assert_string_equal(json_string_value(json_object_get(who, "tenant")), TENANT_ID);
	assert_string_equal(json_string_value(json_object_get(who, "auth")), "secret");
	assert_string_equal(json_string_value(json_array_get(json_object_get(who, "roles"), 0)), "Mail.Read");
	assert_true(json_is_null(json_object_get(who, "user")));
	json_decref(who);
	/* The tenant by its id works the same. */
	o.tenant = TENANT_ID;
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
	/* Without admin consent the token carries no roles (the identity platform's behaviour). */
	o = secret_opts("app-noconsent");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
	who = checked(tok);
	assert_int_equal(json_array_size(json_object_get(who, "roles")), 0);
	json_decref(who);
}

static void refused_credentials_name_cause_and_fix(void **state)
{
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	oauth_options o = secret_opts(APP);
	o.secret = "Wrong~Secret.value-0123456789";
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "AADSTS7000215");
	says(&err, "value (not its id)");
	assert_null(strstr(err.message, "Wrong~Secret"));
	assert_string_equal(tok, "");

	o.secret = OLD_SECRET;
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "has expired (AADSTS7000222)");

	o = secret_opts(APP);
	o.tenant = "nosuch.example";
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "the tenant 'nosuch.example' was not found (AADSTS90002): check --tenant");
	o.tenant = "not_a_domain";
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "AADSTS900023");

	o = secret_opts("0b0e5f2c-0000-4000-8000-00000000dead");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "application '0b0e5f2c-0000-4000-8000-00000000dead' was not found in tenant 'contoso.example' "
	           "(AADSTS700016)");

	o = secret_opts(APP);
	o.scope = "https://graph.microsoft.com/Mail.Read";
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "scope 'https://graph.microsoft.com/Mail.Read' is not valid (AADSTS1002012)");
	o.scope = "https://nosuch.example/.default";
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "AADSTS500011");
}

static void certificate_assertions_are_accepted(void **state)
{
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	oauth_options o = {.flow = OAUTH_FLOW_CERTIFICATE, .authority = S.url, .tenant = TENANT, .client_id = APP,
	                   .cert_path = path_in("app.crt"), .key_path = path_in("app.key"), .timeout_s = 10};
	for (int alg = 0; alg < 2; alg++) {
		o.assertion_alg = (oauth_assert_alg)alg;
		/* Twice: each request carries a new assertion (the server refuses a replayed jti). */
		for (int i = 0; i < 2; i++) {
			assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
			json_t *who = checked(tok);
			assert_non_null(who);
			assert_string_equal(json_string_value(json_object_get(who, "auth")), "certificate");
			json_decref(who);
		}
	}
	/* A certificate the application does not know: the server names its thumbprint back. */
	oauth_cert other;
	assert_int_equal(oauth_cert_load(&other, path_in("other.crt"), path_in("other.key"), &err), 0);
	o.cert_path = path_in("other.crt");
	o.key_path = path_in("other.key");
	for (int alg = 0; alg < 2; alg++) {
		o.assertion_alg = (oauth_assert_alg)alg;
		assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_AUTH);
		says(&err, "AADSTS700027");
		says(&err, other.sha1_hex);
	}
	oauth_cert_free(&other);
	/* The registered certificate with another key: refused before any request. */
	o.cert_path = path_in("app.crt");
	long before = requests(APP, "client_credentials");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_USAGE);
	says(&err, "does not belong to the certificate");
	assert_int_equal(requests(APP, "client_credentials"), before);
}

/* ------------------------------------------------------------ renewal */

static void short_lived_token_is_renewed(void **state)
{
	oauth_options o = secret_opts("app-short"); /* expires_in 2: renewed in its last second */
	oauth_client *c = NULL;
	or_error err = {0};
	char t1[OAUTH_TOKEN_MAX], t2[OAUTH_TOKEN_MAX], t3[OAUTH_TOKEN_MAX];
	assert_int_equal(oauth_new(&c, &o, &err), 0);
	long before = requests("app-short", "client_credentials");
	assert_int_equal(oauth_token(c, false, t1, sizeof t1, &err), 0);
	assert_int_equal(oauth_token(c, false, t2, sizeof t2, &err), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(requests("app-short", "client_credentials"), before + 1);
	assert_true(oauth_token_expires_in(c) <= 2);
	oauth_sleep_ms(1300);
	assert_int_equal(oauth_token(c, false, t3, sizeof t3, &err), 0);
	assert_string_not_equal(t1, t3);
	assert_int_equal(requests("app-short", "client_credentials"), before + 2);
	json_t *who = checked(t3);
	assert_non_null(who);
	json_decref(who);
	oauth_free(c);
}

static void refusal_renews_once(void **state)
{
	oauth_options o = secret_opts(APP);
	oauth_client *c = NULL;
	or_error err = {0};
	char t1[OAUTH_TOKEN_MAX], t2[OAUTH_TOKEN_MAX], stale[OAUTH_TOKEN_MAX];
	assert_int_equal(oauth_new(&c, &o, &err), 0);
	long before = requests(APP, "client_credentials");
	assert_int_equal(oauth_token(c, false, t1, sizeof t1, &err), 0);
	/* The server refused t1: a new token. */
	memcpy(t2, t1, sizeof t1);
	assert_int_equal(oauth_token(c, true, t2, sizeof t2, &err), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(requests(APP, "client_credentials"), before + 2);
	/* A worker that still held t1 says it was refused: it gets t2, no third request. */
	memcpy(stale, t1, sizeof t1);
	assert_int_equal(oauth_token(c, true, stale, sizeof stale, &err), 0);
	assert_string_equal(stale, t2);
	assert_int_equal(requests(APP, "client_credentials"), before + 2);
	/* t2 refused in turn: an authentication error, not a loop. */
	assert_int_equal(oauth_token(c, true, t2, sizeof t2, &err), OR_ERR_AUTH);
	says(&err, "refused the token again right after it was renewed");
	assert_int_equal(requests(APP, "client_credentials"), before + 2);
	oauth_free(c);
}

typedef struct {
	oauth_client *c;
	pthread_barrier_t *go;
	bool renew;
	char tok[OAUTH_TOKEN_MAX];
	int rc;
} worker;

static void *ask(void *arg)
{
	worker *w = arg;
	or_error err = {0};
	pthread_barrier_wait(w->go);
	w->rc = oauth_token(w->c, w->renew, w->tok, sizeof w->tok, &err);
	return NULL;
}

static void threads_share_one_acquisition(void **state)
{
	enum { N = 8 };
	oauth_options o = secret_opts("app-slow"); /* each request takes 400 ms */
	oauth_client *c = NULL;
	or_error err = {0};
	assert_int_equal(oauth_new(&c, &o, &err), 0);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	static worker w[N];
	pthread_t t[N];
	long before = requests("app-slow", "client_credentials");
	for (int i = 0; i < N; i++) {
		w[i] = (worker){.c = c, .go = &go};
		pthread_create(&t[i], NULL, ask, &w[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		assert_int_equal(w[i].rc, 0);
		assert_string_equal(w[i].tok, w[0].tok);
	}
	assert_int_equal(requests("app-slow", "client_credentials"), before + 1);
	/* All refused at once (each holds the same token): one renewal for all of them. */
	char first[OAUTH_TOKEN_MAX];
	memcpy(first, w[0].tok, sizeof first);
	for (int i = 0; i < N; i++) {
		w[i].renew = true;
		pthread_create(&t[i], NULL, ask, &w[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		assert_int_equal(w[i].rc, 0);
		assert_string_equal(w[i].tok, w[0].tok);
	}
	assert_string_not_equal(first, w[0].tok);
	assert_int_equal(requests("app-slow", "client_credentials"), before + 2);
	pthread_barrier_destroy(&go);
	oauth_free(c);
}

/* ------------------------------------------------------------ device code */

typedef struct {
	FILE *prompt;
	oauth_client *c;
	int64_t ms;
} device_run;

static int device(device_run *r, const char *client_id, const char *scope, char *tok, size_t size, or_error *err)
{
	oauth_options o = {.flow = OAUTH_FLOW_DEVICE_CODE, .authority = S.url, .tenant = TENANT,
	                   .client_id = client_id, .scope = scope, .timeout_s = 10};
	r->prompt = o.prompt = tmpfile();
	or_error_clear(err);
	int rc = oauth_new(&r->c, &o, err);
	assert_int_equal(rc, 0);
	int64_t t0 = oauth_now_ms();
	rc = oauth_token(r->c, false, tok, size, err);
	r->ms = oauth_now_ms() - t0;
	return rc;
}

static char *prompt_text(FILE *fp)
{
	static char text[2048];
	rewind(fp);
	size_t n = fread(text, 1, sizeof text - 1, fp);
	text[n] = '\0';
	return text;
}

static void device_code_signs_in_after_polls_and_refreshes(void **state)
{
	device_run r = {0};
	char t1[OAUTH_TOKEN_MAX], t2[OAUTH_TOKEN_MAX];
	or_error err;
	long polls = device_stat("polls");
	assert_int_equal(device(&r, "dev-ok", "https://graph.microsoft.com/Mail.Read", t1, sizeof t1, &err), 0);
	/* alice approves after 2 pending polls: the third poll, 3 intervals of 1 s. */
	assert_int_equal(device_stat("polls"), polls + 3);
	assert_true(r.ms >= 2900);
	assert_int_equal(device_stat("too_fast"), 0);
	char *text = prompt_text(r.prompt);
	assert_non_null(strstr(text, S.url));
	assert_non_null(strstr(text, "/_identity/devicelogin and enter the code "));
	assert_non_null(strstr(text, "The code expires in 30 seconds"));
	size_t prompt_len = strlen(text);
	json_t *who = checked(t1);
	assert_non_null(who);
	assert_string_equal(json_string_value(json_object_get(who, "user")), "alice@contoso.example");
	assert_string_equal(json_string_value(json_object_get(who, "auth")), "user");
	assert_string_equal(json_string_value(json_array_get(json_object_get(who, "scopes"), 0)), "Mail.Read");
	json_decref(who);
	/* Refused: renewed with the refresh token, without a new sign-in. */
	memcpy(t2, t1, sizeof t1);
	long refreshes = requests("dev-ok", "refresh_token");
	assert_int_equal(oauth_token(r.c, true, t2, sizeof t2, &err), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(requests("dev-ok", "refresh_token"), refreshes + 1);
	assert_int_equal(strlen(prompt_text(r.prompt)), prompt_len);
	who = checked(t2);
	assert_non_null(who);
	assert_string_equal(json_string_value(json_object_get(who, "user")), "alice@contoso.example");
	json_decref(who);
	oauth_free(r.c);
	fclose(r.prompt);
}

/* The refresh token revoked: the renewal falls back to a new sign-in (a second prompt). */
static void device_code_signs_in_again_when_the_refresh_token_is_refused(void **state)
{
	device_run r = {0};
	char t1[OAUTH_TOKEN_MAX], t2[OAUTH_TOKEN_MAX];
	or_error err;
	assert_int_equal(device(&r, "dev-ok", NULL, t1, sizeof t1, &err), 0);
	size_t first = strlen(prompt_text(r.prompt));
	assert_int_equal(server_post("/_identity/revoke", "app=dev-ok&refresh=1"), 200);
	long refreshes = requests("dev-ok", "refresh_token"), codes = device_stat("codes");
	memcpy(t2, t1, sizeof t1);
	assert_int_equal(oauth_token(r.c, true, t2, sizeof t2, &err), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(requests("dev-ok", "refresh_token"), refreshes + 1); /* tried, refused */
	assert_int_equal(device_stat("codes"), codes + 1);                   /* then a new code */
	char *text = prompt_text(r.prompt);
	assert_true(strlen(text) > first);
	assert_non_null(strstr(text + first, "enter the code"));
	json_t *who = checked(t2);
	assert_non_null(who);
	json_decref(who);
	oauth_free(r.c);
	fclose(r.prompt);
}

static void device_code_declined_expired_slowed(void **state)
{
	device_run r = {0};
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	assert_int_equal(device(&r, "dev-decline", NULL, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "declined");
	assert_true(r.ms < 3000);
	oauth_free(r.c);
	fclose(r.prompt);

	assert_int_equal(device(&r, "dev-expire", NULL, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "expired before the sign-in was completed");
	assert_true(r.ms >= 2900 && r.ms < 6000);
	assert_non_null(strstr(prompt_text(r.prompt), "The code expires in 3 seconds"));
	oauth_free(r.c);
	fclose(r.prompt);

	/* dave's first poll gets slow_down: the next comes 5 s later than the interval, and succeeds. */
	long too_fast = device_stat("too_fast"), slow = device_stat("slow_down");
	assert_int_equal(device(&r, "dev-slow", NULL, tok, sizeof tok, &err), 0);
	assert_true(r.ms >= 6900);
	assert_int_equal(device_stat("slow_down"), slow + 1);
	assert_int_equal(device_stat("too_fast"), too_fast);
	oauth_free(r.c);
	fclose(r.prompt);
}

static void device_code_refusals(void **state)
{
	device_run r = {0};
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	assert_int_equal(device(&r, "dev-noconsent", "https://graph.microsoft.com/Mail.Read", tok, sizeof tok, &err),
	                 OR_ERR_AUTH);
	says(&err, "AADSTS65001");
	says(&err, "admin consent");
	oauth_free(r.c);
	fclose(r.prompt);
	assert_int_equal(device(&r, "dev-confidential", NULL, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "Allow public client flows");
	oauth_free(r.c);
	fclose(r.prompt);
	assert_int_equal(device(&r, "dev-nosuch", NULL, tok, sizeof tok, &err), OR_ERR_AUTH);
	says(&err, "AADSTS700016");
	assert_int_equal(ftell(r.prompt), 0); /* nobody was asked to sign in */
	oauth_free(r.c);
	fclose(r.prompt);
}

/* ----------------------------------------------------- broken servers */

static void broken_answers_are_named(void **state)
{
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	oauth_options o = secret_opts("app-garbage");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_PROTOCOL);
	says(&err, "not the identity platform's JSON");
	o = secret_opts("app-empty");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_PROTOCOL);
	says(&err, "empty body");
	o = secret_opts("app-html");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_PROTOCOL);
	says(&err, "HTML page");
	o = secret_opts("app-huge");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_LIMIT);
	says(&err, "larger than 256 KiB");

	/* A server that never answers: the timeout, not retried. */
	o = secret_opts("app-hang");
	o.timeout_s = 2;
	int64_t t0 = oauth_now_ms();
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_TIMEOUT);
	int64_t ms = oauth_now_ms() - t0;
	assert_true(ms >= 1900 && ms < 4000);
	says(&err, "did not answer within 2 s");

	/* 503 once, with Retry-After: 1: the second attempt gets the token. */
	o = secret_opts("app-503once");
	long before = requests("app-503once", "client_credentials");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
	assert_int_equal(requests("app-503once", "client_credentials"), before + 2);
	/* 500 every time: three attempts, then the error page is read. */
	o = secret_opts("app-500");
	before = requests("app-500", "client_credentials");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_IO);
	says(&err, "HTTP 500");
	assert_int_equal(requests("app-500", "client_credentials"), before + 3);
	/* Nobody listening. */
	o = secret_opts(APP);
	o.authority = "http://127.0.0.1:9";
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_IO);
	says(&err, "no answer after 3 attempts");
}

static void tls_is_verified(void **state)
{
	char tok[OAUTH_TOKEN_MAX];
	or_error err;
	oauth_options o = secret_opts(APP);
	o.authority = S.tls_url;
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_TLS);
	says(&err, "--cacert");
	o.cacert = path_in("tls.crt");
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
	o.cacert = path_in("other.crt"); /* the wrong CA */
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), OR_ERR_TLS);
	o.cacert = NULL;
	o.insecure = true;
	assert_int_equal(one_token(&o, tok, sizeof tok, &err), 0);
	/* The assertion's audience is the https token endpoint. */
	oauth_options c = {.flow = OAUTH_FLOW_CERTIFICATE, .authority = S.tls_url, .tenant = TENANT, .client_id = APP,
	                   .cert_path = path_in("app.crt"), .key_path = path_in("app.key"), .cacert = path_in("tls.crt"),
	                   .timeout_s = 10};
	assert_int_equal(one_token(&c, tok, sizeof tok, &err), 0);
}

/* At the debug level the module logs its requests: never a secret, an assertion or a token. */
static void debug_log_holds_no_secret(void **state)
{
	char t1[OAUTH_TOKEN_MAX], t2[OAUTH_TOKEN_MAX];
	or_error err;
	fflush(stderr);
	int saved = dup(2), fd = open(path_in("stderr.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	log_set_level(LOG_DEBUG);
	oauth_options o = secret_opts(APP);
	int rc1 = one_token(&o, t1, sizeof t1, &err);
	o.secret = "Wrong~Secret.value-0123456789";
	int rc2 = one_token(&o, t2, sizeof t2, &err);
	oauth_options c = {.flow = OAUTH_FLOW_CERTIFICATE, .authority = S.url, .tenant = TENANT, .client_id = APP,
	                   .cert_path = path_in("app.crt"), .key_path = path_in("app.key"), .timeout_s = 10};
	int rc3 = one_token(&c, t2, sizeof t2, &err);
	log_set_level(LOG_NORMAL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, OR_ERR_AUTH);
	assert_int_equal(rc3, 0);
	char *text = read_text(path_in("stderr.log"));
	assert_non_null(text);
	assert_non_null(strstr(text, "oauth: POST ")); /* the log was caught */
	const char *never[] = {SECRET, "Wrong~Secret", t1, t2, "client_secret=", "client_assertion=", "eyJ"};
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
		if (strstr(text, never[i]))
			fail_msg("the debug log holds '%.20s'", never[i]);
	free(text);
}

static bool can_run(char *why, size_t size)
{
	if (access(PY, X_OK) != 0)
		return snprintf(why, size, "%s is missing", PY), false;
	if (sh("%s -c 'import cryptography' >/dev/null 2>&1", PY) != 0)
		return snprintf(why, size, "python3-cryptography is not installed (apt-get install python3-cryptography)"),
		       false;
	if (!have_openssl())
		return snprintf(why, size, "the openssl command is missing"), false;
	if (access(SERVER, R_OK) != 0)
		return snprintf(why, size, "%s not found: run from the repository's top folder", SERVER), false;
	return true;
}

int main(void)
{
	char why[256];
	if (!can_run(why, sizeof why)) {
		printf("skip: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(secret_gives_a_token_the_server_accepts),
		cmocka_unit_test(refused_credentials_name_cause_and_fix),
		cmocka_unit_test(certificate_assertions_are_accepted),
		cmocka_unit_test(short_lived_token_is_renewed),
		cmocka_unit_test(refusal_renews_once),
		cmocka_unit_test(threads_share_one_acquisition),
		cmocka_unit_test(device_code_signs_in_after_polls_and_refreshes),
		cmocka_unit_test(device_code_signs_in_again_when_the_refresh_token_is_refused),
		cmocka_unit_test(device_code_declined_expired_slowed),
		cmocka_unit_test(device_code_refusals),
		cmocka_unit_test(broken_answers_are_named),
		cmocka_unit_test(tls_is_verified),
		cmocka_unit_test(debug_log_holds_no_secret),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
