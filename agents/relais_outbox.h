/*  relais_outbox — a partner's local, durable outbox of referrals: store
 *  and forward.
 *
 *  relais_client_submit alone delivers a referral only while the broker is
 *  reachable; a referral handed to it during an outage (or just before the
 *  partner's machine reboots) is the caller's problem.  The outbox makes it
 *  the library's: relais_outbox_put writes the referral to disk first
 *  (returning only after fsync), and relais_outbox_drain delivers what is
 *  queued, records each Ack, and reschedules what could not be delivered,
 *  across process restarts, until the broker acknowledges it.
 *
 *  Guarantees
 *    - put returns RELAIS_OK only once the referral is on disk (LMDB's
 *      default sync mode: commit = fsync; no MDB_NOSYNC).  A crash, a
 *      SIGKILL or a power cut after that loses nothing.
 *    - Every send of an entry is the same referral (the bytes packed once
 *      at put; protobuf-c unpacks and repacks them identically) with the
 *      same partner_ref, so the broker's idempotency makes every resend
 *      safe: a referral the broker already has is answered with its first
 *      Ack again (replay = true), never counted twice.  At-least-once
 *      delivery, exactly-once effect.
 *    - An Ack is recorded (fsync) before the drain callback sees it.  The
 *      first Ack recorded for an entry is kept; a later one (two processes
 *      draining the same outbox) does not overwrite it.
 *    - An Error reply "unavailable" (the broker's store failed) is retried
 *      later; any other Error code (bad_request, unknown_sender,
 *      too_large...) is a permanent refusal: the entry becomes REJECTED
 *      with the code and is not retried.  put of the same partner_ref
 *      again queues it afresh (someone fixed the cause and asks again).
 *
 *  Retry schedule: after the Nth failed attempt the next one is due
 *  RELAIS_OUTBOX_BACKOFF_FIRST_MS * 2^(N-1) later, capped at
 *  RELAIS_OUTBOX_BACKOFF_MAX_MS, times a random factor in [0.8, 1.2]
 *  (jitter, so that many agents do not all come back at the same instant
 *  after a broker outage): 1 s, 2 s, 4 s ... 5 min (at most 6 min with
 *  jitter).  When the broker cannot be reached at all (timeout, unreadable
 *  answers), one entry's failure stands for every entry due at that
 *  moment: they all count a failed attempt and get their own jittered
 *  delay, rather than each waiting out the same timeout in turn.
 *
 *  Time: clock_now() (broker/clock.h), the one injectable clock, in
 *  milliseconds (its seconds * 1000): tests move time with clock_set.
 *
 *  Storage: one LMDB environment per partner, in STATE_DIR/outbox-PARTNER/
 *  (created with mode 0700: referrals hold personal data), with databases
 *    entries   partner_ref                -> relais.outbox.Entry
 *    due       u64 next_attempt_at ‖ u64 seq -> partner_ref (QUEUED only)
 *    meta      "seq"                      -> u64 (the next queue seq)
 *  The map is RELAIS_OUTBOX_MAP_SIZE (64 MiB): room for tens of thousands
 *  of referrals of a few KiB each (acknowledged entries are kept, as the
 *  partner's record of what the broker answered).  When it is full, put
 *  fails ("outbox full") and nothing already queued is lost.
 *
 *  Costs: put and each recorded outcome are one write transaction (one
 *  fsync).  drain finds due entries through the due index (O(log n) each);
 *  stats and foreach read every entry (O(n)).
 *
 *  Errors: functions return RELAIS_OK or RELAIS_ESYS (storage failure, bad
 *  argument) with the reason in relais_outbox_last_error(); drain also
 *  returns the client's codes, see below.
 *  Thread-safety: one relais_outbox_t per thread.  Several processes may
 *  open the same outbox (LMDB serialises writers); two draining at once
 *  may send an entry twice, which idempotency makes harmless.  Do not open
 *  the same outbox twice in one process (an LMDB rule: closing one handle
 *  would drop the other's locks).
 */
#ifndef RELAIS_OUTBOX_H
#define RELAIS_OUTBOX_H

#include "relais.pb-c.h"
#include "relais_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct relais_outbox_t relais_outbox_t;

#define RELAIS_OUTBOX_MAP_SIZE         ((size_t)64 * 1024 * 1024)
#define RELAIS_OUTBOX_BACKOFF_FIRST_MS 1000
#define RELAIS_OUTBOX_BACKOFF_MAX_MS   (5 * 60 * 1000)
#define RELAIS_OUTBOX_JITTER_PERCENT   20

/* The values match relais.outbox.EntryState (proto/relais_outbox.proto). */
typedef enum {
    RELAIS_OUTBOX_QUEUED = 1,   /* waiting for an Ack */
    RELAIS_OUTBOX_ACKED = 2,    /* the broker acknowledged it */
    RELAIS_OUTBOX_REJECTED = 3, /* the broker refused it for good */
} relais_outbox_state_t;

