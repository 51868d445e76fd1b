/*  erasure — wiping a young person's personal data, by retention or on
 *  request.  See erasure.h for what is kept and why. */
#include "erasure.h"

#include "audit.h"
#include "clock.h"
#include "feed.h"
#include "identity.h"
#include "persons.h"
#include "relais_store.pb-c.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef Relais__Store__CaseRecord case_rec_t;

static bool s_ended(Relais__V1__CaseState s)
{
    return s == RELAIS__V1__CASE_STATE__CASE_CLOSED || s == RELAIS__V1__CASE_STATE__CASE_DECLINED;
}

static int s_case_load(store_txn_t *t, const char *case_id, case_rec_t **out)
{
    return store_get_msg(t, STORE_CASES, case_id, strlen(case_id),
                         &relais__store__case_record__descriptor, (ProtobufCMessage **)out);
}

/* REF's referral record loses its notes and referrer. */
static int s_wipe_referral(store_txn_t *t, const Relais__Store__Referrer *ref)
{
    char key[256];
    Relais__Store__ReferralRecord *r;
    size_t klen = store_key2(key, sizeof key, ref->partner, ref->partner_ref);
    if (!klen)
        return 0;
    int rc = store_get_msg(t, STORE_REFERRALS, key, klen,
                           &relais__store__referral_record__descriptor, (ProtobufCMessage **)&r);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    /* Emptied in place (free_unpacked still owns the buffers): an empty
     * proto3 field is not written at all. */
    r->sealed_details.len = 0;
    r->sealed_person.len = 0; /* a merged referral's own person data */
    if (*r->notes)
        r->notes[0] = '\0';
    if (*r->referrer_name)
        r->referrer_name[0] = '\0';
    if (*r->referrer_email)
        r->referrer_email[0] = '\0';
    rc = store_put_msg(t, STORE_REFERRALS, key, klen, &r->base);
    relais__store__referral_record__free_unpacked(r, NULL);
    return rc;
}

int erasure_erase_person(store_txn_t *t, uint64_t person_id, int64_t now)
{
    Relais__Store__PersonRecord *p = NULL;
    int rc = persons_get(t, person_id, &p);
    if (rc != 0)
        return rc;
    if (p->erased_at) {
        relais__store__person_record__free_unpacked(p, NULL);
        return 0;
    }
    if ((rc = identity_forget(t, person_id)) != 0)
        goto done;
    for (size_t i = 0; i < p->n_case_ids; i++) {
        case_rec_t *c;
        if ((rc = s_case_load(t, p->case_ids[i], &c)) == MDB_NOTFOUND)
            continue;
        if (rc != 0)
            goto done;
        for (size_t j = 0; j < c->n_referrers && rc == 0; j++)
            rc = s_wipe_referral(t, c->referrers[j]);
        c->erased_at = now;
        if (rc == 0)
            rc = store_put_msg(t, STORE_CASES, c->case_id, strlen(c->case_id), &c->base);
        relais__store__case_record__free_unpacked(c, NULL);
        if (rc != 0)
            goto done;
    }
    if (p->person) {
        relais__v1__person__free_unpacked(p->person, NULL);
        p->person = NULL;
    }
    for (size_t i = 0; i < p->n_identity_keys; i++)
        free(p->identity_keys[i]);
    free(p->identity_keys);
    p->identity_keys = NULL;
    p->n_identity_keys = 0;
    p->erased_at = now;
    rc = persons_put(t, p); /* no person: nothing sealed, nothing kept */
done:
    relais__store__person_record__free_unpacked(p, NULL);
    return rc;
}

int64_t erasure_cutoff(int64_t now, unsigned months)
{
    time_t tt = (time_t)now;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int total = tm.tm_year * 12 + tm.tm_mon - (int)months;
    tm.tm_year = total / 12;
    tm.tm_mon = total % 12;
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (tm.tm_mday > days[tm.tm_mon])
        tm.tm_mday = days[tm.tm_mon];
    return (int64_t)timegm(&tm); /* 29 Feb of a common year: 1 March */
}

/* ---- retention ---------------------------------------------------------- */

typedef struct {
    int64_t cutoff;
    uint64_t *ids; /* persons with an ended, unerased case past the cutoff */
    size_t n, cap;
    int rc;
} s_purge_t;

static int s_purge_scan(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_purge_t *x = arg;
    case_rec_t *c = relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!c)
        return 0; /* relais-admin verify reports it */
    if (!c->erased_at && s_ended(c->state) && c->closed_at && c->closed_at < x->cutoff) {
        if (x->n == x->cap) {
            size_t cap = x->cap ? 2 * x->cap : 64;
            uint64_t *grown = realloc(x->ids, cap * sizeof *grown);
            if (!grown) {
                x->rc = ENOMEM;
                relais__store__case_record__free_unpacked(c, NULL);
                return 1;
            }
            x->ids = grown;
            x->cap = cap;
        }
        x->ids[x->n++] = c->person_id;
    }
    relais__store__case_record__free_unpacked(c, NULL);
    return 0;
}

