/*  admin — backup, verify, budget and case listing of a store, read-only.
 *  See admin.h for the contract (one read transaction, no person data).
 *
 *  Verify walks each database once and checks what the broker's modules
 *  promise one another (cases.c, referral.c, feed.c, route.c):
 *    cases      the case's person exists; an open case (not CLOSED nor
 *               DECLINED) is its person's open case; a case at a structure
 *               (ROUTED..CONTRACT_SIGNED) has a structure and its queue
 *               entry, and holds a budget place, and no other case does; a
 *               WAITLISTED case is in the waitlist at its waitlist_seq;
 *               each referrer has a referral record naming this case
 *    persons    open_case_id names an existing open case of this person
 *    queues     each entry is an existing case at that very structure;
 *               load:<structure> = the structure's number of entries
 *    identity   each entry points to an existing person (the key, made of
 *               a name and birth date, is never printed)
 *    referrals  a record's case_id names an existing case
 *    feeds      per partner, seqs are exactly 1..seq:<partner>, no gap, no
 *               repeat (the event's own seq = its key); its case exists
 *    waitlist   entries name WAITLISTED cases at that position;
 *               waitlist:len = the number of entries
 *    budget     budget:reserved_eur = places held x allowance x months
 *  Each problem becomes one line; a gap of several seqs is one problem.
 *  Verify collects problems in a JSON array first (bounded by the store's
 *  size), then prints them as text or JSON: one code path for both.
 *
 *  Counter names ("load:", "seq:", "budget:reserved_eur", "waitlist:len")
 *  are the ones route.c, feed.c and cases.c write; where a module offers a
 *  reader (route_load, feed_last_seq) it is used.
 */
#include "admin.h"
#include "errbuf.h"

#include "allowance.h"
#include "clock.h"

#include "date.h"
#include "feed.h"
#include "identity.h"
#include "relais_store.pb-c.h"
#include "route.h"
#include "store.h"
#include "vocab.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef Relais__Store__CaseRecord case_rec_t;
typedef Relais__Store__PersonRecord person_rec_t;
typedef Relais__Store__ReferralRecord referral_rec_t;

#define ADMIN_ID_MAX 128 /* ids read back from keys: partner, structure, case */

/* ---- opening ---------------------------------------------------------- */

/* Read-only, map size 0: LMDB adopts the size the broker recorded in the
 * store, so reading needs neither the broker's configuration nor a guess
 * (a smaller map than the data would fail to open). */
static store_t *s_open(const char *dir, char *err, size_t errlen)
{
    return store_open(dir, 0, true, err, errlen);
}

/* ---- records ---------------------------------------------------------- */

static int s_case_load(store_txn_t *t, const char *case_id, case_rec_t **out)
{
    return store_get_msg(t, STORE_CASES, case_id, strlen(case_id),
                         &relais__store__case_record__descriptor, (ProtobufCMessage **)out);
}

static int s_person_load(store_txn_t *t, uint64_t id, person_rec_t **out)
{
    unsigned char key[8];
    store_u64_encode(id, key);
    return store_get_msg(t, STORE_PERSONS, key, 8, &relais__store__person_record__descriptor,
                         (ProtobufCMessage **)out);
}

/* Open: the person's one current case (cases.c links it until close or a
 * final decline). */
static bool s_is_open(Relais__V1__CaseState s)
{
    return s != RELAIS__V1__CASE_STATE__CASE_CLOSED && s != RELAIS__V1__CASE_STATE__CASE_DECLINED;
}

/* At a structure: queued there, counted in its load, holding a place. */
static bool s_at_structure(Relais__V1__CaseState s)
{
    return s >= RELAIS__V1__CASE_STATE__CASE_ROUTED &&
           s <= RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED;
}

/* Copies LEN bytes of a key into OUT as a C string; false when it does not
 * fit or holds a NUL (a malformed key, reported as such). */