/* One entry, as handed to callbacks: valid only during the callback. */
typedef struct {
    const char *partner_ref;
    relais_outbox_state_t state;
    uint32_t attempts;
    int64_t first_queued_at_ms;
    int64_t next_attempt_at_ms; /* QUEUED only */
    int64_t last_attempt_at_ms; /* 0: never tried */
    int64_t done_at_ms;         /* ACKED / REJECTED: when */
    const Relais__V1__Ack *ack; /* ACKED: the Ack recorded; else NULL */
    /* REJECTED: the broker's Error code and message; QUEUED: why the last
     * attempt failed ("unreachable", "unavailable", "protocol"), or "". */
    const char *error_code;
    const char *error_message;
} relais_outbox_entry_t;

typedef void (*relais_outbox_fn)(void *arg, const relais_outbox_entry_t *entry);

typedef struct {
    size_t queued;   /* waiting for an Ack */
    size_t retrying; /* of which tried at least once */
    size_t acked;
    size_t rejected;
    int64_t oldest_queued_age_ms; /* now - first_queued_at of the oldest
                                     queued entry; 0 when none */
    int64_t next_attempt_at_ms;   /* the earliest one due; 0 when none */
} relais_outbox_stats_t;

/* What one drain did. */
typedef struct {
    size_t sent;     /* requests sent (entries tried) */
    size_t acked;    /* now ACKED */
    size_t rejected; /* now REJECTED */
    size_t deferred; /* rescheduled with backoff */
} relais_outbox_drain_t;

/* Opens (creating if needed) the outbox of PARTNER in STATE_DIR (both
 * directories created, mode 0700).  PARTNER must be usable as a file name
 * ([A-Za-z0-9._-], not starting with '.').  NULL on failure, the reason in
 * ERR. */
relais_outbox_t *relais_outbox_open(const char *state_dir, const char *partner, char *err,
                                    size_t errlen);
void relais_outbox_close(relais_outbox_t **self_p);
/* The outbox directory (STATE_DIR/outbox-PARTNER). */
const char *relais_outbox_path(const relais_outbox_t *self);
const char *relais_outbox_last_error(const relais_outbox_t *self);

/* Queues REFERRAL durably, due now.  When its partner_ref is already
 * QUEUED or ACKED nothing is written (no duplicate; the referral kept is
 * the first one, which is also what the broker would keep); a REJECTED one
 * is queued afresh (attempts back to 0).  *STATE (may be NULL) is the
 * entry's state afterwards; *ADDED (may be NULL) says whether this call
 * queued it.  RELAIS_OK once on disk, or RELAIS_ESYS (no partner_ref,
 * outbox full, I/O error). */
int relais_outbox_put(relais_outbox_t *self, const Relais__V1__Referral *referral,
                      relais_outbox_state_t *state, bool *added);

/* Sends the entries that are due (next attempt <= now), oldest schedule
 * first, each through CLIENT (which retries per its own timeout), and
 * records each outcome before going on: an Ack -> ACKED, then FN (may be
 * NULL) is called; a refusal -> REJECTED, then FN; "unavailable" or an
 * Ack for another partner_ref -> rescheduled.  Stops when nothing is due,
 * when MAX_WAIT_MS (> 0; 0 or less: no limit) has passed since the call
 * began (checked before each send, so a send in flight may overrun it by
 * the client's timeout), or at the first failure to reach the broker.
 * *RESULT (may be NULL) says what was done.
 * Returns RELAIS_OK (nothing more is due), RELAIS_ETIMEOUT or
 * RELAIS_EPROTO (the broker could not be reached or did not speak relais;
 * every due entry was rescheduled; relais_client_last_error(CLIENT) says
 * why), or RELAIS_ESYS (a storage failure, relais_outbox_last_error; or a
 * local client failure such as an interrupting signal, which records
 * nothing: relais_client_last_error). */
int relais_outbox_drain(relais_outbox_t *self, relais_client_t *client, int max_wait_ms,
                        relais_outbox_fn fn, void *arg, relais_outbox_drain_t *result);

/* Counts per state, the age of the oldest queued entry and the next due
 * time.  O(n). */
int relais_outbox_stats(relais_outbox_t *self, relais_outbox_stats_t *out);
/* The earliest next attempt of a queued entry into *AT_MS (0: nothing is
 * queued): when a caller's next drain has something to do.  O(log n). */
int relais_outbox_next_due(relais_outbox_t *self, int64_t *at_ms);
/* Calls FN for the entry of PARTNER_REF.  RELAIS_OK (FN called), 1 (no
 * such entry), or RELAIS_ESYS. */
int relais_outbox_get(relais_outbox_t *self, const char *partner_ref, relais_outbox_fn fn,
                      void *arg);
/* Calls FN for every entry in STATE (0: every entry), in partner_ref
 * order, inside one read transaction: FN must not write to the outbox.
 * O(n). */
int relais_outbox_foreach(relais_outbox_t *self, relais_outbox_state_t state, relais_outbox_fn fn,
                          void *arg);

/* The delay before the next attempt after FAILURES (>= 1) failed ones,
 * with R in [0, 1) choosing the jitter (0.5: none): what drain uses with a
 * random R.  Public so the schedule is documented by code and testable. */
int64_t relais_outbox_backoff_ms(uint32_t failures, double r);

#endif
