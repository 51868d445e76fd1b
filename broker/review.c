/*  review — listing the possible matches and applying the programme
 *  team's decisions.  See review.h for what each decision does.
 *
 *  The case lifecycle stays in cases.c (cases_attach, cases_release_review,
 *  cases_close_linked, cases_detach, cases_open); this module finds the
 *  records, checks the decision applies, moves the person data where it
 *  belongs and remembers the decision (identity_remember).
 */
#include "review.h"

#include "persons.h"

#include "identity.h"
#include "record.h"
#include "relais_store.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Relais__Store__CaseRecord case_rec_t;
typedef Relais__Store__PersonRecord person_rec_t;
typedef Relais__Store__ReferralRecord referral_rec_t;

/* ---- records ---------------------------------------------------------- */

static int s_case_load(store_txn_t *t, const char *case_id, case_rec_t **out)
{
    size_t len = case_id ? strlen(case_id) : 0;
    if (len == 0 || len >= CASES_ID_MAX)
        return MDB_NOTFOUND;
    return store_get_msg(t, STORE_CASES, case_id, len, &relais__store__case_record__descriptor,
                         (ProtobufCMessage **)out);
}

static int s_person_load(store_txn_t *t, uint64_t id, person_rec_t **out)
{
    return persons_get(t, id, out); /* opened from its sealed form */
}

