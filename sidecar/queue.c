/* SPDX-License-Identifier: MIT */
#include "queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"

/* An item: its line in the text (json then '\n'), in queue order. */
struct qitem {
	size_t off;
	size_t len; /* without the '\n' */
	bool trace;
	uint8_t trace_id[16];
};

struct sr_queue {
	struct qitem *items;
	size_t n, cap;
	char *text; /* the items' lines, in order of arrival */
	size_t tlen, tcap;
	uint64_t oldest;     /* monotonic ns of the oldest item's event */
	uint64_t mono, real; /* clocks read once per drain round */
};

struct sr_queue *sr_queue_new(void)
{
	return calloc(1, sizeof(struct sr_queue));
}

void sr_queue_free(struct sr_queue *q)
{
	if (!q)
		return;
	sr_queue_clear(q);
	free(q->items);
	free(q->text);
	free(q);
}

void sr_queue_clock(struct sr_queue *q)
{
	q->mono = sr_mono_ns();
	q->real = sr_now_ns();
}

/* Monotonic time of a wall-clock event: how long ago it happened counts
 * toward schedule_delay (an item read late is exported sooner). */
static uint64_t event_mono(const struct sr_queue *q, uint64_t ts_ns)
{
	uint64_t age;

	if (!ts_ns || ts_ns > q->real)
		return q->mono;
	age = q->real - ts_ns;
	return age < q->mono ? q->mono - age : 0;
}

/* Where an item goes: at the end, except a trace object, which goes
 * before the first queued span of its trace. Trace objects are rare: the
 * scan costs nothing overall. */
static size_t slot_of(const struct sr_queue *q, const struct sr_item *it)
{
	if (!it->trace)
		return q->n;
	for (size_t i = 0; i < q->n; i++)
		if (!q->items[i].trace &&
		    !memcmp(q->items[i].trace_id, it->trace_id, 16))
			return i;
	return q->n;
}

/* Room for `more` bytes of text. 0 or -ENOMEM. */
static int text_room(struct sr_queue *q, size_t more)
{
	size_t cap = q->tcap ? q->tcap : 64 * 1024;
	char *p;

	if (q->tcap - q->tlen >= more)
		return 0;
	while (cap - q->tlen < more)
		cap *= 2;
	p = realloc(q->text, cap);
	if (!p)
		return -ENOMEM;
	q->text = p;
	q->tcap = cap;
	return 0;
}

int sr_queue_push(struct sr_queue *q, const struct sr_item *it)
{
	uint64_t at = event_mono(q, it->ts_ns);
	size_t pos;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct qitem *p = realloc(q->items, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		q->items = p;
		q->cap = cap;
	}
	if (text_room(q, it->len + 1))
		return -ENOMEM;
	if (!q->n || at < q->oldest)
		q->oldest = at;
	pos = slot_of(q, it);
	memmove(&q->items[pos + 1], &q->items[pos],
		(q->n - pos) * sizeof(*q->items));
	q->items[pos] = (struct qitem){ q->tlen, it->len, it->trace, { 0 } };
	memcpy(q->items[pos].trace_id, it->trace_id, 16);
	memcpy(q->text + q->tlen, it->json, it->len);
	q->tlen += it->len;
	q->text[q->tlen++] = '\n';
	q->n++;
	return 0;
}

size_t sr_queue_len(const struct sr_queue *q)
{
	return q->n;
}

uint64_t sr_queue_oldest(const struct sr_queue *q)
{
	return q->oldest;
}

/* Joins items [from, to) as JSON lines (NUL-terminated): one copy per
 * run of items that lie in order in the text (all of them, unless a
 * trace object was queued ahead of its spans). */
static char *join_lines(const struct sr_queue *q, size_t from, size_t to,
			size_t *len)
{
	size_t n = 0, o = 0;
	char *buf;

	for (size_t i = from; i < to; i++)
		n += q->items[i].len + 1;
	buf = malloc(n + 1);
	if (!buf)
		return NULL;
	for (size_t i = from, j; i < to; i = j) {
		size_t run = q->items[i].len + 1;

		for (j = i + 1;
		     j < to && q->items[j].off == q->items[j - 1].off +
							  q->items[j - 1].len +
							  1;
		     j++)
			run += q->items[j].len + 1;
		memcpy(buf + o, q->text + q->items[i].off, run);
		o += run;
	}
	buf[o] = 0;
	*len = n;
	return buf;
}

int sr_queue_batches(const struct sr_queue *q, uint32_t max_batch,
		     struct sr_spool_batch **out, size_t *n)
{
	size_t step = max_batch ? max_batch : 1, nb = (q->n + step - 1) / step;
	struct sr_spool_batch *b;

	*out = NULL;
	*n = 0;
	if (!nb)
		return 0;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t k = 0; k < nb; k++) {
		size_t from = k * step,
		       to = from + step < q->n ? from + step : q->n;

		b[k].items = (uint32_t)(to - from);
		b[k].lines = join_lines(q, from, to, &b[k].len);
		if (!b[k].lines) {
			while (k-- > 0)
				free(b[k].lines);
			free(b);
			return -ENOMEM;
		}
	}
	*out = b;
	*n = nb;
	return 0;
}

void sr_queue_clear(struct sr_queue *q)
{
	q->n = 0;
	q->tlen = 0;
	if (q->tcap > SR_QUEUE_TEXT_KEEP) {
		/* grown by large items: not held for the next hand-off */
		free(q->text);
		q->text = NULL;
		q->tcap = 0;
	}
}