static bool s_key_str(const void *p, size_t len, char *out, size_t outlen)
{
    if (len >= outlen || memchr(p, '\0', len))
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

/* Splits "A \0 B" at its first NUL.  False when there is none. */
static bool s_key_split(const MDB_val *key, char *a, size_t alen, const char **b, size_t *blen)
{
    const char *k = key->mv_data;
    const char *nul = memchr(k, '\0', key->mv_size);
    if (!nul || !s_key_str(k, (size_t)(nul - k), a, alen))
        return false;
    *b = nul + 1;
    *blen = key->mv_size - (size_t)(nul - k) - 1;
    return true;
}

static void s_day(int64_t secs, char out[11])
{
    if (secs <= 0)
        snprintf(out, 11, "-");
    else
        date_format(date_from_unix(secs), out);
}

/* ---- verify ----------------------------------------------------------- */

typedef struct {
    store_txn_t *t;
    uint64_t place_eur;
    json_t *problems; /* array of strings */
    int rc;           /* a store error: stops the walk */
    /* what was checked */
    uint64_t n_cases, n_persons, n_referrals, n_queue, n_identity, n_events, n_feeds, n_waitlist;
    uint64_t holding; /* cases holding a budget place */
    int64_t committed_cents; /* what the contracts commit, in all */
    /* the group being scanned (queues: structure; feeds: partner) */
    char group[ADMIN_ID_MAX];
    bool in_group;
    uint64_t group_count; /* queues: entries so far */
    uint64_t expect_seq;  /* feeds: the next seq due */
} s_verify_t;

static void s_problem(s_verify_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_problem(s_verify_t *v, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One problem, one line: ids read from a damaged store may hold
     * anything; control bytes would break the line. */
    for (char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    json_t *s = json_string(line);
    if (!s) {
        /* Not UTF-8 (a damaged id): keep the ASCII, mark the rest. */
        for (char *c = line; *c; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
        s = json_string(line);
    }
    if (!s || json_array_append_new(v->problems, s) != 0)
        v->rc = ENOMEM;
}

/* A lookup's outcome as the caller needs it: 1 found, 0 missing or not
 * decodable (a problem, already reported by the caller's message), -1 a
 * store error (in v->rc). */
static int s_found(s_verify_t *v, int rc)
{
    if (rc == 0)
        return 1;
    if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED)
        return 0;
    v->rc = rc;
    return -1;
}

static const char *s_state(int s)
{
    return vocab_case_state_name(s);
}

static void s_check_referrers(s_verify_t *v, const case_rec_t *c)
{
    for (size_t i = 0; i < c->n_referrers && !v->rc; i++) {
        const Relais__Store__Referrer *ref = c->referrers[i];
        char key[256];
        size_t klen = store_key2(key, sizeof key, ref->partner, ref->partner_ref);
        referral_rec_t *r = NULL;
        int rc = klen ? store_get_msg(v->t, STORE_REFERRALS, key, klen,
                                      &relais__store__referral_record__descriptor,
                                      (ProtobufCMessage **)&r)
                      : MDB_NOTFOUND;
        int found = s_found(v, rc);
        if (found == 0)
            s_problem(v, "case %s: referral %s/%s has no %sreferral record", c->case_id,
                      ref->partner, ref->partner_ref, rc == MDB_CORRUPTED ? "readable " : "");
        else if (found == 1 && strcmp(r->case_id, c->case_id) != 0)
            s_problem(v, "case %s: referral %s/%s records case '%s'", c->case_id, ref->partner,
                      ref->partner_ref, r->case_id);
        if (r)
            relais__store__referral_record__free_unpacked(r, NULL);
    }
}

static void s_check_case(s_verify_t *v, const case_rec_t *c)
{
    store_txn_t *t = v->t;
    person_rec_t *p = NULL;
    int found = s_found(v, s_person_load(t, c->person_id, &p));
    if (found == 0)
        s_problem(v, "case %s: person %llu does not exist", c->case_id,
                  (unsigned long long)c->person_id);
    else if (found == 1 && s_is_open(c->state) && strcmp(p->open_case_id, c->case_id) != 0)
        s_problem(v, "case %s: open (%s) but person %llu's open case is '%s'", c->case_id,
                  s_state(c->state), (unsigned long long)c->person_id, p->open_case_id);
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    if (v->rc)
        return;

    bool at = s_at_structure(c->state);
    if (at && !*c->structure_id) {
        s_problem(v, "case %s: %s but at no structure", c->case_id, s_state(c->state));
    } else if (at) {
        char key[ADMIN_ID_MAX * 2];
        size_t klen = store_key2(key, sizeof key, c->structure_id, c->case_id);
        MDB_val val;
        if (klen && s_found(v, store_get(t, STORE_QUEUES, key, klen, &val)) == 0)
            s_problem(v, "case %s: %s at structure %s but not in its queue", c->case_id,
                      s_state(c->state), c->structure_id);
    }
    /* Routed to a contract: a reserved place; from the contract on: a
     * commitment instead. */
    bool reserving = at && c->state != RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED;
    if (c->holds_place)
        v->holding++;
    v->committed_cents += c->commitment_cents;
    if (reserving && !c->holds_place)
        s_problem(v, "case %s: %s but holds no budget place", c->case_id, s_state(c->state));
    else if (!reserving && c->holds_place)
        s_problem(v, "case %s: %s but holds a budget place", c->case_id, s_state(c->state));
    if (*c->contract_on && c->commitment_cents <= 0)
        s_problem(v, "case %s: contract signed but nothing committed", c->case_id);

    if (c->state == RELAIS__V1__CASE_STATE__CASE_WAITLISTED && !v->rc) {
        unsigned char key[8];
        MDB_val val;
        store_u64_encode(c->waitlist_seq, key);
        int rc = store_get(t, STORE_WAITLIST, key, 8, &val);
        if (s_found(v, rc) == 0 || (rc == 0 && (val.mv_size != strlen(c->case_id) ||
                                                memcmp(val.mv_data, c->case_id, val.mv_size) != 0)))
            s_problem(v, "case %s: waitlisted but not in the waitlist at position %llu", c->case_id,
                      (unsigned long long)c->waitlist_seq);
    }
    if (!v->rc)
        s_check_referrers(v, c);
}

static int s_case_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    char id[ADMIN_ID_MAX];
    v->n_cases++;
    if (!s_key_str(key->mv_data, key->mv_size, id, sizeof id))
        snprintf(id, sizeof id, "(malformed key)");
    case_rec_t *c = relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!c) {
        s_problem(v, "case %s: record does not decode", id);
        return 0;
    }
    if (strcmp(c->case_id, id) != 0)
        s_problem(v, "case %s: record says case '%s'", id, c->case_id);
    else
        s_check_case(v, c);
    relais__store__case_record__free_unpacked(c, NULL);
    return v->rc != 0;
}

static int s_person_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    v->n_persons++;
    if (key->mv_size != 8) {
        s_problem(v, "persons: an entry has a malformed key");
        return 0;
    }
    uint64_t id = store_u64_decode(key->mv_data);
    person_rec_t *p = relais__store__person_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!p) {
        s_problem(v, "person %llu: record does not decode", (unsigned long long)id);
        return 0;
    }
    if (*p->open_case_id) {
        case_rec_t *c = NULL;
        int found = s_found(v, s_case_load(v->t, p->open_case_id, &c));
        if (found == 0)
            s_problem(v, "person %llu: open case %s does not exist", (unsigned long long)id,
                      p->open_case_id);
        else if (found == 1 && c->person_id != id)
            s_problem(v, "person %llu: open case %s belongs to person %llu", (unsigned long long)id,
                      p->open_case_id, (unsigned long long)c->person_id);
        else if (found == 1 && !s_is_open(c->state))
            s_problem(v, "person %llu: open case %s is %s", (unsigned long long)id, p->open_case_id,
                      s_state(c->state));
        if (c)
            relais__store__case_record__free_unpacked(c, NULL);
    }
    relais__store__person_record__free_unpacked(p, NULL);
    return v->rc != 0;
}

