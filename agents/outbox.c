/*  outbox — the partner's durable outbox: referrals are written to a local
 *  LMDB environment before anything is sent, then delivered, and resent
 *  with exponential backoff until the broker acknowledges them.  The
 *  contract (guarantees, schedule, databases) is in relais_outbox.h.
 *
 *  How an entry moves: put writes it QUEUED with a key in the `due` index
 *  (next_attempt_at, seq).  drain takes the first due key, sends the entry,
 *  and records the outcome in one write transaction that re-reads the
 *  entry first, so that a second process draining the same outbox cannot
 *  make an entry go backwards (an ACKED entry stays ACKED with its first
 *  Ack).  Every state change keeps the `due` index in step in the same
 *  transaction: an entry is in `due` exactly when it is QUEUED.
 *
 *  This is the agent's own small environment, not the broker's store, so
 *  it has its own few LMDB calls here rather than broker/store.c (whose
 *  databases are the broker's).  Same rules: default sync mode (commit =
 *  fsync), MDB_NOTLS, stale reader slots cleared at open.
 */
#include "relais_outbox.h"
#include "dirs.h"

#include "clock.h"
#include "relais_outbox.pb-c.h"

#include <lmdb.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* LMDB's default maximum key size: a partner_ref longer than this cannot
 * be a key (the broker's validation allows far less anyway). */
#define S_MAX_REF  511
#define S_DUE_KEY  16
#define S_SEQ_KEY  "seq"

struct relais_outbox_t {
    MDB_env *env;
    MDB_dbi entries;
    MDB_dbi due;
    MDB_dbi meta;
    char *path;
    uint64_t rng; /* xorshift state, for the jitter only */
    char last_error[512];
};

typedef Relais__Outbox__Entry s_entry_t;

static void s_set_error(relais_outbox_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_set_error(relais_outbox_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->last_error, sizeof self->last_error, fmt, ap);
    va_end(ap);
}

/* An LMDB failure, said the way a partner can act on it. */
static int s_lmdb_error(relais_outbox_t *self, const char *what, int rc)
{
    if (rc == MDB_MAP_FULL)
        s_set_error(self, "outbox %s is full (%zu MiB): %s failed; nothing queued was lost",
                    self->path, RELAIS_OUTBOX_MAP_SIZE >> 20, what);
    else
        s_set_error(self, "outbox %s: %s failed: %s", self->path, what, mdb_strerror(rc));
    return RELAIS_ESYS;
}

/* clock_now() is in seconds; the outbox counts in milliseconds so that the
 * jitter of short delays is not rounded away. */
static int64_t s_now_ms(void)
{
    return clock_now() * 1000;
}

static int64_t s_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: the jitter needs spread, not secrecy. */
static double s_random(relais_outbox_t *self)
{
    uint64_t x = self->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0; /* 2^53 */
}

static uint64_t s_seed(const void *salt)
{
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
            v = 0;
        close(fd);
    }
    if (v == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)salt;
    }
    return v ? v : 0x9E3779B97F4A7C15ULL; /* xorshift must not start at 0 */
}

int64_t relais_outbox_backoff_ms(uint32_t failures, double r)
{
    if (failures < 1)
        failures = 1;
    if (r < 0 || r >= 1)
        r = 0.5;
    int64_t base = RELAIS_OUTBOX_BACKOFF_MAX_MS;
    /* 2^19 s is far past the cap: no need to shift further (or overflow). */
    if (failures <= 20) {
        int64_t doubled = (int64_t)RELAIS_OUTBOX_BACKOFF_FIRST_MS << (failures - 1);
        if (doubled < base)
            base = doubled;
    }
    double spread = RELAIS_OUTBOX_JITTER_PERCENT / 100.0;
    return (int64_t)((double)base * (1.0 + spread * (2.0 * r - 1.0)));
}

/* ---- opening ------------------------------------------------------------ */

/* Partner ids become a directory name: letters, digits, '-', '_', '.',
 * and no leading '.', so "../x" or "." cannot escape the state dir. */