/* True when every case of PERSON_ID ended before CUTOFF. */
static int s_all_ended_before(store_txn_t *t, uint64_t person_id, int64_t cutoff, bool *yes)
{
    Relais__Store__PersonRecord *p = NULL;
    unsigned char k[8];
    MDB_val v;
    *yes = false;
    store_u64_encode(person_id, k);
    /* Ids only: the raw record, nothing to open. */
    int rc = store_get(t, STORE_PERSONS, k, 8, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (!(p = relais__store__person_record__unpack(NULL, v.mv_size, v.mv_data)))
        return 0;
    bool ok = !p->erased_at && !*p->open_case_id;
    for (size_t i = 0; ok && i < p->n_case_ids; i++) {
        case_rec_t *c;
        if ((rc = s_case_load(t, p->case_ids[i], &c)) == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc != 0)
            break;
        ok = s_ended(c->state) && c->closed_at < cutoff;
        relais__store__case_record__free_unpacked(c, NULL);
    }
    relais__store__person_record__free_unpacked(p, NULL);
    *yes = ok && rc == 0;
    return rc;
}

int erasure_purge(const config_t *cfg, store_txn_t *t, int64_t now, size_t *erased)
{
    s_purge_t x = {.cutoff = erasure_cutoff(now, cfg->retention_months ? cfg->retention_months
                                                                         : 24)};
    size_t count = 0;
    int rc = store_scan(t, STORE_CASES, "", 0, NULL, 0, s_purge_scan, &x);
    if (rc == 0)
        rc = x.rc;
    for (size_t i = 0; rc == 0 && i < x.n; i++) {
        bool yes;
        if ((rc = s_all_ended_before(t, x.ids[i], x.cutoff, &yes)) != 0 || !yes)
            continue;
        if ((rc = erasure_erase_person(t, x.ids[i], now)) == 0)
            count++;
    }
    free(x.ids);
    if (erased)
        *erased = count;
    return rc;
}

/* ---- on request --------------------------------------------------------- */

static int s_refuse(Relais__V1__StaffResult *out, const char *code, const char *message)
{
    Relais__V1__Reason *r = malloc(sizeof *r);
    if (!r)
        return ENOMEM;
    relais__v1__reason__init(r);
    r->code = (char *)code;
    r->message = (char *)message;
    out->ok = false;
    out->error = r;
    return 0;
}

void erasure_result_clear(Relais__V1__StaffResult *out)
{
    free(out->error);
    out->error = NULL;
}

/* A neutral event to every referrer of every case of the person. */
static int s_notify(store_txn_t *t, const Relais__Store__PersonRecord *p)
{
    char at[21];
    clock_format(clock_now(), at);
    for (size_t i = 0; i < p->n_case_ids; i++) {
        case_rec_t *c;
        int rc = s_case_load(t, p->case_ids[i], &c);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < c->n_referrers && rc == 0; j++) {
            Relais__V1__StatusEvent ev = RELAIS__V1__STATUS_EVENT__INIT;
            ev.partner_ref = c->referrers[j]->partner_ref;
            ev.case_id = c->case_id;
            ev.state = c->state;
            ev.structure_id = c->structure_id;
            ev.at = at;
            ev.outcome = c->outcome;
            ev.detail = (char *)ERASURE_DETAIL;
            rc = feed_append(t, c->referrers[j]->partner, &ev);
        }
        relais__store__case_record__free_unpacked(c, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int erasure_erase(const config_t *cfg, store_txn_t *t, const char *case_id, const char *reason,
                  const char *by, Relais__V1__StaffResult *out)
{
    (void)cfg;
    case_rec_t *c = NULL;
    Relais__Store__PersonRecord *p = NULL;
    unsigned char k[8];
    MDB_val v;
    out->case_id = (char *)case_id;
    if (!case_id || !*case_id || !reason || !*reason)
        return s_refuse(out, "bad_request", "Erase needs a case_id and a reason");
    int rc = s_case_load(t, case_id, &c);
    if (rc == MDB_NOTFOUND)
        return s_refuse(out, "not_found", "no such case");
    if (rc != 0)
        return rc;
    out->state = c->state;
    store_u64_encode(c->person_id, k);
    /* Ids only: the raw record (the person's data is not needed). */
    if ((rc = store_get(t, STORE_PERSONS, k, 8, &v)) != 0)
        goto done;
    if (!(p = relais__store__person_record__unpack(NULL, v.mv_size, v.mv_data))) {
        rc = EBADMSG;
        goto done;
    }
    if (*p->open_case_id) {
        rc = s_refuse(out, "case_open",
                      "the young person has an open case: close or decline it first");
        goto done;
    }
    bool already = p->erased_at != 0;
    if (!already && ((rc = erasure_erase_person(t, c->person_id, clock_now())) != 0 ||
                     (rc = s_notify(t, p)) != 0))
        goto done;
    audit_entry_t e = {.identity = by, .endpoint = "staff", .kind = "erase", .case_id = case_id,
                       .outcome = "done", .code = already ? "erased_already" : "erased",
                       .reason = reason};
    if ((rc = audit_append(t, clock_now(), &e)) != 0)
        goto done;
    out->ok = true;
    out->detail = (char *)(already ? "données déjà effacées" : ERASURE_DETAIL);
done:
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    relais__store__case_record__free_unpacked(c, NULL);
    return rc;
}