/* The end of a structure's run of queue entries: its load counter must
 * count exactly them. */
static void s_queue_group_end(s_verify_t *v)
{
    uint64_t load;
    if (!v->in_group)
        return;
    v->in_group = false;
    int rc = route_load(v->t, v->group, &load);
    if (rc == MDB_CORRUPTED)
        s_problem(v, "load:%s: counter does not decode", v->group);
    else if (rc != 0)
        v->rc = rc;
    else if (load != v->group_count)
        s_problem(v, "load:%s: counter says %llu open cases, the queue holds %llu", v->group,
                  (unsigned long long)load, (unsigned long long)v->group_count);
}

static int s_queue_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    s_verify_t *v = arg;
    char structure[ADMIN_ID_MAX], case_id[ADMIN_ID_MAX];
    const char *rest;
    size_t rlen;
    v->n_queue++;
    if (!s_key_split(key, structure, sizeof structure, &rest, &rlen) ||
        !s_key_str(rest, rlen, case_id, sizeof case_id)) {
        s_problem(v, "queues: an entry has a malformed key");
        return 0;
    }
    if (!v->in_group || strcmp(v->group, structure) != 0) {
        s_queue_group_end(v);
        snprintf(v->group, sizeof v->group, "%s", structure);
        v->in_group = true;
        v->group_count = 0;
    }
    v->group_count++;
    case_rec_t *c = NULL;
    int found = s_found(v, s_case_load(v->t, case_id, &c));
    if (found == 0)
        s_problem(v, "queue %s: case %s does not exist", structure, case_id);
    else if (found == 1 && !s_at_structure(c->state))
        s_problem(v, "queue %s: case %s is %s, not open at a structure", structure, case_id,
                  s_state(c->state));
    else if (found == 1 && strcmp(c->structure_id, structure) != 0)
        s_problem(v, "queue %s: case %s is at structure '%s'", structure, case_id, c->structure_id);
    if (c)
        relais__store__case_record__free_unpacked(c, NULL);
    return v->rc != 0;
}

static int s_count_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    (void)val;
    (*(uint64_t *)arg)++;
    return 0;
}

/* A load counter above 0 for a structure with no queue entry at all (the
 * structures that have entries were compared in s_queue_group_end). */
static int s_load_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    char structure[ADMIN_ID_MAX], prefix[ADMIN_ID_MAX + 1];
    const size_t skip = strlen("load:");
    if (!s_key_str((const char *)key->mv_data + skip, key->mv_size - skip, structure,
                   sizeof structure) ||
        val->mv_size != 8)
        return 0; /* not a route.c counter */
    uint64_t load = store_u64_decode(val->mv_data), entries = 0;
    if (load == 0)
        return 0;
    size_t plen = store_key2(prefix, sizeof prefix, structure, "");
    if ((v->rc = store_scan(v->t, STORE_QUEUES, prefix, plen, NULL, 0, s_count_one, &entries)) != 0)
        return 1;
    if (entries == 0)
        s_problem(v, "load:%s: counter says %llu open cases, the queue holds 0", structure,
                  (unsigned long long)load);
    return v->rc != 0;
}

static int s_identity_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key; /* a name and a birth date: never printed */
    s_verify_t *v = arg;
    v->n_identity++;
    /* A person id, then (since sketches) its names' sketch. */
    if (val->mv_size != 8 && val->mv_size != IDENTITY_ENTRY_LEN) {
        s_problem(v, "identity: an entry holds a malformed person id");
        return 0;
    }
    uint64_t id = store_u64_decode(val->mv_data);
    unsigned char pkey[8];
    MDB_val pval;
    store_u64_encode(id, pkey);
    if (s_found(v, store_get(v->t, STORE_PERSONS, pkey, 8, &pval)) == 0)
        s_problem(v, "identity: an entry points to person %llu, which does not exist",
                  (unsigned long long)id);
    return v->rc != 0;
}