static bool s_id_is_file_name(const char *id)
{
    if (!id || !*id || *id == '.')
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

relais_outbox_t *relais_outbox_open(const char *state_dir, const char *partner, char *err,
                                    size_t errlen)
{
    relais_outbox_t *self = NULL;
    MDB_txn *txn = NULL;
    int rc = 0;
    if (!state_dir || !*state_dir) {
        snprintf(err, errlen, "no state directory given");
        return NULL;
    }
    if (!s_id_is_file_name(partner)) {
        snprintf(err, errlen, "partner id '%s' cannot name an outbox directory",
                 partner ? partner : "");
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->rng = s_seed(self);
    size_t len = strlen(state_dir) + strlen("/outbox-") + strlen(partner) + 1;
    self->path = malloc(len);
    if (!self->path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(self->path, len, "%s/outbox-%s", state_dir, partner);
    if (dirs_make(self->path, err, errlen) != 0)
        goto fail;

    if ((rc = mdb_env_create(&self->env)) != 0 || (rc = mdb_env_set_maxdbs(self->env, 3)) != 0 ||
        (rc = mdb_env_set_mapsize(self->env, RELAIS_OUTBOX_MAP_SIZE)) != 0)
        goto lmdb_fail;
    /* Default sync mode on purpose: put's promise is "on disk". */
    if ((rc = mdb_env_open(self->env, self->path, MDB_NOTLS, 0600)) != 0)
        goto lmdb_fail;
    /* An agent SIGKILLed inside a read transaction leaves its reader slot
     * taken; clear those so they do not pin old pages forever. */
    int dead = 0;
    if ((rc = mdb_reader_check(self->env, &dead)) != 0)
        goto lmdb_fail;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &self->entries)) != 0 ||
        (rc = mdb_dbi_open(txn, "due", MDB_CREATE, &self->due)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0)
        goto lmdb_fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto lmdb_fail;
    return self;

lmdb_fail:
    snprintf(err, errlen, "cannot open outbox %s: %s", self->path ? self->path : state_dir,
             mdb_strerror(rc));
fail:
    if (txn)
        mdb_txn_abort(txn);
    relais_outbox_close(&self);
    return NULL;
}

void relais_outbox_close(relais_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    relais_outbox_t *self = *self_p;
    if (self->env)
        mdb_env_close(self->env);
    free(self->path);
    free(self);
    *self_p = NULL;
}

const char *relais_outbox_path(const relais_outbox_t *self)
{
    return self->path;
}

const char *relais_outbox_last_error(const relais_outbox_t *self)
{
    return self->last_error;
}

/* ---- records ------------------------------------------------------------ */

static void s_u64_encode(uint64_t v, unsigned char *out)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t s_u64_decode(const unsigned char *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

/* due key: big-endian time then seq, so LMDB's byte order is due order
 * and, within one millisecond, queue order (a CSV's rows go out in file
 * order). */
static void s_due_key(const s_entry_t *e, unsigned char key[S_DUE_KEY])
{
    s_u64_encode(e->next_attempt_at > 0 ? (uint64_t)e->next_attempt_at : 0, key);
    s_u64_encode(e->seq, key + 8);
}

/* Reads PARTNER_REF's entry: 0, MDB_NOTFOUND, MDB_CORRUPTED (a record
 * that does not decode) or another LMDB code.  *OUT is the caller's
 * (relais__outbox__entry__free_unpacked). */
static int s_load(relais_outbox_t *self, MDB_txn *txn, const char *ref, s_entry_t **out)
{
    MDB_val k = {strlen(ref), (void *)ref};
    MDB_val v;
    *out = NULL;
    int rc = mdb_get(txn, self->entries, &k, &v);
    if (rc != 0)
        return rc;
    *out = relais__outbox__entry__unpack(NULL, v.mv_size, v.mv_data);
    return *out ? 0 : MDB_CORRUPTED;
}

static int s_store(relais_outbox_t *self, MDB_txn *txn, const char *ref, const s_entry_t *e)
{
    MDB_val k = {strlen(ref), (void *)ref};
    MDB_val v = {relais__outbox__entry__get_packed_size(e), NULL};
    /* MDB_RESERVE: pack straight into the page LMDB hands us. */
    int rc = mdb_put(txn, self->entries, &k, &v, MDB_RESERVE);
    if (rc == 0)
        relais__outbox__entry__pack(e, v.mv_data);
    return rc;
}

static int s_due_put(relais_outbox_t *self, MDB_txn *txn, const char *ref, const s_entry_t *e)
{
    unsigned char key[S_DUE_KEY];
    s_due_key(e, key);
    MDB_val k = {sizeof key, key};
    MDB_val v = {strlen(ref), (void *)ref};
    return mdb_put(txn, self->due, &k, &v, 0);
}

static int s_due_del(relais_outbox_t *self, MDB_txn *txn, const s_entry_t *e)
{
    unsigned char key[S_DUE_KEY];
    s_due_key(e, key);
    MDB_val k = {sizeof key, key};
    int rc = mdb_del(txn, self->due, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc; /* already gone: what we wanted */
}

static int s_next_seq(relais_outbox_t *self, MDB_txn *txn, uint64_t *seq)
{
    MDB_val k = {strlen(S_SEQ_KEY), S_SEQ_KEY};
    MDB_val v;
    uint64_t next = 1;
    int rc = mdb_get(txn, self->meta, &k, &v);
    if (rc == 0 && v.mv_size == 8)
        next = s_u64_decode(v.mv_data) + 1;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    unsigned char buf[8];
    s_u64_encode(next, buf);
    v.mv_size = sizeof buf;
    v.mv_data = buf;
    if ((rc = mdb_put(txn, self->meta, &k, &v, 0)) != 0)
        return rc;
    *seq = next;
    return 0;
}

/* The callback's view of E.  *ACK_HOLD receives the unpacked Ack (ACKED
 * entries), which the caller frees after the callback. */
static void s_view(const char *ref, const s_entry_t *e, relais_outbox_entry_t *view,
                   Relais__V1__Ack **ack_hold)
{
    *ack_hold = NULL;
    if (e->state == RELAIS__OUTBOX__ENTRY_STATE__ENTRY_ACKED && e->ack.len > 0)
        *ack_hold = relais__v1__ack__unpack(NULL, e->ack.len, e->ack.data);
    *view = (relais_outbox_entry_t){
        .partner_ref = ref,
        .state = (relais_outbox_state_t)e->state,
        .attempts = e->attempts,
        .first_queued_at_ms = e->first_queued_at,
        .next_attempt_at_ms = e->next_attempt_at,
        .last_attempt_at_ms = e->last_attempt_at,
        .done_at_ms = e->done_at,
        .ack = *ack_hold,
        .error_code = e->error_code ? e->error_code : "",
        .error_message = e->error_message ? e->error_message : "",
    };
}

static void s_call(relais_outbox_fn fn, void *arg, const char *ref, const s_entry_t *e)
{
    if (!fn)
        return;
    relais_outbox_entry_t view;
    Relais__V1__Ack *ack = NULL;
    s_view(ref, e, &view, &ack);
    fn(arg, &view);
    if (ack)
        relais__v1__ack__free_unpacked(ack, NULL);
}

/* ---- put ---------------------------------------------------------------- */

int relais_outbox_put(relais_outbox_t *self, const Relais__V1__Referral *referral,
                      relais_outbox_state_t *state, bool *added)
{
    MDB_txn *txn = NULL;
    s_entry_t *old = NULL;
    uint8_t *bytes = NULL;
    int ret = RELAIS_ESYS;
    int rc;
    self->last_error[0] = '\0';
    if (added)
        *added = false;

    if (!referral || !referral->partner_ref || !*referral->partner_ref) {
        s_set_error(self, "a referral needs a partner_ref to be queued (it is its key)");
        return RELAIS_ESYS;
    }
    const char *ref = referral->partner_ref;
    if (strlen(ref) > S_MAX_REF) {
        s_set_error(self, "partner_ref longer than %d bytes", S_MAX_REF);
        return RELAIS_ESYS;
    }
    size_t size = relais__v1__referral__get_packed_size(referral);
    bytes = malloc(size ? size : 1);
    if (!bytes) {
        s_set_error(self, "out of memory");
        return RELAIS_ESYS;
    }
    relais__v1__referral__pack(referral, bytes);

    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0) {
        s_lmdb_error(self, "begin", rc);
        goto done;
    }
    rc = s_load(self, txn, ref, &old);
    if (rc == 0 && old->state != RELAIS__OUTBOX__ENTRY_STATE__ENTRY_REJECTED) {
        /* Queued or acknowledged already: the first referral stands, as it
         * does at the broker. */
        if (state)
            *state = (relais_outbox_state_t)old->state;
        ret = RELAIS_OK;
        goto done;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        s_lmdb_error(self, "reading the entry", rc);
        goto done;
    }

    s_entry_t e = RELAIS__OUTBOX__ENTRY__INIT;
    e.state = RELAIS__OUTBOX__ENTRY_STATE__ENTRY_QUEUED;
    e.referral.data = bytes;
    e.referral.len = size;
    e.first_queued_at = s_now_ms();
    e.next_attempt_at = e.first_queued_at;
    if ((rc = s_next_seq(self, txn, &e.seq)) != 0 || (rc = s_store(self, txn, ref, &e)) != 0 ||
        (rc = s_due_put(self, txn, ref, &e)) != 0) {
        s_lmdb_error(self, "queueing", rc);
        goto done;
    }
    rc = mdb_txn_commit(txn); /* fsync: the promise of put */
    txn = NULL;
    if (rc != 0) {
        s_lmdb_error(self, "writing to disk", rc);
        goto done;
    }
    if (state)
        *state = RELAIS_OUTBOX_QUEUED;
    if (added)
        *added = true;
    ret = RELAIS_OK;
done:
    if (txn)
        mdb_txn_abort(txn);
    if (old)
        relais__outbox__entry__free_unpacked(old, NULL);
    free(bytes);
    return ret;
}

/* ---- recording outcomes --------------------------------------------------- */

typedef enum { S_ACKED, S_REJECTED, S_DEFERRED } s_outcome_t;

/* Applies OUTCOME to E (loaded in TXN) and writes it back, keeping the due
 * index in step.  ACK for S_ACKED; CODE and MESSAGE otherwise (why it was
 * refused, or why this attempt failed). */
static int s_apply(relais_outbox_t *self, MDB_txn *txn, const char *ref, const s_entry_t *e,
                   s_outcome_t outcome, const Relais__V1__Ack *ack, const char *code,
                   const char *message, int64_t now)
{
    uint8_t *ack_bytes = NULL;
    int rc = s_due_del(self, txn, e);
    if (rc != 0)
        return rc;
    /* A shallow copy: the strings and bytes set below are only read by
     * pack; E, which owns the unpacked ones, is freed by the caller. */
    s_entry_t n = *e;
    n.attempts++;
    n.last_attempt_at = now;
    n.error_code = (char *)(code ? code : "");
    n.error_message = (char *)(message ? message : "");
    if (outcome == S_ACKED) {
        size_t len = relais__v1__ack__get_packed_size(ack);
        ack_bytes = malloc(len ? len : 1);
        if (!ack_bytes)
            return ENOMEM;
        relais__v1__ack__pack(ack, ack_bytes);
        n.state = RELAIS__OUTBOX__ENTRY_STATE__ENTRY_ACKED;
        n.ack.data = ack_bytes;
        n.ack.len = len;
    } else if (outcome == S_REJECTED) {
        n.state = RELAIS__OUTBOX__ENTRY_STATE__ENTRY_REJECTED;
    }
    if (outcome == S_DEFERRED) {
        n.next_attempt_at = now + relais_outbox_backoff_ms(n.attempts, s_random(self));
    } else {
        n.next_attempt_at = 0;
        n.done_at = now;
    }
    rc = s_store(self, txn, ref, &n);
    if (rc == 0 && outcome == S_DEFERRED)
        rc = s_due_put(self, txn, ref, &n);
    free(ack_bytes);
    return rc;
}

/* One outcome for REF in its own write transaction.  The entry is re-read
 * there and changes only while QUEUED: another process may have recorded
 * an answer meanwhile, and the first answer stays. */
static int s_record(relais_outbox_t *self, const char *ref, s_outcome_t outcome,
                    const Relais__V1__Ack *ack, const char *code, const char *message)
{
    MDB_txn *txn = NULL;
    s_entry_t *e = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        goto fail;
    rc = s_load(self, txn, ref, &e);
    if (rc == MDB_NOTFOUND || (rc == 0 && e->state != RELAIS__OUTBOX__ENTRY_STATE__ENTRY_QUEUED)) {
        rc = 0; /* settled (or gone) already: nothing to record */
        goto done;
    }
    if (rc != 0 || (rc = s_apply(self, txn, ref, e, outcome, ack, code, message, s_now_ms())) != 0)
        goto fail;
    rc = mdb_txn_commit(txn); /* fsync before anyone is told */
    txn = NULL;
    if (rc != 0)
        goto fail;
    goto done;
fail:
    s_lmdb_error(self, "recording the answer", rc);
done:
    if (txn)
        mdb_txn_abort(txn);
    if (e)
        relais__outbox__entry__free_unpacked(e, NULL);
    return rc == 0 ? RELAIS_OK : RELAIS_ESYS;
}

/* The broker could not be reached: every entry due at this moment counts
 * a failed attempt and gets its own jittered delay (one probe stands for
 * all of them: trying each in turn would only wait out the same timeout
 * again and again).  One transaction for the lot. */
static int s_defer_all_due(relais_outbox_t *self, const char *message, size_t *deferred)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    char **refs = NULL;
    size_t n = 0, cap = 0;
    int64_t now = s_now_ms();
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        goto fail;
    if ((rc = mdb_cursor_open(txn, self->due, &cur)) != 0)
        goto fail;
    /* Collect first: the updates move keys under the cursor. */
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != S_DUE_KEY || (int64_t)s_u64_decode(k.mv_data) > now)
            break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(refs, ncap * sizeof *refs);
            if (!grown) {
                rc = ENOMEM;
                goto fail;
            }
            refs = grown;
            cap = ncap;
        }
        refs[n] = strndup(v.mv_data, v.mv_size);
        if (!refs[n]) {
            rc = ENOMEM;
            goto fail;
        }
        n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    for (size_t i = 0; i < n; i++) {
        s_entry_t *e = NULL;
        rc = s_load(self, txn, refs[i], &e);
        if (rc == 0 && e->state == RELAIS__OUTBOX__ENTRY_STATE__ENTRY_QUEUED)
            rc = s_apply(self, txn, refs[i], e, S_DEFERRED, NULL, "unreachable", message, now);
        if (e)
            relais__outbox__entry__free_unpacked(e, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc != 0)
            goto fail;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto fail;
    *deferred += n;
    goto done;
fail:
    s_lmdb_error(self, "rescheduling", rc);
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    for (size_t i = 0; i < n; i++)
        free(refs[i]);
    free(refs);
    return rc == 0 ? RELAIS_OK : RELAIS_ESYS;
}

