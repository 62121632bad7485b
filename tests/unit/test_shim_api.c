/* SPDX-License-Identifier: MIT */
/* The C API: spans from several threads, nesting, errors, traces. */
#include "tests/lib/harness.h"
#include "tests/lib/shimrun.h"

#include <stdlib.h>
#include <string.h>

#include "common/record.h"

static void shim_api_threads_nest_and_fail(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { sr_build_path("progs/shim_api"), "4", "50",
			       NULL };
	const struct sr_vspan *proc;
	const struct sr_vtrace *wf = NULL;
	size_t outer = 0, inner = 0, failed = 0, deep = 0, roots = 0;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "ok\n");
	assert_int_equal(r.dropped, 0);
	assert_int_equal(r.ntraces, 2);
	for (size_t i = 0; i < r.ntraces; i++)
		if (!strcmp(r.traces[i].workflow, "wf-api"))
			wf = &r.traces[i];
	if (!wf)
		fail_msg("no trace wf-api");
	assert_string_equal(wf->group, "group_api");
	assert_string_equal(wf->metadata, "{\"k\":1}");
	proc = sr_run_span(&r, "process", 0);
	for (size_t i = 0; i < r.nspans; i++) {
		const struct sr_vspan *s = &r.spans[i], *p;

		assert_true(s->started && s->ended);
		if (!strcmp(s->name, "outer")) {
			outer++;
			assert_false(s->flags & SR_SF_SPAN_DATA);
			if (sr_vspan_int(s, "thread") == 0) {
				/* thread 0 began a trace: its spans are roots */
				assert_string_equal(s->trace, wf->trace);
				assert_string_equal(s->parent, "");
				assert_true(s->flags & SR_SF_ROOT);
				roots++;
			} else {
				assert_string_equal(s->parent, proc->span);
				assert_string_equal(s->trace, proc->trace);
			}
		} else if (s->flags & SR_SF_SPAN_DATA) {
			inner++;
			assert_string_equal(sr_vspan_str(s, "type"),
					    "function");
			p = sr_run_by_id(&r, s->parent);
			assert_non_null(p);
			assert_string_equal(p->name, "outer");
			assert_string_equal(s->trace, p->trace);
			sr_assert_cmp(s->start_ns, >=, p->start_ns);
			sr_assert_cmp(s->end_ns, <=, p->end_ns);
			if (sr_vspan_int(p, "i") % 2) {
				assert_string_equal(s->err, "boom");
				assert_int_equal(cJSON_GetObjectItem(s->errdata,
								     "code")
							 ->valueint,
						 1);
				failed++;
			} else {
				assert_null(s->err);
			}
		} else if (!strcmp(s->name, "deep")) {
			assert_null(s->err);
			deep++;
		}
	}
	assert_int_equal(outer, 200);
	assert_int_equal(inner, 200);
	assert_int_equal(failed, 100);
	assert_int_equal(roots, 50);
	assert_int_equal(deep, 64);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(shim_api_threads_nest_and_fail))