static int s_referral_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    char partner[ADMIN_ID_MAX], ref[ADMIN_ID_MAX];
    const char *rest;
    size_t rlen;
    v->n_referrals++;
    if (!s_key_split(key, partner, sizeof partner, &rest, &rlen) ||
        !s_key_str(rest, rlen, ref, sizeof ref)) {
        s_problem(v, "referrals: an entry has a malformed key");
        return 0;
    }
    referral_rec_t *r = relais__store__referral_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!r) {
        s_problem(v, "referral %s/%s: record does not decode", partner, ref);
        return 0;
    }
    if (*r->case_id) {
        MDB_val cval;
        if (s_found(v, store_get(v->t, STORE_CASES, r->case_id, strlen(r->case_id), &cval)) == 0)
            s_problem(v, "referral %s/%s: case %s does not exist", partner, ref, r->case_id);
    }
    relais__store__referral_record__free_unpacked(r, NULL);
    return v->rc != 0;
}

static void s_seq_gap(s_verify_t *v, const char *partner, uint64_t from, uint64_t to)
{
    if (from == to)
        s_problem(v, "feed %s: seq %llu missing", partner, (unsigned long long)from);
    else
        s_problem(v, "feed %s: seqs %llu..%llu missing (%llu events)", partner,
                  (unsigned long long)from, (unsigned long long)to,
                  (unsigned long long)(to - from + 1));
}

/* The end of a partner's feed: its last seq must be the seq counter. */
static void s_feed_group_end(s_verify_t *v)
{
    uint64_t last_seq;
    if (!v->in_group)
        return;
    v->in_group = false;
    int rc = feed_last_seq(v->t, v->group, &last_seq);
    uint64_t last = v->expect_seq - 1;
    if (rc == MDB_CORRUPTED)
        s_problem(v, "seq:%s: counter does not decode", v->group);
    else if (rc != 0)
        v->rc = rc;
    else if (last_seq > last)
        s_seq_gap(v, v->group, last + 1, last_seq);
    else if (last_seq < last)
        s_problem(v, "feed %s: events up to seq %llu but counter seq:%s is %llu", v->group,
                  (unsigned long long)last, v->group, (unsigned long long)last_seq);
}

static int s_feed_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    char partner[ADMIN_ID_MAX];
    const char *rest;
    size_t rlen;
    v->n_events++;
    if (!s_key_split(key, partner, sizeof partner, &rest, &rlen) || rlen != 8) {
        s_problem(v, "feeds: an entry has a malformed key");
        return 0;
    }
    uint64_t seq = store_u64_decode(rest);
    if (!v->in_group || strcmp(v->group, partner) != 0) {
        s_feed_group_end(v);
        snprintf(v->group, sizeof v->group, "%s", partner);
        v->in_group = true;
        v->expect_seq = 1;
        v->n_feeds++;
    }
    if (seq > v->expect_seq)
        s_seq_gap(v, partner, v->expect_seq, seq - 1);
    v->expect_seq = seq + 1;

    Relais__V1__StatusEvent *ev =
        relais__v1__status_event__unpack(NULL, val->mv_size, val->mv_data);
    if (!ev) {
        s_problem(v, "feed %s: seq %llu does not decode", partner, (unsigned long long)seq);
        return 0;
    }
    if (ev->seq != seq)
        s_problem(v, "feed %s: the event at seq %llu carries seq %llu", partner,
                  (unsigned long long)seq, (unsigned long long)ev->seq);
    MDB_val cval;
    if (s_found(v, store_get(v->t, STORE_CASES, ev->case_id, strlen(ev->case_id), &cval)) == 0)
        s_problem(v, "feed %s: seq %llu: case '%s' does not exist", partner,
                  (unsigned long long)seq, ev->case_id);
    relais__v1__status_event__free_unpacked(ev, NULL);
    return v->rc != 0;
}

static int s_first_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    (void)val;
    *(bool *)arg = true;
    return 1;
}

/* A seq counter above 0 for a partner with no feed entry at all. */
static int s_seq_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    char partner[ADMIN_ID_MAX], prefix[ADMIN_ID_MAX + 1];
    const size_t skip = strlen("seq:");
    if (!s_key_str((const char *)key->mv_data + skip, key->mv_size - skip, partner,
                   sizeof partner) ||
        val->mv_size != 8)
        return 0;
    uint64_t last = store_u64_decode(val->mv_data);
    bool any = false;
    if (last == 0)
        return 0;
    size_t plen = store_key2(prefix, sizeof prefix, partner, "");
    if ((v->rc = store_scan(v->t, STORE_FEEDS, prefix, plen, NULL, 0, s_first_one, &any)) != 0)
        return 1;
    if (!any)
        s_seq_gap(v, partner, 1, last);
    return v->rc != 0;
}

static int s_waitlist_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_verify_t *v = arg;
    char case_id[ADMIN_ID_MAX];
    v->n_waitlist++;
    if (key->mv_size != 8 || !s_key_str(val->mv_data, val->mv_size, case_id, sizeof case_id)) {
        s_problem(v, "waitlist: an entry is malformed");
        return 0;
    }
    uint64_t pos = store_u64_decode(key->mv_data);
    case_rec_t *c = NULL;
    int found = s_found(v, s_case_load(v->t, case_id, &c));
    if (found == 0)
        s_problem(v, "waitlist %llu: case %s does not exist", (unsigned long long)pos, case_id);
    else if (found == 1 && c->state != RELAIS__V1__CASE_STATE__CASE_WAITLISTED)
        s_problem(v, "waitlist %llu: case %s is %s, not waitlisted", (unsigned long long)pos,
                  case_id, s_state(c->state));
    else if (found == 1 && c->waitlist_seq != pos)
        s_problem(v, "waitlist %llu: case %s records position %llu", (unsigned long long)pos,
                  case_id, (unsigned long long)c->waitlist_seq);
    if (c)
        relais__store__case_record__free_unpacked(c, NULL);
    return v->rc != 0;
}