/* ---- reading ---------------------------------------------------------------- */

/* The first due entry (next attempt <= NOW): its partner_ref (malloc'd)
 * and its referral, unpacked.  0 with *REF NULL when nothing is due. */
static int s_first_due(relais_outbox_t *self, int64_t now, char **ref,
                       Relais__V1__Referral **referral)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    s_entry_t *e = NULL;
    MDB_val k, v;
    *ref = NULL;
    *referral = NULL;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0 || (rc = mdb_cursor_open(txn, self->due, &cur)) != 0)
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != S_DUE_KEY || (int64_t)s_u64_decode(k.mv_data) > now)
            break;
        char *candidate = strndup(v.mv_data, v.mv_size);
        if (!candidate) {
            rc = ENOMEM;
            goto fail;
        }
        rc = s_load(self, txn, candidate, &e);
        if (rc == 0 && e->state == RELAIS__OUTBOX__ENTRY_STATE__ENTRY_QUEUED) {
            *referral = relais__v1__referral__unpack(NULL, e->referral.len, e->referral.data);
            if (!*referral) {
                free(candidate);
                rc = MDB_CORRUPTED;
                goto fail;
            }
            *ref = candidate;
            break;
        }
        /* A due key without a queued entry cannot be written by this
         * code; if one is found anyway, skip it rather than stall. */
        free(candidate);
        if (e) {
            relais__outbox__entry__free_unpacked(e, NULL);
            e = NULL;
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
    }
    rc = 0;
    goto done;
