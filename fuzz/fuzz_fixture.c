/* fuzz_fixture: the fixture reader of the test tooling (tools/fixture: fixture_load_text and the
 * expansion), and its snapshot form on what it accepts. */
#include "fixture/fixture.h"

#include <jansson.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Generators may ask for up to 5 million items each, by design (benchmarks): such inputs only
 * measure memory and time, so they are left out here. */
static int too_big(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!root)
		return 0;
	json_int_t items = 0, folders = 0;
	json_t *gen = json_object_get(root, "generate"), *g;
	size_t i;
	json_array_foreach(gen, i, g) {
		json_t *n = json_object_get(g, "items");
		if (json_is_integer(n) && json_integer_value(n) > 0)
			items += json_integer_value(n);
		n = json_object_get(g, "folders");
		if (json_is_integer(n) && json_integer_value(n) > 0)
			folders += json_integer_value(n);
	}
	json_decref(root);
	return items > 200000 || folders > 20000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	if (!null_out && !(null_out = fopen("/dev/null", "w")))
		abort();
	if (too_big(data, size))
		return 0;
	struct fixture *fx = NULL;
	struct fx_error err;
	if (fixture_load_text(&fx, (const char *)data, size, &err) == 0) {
		fixture_write_snapshot(fx, null_out, &err);
		fixture_free(fx);
	}
	return 0;
}