static void s_check_counters(s_verify_t *v)
{
    uint64_t len, reserved;
    int rc = store_counter_get(v->t, "waitlist:len", &len);
    if (rc == 0 && len != v->n_waitlist)
        s_problem(v, "waitlist: counter waitlist:len is %llu, the waitlist holds %llu",
                  (unsigned long long)len, (unsigned long long)v->n_waitlist);
    if (rc == 0)
        rc = store_counter_get(v->t, "budget:reserved_eur", &reserved);
    if (rc == 0 && reserved != v->holding * v->place_eur)
        s_problem(v,
                  "budget: counter budget:reserved_eur is %llu EUR, but %llu cases hold a "
                  "place (%llu EUR)",
                  (unsigned long long)reserved, (unsigned long long)v->holding,
                  (unsigned long long)(v->holding * v->place_eur));
    uint64_t committed;
    if (rc == 0)
        rc = store_counter_get(v->t, "budget:committed_cents", &committed);
    if (rc == 0 && committed != (uint64_t)v->committed_cents)
        s_problem(v, "budget: counter budget:committed_cents is %llu, the contracts commit %lld",
                  (unsigned long long)committed, (long long)v->committed_cents);
    if (rc == MDB_CORRUPTED)
        s_problem(v, "meta: a budget or waitlist counter does not decode");
    else if (rc != 0)
        v->rc = rc;
}

/* Every check, in one read transaction; the findings in a new JSON object
 * *OUT: {"store", "ok", "problems": [...], "checked": {...}}. */
static int s_verify_dir(const char *dir, const config_t *cfg, json_t **out, char *err,
                        size_t errlen)
{
    store_txn_t t = {0};
    s_verify_t v = {0};
    json_t *result = NULL;
    int status = -1;
    *out = NULL;
    store_t *store = s_open(dir, err, errlen);
    if (!store)
        return -1;
    if ((v.problems = json_array()) == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto cleanup;
    }
    if ((v.rc = store_begin(store, false, NULL, &t)) != 0)
        goto store_error;
    v.t = &t;
    v.place_eur = (uint64_t)cfg->allowance_eur * cfg->max_months;

    static const struct {
        store_db_t db;
        const char *prefix;
        store_scan_fn fn;
        void (*end)(s_verify_t *);
    } walks[] = {
        {STORE_CASES, "", s_case_one, NULL},
        {STORE_PERSONS, "", s_person_one, NULL},
        {STORE_QUEUES, "", s_queue_one, s_queue_group_end},
        {STORE_META, "load:", s_load_one, NULL},
        {STORE_IDENTITY, "", s_identity_one, NULL},
        {STORE_REFERRALS, "", s_referral_one, NULL},
        {STORE_FEEDS, "", s_feed_one, s_feed_group_end},
        {STORE_META, "seq:", s_seq_one, NULL},
        {STORE_WAITLIST, "", s_waitlist_one, NULL},
    };
    for (size_t i = 0; i < sizeof walks / sizeof walks[0] && !v.rc; i++) {
        v.in_group = false;
        int rc = store_scan(&t, walks[i].db, walks[i].prefix, strlen(walks[i].prefix), NULL, 0,
                            walks[i].fn, &v);
        if (rc != 0 && !v.rc)
            v.rc = rc;
        if (!v.rc && walks[i].end)
            walks[i].end(&v);
    }
    if (!v.rc)
        s_check_counters(&v);
    if (v.rc)
        goto store_error;

    size_t n = json_array_size(v.problems);
    result = json_pack("{s:s, s:b, s:I, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "store",
                       dir, "ok", n == 0, "problem_count", (json_int_t)n, "problems", v.problems,
                       "checked", "cases", (json_int_t)v.n_cases, "persons",
                       (json_int_t)v.n_persons, "referrals", (json_int_t)v.n_referrals,
                       "queue_entries", (json_int_t)v.n_queue, "identity_entries",
                       (json_int_t)v.n_identity, "feeds", (json_int_t)v.n_feeds, "feed_events",
                       (json_int_t)v.n_events, "waitlist_entries", (json_int_t)v.n_waitlist);
    if (!result) {
        errbuf_set(err, errlen, "cannot build the report (out of memory, or %s is not UTF-8)", dir);
        goto cleanup;
    }
    *out = result;
    status = 0;
    goto cleanup;

store_error:
    if (v.rc == ENOMEM)
        errbuf_set(err, errlen, "out of memory");
    else
        errbuf_set(err, errlen, "cannot read store %s: %s", dir, store_strerror(v.rc));
cleanup:
    store_abort(&t);
    json_decref(v.problems);
    store_close(&store);
    return status;
}

/* One JSON document, indented for people, ending with a newline. */
static int s_dump(json_t *doc, FILE *out)
{
    return json_dumpf(doc, out, JSON_INDENT(2)) == 0 && fputc('\n', out) != EOF ? 0 : -1;
}

