/*  staff_client — review requests to the broker, and match explanations
 *  from the store.  See staff_client.h. */
#include "staff_client.h"

#include "relais_store.pb-c.h"
#include "store.h"
#include "vocab.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int s_exit(int rc)
{
    return rc == RELAIS_OK ? 0 : rc == RELAIS_ETIMEOUT ? 2 : rc == RELAIS_EBROKER ? 3 : 1;
}

/* Sends REQ; *OUT is the StaffResult (its envelope in *HOLD). */
static int s_call(relais_client_t *c, Relais__V1__StaffRequest *req, Relais__V1__Envelope **hold,
                  Relais__V1__StaffResult **out)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_STAFF;
    env.staff = req;
    *hold = NULL;
    *out = NULL;
    int rc = relais_client_call(c, &env, hold);
    if (rc == RELAIS_EBROKER) {
        fprintf(stderr, "relais-admin: %s\n", relais_client_last_error(c));
        return rc;
    }
    if (rc != RELAIS_OK) {
        fprintf(stderr, "relais-admin: the broker could not be reached: %s\n",
                relais_client_last_error(c));
        return rc;
    }
    if ((*hold)->body_case != RELAIS__V1__ENVELOPE__BODY_STAFF_RESULT) {
        fprintf(stderr, "relais-admin: unexpected answer from the broker\n");
        return RELAIS_EPROTO;
    }
    *out = (*hold)->staff_result;
    if (!(*out)->ok) {
        fprintf(stderr, "relais-admin: refused: %s: %s\n",
                (*out)->error ? (*out)->error->code : "?",
                (*out)->error ? (*out)->error->message : "");
        return RELAIS_EBROKER;
    }
    return RELAIS_OK;
}

static void s_print_person(FILE *out, const char *label, const Relais__V1__Person *p)
{
    if (!p)
        return;
    fprintf(out, "  %-10s %s %s, born %s%s%s%s%s\n", label, p->last_name, p->first_names,
            p->birth_date, *p->quartier ? ", " : "", p->quartier, *p->ine ? ", INE " : "",
            p->ine);
}

static json_t *s_json_person(const Relais__V1__Person *p)
{
    if (!p)
        return json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "last_name", p->last_name, "first_names",
                     p->first_names, "birth_date", p->birth_date, "postcode", p->postcode,
                     "quartier", p->quartier, "ine", p->ine);
}

int staff_review_list(relais_client_t *c, FILE *out, bool json)
{
    Relais__V1__StaffRequest req = RELAIS__V1__STAFF_REQUEST__INIT;
    Relais__V1__ReviewList list = RELAIS__V1__REVIEW_LIST__INIT;
    req.op_case = RELAIS__V1__STAFF_REQUEST__OP_REVIEW_LIST;
    req.review_list = &list;
    Relais__V1__Envelope *hold;
    Relais__V1__StaffResult *r;
    int rc = s_call(c, &req, &hold, &r);
    if (rc == RELAIS_OK) {
        for (size_t i = 0; i < r->n_reviews; i++) {
            const Relais__V1__ReviewItem *it = r->reviews[i];
            if (json) {
                json_t *ev = json_array();
                for (size_t k = 0; k < it->n_evidence; k++)
                    json_array_append_new(ev, json_pack("{s:s, s:s, s:f}", "field",
                                                        it->evidence[k]->field, "level",
                                                        it->evidence[k]->level, "weight",
                                                        it->evidence[k]->weight));
                json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:o, s:o, s:o}", "case_id",
                                      it->case_id, "candidate_case_id", it->candidate_case_id,
                                      "code", it->code, "score", it->score, "evidence", ev,
                                      "person", s_json_person(it->person), "candidate",
                                      s_json_person(it->candidate));
                char *line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
                if (line)
                    fprintf(out, "%s\n", line);
                free(line);
                json_decref(o);
                continue;
            }
            fprintf(out, "review %s  may be %s  (%s, score %.1f)\n", it->case_id,
                    *it->candidate_case_id ? it->candidate_case_id : "-", it->code, it->score);
            s_print_person(out, "held", it->person);
            s_print_person(out, "known", it->candidate);
            for (size_t k = 0; k < it->n_evidence; k++)
                fprintf(out, "    %-12s %-10s %+6.2f\n", it->evidence[k]->field,
                        it->evidence[k]->level, it->evidence[k]->weight);
        }
        if (!json)
            fprintf(out, "%zu possible match%s awaiting a decision\n", r->n_reviews,
                    r->n_reviews == 1 ? "" : "es");
    }
    if (hold)
        relais__v1__envelope__free_unpacked(hold, NULL);
    return s_exit(rc);
}

int staff_review_decide(relais_client_t *c, const char *kind, const char *case_id,
                        const char *to_case, const char *partner, const char *ref, FILE *out,
                        bool json)
{
    Relais__V1__StaffRequest req = RELAIS__V1__STAFF_REQUEST__INIT;
    Relais__V1__ReviewDecision d = RELAIS__V1__REVIEW_DECISION__INIT;
    req.op_case = RELAIS__V1__STAFF_REQUEST__OP_REVIEW_DECISION;
    req.review_decision = &d;
    d.case_id = (char *)case_id;
    d.to_case_id = (char *)(to_case ? to_case : "");
    d.partner = (char *)(partner ? partner : "");
    d.partner_ref = (char *)(ref ? ref : "");
    d.kind = strcmp(kind, "link") == 0       ? RELAIS__V1__REVIEW_KIND__REVIEW_LINK
             : strcmp(kind, "separate") == 0 ? RELAIS__V1__REVIEW_KIND__REVIEW_SEPARATE
                                             : RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK;
    Relais__V1__Envelope *hold;
    Relais__V1__StaffResult *r;
    int rc = s_call(c, &req, &hold, &r);
    if (rc == RELAIS_OK) {
        if (json)
            fprintf(out, "{\"ok\":true,\"case_id\":\"%s\",\"state\":\"%s\"}\n", r->case_id,
                    vocab_case_state_name(r->state));
        else
            fprintf(out, "%s: %s now %s%s%s\n", kind, r->case_id, vocab_case_state_name(r->state),
                    *r->detail ? " — " : "", r->detail);
    }
    if (hold)
        relais__v1__envelope__free_unpacked(hold, NULL);
    return s_exit(rc);
}

