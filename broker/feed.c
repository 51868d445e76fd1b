/*  feed — per-partner event feeds.  See feed.h. */
#include "feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_KEY_MAX 128

static size_t s_counter_name(char *out, size_t outlen, const char *partner)
{
    int n = snprintf(out, outlen, "seq:%s", partner);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

/* partner \0 u64 seq */
static size_t s_key(char *out, const char *partner, uint64_t seq)
{
    size_t lp = strlen(partner);
    if (lp + 1 + 8 > FEED_KEY_MAX)
        return 0;
    memcpy(out, partner, lp);
    out[lp] = '\0';
    store_u64_encode(seq, (unsigned char *)out + lp + 1);
    return lp + 9;
}

int feed_last_seq(store_txn_t *t, const char *partner, uint64_t *out)
{
    char name[FEED_KEY_MAX];
    if (!s_counter_name(name, sizeof name, partner))
        return EINVAL;
    return store_counter_get(t, name, out);
}

int feed_append(store_txn_t *t, const char *partner, Relais__V1__StatusEvent *ev)
{
    char name[FEED_KEY_MAX], key[FEED_KEY_MAX];
    uint64_t seq;
    if (!s_counter_name(name, sizeof name, partner))
        return EINVAL;
    int rc = store_counter_next(t, name, &seq);
    if (rc != 0)
        return rc;
    size_t klen = s_key(key, partner, seq);
    if (!klen)
        return EINVAL;
    ev->seq = seq;
    return store_put_msg(t, STORE_FEEDS, key, klen, &ev->base);
}

typedef struct {
    Relais__V1__Events *out;
    size_t max;
    int rc;
} s_fetch_t;

static int s_fetch_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_fetch_t *f = arg;
    Relais__V1__StatusEvent *ev = relais__v1__status_event__unpack(NULL, val->mv_size, val->mv_data);
    if (!ev) {
        f->rc = MDB_CORRUPTED;
        return 1;
    }
    f->out->events[f->out->n_events++] = ev;
    return f->out->n_events >= f->max;
}

int feed_fetch(store_txn_t *t, const char *partner, uint64_t after_seq, uint32_t max,
               Relais__V1__Events *out)
{
    char prefix[FEED_KEY_MAX], start[FEED_KEY_MAX];
    size_t lp = strlen(partner);
    if (lp + 9 > FEED_KEY_MAX)
        return EINVAL;
    memcpy(prefix, partner, lp);
    prefix[lp] = '\0';
    size_t slen = s_key(start, partner, after_seq == UINT64_MAX ? after_seq : after_seq + 1);
    if (max == 0)
        max = FEED_FETCH_DEFAULT;
    if (max > FEED_FETCH_MAX)
        max = FEED_FETCH_MAX;
    relais__v1__events__init(out);
    out->events = calloc(max, sizeof *out->events);
    if (!out->events)
        return ENOMEM;
    if (after_seq == UINT64_MAX)
        return 0;
    s_fetch_t f = {out, max, 0};
    int rc = store_scan(t, STORE_FEEDS, prefix, lp + 1, start, slen, s_fetch_one, &f);
    return rc ? rc : f.rc;
}

void feed_events_clear(Relais__V1__Events *events)
{
    for (size_t i = 0; i < events->n_events; i++)
        relais__v1__status_event__free_unpacked(events->events[i], NULL);
    free(events->events);
    events->events = NULL;
    events->n_events = 0;
}