/* Text: the problem lines, then "verify DIR: OK|N problems (checked ...)". */
static void s_print_verify(const json_t *r, FILE *out)
{
    const json_t *problems = json_object_get(r, "problems");
    const json_t *c = json_object_get(r, "checked");
    size_t i;
    const json_t *p;
    json_array_foreach(problems, i, p)
    {
        fprintf(out, "problem: %s\n", json_string_value(p));
    }
    size_t n = json_array_size(problems);
#define S_N(name) (long long)json_integer_value(json_object_get(c, name))
    if (n)
        fprintf(out, "verify %s: %zu problem%s", json_string_value(json_object_get(r, "store")), n,
                n == 1 ? "" : "s");
    else
        fprintf(out, "verify %s: OK", json_string_value(json_object_get(r, "store")));
    fprintf(out,
            " (checked %lld cases, %lld persons, %lld referrals, %lld queue entries, "
            "%lld identity entries, %lld feed events in %lld feeds, %lld waitlist entries)\n",
            S_N("cases"), S_N("persons"), S_N("referrals"), S_N("queue_entries"),
            S_N("identity_entries"), S_N("feed_events"), S_N("feeds"), S_N("waitlist_entries"));
#undef S_N
}

int admin_verify(const char *store_dir, const config_t *cfg, FILE *report, bool json,
                 size_t *problems, char *err, size_t errlen)
{
    json_t *r;
    *problems = 0;
    if (s_verify_dir(store_dir, cfg, &r, err, errlen) != 0)
        return -1;
    *problems = json_array_size(json_object_get(r, "problems"));
    int status = 0;
    if (report && json)
        status = s_dump(r, report);
    else if (report)
        s_print_verify(r, report);
    json_decref(r);
    if (status != 0)
        errbuf_set(err, errlen, "cannot write the report");
    return status;
}

/* ---- backup ----------------------------------------------------------- */

/* DEST must be new (created here, 0700: the copy holds personal data) or
 * an empty directory, so a backup never mixes with or overwrites another
 * one.  *CREATED: whether to remove it if the copy fails. */
static int s_prepare_dest(const char *dest, bool *created, char *err, size_t errlen)
{
    struct stat st;
    *created = false;
    if (stat(dest, &st) != 0) {
        if (errno != ENOENT)
            return errbuf_set(err, errlen, "cannot use %s: %s", dest, strerror(errno));
        if (mkdir(dest, 0700) != 0)
            return errbuf_set(err, errlen, "cannot create %s: %s", dest, strerror(errno));
        *created = true;
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return errbuf_set(err, errlen, "%s exists and is not a directory", dest);
    DIR *d = opendir(dest);
    if (!d)
        return errbuf_set(err, errlen, "cannot read %s: %s", dest, strerror(errno));
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return errbuf_set(err, errlen, "%s is not empty: a backup goes into a new or empty directory",
                      dest);
    return 0;
}

int admin_backup(const char *store_dir, const char *dest_dir, const config_t *cfg, FILE *report,
                 bool json, size_t *problems, char *err, size_t errlen)
{
    bool created;
    char path[4096];
    struct stat st;
    json_t *verify = NULL, *doc = NULL;
    store_t *store = NULL;
    int status = -1, rc;
    long long bytes;
    *problems = 0;
    if (s_prepare_dest(dest_dir, &created, err, errlen) != 0)
        return -1;
    if (!(store = s_open(store_dir, err, errlen)))
        goto undo;
    rc = store_copy(store, dest_dir, true);
    store_close(&store);
    if (rc != 0) {
        errbuf_set(err, errlen, "cannot copy %s to %s: %s", store_dir, dest_dir, store_strerror(rc));
        goto undo;
    }
    snprintf(path, sizeof path, "%s/data.mdb", dest_dir);
    bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;

    /* The copy exists from here on: a failure to verify it is reported,
     * and the copy is left for someone to look at. */
    if (s_verify_dir(dest_dir, cfg, &verify, err, errlen) != 0)
        return -1;
    *problems = json_array_size(json_object_get(verify, "problems"));
    if (report && json) {
        doc = json_pack("{s:s, s:s, s:I, s:b, s:O}", "store", store_dir, "backup", dest_dir,
                        "bytes", (json_int_t)bytes, "ok", *problems == 0, "verify", verify);
        status = doc ? s_dump(doc, report) : -1;
    } else if (report) {
        fprintf(report, "backup: copied %s to %s (compacted, %lld bytes)\n", store_dir, dest_dir,
                bytes);
        s_print_verify(verify, report);
        if (*problems)
            fprintf(report,
                    "backup: the copy in %s has %zu problem%s; the live store has them too "
                    "(check with: relais-admin verify)\n",
                    dest_dir, *problems, *problems == 1 ? "" : "s");
        else
            fprintf(report, "backup OK: %s\n", dest_dir);
        status = 0;
    } else {
        status = 0;
    }
    if (status != 0)
        errbuf_set(err, errlen, "cannot write the report");
    json_decref(doc);
    json_decref(verify);
    return status;

undo:
    if (created)
        rmdir(dest_dir);
    return -1;
}

/* ---- budget ----------------------------------------------------------- */

typedef struct {
    admin_budget_t *b;
    date_t today;
    uint32_t allowance_eur;
} s_budget_scan_t;

static int s_budget_case(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_budget_scan_t *bs = arg;
    admin_budget_t *b = bs->b;
    case_rec_t *c = relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!c)
        return 0; /* verify reports it; the budget counts what it can read */
    if (c->holds_place)
        b->reserved_places++;
    if (*c->contract_on) {
        date_t start, end;
        b->contracts++;
        b->committed_cents += c->commitment_cents;
        if (date_parse_iso(c->contract_on, &start) && date_parse_iso(c->contract_end, &end)) {
            if (date_compare(end, bs->today) > 0)
                end = bs->today;
            b->paid_cents += allowance_total(start, end, bs->allowance_eur);
        }
    }
    relais__store__case_record__free_unpacked(c, NULL);
    return 0;
}