static int s_referral_load(store_txn_t *t, const char *partner, const char *partner_ref,
                           referral_rec_t **out)
{
    char key[256];
    size_t klen = store_key2(key, sizeof key, partner, partner_ref);
    if (!klen)
        return MDB_NOTFOUND;
    int rc = store_get_msg(t, STORE_REFERRALS, key, klen,
                           &relais__store__referral_record__descriptor, (ProtobufCMessage **)out);
    /* A merged referral's own person data, opened in memory only. */
    if (rc == 0 && (rc = persons_open_merged(key, klen, *out, &(*out)->person)) != 0) {
        relais__store__referral_record__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}

/* Writes R with its person sealed (never in clear): R->person is sealed
 * into sealed_person and left out of what is stored. */
static int s_referral_save(store_txn_t *t, referral_rec_t *r)
{
    char key[256];
    size_t klen = store_key2(key, sizeof key, r->partner, r->partner_ref);
    if (!klen)
        return EINVAL;
    Relais__V1__Person *person = r->person;
    ProtobufCBinaryData old = r->sealed_person, sealed = {0, NULL};
    int rc = person ? persons_seal_merged(key, klen, person, &sealed) : 0;
    if (rc != 0)
        return rc;
    r->person = NULL;
    r->sealed_person = sealed;
    rc = store_put_msg(t, STORE_REFERRALS, key, klen, &r->base);
    r->person = person;
    r->sealed_person = old;
    free(sealed.data);
    return rc;
}

/* The referral's benefits and needs, as cases_open / cases_attach read
 * them (they copy the lists, nothing else). */
static void s_as_referral(const referral_rec_t *r, Relais__V1__Referral *out)
{
    relais__v1__referral__init(out);
    out->n_benefits = r->n_benefits;
    out->benefits = r->benefits;
    out->n_needs = r->n_needs;
    out->needs = r->needs;
}

static void s_refuse(review_verdict_t *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_refuse(review_verdict_t *out, const char *code, const char *fmt, ...)
{
    out->ok = false;
    snprintf(out->code, sizeof out->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static bool s_open(Relais__V1__CaseState s)
{
    return s != RELAIS__V1__CASE_STATE__CASE_CLOSED &&
           s != RELAIS__V1__CASE_STATE__CASE_DECLINED &&
           s != RELAIS__V1__CASE_STATE__CASE_REVIEW;
}

/* ---- list ------------------------------------------------------------- */

typedef struct {
    store_txn_t *t;
    Relais__V1__StaffResult *out;
    size_t max;
    int rc;
} s_list_t;

/* One review item for case REC (in REVIEW). */
static int s_item(store_txn_t *t, const case_rec_t *rec, Relais__V1__ReviewItem **out)
{
    Relais__V1__ReviewItem *it = malloc(sizeof *it);
    referral_rec_t *ref = NULL;
    person_rec_t *p = NULL;
    int rc = ENOMEM;
    if (!it)
        return ENOMEM;
    relais__v1__review_item__init(it);
    if (record_set_str(&it->case_id, rec->case_id) || record_set_str(&it->code, rec->review_reason))
        goto fail;
    for (size_t i = 0; i < rec->n_referrers; i++)
        if (!record_has_str(it->n_referred_by, it->referred_by, rec->referrers[i]->partner) &&
            record_push_str(&it->n_referred_by, &it->referred_by, rec->referrers[i]->partner))
            goto fail;
    if ((rc = s_person_load(t, rec->person_id, &p)) != 0)
        goto fail;
    it->person = p->person; /* moved out of the person record */
    p->person = NULL;
    relais__store__person_record__free_unpacked(p, NULL);
    p = NULL;
    if (rec->n_referrers == 0)
        goto done;
    rc = s_referral_load(t, rec->referrers[0]->partner, rec->referrers[0]->partner_ref, &ref);
    if (rc == MDB_NOTFOUND)
        goto done;
    if (rc != 0)
        goto fail;
    rc = ENOMEM;
    const Relais__Store__MatchDecision *m = ref->match;
    if (m) {
        it->score = m->score;
        if (*m->code && record_set_str(&it->code, m->code))
            goto fail;
        it->evidence = calloc(m->n_evidence ? m->n_evidence : 1, sizeof *it->evidence);
        if (!it->evidence)
            goto fail;
        for (size_t i = 0; i < m->n_evidence; i++) {
            Relais__V1__FieldEvidence *e = malloc(sizeof *e);
            if (!e)
                goto fail;
            relais__v1__field_evidence__init(e);
            it->evidence[it->n_evidence++] = e;
            e->weight = m->evidence[i]->weight;
            if (record_set_str(&e->field, m->evidence[i]->field) ||
                record_set_str(&e->level, m->evidence[i]->level))
                goto fail;
        }
        if (m->candidate_person_id) {
            if ((rc = s_person_load(t, m->candidate_person_id, &p)) == MDB_NOTFOUND)
                goto done; /* erased since */
            if (rc != 0)
                goto fail;
            rc = ENOMEM;
            const char *c = *p->open_case_id ? p->open_case_id
                            : p->n_case_ids  ? p->case_ids[p->n_case_ids - 1]
                                             : "";
            if (record_set_str(&it->candidate_case_id, c))
                goto fail;
            it->candidate = p->person;
            p->person = NULL;
        }
    }
done:
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    if (ref)
        relais__store__referral_record__free_unpacked(ref, NULL);
    *out = it;
    return 0;
fail:
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    if (ref)
        relais__store__referral_record__free_unpacked(ref, NULL);
    relais__v1__review_item__free_unpacked(it, NULL);
    return rc ? rc : ENOMEM;
}

static int s_list_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_list_t *l = arg;
    case_rec_t *rec = relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!rec)
        return 0; /* relais-admin verify reports it */
    if (rec->state == RELAIS__V1__CASE_STATE__CASE_REVIEW) {
        l->rc = s_item(l->t, rec, &l->out->reviews[l->out->n_reviews]);
        if (l->rc == 0)
            l->out->n_reviews++;
    }
    relais__store__case_record__free_unpacked(rec, NULL);
    return l->rc != 0 || l->out->n_reviews >= l->max;
}

int review_list(store_txn_t *t, uint32_t max, Relais__V1__StaffResult *out)
{
    if (max == 0)
        max = REVIEW_LIST_DEFAULT;
    if (max > REVIEW_LIST_MAX)
        max = REVIEW_LIST_MAX;
    out->n_reviews = 0;
    out->reviews = calloc(max, sizeof *out->reviews);
    if (!out->reviews)
        return ENOMEM;
    s_list_t l = {t, out, max, 0};
    int rc = store_scan(t, STORE_CASES, "", 0, NULL, 0, s_list_one, &l);
    return rc ? rc : l.rc;
}

void review_list_clear(Relais__V1__StaffResult *out)
{
    for (size_t i = 0; i < out->n_reviews; i++)
        relais__v1__review_item__free_unpacked(out->reviews[i], NULL);
    free(out->reviews);
    out->reviews = NULL;
    out->n_reviews = 0;
}

/* ---- decisions -------------------------------------------------------- */

static int s_link(cases_t *cases, store_txn_t *t, case_rec_t *held, const char *to_case_id,
                  review_verdict_t *out)
{
    case_rec_t *to = NULL;
    person_rec_t *p = NULL;
    int rc = s_case_load(t, to_case_id, &to);
    if (rc == MDB_NOTFOUND) {
        s_refuse(out, "not_found", "Dossier %.16s inconnu.", to_case_id ? to_case_id : "");
        return 0;
    }
    if (rc != 0)
        return rc;
    if (!s_open(to->state) || strcmp(to->case_id, held->case_id) == 0) {
        s_refuse(out, "not_open", "Le dossier %s n'est pas ouvert (état %d) : rattachement "
                 "impossible.", to->case_id, to->state);
        goto done;
    }
    if ((rc = s_person_load(t, held->person_id, &p)) != 0)
        goto done;
    cases_placement_t placed;
    for (size_t i = 0; rc == 0 && i < held->n_referrers; i++) {
        referral_rec_t *r;
        Relais__V1__Referral as;
        rc = s_referral_load(t, held->referrers[i]->partner, held->referrers[i]->partner_ref, &r);
        if (rc != 0)
            break;
        s_as_referral(r, &as);
        rc = cases_attach(cases, t, to->case_id, r->partner, r->partner_ref, &as, &placed);
        /* The referral now follows TO; it keeps its own person data for
         * an UNLINK (the first keeps it: later ones share it). */
        if (rc == 0 && (rc = record_set_str(&r->case_id, to->case_id)) == 0) {
            if (i == 0 && p->person) {
                r->person = p->person;
                p->person = NULL;
            }
            rc = s_referral_save(t, r);
        }
        relais__store__referral_record__free_unpacked(r, NULL);
    }
    if (rc == 0 && (rc = cases_close_linked(cases, t, held->case_id, to->case_id)) == 0 &&
        (rc = identity_remember(t, held->person_id, to->person_id, true)) == 0) {
        out->ok = true;
        snprintf(out->case_id, sizeof out->case_id, "%s", to->case_id);
        out->state = to->state;
        snprintf(out->detail, sizeof out->detail, "linked to %s", to->case_id);
    }
done:
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    relais__store__case_record__free_unpacked(to, NULL);
    return rc;
}

static int s_separate(cases_t *cases, store_txn_t *t, case_rec_t *held, review_verdict_t *out)
{
    person_rec_t *p = NULL;
    referral_rec_t *r = NULL;
    uint64_t candidate = 0;
    int rc = s_person_load(t, held->person_id, &p);
    if (rc != 0)
        return rc;
    if (held->n_referrers) {
        rc = s_referral_load(t, held->referrers[0]->partner, held->referrers[0]->partner_ref, &r);
        if (rc == 0 && r->match)
            candidate = r->match->candidate_person_id;
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    cases_placement_t placed;
    if (rc == 0 && (rc = identity_index(t, held->person_id, p->person)) == 0 &&
        (rc = cases_release_review(cases, t, held->case_id, &placed)) == 0 &&
        (!candidate || (rc = identity_remember(t, held->person_id, candidate, false)) == 0)) {
        out->ok = true;
        snprintf(out->case_id, sizeof out->case_id, "%s", placed.case_id);
        out->state = placed.state;
        snprintf(out->detail, sizeof out->detail, "separate");
    }
    if (r)
        relais__store__referral_record__free_unpacked(r, NULL);
    relais__store__person_record__free_unpacked(p, NULL);
    return rc;
}

static int s_unlink(cases_t *cases, store_txn_t *t, case_rec_t *from,
                    const Relais__V1__ReviewDecision *d, review_verdict_t *out)
{
    referral_rec_t *r = NULL;
    int rc = s_referral_load(t, d->partner, d->partner_ref, &r);
    if (rc == MDB_NOTFOUND || (rc == 0 && strcmp(r->case_id, from->case_id) != 0)) {
        s_refuse(out, "not_found", "Aucune orientation %.64s:%.64s rattachée au dossier %s.",
                 d->partner, d->partner_ref, from->case_id);
        rc = 0;
        goto done;
    }
    if (rc != 0)
        goto done;
    if (!r->person) {
        s_refuse(out, "no_person_data", "Cette orientation est celle qui a ouvert le dossier, "
                 "ou a été rattachée avant que ses données soient conservées : détachement "
                 "impossible.");
        goto done;
    }
    rc = cases_detach(cases, t, from->case_id, r->partner, r->partner_ref);
    if (rc == EINVAL || rc == MDB_NOTFOUND) {
        s_refuse(out, "not_found", "L'orientation n'est pas rattachée à ce dossier.");
        rc = 0;
        goto done;
    }
    uint64_t person_id;
    Relais__V1__Referral as;
    cases_placement_t placed;
    s_as_referral(r, &as);
    if (rc != 0 || (rc = persons_create(t, r->person, &person_id)) != 0 ||
        (rc = identity_index(t, person_id, r->person)) != 0 ||
        (rc = cases_open(cases, t, person_id, r->partner, r->partner_ref, &as, NULL, &placed)) != 0)
        goto done;
    /* Its person data now lives in its own person record. */
    relais__v1__person__free_unpacked(r->person, NULL);
    r->person = NULL;
    if ((rc = record_set_str(&r->case_id, placed.case_id)) != 0 ||
        (rc = s_referral_save(t, r)) != 0 ||
        (rc = identity_remember(t, from->person_id, person_id, false)) != 0)
        goto done;
    out->ok = true;
    snprintf(out->case_id, sizeof out->case_id, "%s", placed.case_id);
    out->state = placed.state;
    snprintf(out->detail, sizeof out->detail, "unlinked from %s", from->case_id);
done:
    if (r)
        relais__store__referral_record__free_unpacked(r, NULL);
    return rc;
}

int review_decide(cases_t *cases, store_txn_t *t, const Relais__V1__ReviewDecision *d,
                  review_verdict_t *out)
{
    case_rec_t *rec = NULL;
    memset(out, 0, sizeof *out);
    int rc = s_case_load(t, d->case_id, &rec);
    if (rc == MDB_NOTFOUND) {
        s_refuse(out, "not_found", "Dossier inconnu.");
        return 0;
    }
    if (rc != 0)
        return rc;
    bool held = rec->state == RELAIS__V1__CASE_STATE__CASE_REVIEW;
    switch (d->kind) {
    case RELAIS__V1__REVIEW_KIND__REVIEW_LINK:
    case RELAIS__V1__REVIEW_KIND__REVIEW_SEPARATE:
        if (!held) {
            s_refuse(out, "not_in_review", "Le dossier %s n'est pas en attente de vérification.",
                     rec->case_id);
            break;
        }
        rc = d->kind == RELAIS__V1__REVIEW_KIND__REVIEW_LINK
                 ? s_link(cases, t, rec, d->to_case_id, out)
                 : s_separate(cases, t, rec, out);
        break;
    case RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK:
        rc = s_unlink(cases, t, rec, d, out);
        break;
    default:
        s_refuse(out, "bad_request", "Décision inconnue : link, separate ou unlink.");
        break;
    }
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}
