/*  feed — each partner's ordered, durable stream of status events.
 *
 *  The closed loop of the programme: whenever a case changes state, every
 *  referral attached to it gets a StatusEvent in its partner's feed
 *  (case.c calls feed_append).  Per partner, seq starts at 1 and grows by
 *  exactly 1: no gap, no repeat, so a partner that remembers the last seq
 *  it saw never misses nor double-counts an event (FetchEvents.after_seq).
 *
 *  Events carry what the referrer may know: ids, state, structure, dates,
 *  outcome, a short detail.  Never identity data.
 *
 *  Cost: feed_append O(log n), one put (keys are appended in order);
 *  feed_fetch O(log n + max).
 */
#ifndef RELAIS_FEED_H
#define RELAIS_FEED_H

#include "relais.pb-c.h"
#include "store.h"

#define FEED_FETCH_DEFAULT 100
#define FEED_FETCH_MAX 1000

/* Appends EV (its seq is assigned here) to PARTNER's feed. */
int feed_append(store_txn_t *t, const char *partner, Relais__V1__StatusEvent *ev);
/* Reads at most MAX (0: FEED_FETCH_DEFAULT; capped at FEED_FETCH_MAX)
 * events of PARTNER with seq > AFTER_SEQ into OUT, a zero-initialised
 * Events the caller frees with feed_events_clear.  */
int feed_fetch(store_txn_t *t, const char *partner, uint64_t after_seq, uint32_t max,
               Relais__V1__Events *out);
void feed_events_clear(Relais__V1__Events *events);
/* The last seq assigned in PARTNER's feed (0: none yet). */
int feed_last_seq(store_txn_t *t, const char *partner, uint64_t *out);

#endif