int staff_erase(relais_client_t *c, const char *case_id, const char *reason, FILE *out,
                bool json)
{
    Relais__V1__StaffRequest req = RELAIS__V1__STAFF_REQUEST__INIT;
    Relais__V1__Erase e = RELAIS__V1__ERASE__INIT;
    req.op_case = RELAIS__V1__STAFF_REQUEST__OP_ERASE;
    req.erase = &e;
    e.case_id = (char *)case_id;
    e.reason = (char *)reason;
    Relais__V1__Envelope *hold;
    Relais__V1__StaffResult *r;
    int rc = s_call(c, &req, &hold, &r);
    if (rc == RELAIS_OK) {
        if (json)
            fprintf(out, "{\"ok\":true,\"case_id\":\"%s\",\"detail\":\"%s\"}\n", r->case_id,
                    r->detail);
        else
            fprintf(out, "erased: the personal data of %s's young person (%s)\n", r->case_id,
                    r->detail);
    }
    if (hold)
        relais__v1__envelope__free_unpacked(hold, NULL);
    return s_exit(rc);
}

int staff_explain(const char *data_dir, const char *case_id, FILE *out, bool json)
{
    char err[512];
    int status = 1;
    store_txn_t t;
    store_t *store = store_open_reader(data_dir, &t, err, sizeof err);
    if (!store) {
        fprintf(stderr, "relais-admin: %s\n", err);
        return 1;
    }
    Relais__Store__CaseRecord *rec = NULL;
    int rc = store_get_msg(&t, STORE_CASES, case_id, strlen(case_id),
                           &relais__store__case_record__descriptor, (ProtobufCMessage **)&rec);
    if (rc == MDB_NOTFOUND) {
        fprintf(stderr, "relais-admin: no case %s\n", case_id);
        goto done;
    }
    if (rc != 0) {
        fprintf(stderr, "relais-admin: cannot read %s: %s\n", data_dir, store_strerror(rc));
        goto done;
    }
    if (!json)
        fprintf(out, "case %s  %s%s%s\n", rec->case_id, vocab_case_state_name(rec->state),
                *rec->review_reason ? "  review: " : "", rec->review_reason);
    for (size_t i = 0; i < rec->n_referrers; i++) {
        char key[256];
        Relais__Store__ReferralRecord *r = NULL;
        size_t klen = store_key2(key, sizeof key, rec->referrers[i]->partner,
                                 rec->referrers[i]->partner_ref);
        if (!klen || store_get_msg(&t, STORE_REFERRALS, key, klen,
                                   &relais__store__referral_record__descriptor,
                                   (ProtobufCMessage **)&r) != 0)
            continue;
        const Relais__Store__MatchDecision *m = r->match;
        if (json) {
            json_t *ev = json_array();
            for (size_t k = 0; m && k < m->n_evidence; k++)
                json_array_append_new(ev, json_pack("{s:s, s:s, s:f}", "field",
                                                    m->evidence[k]->field, "level",
                                                    m->evidence[k]->level, "weight",
                                                    m->evidence[k]->weight));
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:s, s:o}",
                                  "partner", r->partner, "partner_ref", r->partner_ref,
                                  "verdict", m ? m->verdict : "", "code", m ? m->code : "",
                                  "set_aside", m ? m->set_aside : "",
                                  "score", m ? m->score : 0.0, "prior", m ? m->prior : 0.0,
                                  "upper", m ? m->upper : 0.0, "lower", m ? m->lower : 0.0,
                                  "model", m ? m->model_version : "", "evidence", ev);
            char *line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
            if (line)
                fprintf(out, "%s\n", line);
            free(line);
            json_decref(o);
        } else if (!m) {
            fprintf(out, "  %s %s: no match decision recorded\n", r->partner, r->partner_ref);
        } else {
            fprintf(out, "  %s %s: %s%s%s%s%s  score %.2f + prior %.2f = %.2f  (link above %.1f, "
                    "review above %.1f; model %s; %u candidate%s)\n",
                    r->partner, r->partner_ref, m->verdict, *m->code ? " / " : "", m->code,
                    *m->set_aside ? " / another person: " : "", m->set_aside,
                    m->score, m->prior, m->score + m->prior, m->upper, m->lower,
                    m->model_version, m->candidates, m->candidates == 1 ? "" : "s");
            for (size_t k = 0; k < m->n_evidence; k++)
                fprintf(out, "    %-12s %-10s %+6.2f\n", m->evidence[k]->field,
                        m->evidence[k]->level, m->evidence[k]->weight);
        }
        relais__store__referral_record__free_unpacked(r, NULL);
    }
    status = 0;
done:
    if (rec)
        relais__store__case_record__free_unpacked(rec, NULL);
    store_abort(&t);
    store_close(&store);
    return status;
}
