/* metrics: the exposition format: HELP and TYPE before each family's
 * samples, counters named _total, one line per label value, errno names. */
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/metrics.h"

static char *render(const struct metrics_view *v)
{
	struct jbuf b;

	jbuf_init(&b);
	metrics_render(&b, v);
	assert_false(b.oom);
	return b.data;
}

/* Every sample line's family has its HELP and TYPE lines before it, and
 * a counter's name ends in _total. */
static void test_families(void **state)
{
	struct metrics_view v;
	char *text, *line, *save = NULL, family[128] = "";
	int samples = 0;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.ctl_errors[EINVAL] = 3;
	text = render(&v);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];

		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			strcpy(family, name);
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			else
				assert_string_equal(type, "gauge");
			continue;
		}
		if (line[0] == '#') {
			assert_int_equal(strncmp(line, "# HELP ", 7), 0);
			continue;
		}
		/* a sample of the family announced last */
		assert_int_equal(strncmp(line, family, strlen(family)), 0);
		assert_true(line[strlen(family)] == ' ' ||
			    line[strlen(family)] == '{');
		samples++;
	}
	assert_true(samples >= 15);
	free(text);
}

static void test_values(void **state)
{
	struct metrics_view v;
	char *text;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.slots[1] = 7;
	v.slots[3] = 2;
	v.slots[4] = 3;
	v.slots[5] = 1;
	v.slots[6] = 2;
	v.processes = 9;
	v.cpu_usec = 3000042;
	v.bytes[2] = 12345678901234ULL;
	v.ctl_errors[EBUSY] = 4;
	v.ctl_errors[ENOSPC] = 1;
	v.paused = 5;
	v.rss_bytes = 4096;
	text = render(&v);
	assert_non_null(strstr(text, "spawnfs_slots{state=\"running\"} 7\n"));
	assert_non_null(strstr(text, "spawnfs_slots{state=\"killed\"} 2\n"));
	assert_non_null(strstr(text, "spawnfs_slots{state=\"new\"} 0\n"));
	assert_non_null(strstr(text, "spawnfs_slots{state=\"failed\"} 3\n"));
	assert_non_null(strstr(text, "spawnfs_slots{state=\"stopped\"} 1\n"));
	assert_non_null(strstr(text, "spawnfs_slots{state=\"frozen\"} 2\n"));
	assert_non_null(strstr(text, "spawnfs_processes 9\n"));
	assert_non_null(strstr(text, "spawnfs_cpu_seconds_total 3.000042\n"));
	assert_non_null(strstr(
		text,
		"spawnfs_captured_bytes_total{stream=\"events\"} 12345678901234\n"));
	assert_non_null(
		strstr(text, "spawnfs_ctl_errors_total{errno=\"EBUSY\"} 4\n"));
	assert_non_null(
		strstr(text, "spawnfs_ctl_errors_total{errno=\"ENOSPC\"} 1\n"));
	/* errnos never seen have no line */
	assert_null(strstr(text, "errno=\"EINVAL\""));
	assert_non_null(strstr(text, "spawnfs_paused_runs 5\n"));
	assert_non_null(strstr(text, "spawnfs_resident_memory_bytes 4096\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
