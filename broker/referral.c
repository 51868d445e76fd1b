/*  referral — the referral path: idempotency, validation, matching,
 *  eligibility, case opening, idempotency record.  See referral.h. */
#include "referral.h"

#include "clock.h"
#include "date.h"
#include "eligibility.h"
#include "identity.h"
#include "log.h"
#include "normalize.h"
#include "persons.h"
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERRAL_KEY_MAX (64 + 1 + VALIDATE_MAX_REF)

/* Points the Ack's reasons at OUT->reasons. */
static void s_set_reasons(referral_answer_t *out)
{
    for (size_t i = 0; i < out->reasons.count; i++) {
        Relais__V1__Reason *m = &out->reason_msgs[i];
        relais__v1__reason__init(m);
        m->code = out->reasons.items[i].code;
        m->message = out->reasons.items[i].message;
        out->reason_ptrs[i] = m;
    }
    out->ack.n_reasons = out->reasons.count;
    out->ack.reasons = out->reason_ptrs;
}

static void s_answer(referral_answer_t *out, Relais__V1__AckStatus status)
{
    out->ack.status = status;
    out->ack.case_id = out->placement.case_id;
    out->ack.structure_id = out->placement.structure_id;
    s_set_reasons(out);
}

/* Step 7: the idempotency record; with the referral's details when it
 * joined a case (never the person: that lives in the person record). */
static int s_record(store_txn_t *t, const char *key, size_t klen, const char *partner,
                    const Relais__V1__Referral *r, const char *referred_on, bool keep_details,
                    referral_answer_t *out, const identity_result_t *who)
{
    Relais__Store__ReferralRecord rec = RELAIS__STORE__REFERRAL_RECORD__INIT;
    Relais__Store__MatchDecision decision;
    Relais__Store__MatchEvidence ev[LINKAGE_NFIELDS], *ev_ptrs[LINKAGE_NFIELDS];
    /* The identity decision and its evidence, for `relais-admin explain`:
     * kept only with the details, i.e. when the referral joined a case. */
    if (keep_details && who) {
        identity_decision_msg(who, ev, ev_ptrs, &decision);
        rec.match = &decision;
    }
    rec.partner = (char *)partner;
    rec.partner_ref = r->partner_ref;
    rec.ack = &out->ack;
    rec.received_at = clock_now();
    if (keep_details) {
        rec.referred_on = (char *)referred_on;
        rec.case_id = out->placement.case_id;
        rec.n_benefits = r->n_benefits;
        rec.benefits = r->benefits;
        rec.n_needs = r->n_needs;
        rec.needs = r->needs;
        rec.resources_eur_month = r->resources_eur_month;
        /* Sealed (persons.h): notes and referrer are personal data. */
        int rc = persons_seal_details(key, klen, r->notes, r->referrer_name,
                                      r->referrer_email, &rec.sealed_details);
        if (rc != 0)
            return rc;
        /* Merged: the person record holds the first referral's data, so
         * this one's is kept here, sealed, for a review UNLINK (review.h). */
        if (out->ack.status == RELAIS__V1__ACK_STATUS__ACK_MERGED &&
            (rc = persons_seal_merged(key, klen, r->person, &rec.sealed_person)) != 0) {
            free(rec.sealed_details.data);
            return rc;
        }
    }
    int rc = store_put_msg(t, STORE_REFERRALS, key, klen, &rec.base);
    free(rec.sealed_details.data);
    free(rec.sealed_person.data);
    return rc;
}

/* The open case of a known person, "" when none. */
static int s_open_case(store_txn_t *t, uint64_t person_id, char out[CASES_ID_MAX])
{
    Relais__Store__PersonRecord *rec;
    int rc = persons_get(t, person_id, &rec);
    if (rc != 0)
        return rc;
    snprintf(out, CASES_ID_MAX, "%s", rec->open_case_id);
    relais__store__person_record__free_unpacked(rec, NULL);
    return 0;
}

