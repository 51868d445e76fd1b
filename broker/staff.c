/*  staff — dispatch of the programme team's requests.  See staff.h. */
#include "staff.h"

#include "relais_store.pb-c.h"

#include "normalize.h"

#include "erasure.h"

#include "log.h"
#include "vocab.h"

#include <stdio.h>
#include <string.h>

static int s_audit(store_txn_t *t, const audit_entry_t *base, int64_t at, const char *kind,
                   const char *case_id, const char *partner_ref, const char *outcome,
                   const char *code)
{
    audit_entry_t e = *base;
    e.kind = kind;
    e.case_id = case_id;
    e.partner_ref = partner_ref;
    e.outcome = outcome;
    e.code = code;
    e.structure_id = "";
    return audit_append(t, at, &e);
}

static void s_fail(staff_reply_t *out, const char *code, const char *message)
{
    out->result.ok = false;
    out->error.code = (char *)code;
    out->error.message = (char *)message;
    out->result.error = &out->error;
}

static int s_review_list(store_txn_t *t, const audit_entry_t *a, int64_t at,
                         const Relais__V1__ReviewList *l, staff_reply_t *out)
{
    int rc = review_list(t, l->max, &out->result);
    /* Each item carries two young people's data: one read record per
     * case, so an access report finds it. */
    for (size_t i = 0; rc == 0 && i < out->result.n_reviews; i++) {
        const Relais__V1__ReviewItem *it = out->result.reviews[i];
        rc = s_audit(t, a, at, "review_list", it->case_id, "", "done", "read");
        if (rc == 0 && *it->candidate_case_id)
            rc = s_audit(t, a, at, "review_list", it->candidate_case_id, "", "done", "read");
    }
    if (rc == 0 && out->result.n_reviews == 0)
        rc = s_audit(t, a, at, "review_list", "", "", "done", "none");
    if (rc == 0) {
        out->result.ok = true;
        log_info("review_list by=%s count=%zu", a->identity, out->result.n_reviews);
    }
    return rc;
}

static const char *s_kind_name(Relais__V1__ReviewKind k)
{
    switch (k) {
    case RELAIS__V1__REVIEW_KIND__REVIEW_LINK: return "link";
    case RELAIS__V1__REVIEW_KIND__REVIEW_SEPARATE: return "separate";
    case RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK: return "unlink";
    default: return "unknown";
    }
}

static int s_review_decision(cases_t *cases, store_txn_t *t, const audit_entry_t *a,
                             int64_t at, const Relais__V1__ReviewDecision *d,
                             staff_reply_t *out)
{
    review_verdict_t *v = &out->verdict;
    int rc = review_decide(cases, t, d, v);
    if (rc != 0)
        return rc;
    const char *held = d->case_id ? d->case_id : "";
    char case_id[CASES_ID_MAX];
    snprintf(case_id, sizeof case_id, "%s", strlen(held) < CASES_ID_MAX ? held : "?");
    rc = s_audit(t, a, at, "review_decision", case_id,
                 d->kind == RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK ? d->partner_ref : "",
                 v->ok ? "done" : "refused", v->ok ? s_kind_name(d->kind) : v->code);
    /* The case the decision produced or joined is changed too. */
    if (rc == 0 && v->ok && strcmp(v->case_id, case_id) != 0)
        rc = s_audit(t, a, at, "review_decision", v->case_id, "", "done",
                     s_kind_name(d->kind));
    if (rc != 0)
        return rc;
    if (!v->ok) {
        s_fail(out, v->code, v->message);
    } else {
        out->result.ok = true;
        out->result.case_id = v->case_id;
        out->result.state = v->state;
        out->result.detail = v->detail;
    }
    log_info("review_decision by=%s case=%s kind=%s ok=%d%s%s result=%s", a->identity, case_id,
             s_kind_name(d->kind), v->ok, v->ok ? "" : " refused=", v->ok ? "" : v->code,
             v->case_id);
    return 0;
}

/* The open case of CASE_ID's young person (if any), ended for erasure. */
static int s_end_open_case(cases_t *cases, store_txn_t *t, const char *case_id)
{
    Relais__Store__CaseRecord *c = NULL;
    Relais__Store__PersonRecord *p = NULL;
    int rc = store_get_msg(t, STORE_CASES, case_id, strlen(case_id),
                           &relais__store__case_record__descriptor, (ProtobufCMessage **)&c);
    if (rc == MDB_NOTFOUND)
        return 0; /* erasure_erase answers not_found */
    if (rc != 0)
        return rc;
    unsigned char k[8];
    store_u64_encode(c->person_id, k);
    rc = store_get_msg(t, STORE_PERSONS, k, 8, &relais__store__person_record__descriptor,
                       (ProtobufCMessage **)&p);
    if (rc == 0 && *p->open_case_id)
        rc = cases_end_for_erasure(cases, t, p->open_case_id);
    else if (rc == MDB_NOTFOUND)
        rc = 0;
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    relais__store__case_record__free_unpacked(c, NULL);
    return rc;
}

int staff_handle(cases_t *cases, store_txn_t *t, const audit_entry_t *audit, int64_t at,
                 const Relais__V1__StaffRequest *req, staff_reply_t *out)
{
    memset(out, 0, sizeof *out);
    relais__v1__staff_result__init(&out->result);
    relais__v1__reason__init(&out->error);
    switch (req->op_case) {
    case RELAIS__V1__STAFF_REQUEST__OP_REVIEW_LIST:
        return s_review_list(t, audit, at, req->review_list, out);
    case RELAIS__V1__STAFF_REQUEST__OP_REVIEW_DECISION:
        return s_review_decision(cases, t, audit, at, req->review_decision, out);
    case RELAIS__V1__STAFF_REQUEST__OP_ERASE: {
        /* GDPR art. 17: erasure_erase wipes the person's data, tells the
         * referrers with a neutral event and writes its own audit record
         * (with the reason).  It takes no configuration (NULL). */
        const char *reason = req->erase->reason;
        if (!normalize_utf8_ok(reason, strlen(reason)) || strlen(reason) > 500) {
            s_fail(out, "bad_request", "The reason must be UTF-8 text of at most 500 bytes.");
            return s_audit(t, audit, at, "erase", req->erase->case_id, "", "refused",
                           "bad_request");
        }
        out->erased = true;
        /* An open case of the young person is ended first, through the
         * case module (budget, queues, events), then the data erased. */
        int rc = s_end_open_case(cases, t, req->erase->case_id);
        if (rc != 0)
            return rc;
        rc = erasure_erase(NULL, t, req->erase->case_id, reason, audit->identity, &out->result);
        log_info("erase by=%s case=%.16s ok=%d", audit->identity, req->erase->case_id,
                 out->result.ok);
        return rc;
    }
    default:
        s_fail(out, "bad_request", "StaffRequest names no operation.");
        return s_audit(t, audit, at, "staff", "", "", "refused", "bad_request");
    }
}

void staff_reply_clear(staff_reply_t *out)
{
    if (out->erased)
        erasure_result_clear(&out->result);
    review_list_clear(&out->result);
}