fail:
    s_lmdb_error(self, "reading the queue", rc);
done:
    if (e)
        relais__outbox__entry__free_unpacked(e, NULL);
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc == 0 ? RELAIS_OK : RELAIS_ESYS;
}

int relais_outbox_next_due(relais_outbox_t *self, int64_t *at_ms)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    *at_ms = 0;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, self->due, &cur);
    if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc == 0 && k.mv_size == S_DUE_KEY) {
        *at_ms = (int64_t)s_u64_decode(k.mv_data);
        if (*at_ms == 0)
            *at_ms = 1; /* 0 means "nothing queued" */
    }
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_lmdb_error(self, "reading the queue", rc);
    return RELAIS_OK;
}

int relais_outbox_get(relais_outbox_t *self, const char *partner_ref, relais_outbox_fn fn,
                      void *arg)
{
    MDB_txn *txn = NULL;
    s_entry_t *e = NULL;
    if (!partner_ref || !*partner_ref || strlen(partner_ref) > S_MAX_REF)
        return 1; /* cannot be a key, so there is no such entry */
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = s_load(self, txn, partner_ref, &e);
    /* The entry is unpacked into our memory: the callback runs outside the
     * transaction and may use the outbox. */
    if (txn)
        mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc != 0)
        return s_lmdb_error(self, "reading the entry", rc);
    s_call(fn, arg, partner_ref, e);
    relais__outbox__entry__free_unpacked(e, NULL);
    return RELAIS_OK;
}