int referral_handle(const config_t *cfg, cases_t *cases, store_txn_t *t, const char *partner,
                    const Relais__V1__Referral *r, referral_answer_t *out)
{
    char key[REFERRAL_KEY_MAX];
    size_t klen = 0;
    int rc;
    memset(out, 0, sizeof *out);
    relais__v1__ack__init(&out->ack);
    reasons_init(&out->reasons);
    out->ack.partner_ref = r->partner_ref;

    /* Without a usable partner_ref there is no idempotency key: the answer
     * is INVALID and nothing at all is stored. */
    size_t reflen = strlen(r->partner_ref);
    if (reflen == 0 || reflen > VALIDATE_MAX_REF || !normalize_utf8_ok(r->partner_ref, reflen) ||
        !(klen = store_key2(key, sizeof key, partner, r->partner_ref))) {
        date_t today = date_from_unix(clock_now());
        validate_referral(r, today, &out->reasons);
        if (!out->reasons.count)
            reasons_add(&out->reasons, "missing_field", "Le champ partner_ref est obligatoire.");
        out->ack.partner_ref = "";
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_INVALID);
        return 0;
    }

    /* 1. idempotency */
    rc = store_get_msg(t, STORE_REFERRALS, key, klen, &relais__store__referral_record__descriptor,
                       (ProtobufCMessage **)&out->replayed);
    if (rc == 0) {
        if (!out->replayed->ack)
            return MDB_CORRUPTED;
        out->ack = *out->replayed->ack;
        out->ack.replay = true;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;

    /* 2. validate */
    date_t today = date_from_unix(clock_now()), on;
    if (!validate_referral(r, today, &out->reasons)) {
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_INVALID);
        return s_record(t, key, klen, partner, r, "", false, out, NULL);
    }
    on = today;
    if (*r->referred_on)
        date_parse_iso(r->referred_on, &on); /* validated above */
    char referred_on[11];
    date_format(on, referred_on);

    /* 3. consent, before the person is looked at */
    if (!r->consent) {
        eligibility_check(cfg, r, on, &out->reasons);
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE);
        return s_record(t, key, klen, partner, r, "", false, out, NULL);
    }

    /* 4. match */
    identity_result_t who;
    if ((rc = identity_match(t, r->person, &who)) != 0)
        return rc;
    if (who.verdict == IDENTITY_SAME) {
        char open[CASES_ID_MAX];
        if ((rc = s_open_case(t, who.person_id, open)) != 0)
            return rc;
        if (*open) {
            if ((rc = cases_attach(cases, t, open, partner, r->partner_ref, r,
                                   &out->placement)) != 0)
                return rc;
            s_answer(out, RELAIS__V1__ACK_STATUS__ACK_MERGED);
            return s_record(t, key, klen, partner, r, referred_on, true, out, &who);
        }
    }

    /* 5. decide */
    if (!eligibility_check(cfg, r, on, &out->reasons)) {
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE);
        return s_record(t, key, klen, partner, r, "", false, out, NULL);
    }

    /* 6. open a case: for the known person (whose earlier case is over),
     * or a new one; a possible match is not indexed until a human says who
     * it is. */
    uint64_t person_id = who.person_id;
    if (who.verdict != IDENTITY_SAME) {
        if ((rc = persons_create(t, r->person, &person_id)) != 0)
            return rc;
        if (who.verdict == IDENTITY_NEW && (rc = identity_index(t, person_id, r->person)) != 0)
            return rc;
    }
    bool review = who.verdict == IDENTITY_POSSIBLE;
    if ((rc = cases_open(cases, t, person_id, partner, r->partner_ref, r, review ? &who : NULL,
                         &out->placement)) != 0)
        return rc;
    switch (out->placement.state) {
    case RELAIS__V1__CASE_STATE__CASE_REVIEW:
        reasons_add(&out->reasons, who.code,
                    "Rapprochement possible avec une personne déjà orientée : l'équipe du "
                    "programme vérifie avant d'orienter.");
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_REVIEW);
        break;
    case RELAIS__V1__CASE_STATE__CASE_WAITLISTED:
        reasons_add(&out->reasons, "budget_full",
                    "Le budget du programme est entièrement engagé : la demande est inscrite en "
                    "liste d'attente, en position %llu, et sera orientée dès qu'une place se "
                    "libère.", (unsigned long long)out->placement.waitlist_position);
        reasons_add(&out->reasons, "waitlist_position", "%llu",
                    (unsigned long long)out->placement.waitlist_position);
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_WAITLISTED);
        break;
    default:
        s_answer(out, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
        break;
    }
    /* 7. record */
    return s_record(t, key, klen, partner, r, referred_on, true, out, &who);
}

void referral_answer_clear(referral_answer_t *out)
{
    if (out->replayed)
        relais__store__referral_record__free_unpacked(out->replayed, NULL);
    out->replayed = NULL;
}