static const char *s_plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* "1234.56" */
static const char *s_eur(int64_t cents, char buf[32])
{
    snprintf(buf, 32, "%s%lld.%02lld", cents < 0 ? "-" : "", (long long)(llabs(cents) / 100),
             (long long)(llabs(cents) % 100));
    return buf;
}

static void s_print_budget(const admin_budget_t *b, const config_t *cfg, FILE *out)
{
    char x[32];
    fprintf(out, "%-38s %14llu EUR\n", "programme envelope", (unsigned long long)b->envelope_eur);
    fprintf(out, "%-38s %14llu EUR  (%u EUR x %u months)\n", "one place",
            (unsigned long long)b->place_eur, cfg->allowance_eur, cfg->max_months);
    fprintf(out, "%-38s %14llu EUR  %llu place%s\n", "reserved (routed, no contract yet)",
            (unsigned long long)b->reserved_eur, (unsigned long long)b->reserved_places,
            s_plural(b->reserved_places));
    fprintf(out, "%-38s %14s EUR  %llu contract%s\n", "committed (contracts signed)",
            s_eur(b->committed_cents, x), (unsigned long long)b->contracts,
            s_plural(b->contracts));
    fprintf(out, "%-38s %14s EUR\n", "  of which paid to date", s_eur(b->paid_cents, x));
    fprintf(out, "%-38s %14s EUR  %llu place%s\n", "free", s_eur(b->free_cents, x),
            (unsigned long long)b->free_places, s_plural(b->free_places));
    fprintf(out, "%-38s %14llu case%s\n", "waitlist", (unsigned long long)b->waitlist_len,
            s_plural(b->waitlist_len));
    if (b->counter_eur != b->reserved_eur ||
        b->counter_committed_cents != (uint64_t)b->committed_cents)
        fprintf(out,
                "warning: the broker's counters (reserved %llu EUR, committed %s EUR) disagree "
                "with the case records; the broker decides with its counters (check with: "
                "relais-admin verify)\n",
                (unsigned long long)b->counter_eur,
                s_eur((int64_t)b->counter_committed_cents, x));
    if (b->waitlist_len != b->waitlist_entries)
        fprintf(out,
                "warning: the counter waitlist:len is %llu but the waitlist holds %llu "
                "entries (check with: relais-admin verify)\n",
                (unsigned long long)b->waitlist_len, (unsigned long long)b->waitlist_entries);
}

int admin_budget(const char *store_dir, const config_t *cfg, FILE *out, bool json,
                 admin_budget_t *figures, char *err, size_t errlen)
{
    admin_budget_t b = {0};
    store_txn_t t = {0};
    json_t *doc = NULL;
    int status = -1, rc;
    store_t *store = s_open(store_dir, err, errlen);
    if (!store)
        return -1;
    b.envelope_eur = cfg->envelope_eur;
    b.place_eur = (uint64_t)cfg->allowance_eur * cfg->max_months;
    s_budget_scan_t bs = {&b, date_from_unix(clock_now()), cfg->allowance_eur};
    if ((rc = store_begin(store, false, NULL, &t)) != 0 ||
        (rc = store_counter_get(&t, "budget:reserved_eur", &b.counter_eur)) != 0 ||
        (rc = store_counter_get(&t, "budget:committed_cents", &b.counter_committed_cents)) != 0 ||
        (rc = store_counter_get(&t, "waitlist:len", &b.waitlist_len)) != 0 ||
        (rc = store_scan(&t, STORE_CASES, "", 0, NULL, 0, s_budget_case, &bs)) != 0 ||
        (rc = store_scan(&t, STORE_WAITLIST, "", 0, NULL, 0, s_count_one, &b.waitlist_entries)) !=
            0) {
        errbuf_set(err, errlen, "cannot read store %s: %s", store_dir, store_strerror(rc));
        goto cleanup;
    }
    b.reserved_eur = b.reserved_places * b.place_eur;
    b.free_cents = (int64_t)b.envelope_eur * 100 - (int64_t)b.reserved_eur * 100 -
                   b.committed_cents;
    b.free_places = b.free_cents > 0 && b.place_eur ? (uint64_t)b.free_cents / (b.place_eur * 100)
                                                    : 0;
    status = 0;
    if (out && json) {
        doc = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
            "envelope_eur", (json_int_t)b.envelope_eur, "place_eur", (json_int_t)b.place_eur,
            "reserved_eur", (json_int_t)b.reserved_eur, "reserved_places",
            (json_int_t)b.reserved_places, "contracts", (json_int_t)b.contracts,
            "committed_cents", (json_int_t)b.committed_cents, "paid_cents",
            (json_int_t)b.paid_cents, "free_cents", (json_int_t)b.free_cents, "free_places",
            (json_int_t)b.free_places, "reserved_counter_eur", (json_int_t)b.counter_eur,
            "committed_counter_cents", (json_int_t)b.counter_committed_cents, "waitlist_len",
            (json_int_t)b.waitlist_len, "waitlist_entries", (json_int_t)b.waitlist_entries,
            "consistent",
            b.counter_eur == b.reserved_eur &&
                b.counter_committed_cents == (uint64_t)b.committed_cents &&
                b.waitlist_len == b.waitlist_entries);
        if (!doc || s_dump(doc, out) != 0)
            status = errbuf_set(err, errlen, "cannot write the report");
    } else if (out) {
        s_print_budget(&b, cfg, out);
    }
    if (figures)
        *figures = b;