/* Walks every entry (O(n)); FN gets the ref and the decoded entry. */
typedef int (*s_walk_fn)(void *arg, const char *ref, const s_entry_t *e);

static int s_walk(relais_outbox_t *self, s_walk_fn walk, void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    char ref[S_MAX_REF + 1];
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0 || (rc = mdb_cursor_open(txn, self->entries, &cur)) != 0)
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        s_entry_t *e = relais__outbox__entry__unpack(NULL, v.mv_size, v.mv_data);
        if (!e || k.mv_size > S_MAX_REF) {
            if (e)
                relais__outbox__entry__free_unpacked(e, NULL);
            rc = MDB_CORRUPTED;
            goto fail;
        }
        memcpy(ref, k.mv_data, k.mv_size);
        ref[k.mv_size] = '\0';
        int stop = walk(arg, ref, e);
        relais__outbox__entry__free_unpacked(e, NULL);
        if (stop)
            break;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc != 0)
        goto fail;
    goto done;
fail:
    s_lmdb_error(self, "reading the entries", rc);
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc == 0 ? RELAIS_OK : RELAIS_ESYS;
}

typedef struct {
    relais_outbox_stats_t *out;
    int64_t now;
    int64_t oldest;
} s_stats_walk_t;

static int s_stats_one(void *arg, const char *ref, const s_entry_t *e)
{
    (void)ref;
    s_stats_walk_t *w = arg;
    switch (e->state) {
    case RELAIS__OUTBOX__ENTRY_STATE__ENTRY_QUEUED:
        w->out->queued++;
        if (e->attempts > 0)
            w->out->retrying++;
        if (w->oldest == 0 || e->first_queued_at < w->oldest)
            w->oldest = e->first_queued_at;
        if (w->out->next_attempt_at_ms == 0 || e->next_attempt_at < w->out->next_attempt_at_ms)
            w->out->next_attempt_at_ms = e->next_attempt_at;
        break;
    case RELAIS__OUTBOX__ENTRY_STATE__ENTRY_ACKED:
        w->out->acked++;
        break;
    case RELAIS__OUTBOX__ENTRY_STATE__ENTRY_REJECTED:
        w->out->rejected++;
        break;
    default:
        break;
    }
    return 0;
}

