/*
 * fuzz_state: arbitrary bytes as the body of an upgrade's saved state
 * (a header that fits is put before them), and, when the first byte is
 * 'H', as a whole state with its own header.
 *
 * The header and the walk must never read out of bounds and must refuse
 * with a reason. The walk's acceptance must be what the loaders rely on:
 * settings, outcome and restart records that load must save again to
 * exactly the bytes they were loaded from.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/outcome.h"
#include "spawnfs/restart.h"
#include "spawnfs/settings.h"
#include "spawnfs/state.h"

#include "fuzz.h"

/* The state r reads: its first record, saved again, must be the bytes it
 * was loaded from. */
static void round_trip(const unsigned char *buf, size_t len, int which)
{
	struct state_r r;
	struct state_w w;
	struct run_settings s;
	struct outcome o;
	struct restart_state rs;
	size_t used;

	CHECK(state_r_init(&r, buf, len) == 0);
	state_w_init(&w);
	if (which == 0 && settings_load(&s, &r) == 0) {
		settings_save(&s, &w);
		settings_fini(&s);
	} else if (which == 1 && outcome_load(&o, &r) == 0) {
		outcome_save(&o, &w);
		outcome_fini(&o);
	} else if (which == 2 && restart_load(&rs, &r) == 0) {
		restart_save(&rs, &w);
		restart_fini(&rs);
	} else {
		CHECK(r.err != 0 && r.why[0] != '\0');
		state_w_fini(&w);
		return;
	}
	CHECK(r.err == 0 && state_w_finish(&w, STATE_VERSION) == 0);
	used = r.pos - STATE_HEADER;
	CHECK(w.len - STATE_HEADER == used);
	CHECK(memcmp(w.buf + STATE_HEADER, buf + STATE_HEADER, used) == 0);
	state_w_fini(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t version = STATE_VERSION, zero = 0;
	unsigned char *buf = malloc(size + STATE_HEADER + 1);
	uint64_t body = size, sum;
	struct state_r r;
	int which;

	if (!buf)
		return 0;
	if (size > 0 && data[0] == 'H') {
		memcpy(buf, data + 1, size - 1);
		if (state_r_init(&r, buf, size - 1) == 0)
			state_r_walk(&r);
		CHECK(r.err == 0 || r.why[0] != '\0');
		free(buf);
		return 0;
	}
	sum = state_checksum(data, size);
	memcpy(buf, "SPAWNFS", 8);
	memcpy(buf + 8, &version, 4);
	memcpy(buf + 12, &zero, 4);
	memcpy(buf + 16, &body, 8);
	memcpy(buf + 24, &sum, 8);
	if (size)
		memcpy(buf + STATE_HEADER, data, size);
	CHECK(state_r_init(&r, buf, size + STATE_HEADER) == 0);
	if (state_r_walk(&r) != 0)
		CHECK(r.why[0] != '\0');
	for (which = 0; which < 3; which++)
		round_trip(buf, size + STATE_HEADER, which);
	free(buf);
	return 0;
}