cleanup:
    json_decref(doc);
    store_abort(&t);
    store_close(&store);
    return status;
}

/* ---- cases ------------------------------------------------------------ */

typedef struct {
    const admin_case_filter_t *filter;
    FILE *out;
    json_t *list; /* JSON: the listed cases; NULL for text */
    size_t count;
    int rc;
} s_cases_t;

static json_t *s_case_json(const case_rec_t *c, const char *created, const char *routed)
{
    json_t *by = json_array();
    for (size_t i = 0; by && i < c->n_referrers; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(c->referrers[j]->partner, c->referrers[i]->partner) == 0;
        if (!seen && json_array_append_new(by, json_string(c->referrers[i]->partner)) != 0) {
            json_decref(by);
            by = NULL;
        }
    }
    if (!by)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:o, s:s?}", "case_id", c->case_id, "state",
                     s_state(c->state), "structure_id", c->structure_id, "created_on",
                     *created == '-' ? NULL : created, "routed_on", *routed == '-' ? NULL : routed,
                     "referred_by", by, "outcome",
                     c->outcome ? vocab_outcome_name(c->outcome) : NULL);
}

static void s_case_text(FILE *out, const case_rec_t *c, const char *created, const char *routed)
{
    fprintf(out, "%-10s %-16s %-20s %-10s  %-10s  %-14s ", c->case_id, s_state(c->state),
            *c->structure_id ? c->structure_id : "-", created, routed,
            c->outcome ? vocab_outcome_name(c->outcome) : "-");
    for (size_t i = 0; i < c->n_referrers; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(c->referrers[j]->partner, c->referrers[i]->partner) == 0;
        if (!seen)
            fprintf(out, "%s%s", i ? "," : "", c->referrers[i]->partner);
    }
    fputc('\n', out);
}

static int s_cases_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_cases_t *l = arg;
    const admin_case_filter_t *f = l->filter;
    case_rec_t *c = relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!c) {
        l->rc = MDB_CORRUPTED;
        return 1;
    }
    if ((!f || !f->state || (int)c->state == f->state) &&
        (!f || !f->structure || !*f->structure || strcmp(c->structure_id, f->structure) == 0)) {
        char created[11], routed[11];
        s_day(c->created_at, created);
        s_day(c->routed_at, routed);
        if (l->list) {
            json_t *o = s_case_json(c, created, routed);
            if (!o || json_array_append_new(l->list, o) != 0)
                l->rc = ENOMEM;
        } else if (l->out) {
            s_case_text(l->out, c, created, routed);
        }
        l->count++;
    }
    relais__store__case_record__free_unpacked(c, NULL);
    return l->rc != 0;
}

int admin_cases(const char *store_dir, FILE *out, bool json, const admin_case_filter_t *filter,
                size_t *count, char *err, size_t errlen)
{
    store_txn_t t = {0};
    s_cases_t l = {.filter = filter, .out = out};
    json_t *doc = NULL;
    int status = -1, rc;
    if (count)
        *count = 0;
    store_t *store = s_open(store_dir, err, errlen);
    if (!store)
        return -1;
    if (json && !(l.list = json_array())) {
        errbuf_set(err, errlen, "out of memory");
        goto cleanup;
    }
    if (out && !json)
        fprintf(out, "%-10s %-16s %-20s %-10s  %-10s  %-14s %s\n", "case", "state", "structure",
                "created", "routed", "outcome", "referred by");
    if ((rc = store_begin(store, false, NULL, &t)) != 0 ||
        (rc = store_scan(&t, STORE_CASES, "", 0, NULL, 0, s_cases_one, &l)) != 0 ||
        (rc = l.rc) != 0) {
        errbuf_set(err, errlen, "cannot read store %s: %s", store_dir,
               rc == ENOMEM ? "out of memory" : store_strerror(rc));
        goto cleanup;
    }
    status = 0;
    if (out && json) {
        doc = json_pack("{s:I, s:O}", "count", (json_int_t)l.count, "cases", l.list);
        if (!doc || s_dump(doc, out) != 0)
            status = errbuf_set(err, errlen, "cannot write the listing");
    } else if (out) {
        fprintf(out, "%zu case%s\n", l.count, l.count == 1 ? "" : "s");
    }
    if (count)
        *count = l.count;
cleanup:
    json_decref(doc);
    json_decref(l.list);
    store_abort(&t);
    store_close(&store);
    return status;
}
