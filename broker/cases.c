/*  cases — case lifecycle, budget places, structure queues and the events
 *  each change sends.  See cases.h for the state diagram and the rules.
 *
 *  Every function here runs inside the caller's write transaction: it
 *  either completes all its writes or returns an error and the caller
 *  aborts the (nested) transaction, so a case is never half-moved.
 */
#include "cases.h"

#include "allowance.h"
#include "clock.h"
#include "log.h"
#include "date.h"
#include "feed.h"
#include "normalize.h"
#include "persons.h"
#include "record.h"
#include "relais_store.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASES_FETCH_DEFAULT 100
#define CASES_FETCH_MAX 500
#define CASES_REASON_MAX 500

typedef Relais__Store__CaseRecord case_rec_t;
typedef Relais__Store__PersonRecord person_rec_t;

struct cases_t {
    const config_t *cfg;
    route_t *route;
    uint64_t place_eur; /* one budget place: allowance x max months */
};

cases_t *cases_new(const config_t *cfg, route_t *route, char *err, size_t errlen)
{
    cases_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->route = route;
    self->place_eur = (uint64_t)cfg->allowance_eur * cfg->max_months;
    return self;
}

void cases_destroy(cases_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* ---- records ---------------------------------------------------------- */

static int s_case_load(store_txn_t *t, const char *case_id, case_rec_t **out)
{
    return store_get_msg(t, STORE_CASES, case_id, strlen(case_id),
                         &relais__store__case_record__descriptor, (ProtobufCMessage **)out);
}

static int s_case_save(store_txn_t *t, const case_rec_t *rec)
{
    return store_put_msg(t, STORE_CASES, rec->case_id, strlen(rec->case_id), &rec->base);
}

static int s_person_load(store_txn_t *t, uint64_t id, person_rec_t **out)
{
    return persons_get(t, id, out); /* opened in memory, sealed on disk */
}

static int s_person_save(store_txn_t *t, const person_rec_t *rec)
{
    return persons_put(t, rec);
}

/* Links or unlinks (CASE_ID NULL) the person's open case. */
static int s_person_link(store_txn_t *t, uint64_t person_id, const char *case_id)
{
    person_rec_t *p;
    int rc = s_person_load(t, person_id, &p);
    if (rc != 0)
        return rc;
    rc = record_set_str(&p->open_case_id, case_id);
    if (rc == 0 && case_id && !record_has_str(p->n_case_ids, p->case_ids, case_id))
        rc = record_push_str(&p->n_case_ids, &p->case_ids, case_id);
    if (rc == 0)
        rc = s_person_save(t, p);
    relais__store__person_record__free_unpacked(p, NULL);
    return rc;
}

static int s_queue_put(store_txn_t *t, const char *structure_id, const char *case_id)
{
    char key[128];
    size_t klen = store_key2(key, sizeof key, structure_id, case_id);
    return klen ? store_put(t, STORE_QUEUES, key, klen, "", 0, 0) : EINVAL;
}

static int s_queue_del(store_txn_t *t, const char *structure_id, const char *case_id)
{
    char key[128];
    size_t klen = store_key2(key, sizeof key, structure_id, case_id);
    if (!klen)
        return EINVAL;
    int rc = store_del(t, STORE_QUEUES, key, klen, NULL, 0);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Accepted and not yet closed: the span in which milestones are recorded. */
static int s_in_accompaniment(Relais__V1__CaseState s)
{
    return s == RELAIS__V1__CASE_STATE__CASE_ACCEPTED ||
           s == RELAIS__V1__CASE_STATE__CASE_DIAGNOSIS_DONE ||
           s == RELAIS__V1__CASE_STATE__CASE_PLAN_AGREED ||
           s == RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED;
}

/* ---- events ----------------------------------------------------------- */

/* Sends the case's current state to one referral's partner feed. */
static int s_emit_one(store_txn_t *t, const case_rec_t *rec, const Relais__Store__Referrer *ref,
                      const char *structure_id, const char *detail)
{
    char at[21];
    clock_format(clock_now(), at);
    Relais__V1__StatusEvent ev = RELAIS__V1__STATUS_EVENT__INIT;
    ev.partner_ref = ref->partner_ref;
    ev.case_id = rec->case_id;
    ev.state = rec->state;
    ev.structure_id = (char *)(structure_id ? structure_id : rec->structure_id);
    ev.at = at;
    ev.outcome = rec->outcome;
    ev.detail = (char *)(detail ? detail : "");
    return feed_append(t, ref->partner, &ev);
}

/* The closed loop: every referral attached to the case hears of it. */
static int s_emit(store_txn_t *t, const case_rec_t *rec, const char *structure_id,
                  const char *detail)
{
    for (size_t i = 0; i < rec->n_referrers; i++) {
        int rc = s_emit_one(t, rec, rec->referrers[i], structure_id, detail);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- budget and waitlist ---------------------------------------------- */

/* Places not yet under contract are counted in whole euros
 * ("budget:reserved_eur"); contracts in cents ("budget:committed_cents"),
 * being prorated by days.  reserved + committed never exceed the
 * envelope: a case is routed only when one more place fits. */
static int s_place_fits(cases_t *self, store_txn_t *t, int *fits)
{
    uint64_t reserved, committed;
    int rc = store_counter_get(t, "budget:reserved_eur", &reserved);
    if (rc == 0)
        rc = store_counter_get(t, "budget:committed_cents", &committed);
    if (rc == 0)
        *fits = (reserved + self->place_eur) * 100 + committed <= self->cfg->envelope_eur * 100;
    return rc;
}

static int s_reserve(cases_t *self, store_txn_t *t, case_rec_t *rec)
{
    rec->holds_place = true;
    return store_counter_add(t, "budget:reserved_eur", (int64_t)self->place_eur, NULL);
}

static int s_release(cases_t *self, store_txn_t *t, case_rec_t *rec)
{
    if (!rec->holds_place)
        return 0;
    rec->holds_place = false;
    return store_counter_add(t, "budget:reserved_eur", -(int64_t)self->place_eur, NULL);
}

/* Sets the case's contract commitment to CENTS (from its current value). */
static int s_commit_contract(store_txn_t *t, case_rec_t *rec, int64_t cents)
{
    int64_t delta = cents - rec->commitment_cents;
    rec->commitment_cents = cents;
    return delta ? store_counter_add(t, "budget:committed_cents", delta, NULL) : 0;
}

/* ---- routing ---------------------------------------------------------- */

/* Routes REC (its place already held) to the best structure that has not
 * declined it; else the programme team's structure; else the case is
 * DECLINED for good and its place released.  Updates queue and load; the
 * caller saves REC and emits. */
static int s_route(cases_t *self, store_txn_t *t, case_rec_t *rec)
{
    person_rec_t *p = NULL;
    const config_structure_t *s = NULL;
    int rc = s_person_load(t, rec->person_id, &p);
    if (rc != 0)
        return rc;
    rc = route_pick(self->route, t, p->person, rec->declined_by, rec->n_declined_by, &s);
    relais__store__person_record__free_unpacked(p, NULL);
    if (rc != 0)
        return rc;
    if (!s && !record_has_str(rec->n_declined_by, rec->declined_by,
                              self->cfg->programme_structure))
        s = config_structure(self->cfg, self->cfg->programme_structure);
    if (!s) {
        rec->state = RELAIS__V1__CASE_STATE__CASE_DECLINED;
        rec->closed_at = clock_now();
        if ((rc = record_set_str(&rec->structure_id, "")) != 0)
            return rc;
        if ((rc = s_person_link(t, rec->person_id, NULL)) != 0)
            return rc;
        return s_release(self, t, rec);
    }
    rec->state = RELAIS__V1__CASE_STATE__CASE_ROUTED;
    rec->routed_at = clock_now();
    if ((rc = record_set_str(&rec->structure_id, s->id)) != 0)
        return rc;
    if ((rc = s_queue_put(t, s->id, rec->case_id)) != 0)
        return rc;
    return route_load_add(t, s->id, 1);
}

typedef struct {
    store_txn_t *t;
    bool housing_only; /* this pass: only cases whose needs include housing */
    char case_id[CASES_ID_MAX];
    unsigned char key[8];
    int found;
    int rc;
} s_first_t;

/* The first waitlisted case in arrival order (with HOUSING_ONLY, the first
 * whose needs include housing). */
static int s_first_waiting(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_first_t *f = arg;
    if (key->mv_size != 8 || val->mv_size >= CASES_ID_MAX)
        return 1;
    memcpy(f->key, key->mv_data, 8);
    memcpy(f->case_id, val->mv_data, val->mv_size);
    f->case_id[val->mv_size] = '\0';
    if (f->housing_only) {
        case_rec_t *rec;
        if ((f->rc = s_case_load(f->t, f->case_id, &rec)) != 0)
            return 1;
        bool housing = false;
        for (size_t i = 0; i < rec->n_needs; i++)
            housing |= rec->needs[i] == RELAIS__V1__NEED__NEED_HOUSING;
        relais__store__case_record__free_unpacked(rec, NULL);
        if (!housing)
            return 0;
    }
    f->found = 1;
    return 1;
}

/* Routes the oldest waitlisted cases while places are free. */
static int s_waitlist_drain(cases_t *self, store_txn_t *t)
{
    for (;;) {
        int fits, rc;
        if ((rc = s_place_fits(self, t, &fits)) != 0 || !fits)
            return rc;
        /* O(waitlist) with housing first: the waitlist is short by nature
         * (it only exists while the budget is spent). */
        s_first_t f = {.t = t, .housing_only = self->cfg->waitlist_housing_first};
        if ((rc = store_scan(t, STORE_WAITLIST, "", 0, NULL, 0, s_first_waiting, &f)) != 0 ||
            (rc = f.rc) != 0)
            return rc;
        if (!f.found && f.housing_only) {
            f.housing_only = false;
            if ((rc = store_scan(t, STORE_WAITLIST, "", 0, NULL, 0, s_first_waiting, &f)) != 0)
                return rc;
        }
        if (!f.found)
            return 0;
        if ((rc = store_del(t, STORE_WAITLIST, f.key, 8, NULL, 0)) != 0)
            return rc;
        if ((rc = store_counter_add(t, "waitlist:len", -1, NULL)) != 0)
            return rc;
        case_rec_t *rec;
        if ((rc = s_case_load(t, f.case_id, &rec)) != 0)
            return rc;
        rec->waitlist_seq = 0;
        if ((rc = s_reserve(self, t, rec)) == 0 && (rc = s_route(self, t, rec)) == 0 &&
            (rc = s_case_save(t, rec)) == 0)
            rc = s_emit(t, rec, NULL, "place libérée : orientation depuis la liste d'attente");
        relais__store__case_record__free_unpacked(rec, NULL);
        if (rc != 0)
            return rc;
    }
}

static int s_waitlist_add(store_txn_t *t, case_rec_t *rec, uint64_t *position)
{
    uint64_t seq;
    unsigned char key[8];
    int rc = store_counter_next(t, "next:waitlist", &seq);
    if (rc != 0)
        return rc;
    store_u64_encode(seq, key);
    if ((rc = store_put(t, STORE_WAITLIST, key, 8, rec->case_id, strlen(rec->case_id),
                        MDB_APPEND)) != 0)
        return rc;
    rec->waitlist_seq = seq;
    rec->state = RELAIS__V1__CASE_STATE__CASE_WAITLISTED;
    return store_counter_add(t, "waitlist:len", 1, position);
}

/* ---- opening and attaching -------------------------------------------- */

static int s_copy_lists(case_rec_t *rec, const Relais__V1__Referral *r)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n_benefits; i++)
        rc = record_add_enum(&rec->n_benefits, (int **)&rec->benefits, (int)r->benefits[i]);
    for (size_t i = 0; rc == 0 && i < r->n_needs; i++)
        rc = record_add_enum(&rec->n_needs, (int **)&rec->needs, (int)r->needs[i]);
    return rc;
}

static int s_add_referrer(case_rec_t *rec, const char *partner, const char *partner_ref)
{
    Relais__Store__Referrer *ref = malloc(sizeof *ref);
    Relais__Store__Referrer **grown =
        ref ? realloc(rec->referrers, (rec->n_referrers + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(ref);
        return ENOMEM;
    }
    rec->referrers = grown;
    relais__store__referrer__init(ref);
    rec->referrers[rec->n_referrers++] = ref;
    int rc = record_set_str(&ref->partner, partner);
    return rc ? rc : record_set_str(&ref->partner_ref, partner_ref);
}

static void s_placement(const case_rec_t *rec, cases_placement_t *out)
{
    out->state = rec->state;
    snprintf(out->case_id, sizeof out->case_id, "%s", rec->case_id);
    snprintf(out->structure_id, sizeof out->structure_id, "%s", rec->structure_id);
}

int cases_open(cases_t *self, store_txn_t *t, uint64_t person_id, const char *partner,
               const char *partner_ref, const Relais__V1__Referral *r,
               const identity_result_t *review, cases_placement_t *out)
{
    case_rec_t *rec = malloc(sizeof *rec);
    char case_id[CASES_ID_MAX];
    uint64_t n;
    int rc;
    memset(out, 0, sizeof *out);
    if (!rec)
        return ENOMEM;
    relais__store__case_record__init(rec);
    if ((rc = store_counter_next(t, "next:case", &n)) != 0)
        goto done;
    snprintf(case_id, sizeof case_id, "C%07llu", (unsigned long long)n);
    rec->person_id = person_id;
    rec->created_at = clock_now();
    if ((rc = record_set_str(&rec->case_id, case_id)) != 0 ||
        (rc = s_add_referrer(rec, partner, partner_ref)) != 0 || (rc = s_copy_lists(rec, r)) != 0)
        goto done;

    const char *detail = "";
    if (review) {
        rec->state = RELAIS__V1__CASE_STATE__CASE_REVIEW;
        detail = "rapprochement possible avec une personne connue : vérification par l'équipe";
        if ((rc = record_set_str(&rec->review_reason, review->code)) != 0)
            goto done;
    } else {
        int fits;
        if ((rc = s_place_fits(self, t, &fits)) != 0)
            goto done;
        if (fits) {
            if ((rc = s_reserve(self, t, rec)) != 0 || (rc = s_route(self, t, rec)) != 0)
                goto done;
        } else {
            if ((rc = s_waitlist_add(t, rec, &out->waitlist_position)) != 0)
                goto done;
            detail = "budget du programme complet : inscrit en liste d'attente";
        }
    }
    if ((rc = s_case_save(t, rec)) != 0 || (rc = s_person_link(t, person_id, case_id)) != 0 ||
        (rc = s_emit(t, rec, NULL, detail)) != 0)
        goto done;
    s_placement(rec, out);
done:
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}

int cases_attach(cases_t *self, store_txn_t *t, const char *case_id, const char *partner,
                 const char *partner_ref, const Relais__V1__Referral *r,
                 cases_placement_t *out)
{
    (void)self;
    case_rec_t *rec;
    memset(out, 0, sizeof *out);
    int rc = s_case_load(t, case_id, &rec);
    if (rc != 0)
        return rc;
    if ((rc = s_add_referrer(rec, partner, partner_ref)) == 0 &&
        (rc = s_copy_lists(rec, r)) == 0 && (rc = s_case_save(t, rec)) == 0)
        rc = s_emit_one(t, rec, rec->referrers[rec->n_referrers - 1], NULL,
                        "personne déjà connue : orientation rattachée au dossier existant");
    if (rc == 0)
        s_placement(rec, out);
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}

/* ---- coordinator actions ---------------------------------------------- */

static void s_refuse(cases_verdict_t *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_refuse(cases_verdict_t *out, const char *code, const char *fmt, ...)
{
    out->ok = false;
    snprintf(out->code, sizeof out->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

/* The action's date: ON_DATE, or today when empty; refused if not a real
 * day or in the future. */
static int s_action_date(const char *on_date, char out[11], cases_verdict_t *v)
{
    date_t today = date_from_unix(clock_now()), d;
    if (!on_date || !*on_date) {
        date_format(today, out);
        return 1;
    }
    if (!date_parse_iso(on_date, &d)) {
        s_refuse(v, "bad_date", "La date doit être un jour réel au format AAAA-MM-JJ.");
        return 0;
    }
    if (date_compare(d, today) > 0) {
        s_refuse(v, "bad_date", "La date ne peut pas être dans le futur.");
        return 0;
    }
    date_format(d, out);
    return 1;
}

/* Leaves the structure's queue and load: the case is no longer its. */
static int s_leave_structure(store_txn_t *t, case_rec_t *rec)
{
    int rc = s_queue_del(t, rec->structure_id, rec->case_id);
    return rc ? rc : route_load_add(t, rec->structure_id, -1);
}

static int s_decline(cases_t *self, store_txn_t *t, case_rec_t *rec, const char *reason)
{
    char from[64];
    snprintf(from, sizeof from, "%s", rec->structure_id);
    int rc = s_leave_structure(t, rec);
    if (rc == 0)
        rc = record_push_str(&rec->n_declined_by, &rec->declined_by, from);
    if (rc != 0)
        return rc;
    /* First the hand-back, as it happened, then where the case goes. */
    rec->state = RELAIS__V1__CASE_STATE__CASE_DECLINED;
    if ((rc = s_emit(t, rec, from, reason)) != 0)
        return rc;
    if ((rc = s_route(self, t, rec)) != 0 || (rc = s_case_save(t, rec)) != 0)
        return rc;
    if (rec->state == RELAIS__V1__CASE_STATE__CASE_ROUTED)
        return s_emit(t, rec, NULL, "réorientation après refus");
    /* Declined by every structure: final; its place goes to the waitlist. */
    if ((rc = s_emit(t, rec, "", "refusée par toutes les structures")) != 0)
        return rc;
    return s_waitlist_drain(self, t);
}

/* Contract signature: the place reserved at routing becomes a commitment
 * of exactly what the contract will pay (allowance.h), START to END.  END
 * empty: the longest contract allowed. */
static int s_contract(cases_t *self, store_txn_t *t, case_rec_t *rec, const char *start_s,
                      const char *end_s, cases_verdict_t *out)
{
    date_t start, end;
    date_parse_iso(start_s, &start); /* checked by s_action_date */
    date_t max_end = allowance_max_end(start, self->cfg->max_months);
    if (end_s && *end_s) {
        if (!date_parse_iso(end_s, &end) || date_compare(end, start) < 0) {
            s_refuse(out, "bad_date", "La fin du contrat (contract_end) doit être un jour réel, "
                     "au format AAAA-MM-JJ, après son début.");
            return 0;
        }
        if (date_compare(end, max_end) > 0) {
            char max_s[11];
            date_format(max_end, max_s);
            s_refuse(out, "contract_too_long", "Un contrat dure au plus %u mois : il doit finir "
                     "au plus tard le %s.", self->cfg->max_months, max_s);
            return 0;
        }
    } else {
        end = max_end;
    }
    char end_str[11];
    date_format(end, end_str);
    int rc = record_set_str(&rec->contract_end, end_str);
    if (rc == 0)
        rc = s_commit_contract(t, rec, allowance_total(start, end, self->cfg->allowance_eur));
    if (rc == 0)
        rc = s_release(self, t, rec);
    return rc;
}

static int s_milestone(cases_t *self, store_txn_t *t, case_rec_t *rec,
                       const Relais__V1__CaseAction *a, cases_verdict_t *out)
{
    Relais__V1__CaseState need;
    char **field;
    switch (a->milestone) {
    case RELAIS__V1__CASE_STATE__CASE_DIAGNOSIS_DONE:
        need = RELAIS__V1__CASE_STATE__CASE_ACCEPTED;
        field = &rec->diagnosis_on;
        break;
    case RELAIS__V1__CASE_STATE__CASE_PLAN_AGREED:
        need = RELAIS__V1__CASE_STATE__CASE_DIAGNOSIS_DONE;
        field = &rec->plan_on;
        break;
    case RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED:
        need = RELAIS__V1__CASE_STATE__CASE_PLAN_AGREED;
        field = &rec->contract_on;
        break;
    default:
        s_refuse(out, "bad_milestone",
                 "Jalon inconnu : diagnostic (DIAGNOSIS_DONE), plan (PLAN_AGREED) ou contrat "
                 "(CONTRACT_SIGNED).");
        return 0;
    }
    if (rec->state != need) {
        s_refuse(out, "out_of_order", "Jalon %s impossible : le dossier est à l'état %s (%s attendu).",
                 vocab_case_state_name(a->milestone), vocab_case_state_name(rec->state),
                 vocab_case_state_name(need));
        return 0;
    }
    char on[11];
    if (!s_action_date(a->on_date, on, out))
        return 0;
    int rc;
    if (a->milestone == RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED) {
        if ((rc = s_contract(self, t, rec, on, a->contract_end, out)) != 0 || !out->ok)
            return rc;
    }
    rec->state = a->milestone;
    if ((rc = record_set_str(field, on)) != 0 || (rc = s_case_save(t, rec)) != 0 ||
        (rc = s_emit(t, rec, NULL, on)) != 0)
        return rc;
    /* A contract shorter than the full term frees part of its place. */
    return a->milestone == RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED ? s_waitlist_drain(self, t)
                                                                         : 0;
}

static int s_close(cases_t *self, store_txn_t *t, case_rec_t *rec,
                   const Relais__V1__CaseAction *a, cases_verdict_t *out)
{
    if (rec->state == RELAIS__V1__CASE_STATE__CASE_CLOSED) {
        s_refuse(out, "already_closed", "Le dossier est déjà clos.");
        return 0;
    }
    if (!s_in_accompaniment(rec->state)) {
        s_refuse(out, "out_of_order",
                 "Seul un dossier accepté peut être clos (état actuel : %s) ; sinon, le refuser.",
                 vocab_case_state_name(rec->state));
        return 0;
    }
    if (a->outcome <= RELAIS__V1__OUTCOME__OUTCOME_UNSPECIFIED ||
        a->outcome >= VOCAB_OUTCOME_COUNT) {
        s_refuse(out, "missing_outcome", "La clôture doit indiquer la sortie du jeune (outcome).");
        return 0;
    }
    char on[11];
    if (!s_action_date(a->on_date, on, out))
        return 0;
    int rc;
    if (*rec->contract_on) {
        /* Closing ends the contract on the close date (if before its
         * planned end): what was committed beyond it is released. */
        date_t start, end, closed;
        date_parse_iso(rec->contract_on, &start);
        date_parse_iso(rec->contract_end, &end);
        date_parse_iso(on, &closed);
        if (date_compare(closed, start) < 0) {
            s_refuse(out, "bad_date", "La clôture ne peut pas précéder le début du contrat.");
            return 0;
        }
        if (date_compare(closed, end) < 0) {
            if ((rc = record_set_str(&rec->contract_end, on)) != 0 ||
                (rc = s_commit_contract(t, rec,
                                        allowance_total(start, closed,
                                                        self->cfg->allowance_eur))) != 0)
                return rc;
        }
    }
    if ((rc = s_leave_structure(t, rec)) != 0)
        return rc;
    rec->state = RELAIS__V1__CASE_STATE__CASE_CLOSED;
    rec->outcome = a->outcome;
    rec->closed_at = clock_now();
    if ((rc = record_set_str(&rec->closed_on, on)) != 0 ||
        (rc = s_person_link(t, rec->person_id, NULL)) != 0 ||
        (rc = s_release(self, t, rec)) != 0 || (rc = s_case_save(t, rec)) != 0 ||
        (rc = s_emit(t, rec, NULL, on)) != 0)
        return rc;
    return s_waitlist_drain(self, t);
}

static int s_reason_ok(const char *reason, cases_verdict_t *out)
{
    size_t len = reason ? strlen(reason) : 0;
    size_t blank = reason ? strspn(reason, " \t\r\n") : 0;
    if (len == blank) {
        s_refuse(out, "missing_reason", "Un refus doit être motivé (reason).");
        return 0;
    }
    if (len > CASES_REASON_MAX) {
        s_refuse(out, "too_long", "Le motif dépasse %d octets.", CASES_REASON_MAX);
        return 0;
    }
    if (!normalize_utf8_ok(reason, len)) {
        s_refuse(out, "bad_utf8", "Le motif n'est pas du texte UTF-8 valide.");
        return 0;
    }
    return 1;
}

int cases_act(cases_t *self, store_txn_t *t, const char *structure_id,
              const Relais__V1__CaseAction *a, cases_verdict_t *out)
{
    case_rec_t *rec = NULL;
    memset(out, 0, sizeof *out);
    out->ok = true;
    if (!a->case_id || !*a->case_id || strlen(a->case_id) >= CASES_ID_MAX) {
        s_refuse(out, "not_found", "Dossier inconnu.");
        return 0;
    }
    int rc = s_case_load(t, a->case_id, &rec);
    if (rc == MDB_NOTFOUND) {
        s_refuse(out, "not_found", "Dossier inconnu.");
        return 0;
    }
    if (rc != 0)
        return rc;
    out->state = rec->state;
    if (strcmp(rec->structure_id, structure_id) != 0) {
        /* Same answer whether the case exists elsewhere or not at all would
         * hide nothing useful from a coordinator; the code says which. */
        s_refuse(out, "wrong_structure", "Ce dossier n'est pas orienté vers votre structure.");
        goto done;
    }
    switch (a->kind) {
    case RELAIS__V1__ACTION_KIND__ACTION_ACCEPT:
        if (rec->state != RELAIS__V1__CASE_STATE__CASE_ROUTED) {
            s_refuse(out, "out_of_order", "Seul un dossier en attente de réponse (routed) peut "
                     "être accepté (état actuel : %s).", vocab_case_state_name(rec->state));
            break;
        }
        rec->state = RELAIS__V1__CASE_STATE__CASE_ACCEPTED;
        rec->answered_at = clock_now();
        if ((rc = s_case_save(t, rec)) == 0)
            rc = s_emit(t, rec, NULL, "");
        break;
    case RELAIS__V1__ACTION_KIND__ACTION_DECLINE:
        if (!s_reason_ok(a->reason, out))
            break;
        if (rec->state != RELAIS__V1__CASE_STATE__CASE_ROUTED) {
            s_refuse(out, "out_of_order", "Seul un dossier en attente de réponse (routed) peut "
                     "être refusé (état actuel : %s).", vocab_case_state_name(rec->state));
            break;
        }
        rc = s_decline(self, t, rec, a->reason);
        break;
    case RELAIS__V1__ACTION_KIND__ACTION_MILESTONE:
        rc = s_milestone(self, t, rec, a, out);
        break;
    case RELAIS__V1__ACTION_KIND__ACTION_CLOSE:
        rc = s_close(self, t, rec, a, out);
        break;
    default:
        s_refuse(out, "bad_action", "Action inconnue : accept, decline, milestone ou close.");
        break;
    }
    if (rc == 0 && out->ok)
        out->state = rec->state;
done:
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}

/* ---- coordinator view ------------------------------------------------- */

typedef struct {
    store_txn_t *t;
    const char *structure_id;
    size_t prefix_len;
    bool want_routed; /* this pass: ROUTED cases, or accepted open ones */
    Relais__V1__Cases *out;
    size_t max;
    int rc;
} s_fetch_t;

/* "[partner] note" lines of every referral of the case. */
static int s_notes(store_txn_t *t, const case_rec_t *rec, char **out)
{
    size_t cap = 1, len = 0;
    char *buf = calloc(1, cap);
    if (!buf)
        return ENOMEM;
    for (size_t i = 0; i < rec->n_referrers; i++) {
        char key[256];
        Relais__Store__ReferralRecord *r;
        size_t klen = store_key2(key, sizeof key, rec->referrers[i]->partner,
                                 rec->referrers[i]->partner_ref);
        if (!klen)
            continue;
        int rc = store_get_msg(t, STORE_REFERRALS, key, klen,
                               &relais__store__referral_record__descriptor,
                               (ProtobufCMessage **)&r);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc != 0) {
            free(buf);
            return rc;
        }
        Relais__Store__ReferralDetails *d = NULL;
        rc = persons_open_details(key, klen, r, &d);
        if (rc != 0) {
            relais__store__referral_record__free_unpacked(r, NULL);
            free(buf);
            return rc;
        }
        if (*d->notes) {
            size_t add = strlen(r->partner) + strlen(d->notes) + 5;
            char *grown = realloc(buf, cap + add);
            if (!grown) {
                relais__store__referral_details__free_unpacked(d, NULL);
                relais__store__referral_record__free_unpacked(r, NULL);
                free(buf);
                return ENOMEM;
            }
            buf = grown;
            cap += add;
            len += (size_t)snprintf(buf + len, cap - len, "%s[%s] %s", len ? "\n" : "",
                                    r->partner, d->notes);
        }
        relais__store__referral_details__free_unpacked(d, NULL);
        relais__store__referral_record__free_unpacked(r, NULL);
    }
    *out = buf;
    return 0;
}

static int s_view(store_txn_t *t, const case_rec_t *rec, Relais__V1__CaseView **out)
{
    Relais__V1__CaseView *v = malloc(sizeof *v);
    person_rec_t *p = NULL;
    char at[21];
    int rc = ENOMEM;
    if (!v)
        return ENOMEM;
    relais__v1__case_view__init(v);
    v->state = rec->state;
    clock_format(rec->routed_at, at);
    char reminded[21] = "";
    if (rec->reminded_at)
        clock_format(rec->reminded_at, reminded);
    if (record_set_str(&v->case_id, rec->case_id) || record_set_str(&v->routed_at, at) ||
        record_set_str(&v->structure_id, rec->structure_id) ||
        record_set_str(&v->reminded_at, reminded))
        goto fail;
    for (size_t i = 0; i < rec->n_benefits; i++)
        if (record_add_enum(&v->n_benefits, (int **)&v->benefits, rec->benefits[i]))
            goto fail;
    for (size_t i = 0; i < rec->n_needs; i++)
        if (record_add_enum(&v->n_needs, (int **)&v->needs, rec->needs[i]))
            goto fail;
    for (size_t i = 0; i < rec->n_referrers; i++)
        if (!record_has_str(v->n_referred_by, v->referred_by, rec->referrers[i]->partner) &&
            record_push_str(&v->n_referred_by, &v->referred_by, rec->referrers[i]->partner))
            goto fail;
    char *notes = NULL;
    if ((rc = s_notes(t, rec, &notes)) != 0)
        goto fail;
    v->notes = notes; /* replaces the shared empty string: nothing to free */
    if ((rc = s_person_load(t, rec->person_id, &p)) != 0)
        goto fail;
    v->person = p->person; /* moved out of the person record */
    p->person = NULL;
    relais__store__person_record__free_unpacked(p, NULL);
    *out = v;
    return 0;
fail:
    relais__v1__case_view__free_unpacked(v, NULL);
    return rc ? rc : ENOMEM;
}

static int s_fetch_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    s_fetch_t *f = arg;
    char case_id[CASES_ID_MAX];
    size_t idlen = key->mv_size - f->prefix_len;
    if (idlen >= sizeof case_id)
        return 0;
    memcpy(case_id, (const char *)key->mv_data + f->prefix_len, idlen);
    case_id[idlen] = '\0';
    case_rec_t *rec;
    if ((f->rc = s_case_load(f->t, case_id, &rec)) != 0)
        return 1;
    bool routed = rec->state == RELAIS__V1__CASE_STATE__CASE_ROUTED;
    if (routed == f->want_routed && (routed || s_in_accompaniment(rec->state))) {
        f->rc = s_view(f->t, rec, &f->out->cases[f->out->n_cases]);
        if (f->rc == 0)
            f->out->n_cases++;
    }
    relais__store__case_record__free_unpacked(rec, NULL);
    return f->rc != 0 || f->out->n_cases >= f->max;
}

int cases_fetch(cases_t *self, store_txn_t *t, const char *structure_id, uint32_t max,
                bool include_open, Relais__V1__Cases *out)
{
    (void)self;
    char prefix[96];
    relais__v1__cases__init(out);
    size_t plen = store_key2(prefix, sizeof prefix, structure_id, "");
    if (!plen)
        return EINVAL;
    if (max == 0)
        max = CASES_FETCH_DEFAULT;
    if (max > CASES_FETCH_MAX)
        max = CASES_FETCH_MAX;
    out->cases = calloc(max, sizeof *out->cases);
    if (!out->cases)
        return ENOMEM;
    s_fetch_t f = {t, structure_id, plen, true, out, max, 0};
    int rc = store_scan(t, STORE_QUEUES, prefix, plen, NULL, 0, s_fetch_one, &f);
    if (rc == 0 && f.rc == 0 && include_open && out->n_cases < max) {
        f.want_routed = false;
        rc = store_scan(t, STORE_QUEUES, prefix, plen, NULL, 0, s_fetch_one, &f);
    }
    return rc ? rc : f.rc;
}

void cases_clear(Relais__V1__Cases *out)
{
    for (size_t i = 0; i < out->n_cases; i++)
        relais__v1__case_view__free_unpacked(out->cases[i], NULL);
    free(out->cases);
    out->cases = NULL;
    out->n_cases = 0;
}

/* ---- escalation ------------------------------------------------------- */

typedef struct {
    char (*ids)[CASES_ID_MAX];
    size_t n, cap;
    int oom;
} s_ids_t;

static int s_collect(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    s_ids_t *ids = arg;
    const char *k = key->mv_data;
    const char *nul = memchr(k, '\0', key->mv_size);
    size_t idlen = nul ? key->mv_size - (size_t)(nul - k) - 1 : 0;
    if (!nul || idlen == 0 || idlen >= CASES_ID_MAX)
        return 0;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        void *grown = realloc(ids->ids, cap * sizeof *ids->ids);
        if (!grown) {
            ids->oom = 1;
            return 1;
        }
        ids->ids = grown;
        ids->cap = cap;
    }
    memcpy(ids->ids[ids->n], nul + 1, idlen);
    ids->ids[ids->n][idlen] = '\0';
    ids->n++;
    return 0;
}

/* The UTC calendar day of unix time T (floor, also before 1970). */
static int64_t s_day(int64_t t)
{
    return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

int cases_escalate(cases_t *self, store_txn_t *t, int64_t now, size_t *reminded,
                   size_t *rerouted)
{
    s_ids_t ids = {0};
    *reminded = *rerouted = 0;
    /* Collect first: re-routing changes the queues being scanned. */
    int rc = store_scan(t, STORE_QUEUES, "", 0, NULL, 0, s_collect, &ids);
    if (rc == 0 && ids.oom)
        rc = ENOMEM;
    for (size_t i = 0; rc == 0 && i < ids.n; i++) {
        case_rec_t *rec;
        if ((rc = s_case_load(t, ids.ids[i], &rec)) != 0)
            break;
        /* Calendar days (UTC), not 24-hour periods: a case routed on the
         * 20th is reminded on the 30th, whatever the hour of either. */
        int64_t waited = s_day(now) - s_day(rec->routed_at);
        if (rec->state != RELAIS__V1__CASE_STATE__CASE_ROUTED) {
            /* accepted: nothing to chase */
        } else if (waited >= self->cfg->reroute_days) {
            char why[200];
            snprintf(why, sizeof why, "no_answer : sans réponse de la structure depuis %lld "
                     "jours, réorientation automatique", (long long)waited);
            log_warn("escalation case=%s structure=%s no answer for %lld days: re-routed",
                     rec->case_id, rec->structure_id, (long long)waited);
            rc = s_decline(self, t, rec, why);
            (*rerouted)++;
        } else if (waited >= self->cfg->reminder_days && rec->reminded_at < rec->routed_at) {
            char why[160];
            snprintf(why, sizeof why, "relance : orientation sans réponse depuis %lld jours",
                     (long long)waited);
            log_warn("escalation case=%s structure=%s no answer for %lld days: reminder sent",
                     rec->case_id, rec->structure_id, (long long)waited);
            rec->reminded_at = now;
            if ((rc = s_case_save(t, rec)) == 0)
                rc = s_emit(t, rec, NULL, why);
            (*reminded)++;
        }
        relais__store__case_record__free_unpacked(rec, NULL);
    }
    free(ids.ids);
    return rc;
}

/* ---- programme staff decisions (review.h) ----------------------------- */

static int s_find_referrer(const case_rec_t *rec, const char *partner, const char *partner_ref)
{
    for (size_t i = 0; i < rec->n_referrers; i++)
        if (strcmp(rec->referrers[i]->partner, partner) == 0 &&
            strcmp(rec->referrers[i]->partner_ref, partner_ref) == 0)
            return (int)i;
    return -1;
}

static void s_drop_referrer(case_rec_t *rec, size_t i)
{
    relais__store__referrer__free_unpacked(rec->referrers[i], NULL);
    memmove(&rec->referrers[i], &rec->referrers[i + 1],
            (rec->n_referrers - i - 1) * sizeof *rec->referrers);
    rec->n_referrers--;
}

int cases_release_review(cases_t *self, store_txn_t *t, const char *case_id,
                         cases_placement_t *out)
{
    case_rec_t *rec;
    int fits;
    memset(out, 0, sizeof *out);
    int rc = s_case_load(t, case_id, &rec);
    if (rc != 0)
        return rc;
    if (rec->state != RELAIS__V1__CASE_STATE__CASE_REVIEW) {
        rc = EINVAL;
        goto done;
    }
    const char *detail = "vérifié par l'équipe du programme : personne distincte, orientation";
    if ((rc = record_set_str(&rec->review_reason, "")) != 0 ||
        (rc = s_place_fits(self, t, &fits)) != 0)
        goto done;
    if (fits) {
        if ((rc = s_reserve(self, t, rec)) != 0 || (rc = s_route(self, t, rec)) != 0)
            goto done;
    } else {
        if ((rc = s_waitlist_add(t, rec, &out->waitlist_position)) != 0)
            goto done;
        detail = "budget du programme complet : inscrit en liste d'attente";
    }
    if ((rc = s_case_save(t, rec)) != 0 || (rc = s_emit(t, rec, NULL, detail)) != 0)
        goto done;
    s_placement(rec, out);
done:
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}

int cases_close_linked(cases_t *self, store_txn_t *t, const char *case_id,
                       const char *to_case_id)
{
    (void)self;
    case_rec_t *rec;
    int rc = s_case_load(t, case_id, &rec);
    if (rc != 0)
        return rc;
    if (rec->state != RELAIS__V1__CASE_STATE__CASE_REVIEW) {
        rc = EINVAL;
        goto done;
    }
    char why[64];
    snprintf(why, sizeof why, "linked to %s", to_case_id);
    /* Its referrals now follow TO_CASE_ID: they leave this case, which is
     * closed out without an event (the referrers hear of the case they
     * joined instead).  A review case never held a place. */
    while (rec->n_referrers)
        s_drop_referrer(rec, rec->n_referrers - 1);
    rec->state = RELAIS__V1__CASE_STATE__CASE_DECLINED;
    rec->closed_at = clock_now();
    if ((rc = record_set_str(&rec->review_reason, why)) != 0 ||
        (rc = s_person_link(t, rec->person_id, NULL)) != 0)
        goto done;
    rc = s_case_save(t, rec);
done:
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}

int cases_detach(cases_t *self, store_txn_t *t, const char *case_id, const char *partner,
                 const char *partner_ref)
{
    (void)self;
    case_rec_t *rec;
    int rc = s_case_load(t, case_id, &rec);
    if (rc != 0)
        return rc;
    int i = s_find_referrer(rec, partner, partner_ref);
    if (i <= 0) {
        /* Not attached, or the case's first referral (whose person the
         * case is): nothing to detach. */
        rc = i < 0 ? MDB_NOTFOUND : EINVAL;
        goto done;
    }
    Relais__Store__Referrer *ref = rec->referrers[i];
    Relais__V1__CaseState kept = rec->state;
    rec->state = RELAIS__V1__CASE_STATE__CASE_DECLINED;
    rc = s_emit_one(t, rec, ref, "",
                    "rattachement annulé : l'orientation n'appartient pas à ce dossier");
    rec->state = kept;
    if (rc != 0)
        goto done;
    s_drop_referrer(rec, (size_t)i);
    rc = s_case_save(t, rec);
done:
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}

/* ---- erasure ---------------------------------------------------------- */

int cases_end_for_erasure(cases_t *self, store_txn_t *t, const char *case_id)
{
    case_rec_t *rec;
    int rc = s_case_load(t, case_id, &rec);
    if (rc != 0)
        return rc;
    Relais__V1__CaseState was = rec->state;
    char today[11];
    date_format(date_from_unix(clock_now()), today);
    if (s_in_accompaniment(was) || was == RELAIS__V1__CASE_STATE__CASE_ROUTED) {
        /* As a close on the day of the request: a contract ends today,
         * the rest of its commitment and any reserved place are freed. */
        if (*rec->contract_on) {
            date_t start, end, now_d;
            date_parse_iso(rec->contract_on, &start);
            date_parse_iso(rec->contract_end, &end);
            date_parse_iso(today, &now_d);
            if (date_compare(now_d, end) < 0 && date_compare(now_d, start) >= 0 &&
                ((rc = record_set_str(&rec->contract_end, today)) != 0 ||
                 (rc = s_commit_contract(t, rec, allowance_total(start, now_d,
                                                                 self->cfg->allowance_eur))) != 0))
                goto done;
        }
        if ((rc = s_leave_structure(t, rec)) != 0 || (rc = s_release(self, t, rec)) != 0)
            goto done;
        rec->state = RELAIS__V1__CASE_STATE__CASE_CLOSED;
        rec->outcome = RELAIS__V1__OUTCOME__OUTCOME_OTHER;
        if ((rc = record_set_str(&rec->closed_on, today)) != 0)
            goto done;
    } else if (was == RELAIS__V1__CASE_STATE__CASE_WAITLISTED) {
        unsigned char key[8];
        store_u64_encode(rec->waitlist_seq, key);
        if ((rc = store_del(t, STORE_WAITLIST, key, 8, NULL, 0)) != 0 && rc != MDB_NOTFOUND)
            goto done;
        if ((rc = store_counter_add(t, "waitlist:len", -1, NULL)) != 0)
            goto done;
        rec->waitlist_seq = 0;
        rec->state = RELAIS__V1__CASE_STATE__CASE_DECLINED;
    } else if (was == RELAIS__V1__CASE_STATE__CASE_REVIEW) {
        rec->state = RELAIS__V1__CASE_STATE__CASE_DECLINED;
    } else {
        goto done; /* closed or declined already */
    }
    rec->closed_at = clock_now();
    if ((rc = s_person_link(t, rec->person_id, NULL)) != 0 || (rc = s_case_save(t, rec)) != 0 ||
        (rc = s_emit(t, rec, NULL, "dossier clos : demande d'effacement des données")) != 0)
        goto done;
    rc = s_waitlist_drain(self, t);
done:
    relais__store__case_record__free_unpacked(rec, NULL);
    return rc;
}