int relais_outbox_stats(relais_outbox_t *self, relais_outbox_stats_t *out)
{
    memset(out, 0, sizeof *out);
    s_stats_walk_t w = {.out = out, .now = s_now_ms()};
    int rc = s_walk(self, s_stats_one, &w);
    if (rc == RELAIS_OK && w.oldest > 0)
        out->oldest_queued_age_ms = w.now > w.oldest ? w.now - w.oldest : 0;
    return rc;
}

typedef struct {
    relais_outbox_state_t state;
    relais_outbox_fn fn;
    void *arg;
} s_foreach_walk_t;

static int s_foreach_one(void *arg, const char *ref, const s_entry_t *e)
{
    s_foreach_walk_t *w = arg;
    if (w->state == 0 || (int)w->state == (int)e->state)
        s_call(w->fn, w->arg, ref, e);
    return 0;
}

int relais_outbox_foreach(relais_outbox_t *self, relais_outbox_state_t state, relais_outbox_fn fn,
                          void *arg)
{
    s_foreach_walk_t w = {.state = state, .fn = fn, .arg = arg};
    return s_walk(self, s_foreach_one, &w);
}

/* ---- drain ------------------------------------------------------------------ */

int relais_outbox_drain(relais_outbox_t *self, relais_client_t *client, int max_wait_ms,
                        relais_outbox_fn fn, void *arg, relais_outbox_drain_t *result)
{
    relais_outbox_drain_t local;
    relais_outbox_drain_t *res = result ? result : &local;
    memset(res, 0, sizeof *res);
    self->last_error[0] = '\0';
    int64_t started = s_monotonic_ms();

    for (;;) {
        if (max_wait_ms > 0 && s_monotonic_ms() - started >= max_wait_ms)
            return RELAIS_OK;
        char *ref = NULL;
        Relais__V1__Referral *referral = NULL;
        if (s_first_due(self, s_now_ms(), &ref, &referral) != RELAIS_OK)
            return RELAIS_ESYS;
        if (!ref)
            return RELAIS_OK; /* nothing (more) is due */

        Relais__V1__Envelope *reply = NULL;
        int rc = relais_client_submit(client, referral, &reply);
        int ret = RELAIS_OK;
        bool stop = false;
        if (rc != RELAIS_ESYS)
            res->sent++;
        if (rc == RELAIS_OK) {
            const Relais__V1__Ack *ack = reply->ack;
            if (ack->partner_ref && strcmp(ack->partner_ref, ref) == 0) {
                ret = s_record(self, ref, S_ACKED, ack, "", "");
                if (ret == RELAIS_OK) {
                    res->acked++;
                    /* What is recorded now (ours, or the first answer if
                     * another process got there before us). */
                    ret = relais_outbox_get(self, ref, fn, arg) < 0 ? RELAIS_ESYS : RELAIS_OK;
                }
            } else {
                /* Not the answer to this referral: a broker bug.  Not a
                 * refusal either, so try again later. */
                ret = s_record(self, ref, S_DEFERRED, NULL, "protocol",
                               "the broker acknowledged another partner_ref");
                res->deferred++;
            }
        } else if (rc == RELAIS_EBROKER) {
            const Relais__V1__Error *e = reply ? reply->error : NULL;
            const char *code = e && e->code && *e->code ? e->code : "error";
            const char *message = e && e->message ? e->message : "";
            if (strcmp(code, "unavailable") == 0) {
                /* The broker's store failed and kept nothing: retry. */
                ret = s_record(self, ref, S_DEFERRED, NULL, code, message);
                res->deferred++;
            } else {
                ret = s_record(self, ref, S_REJECTED, NULL, code, message);
                if (ret == RELAIS_OK) {
                    res->rejected++;
                    ret = relais_outbox_get(self, ref, fn, arg) < 0 ? RELAIS_ESYS : RELAIS_OK;
                }
            }
        } else if (rc == RELAIS_ETIMEOUT || rc == RELAIS_EPROTO) {
            ret = s_defer_all_due(self, relais_client_last_error(client), &res->deferred);
            if (ret == RELAIS_OK)
                ret = rc;
            stop = true;
        } else {
            /* A local failure (an interrupting signal, memory): not the
             * entry's fault, so not an attempt; it stays due. */
            ret = RELAIS_ESYS;
            stop = true;
        }
        if (reply)
            relais__v1__envelope__free_unpacked(reply, NULL);
        relais__v1__referral__free_unpacked(referral, NULL);
        free(ref);
        if (stop || ret != RELAIS_OK)
            return ret;
    }
}
