/*  service — request decoding, checking and dispatch; reply packing.
 *  See service.h for the table of requests, roles and error codes.
 *
 *  One request, top to bottom (service_handle_as):
 *    who is asking (s_resolve: the key's identity, or the trusted sender
 *    in --insecure-dev mode) -> size -> decode -> s_check (version, id,
 *    body, role, endpoint, sender, structure) -> nested transaction:
 *    the handler, whose audit records go in the same transaction -> reply.
 *  A refusal before the handler is audited by s_refuse in a nested
 *  transaction of its own, so it never mixes with another request's work.
 */
#include "service.h"

#include "audit.h"
#include "cases.h"
#include "clock.h"
#include "erasure.h"
#include "feed.h"
#include "log.h"
#include "normalize.h"
#include "referral.h"
#include "relais.pb-c.h"
#include "route.h"
#include "staff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_REQUEST_ID_MAX 128

struct service_t {
    const config_t *cfg;
    const auth_t *auth; /* NULL: --insecure-dev, Envelope.sender trusted */
    route_t *route;
    cases_t *cases;
    int64_t last_purge; /* retention purge: at start, then daily (0: not yet) */
};

service_t *service_new(const config_t *cfg, char *err, size_t errlen)
{
    service_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    if (!(self->route = route_new(cfg, err, errlen)) ||
        !(self->cases = cases_new(cfg, self->route, err, errlen)))
        service_destroy(&self);
    return self;
}

void service_set_auth(service_t *self, const auth_t *auth)
{
    self->auth = auth;
}

void service_destroy(service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    service_t *self = *self_p;
    cases_destroy(&self->cases);
    route_destroy(&self->route);
    free(self);
    *self_p = NULL;
}

static int s_pack(const Relais__V1__Envelope *env, uint8_t **reply, size_t *reply_len)
{
    size_t len = relais__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ENOMEM;
    relais__v1__envelope__pack(env, buf);
    *reply = buf;
    *reply_len = len;
    return 0;
}

int service_error_reply(const char *request_id, const char *code, const char *message,
                        uint8_t **reply, size_t *reply_len)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__Error error = RELAIS__V1__ERROR__INIT;
    env.version = 1;
    env.request_id = (char *)(request_id ? request_id : "");
    error.code = (char *)code;
    error.message = (char *)message;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_ERROR;
    env.error = &error;
    return s_pack(&env, reply, reply_len);
}

/* ---- who is asking, and the audit of what they asked ------------------ */

typedef struct {
    auth_role_t role; /* 0 in --insecure-dev mode */
    const char *id;   /* the key's id (partner, structure, staff); "" when none */
    bool revoked;     /* the connection's key is no longer listed */
    char identity[AUTH_USER_ID_MAX + 24];
    char key_fp[KEYFILE_FINGERPRINT_LEN + 1];
} s_who_t;

/* One request's audit facts, shared by the refusal and the handlers. */
typedef struct {
    const s_who_t *who;
    const char *endpoint;
    const char *kind;
    int64_t at;
} s_audit_t;

static void s_resolve(const service_t *self, const service_peer_t *peer, s_who_t *who)
{
    memset(who, 0, sizeof *who);
    who->id = "";
    if (!self->auth) {
        snprintf(who->identity, sizeof who->identity, "unauthenticated");
        return;
    }
    if (!peer || !peer->user_id || !peer->key) {
        who->revoked = true;
        snprintf(who->identity, sizeof who->identity, "unknown");
        return;
    }
    snprintf(who->identity, sizeof who->identity, "%s", peer->user_id);
    keyfile_fingerprint(peer->key, who->key_fp);
    who->role = auth_parse_user_id(peer->user_id, &who->id);
    /* The handshake admitted the key; a SIGHUP since may have removed it
     * (or bound it to someone else): the table in force now decides. */
    const auth_entry_t *e = auth_lookup(self->auth, peer->key);
    who->revoked = !who->role || !e || strcmp(e->user_id, peer->user_id) != 0;
}

static const char *s_kind(Relais__V1__Envelope__BodyCase body)
{
    switch (body) {
    case RELAIS__V1__ENVELOPE__BODY_REFERRAL: return "referral";
    case RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS: return "fetch_events";
    case RELAIS__V1__ENVELOPE__BODY_FETCH_CASES: return "fetch_cases";
    case RELAIS__V1__ENVELOPE__BODY_CASE_ACTION: return "case_action";
    case RELAIS__V1__ENVELOPE__BODY_STAFF: return "staff";
    case RELAIS__V1__ENVELOPE__BODY__NOT_SET: return "empty";
    default: return "other";
    }
}

static int s_audit(store_txn_t *t, const s_audit_t *a, const char *case_id,
                   const char *partner_ref, const char *outcome, const char *code,
                   const char *structure_id)
{
    audit_entry_t e = {
        .identity = a->who->identity,
        .key = a->who->key_fp,
        .endpoint = a->endpoint,
        .kind = a->kind,
        .case_id = case_id,
        .partner_ref = partner_ref,
        .outcome = outcome,
        .code = code,
        .structure_id = structure_id,
    };
    return audit_append(t, a->at, &e);
}

/* ---- handlers: each fills REPLY's body and audits; returns 0 or a store
 * error ---- */

static int s_referral(service_t *self, store_txn_t *t, const s_audit_t *a, const char *partner,
                      const Relais__V1__Referral *r, Relais__V1__Envelope *reply,
                      uint8_t **out, size_t *out_len)
{
    referral_answer_t answer;
    int rc = referral_handle(self->cfg, self->cases, t, partner, r, &answer);
    if (rc == 0) {
        char result[48];
        snprintf(result, sizeof result, "%s%s", vocab_ack_status_name(answer.ack.status),
                 answer.ack.replay ? " replay" : "");
        rc = s_audit(t, a, answer.ack.case_id, answer.ack.partner_ref, "done", result,
                     answer.ack.structure_id);
    }
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_ACK;
        reply->ack = &answer.ack;
        rc = s_pack(reply, out, out_len);
        /* Ids and codes only: partner_ref is the partner's reference, not
         * personal data. */
        log_info("referral partner=%s ref=%s status=%s%s case=%s structure=%s reasons=%zu",
                 partner, answer.ack.partner_ref, vocab_ack_status_name(answer.ack.status),
                 answer.ack.replay ? " replay" : "", answer.ack.case_id,
                 answer.ack.structure_id, answer.ack.n_reasons);
    }
    referral_answer_clear(&answer);
    return rc;
}

static int s_fetch_events(store_txn_t *t, const s_audit_t *a, const char *partner,
                          const Relais__V1__FetchEvents *f, Relais__V1__Envelope *reply,
                          uint8_t **out, size_t *out_len)
{
    Relais__V1__Events events;
    int rc = feed_fetch(t, partner, f->after_seq, f->max, &events);
    if (rc == 0)
        rc = s_audit(t, a, "", "", "done", "", "");
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_EVENTS;
        reply->events = &events;
        rc = s_pack(reply, out, out_len);
        log_debug("fetch_events partner=%s after=%llu count=%zu", partner,
                  (unsigned long long)f->after_seq, events.n_events);
    }
    feed_events_clear(&events);
    return rc;
}

static int s_fetch_cases(service_t *self, store_txn_t *t, const s_audit_t *a,
                         const char *structure, const Relais__V1__FetchCases *f,
                         Relais__V1__Envelope *reply, uint8_t **out, size_t *out_len)
{
    Relais__V1__Cases cases;
    int rc = cases_fetch(self->cases, t, structure, f->max, f->include_open, &cases);
    /* Each case returned carries a young person's data: one record per
     * case, so an access report finds every read of that person. */
    for (size_t i = 0; rc == 0 && i < cases.n_cases; i++)
        rc = s_audit(t, a, cases.cases[i]->case_id, "", "done", "read", structure);
    if (rc == 0 && cases.n_cases == 0)
        rc = s_audit(t, a, "", "", "done", "none", structure);
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_CASES;
        reply->cases = &cases;
        rc = s_pack(reply, out, out_len);
        log_info("fetch_cases structure=%s by=%s count=%zu", structure, a->who->identity,
                 cases.n_cases);
    }
    cases_clear(&cases);
    return rc;
}

static int s_act(service_t *self, store_txn_t *t, const s_audit_t *a, const char *structure,
                 const Relais__V1__CaseAction *a_req, Relais__V1__Envelope *reply,
                 uint8_t **out, size_t *out_len)
{
    cases_verdict_t v;
    int rc = cases_act(self->cases, t, structure, a_req, &v);
    if (rc != 0)
        return rc;
    if (!v.ok && strcmp(v.code, "wrong_structure") == 0) {
        /* Another structure's case: not an answer about the case but a
         * door that stays shut.  cases_act changed nothing. */
        log_warn("case_action refused: forbidden (%s on case %.16s of another structure)",
                 a->who->identity, a_req->case_id);
        if ((rc = s_audit(t, a, a_req->case_id, "", "refused", "forbidden", structure)) != 0)
            return rc;
        return service_error_reply(reply->request_id, "forbidden",
                                   "This case is not routed to your structure.", out, out_len);
    }
    rc = s_audit(t, a, a_req->case_id, "", v.ok ? "done" : "refused",
                 v.ok ? vocab_action_name(a_req->kind) : v.code, structure);
    if (rc != 0)
        return rc;
    Relais__V1__ActionResult result = RELAIS__V1__ACTION_RESULT__INIT;
    Relais__V1__Reason reason = RELAIS__V1__REASON__INIT;
    result.case_id = a_req->case_id;
    result.ok = v.ok;
    result.state = v.state;
    if (!v.ok) {
        reason.code = v.code;
        reason.message = v.message;
        result.error = &reason;
    }
    reply->body_case = RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT;
    reply->action_result = &result;
    log_info("case_action structure=%s case=%.16s action=%s ok=%d state=%s%s%s", structure,
             a_req->case_id, vocab_action_name(a_req->kind), v.ok,
             vocab_case_state_name(v.state), v.ok ? "" : " refused=", v.ok ? "" : v.code);
    return s_pack(reply, out, out_len);
}

static int s_staff(service_t *self, store_txn_t *t, const s_audit_t *a,
                   const Relais__V1__StaffRequest *req, Relais__V1__Envelope *reply,
                   uint8_t **out, size_t *out_len)
{
    audit_entry_t who = {.identity = a->who->identity, .key = a->who->key_fp,
                         .endpoint = a->endpoint};
    staff_reply_t result;
    int rc = staff_handle(self->cases, t, &who, a->at, req, &result);
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_STAFF_RESULT;
        reply->staff_result = &result.result;
        rc = s_pack(reply, out, out_len);
    }
    staff_reply_clear(&result);
    return rc;
}

int service_housekeeping(service_t *self, store_t *store)
{
    store_txn_t t;
    size_t reminded = 0, rerouted = 0, erased = 0;
    int rc = store_begin(store, true, NULL, &t);
    if (rc == 0) {
        int64_t now = clock_now();
        /* Escalation counts in days from each routing: checked every run.
         * The retention purge scans every case and counts in months: at
         * start, then once a day. */
        bool purge = !self->last_purge || now - self->last_purge >= 86400;
        rc = cases_escalate(self->cases, &t, now, &reminded, &rerouted);
        if (rc == 0 && purge)
            rc = erasure_purge(self->cfg, &t, now, &erased);
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
        if (rc == 0 && purge)
            self->last_purge = now;
    }
    if (rc != 0)
        log_error("housekeeping failed: %s (will retry)", store_strerror(rc));
    else if (reminded || rerouted)
        log_info("housekeeping: %zu reminder(s), %zu re-routing(s) for no answer", reminded,
                 rerouted);
    if (rc == 0 && erased)
        log_info("housekeeping: retention: personal data of %zu person(s) erased (cases ended "
                 "more than %u months ago)",
                 erased, self->cfg->retention_months);
    return rc;
}

/* ---- dispatch --------------------------------------------------------- */

static bool s_role_may(auth_role_t role, Relais__V1__Envelope__BodyCase body)
{
    switch (role) {
    case AUTH_PARTNER:
        return body == RELAIS__V1__ENVELOPE__BODY_REFERRAL ||
               body == RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    case AUTH_COORDINATOR:
        return body == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES ||
               body == RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
    case AUTH_STAFF:
        return body == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES ||
               body == RELAIS__V1__ENVELOPE__BODY_STAFF;
    default:
        return false;
    }
}

/* The id a request acts for: the partner, the structure whose cases are
 * read or acted on. */
static const char *s_acting(const service_t *self, const s_who_t *who,
                            const Relais__V1__Envelope *env)
{
    if (!self->auth)
        return env->sender;
    if (who->role == AUTH_STAFF && env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES)
        return env->fetch_cases->structure_id;
    return who->id;
}

/* Checks what can be checked before touching the store.  Returns NULL when
 * the request may proceed, else the error code (and MESSAGE). */
static const char *s_check(const service_t *self, service_endpoint_t ep, const s_who_t *who,
                           const Relais__V1__Envelope *env, char *message, size_t mlen)
{
    if (env->version > 1) {
        snprintf(message, mlen, "Envelope version %u is not supported (this broker speaks 1).",
                 env->version);
        return "unsupported_version";
    }
    size_t idlen = strlen(env->request_id);
    if (idlen > SERVICE_REQUEST_ID_MAX || !normalize_utf8_ok(env->request_id, idlen)) {
        snprintf(message, mlen, "request_id must be UTF-8 text of at most %d bytes.",
                 SERVICE_REQUEST_ID_MAX);
        return "bad_request";
    }
    if (self->auth && who->revoked) {
        snprintf(message, mlen, "This key is no longer authorized.");
        return "forbidden";
    }
    bool partner_body = env->body_case == RELAIS__V1__ENVELOPE__BODY_REFERRAL ||
                        env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    bool staff_body = env->body_case == RELAIS__V1__ENVELOPE__BODY_STAFF;
    bool coordinator_body = env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES ||
                            env->body_case == RELAIS__V1__ENVELOPE__BODY_CASE_ACTION ||
                            staff_body;
    /* The role first: a partner asking for cases is told "forbidden", on
     * whichever endpoint it asks. */
    if (self->auth && (partner_body || coordinator_body) && !s_role_may(who->role, env->body_case)) {
        snprintf(message, mlen, "A %s key may not send %s.", auth_role_name(who->role),
                 s_kind(env->body_case));
        return "forbidden";
    }
    /* Staff decisions need a staff key: without authentication nobody is
     * staff. */
    if (!self->auth && staff_body) {
        snprintf(message, mlen, "StaffRequest needs a staff key (not in --insecure-dev mode).");
        return "forbidden";
    }
    if (ep == SERVICE_PARTNER ? !partner_body : !coordinator_body) {
        snprintf(message, mlen, "The %s endpoint accepts %s.",
                 ep == SERVICE_PARTNER ? "partner" : "coordinator",
                 ep == SERVICE_PARTNER ? "Referral and FetchEvents"
                                       : "FetchCases, CaseAction and StaffRequest");
        return "bad_request";
    }
    if (self->auth) {
        if (*env->sender && strcmp(env->sender, who->id) != 0) {
            snprintf(message, mlen, "Envelope.sender does not match the identity of your key.");
            return "forbidden";
        }
        if (env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES) {
            const char *wanted = env->fetch_cases->structure_id;
            if (who->role == AUTH_COORDINATOR && *wanted && strcmp(wanted, who->id) != 0) {
                snprintf(message, mlen, "A coordinator sees only its own structure's cases.");
                return "forbidden";
            }
            if (who->role == AUTH_STAFF && !config_structure(self->cfg, wanted)) {
                snprintf(message, mlen, "Staff name a configured structure in "
                                        "FetchCases.structure_id.");
                return "bad_request";
            }
        }
        return NULL;
    }
    /* --insecure-dev: the sender is trusted, checked against the
     * configuration. */
    bool known = ep == SERVICE_PARTNER ? config_partner(self->cfg, env->sender) != NULL
                                       : config_structure(self->cfg, env->sender) != NULL;
    if (!known) {
        snprintf(message, mlen, "Unknown %s id in Envelope.sender.",
                 ep == SERVICE_PARTNER ? "partner" : "structure");
        return "unknown_sender";
    }
    if (env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES && *env->fetch_cases->structure_id &&
        strcmp(env->fetch_cases->structure_id, env->sender) != 0) {
        snprintf(message, mlen, "A coordinator sees only its own structure's cases.");
        return "forbidden";
    }
    return NULL;
}

static int s_run(service_t *self, store_txn_t *t, const s_audit_t *a, const char *acting,
                 const Relais__V1__Envelope *env, Relais__V1__Envelope *reply, uint8_t **out,
                 size_t *out_len)
{
    switch (env->body_case) {
    case RELAIS__V1__ENVELOPE__BODY_REFERRAL:
        return s_referral(self, t, a, acting, env->referral, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS:
        return s_fetch_events(t, a, acting, env->fetch_events, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_FETCH_CASES:
        return s_fetch_cases(self, t, a, acting, env->fetch_cases, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_CASE_ACTION:
        return s_act(self, t, a, acting, env->case_action, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_STAFF:
        return s_staff(self, t, a, env->staff, reply, out, out_len);
    default:
        return EINVAL; /* s_check let through only the five above */
    }
}

/* Replaces *REPLY by Error "unavailable" after store error RC. */
static int s_unavailable(int rc, const char *request_id, uint8_t **reply, size_t *reply_len,
                         int *store_error)
{
    /* Isolated, nothing of this request was kept; on the fast path the
     * server undoes the batch.  The client may resend; idempotency makes
     * that safe. */
    if (store_error)
        *store_error = rc;
    log_error("request failed: store error: %s", store_strerror(rc));
    free(*reply);
    *reply = NULL;
    return service_error_reply(request_id, "unavailable",
                               "The broker cannot store this request now; nothing was "
                               "changed. Retry later.", reply, reply_len);
}

/* An id taken from a refused request for its audit record: only when it
 * is short, readable text (a refused request may carry anything). */
static const char *s_clean(const char *s)
{
    size_t n = strlen(s);
    return n <= SERVICE_REQUEST_ID_MAX && normalize_utf8_ok(s, n) ? s : "?";
}

/* A request refused before it touched anything: audited in BATCH (in its
 * own nested transaction when ISOLATED), then answered with Error CODE. */
static int s_refuse(store_txn_t *batch, bool isolated, const s_audit_t *a,
                    const Relais__V1__Envelope *env, const char *request_id, const char *code,
                    const char *message, uint8_t **reply, size_t *reply_len, int *store_error)
{
    const char *case_id = "", *partner_ref = "", *structure = "";
    if (env && env->body_case == RELAIS__V1__ENVELOPE__BODY_CASE_ACTION)
        case_id = env->case_action->case_id;
    else if (env && env->body_case == RELAIS__V1__ENVELOPE__BODY_REFERRAL)
        partner_ref = env->referral->partner_ref;
    else if (env && env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES)
        structure = env->fetch_cases->structure_id;
    store_txn_t t = *batch;
    int rc = isolated ? store_begin(batch->store, true, batch, &t) : 0;
    if (rc == 0) {
        rc = s_audit(&t, a, s_clean(case_id), s_clean(partner_ref), "refused", code,
                     s_clean(structure));
        if (isolated && rc == 0)
            rc = store_commit(&t);
        else if (isolated)
            store_abort(&t);
    }
    if (rc != 0)
        return s_unavailable(rc, request_id, reply, reply_len, store_error);
    return service_error_reply(request_id, code, message, reply, reply_len);
}

int service_handle(service_t *self, store_txn_t *batch, service_endpoint_t ep,
                   const uint8_t *frame, size_t len, bool isolated, uint8_t **reply,
                   size_t *reply_len, int *store_error)
{
    return service_handle_as(self, batch, ep, NULL, frame, len, isolated, reply, reply_len,
                             store_error);
}

int service_handle_as(service_t *self, store_txn_t *batch, service_endpoint_t ep,
                      const service_peer_t *peer, const uint8_t *frame, size_t len,
                      bool isolated, uint8_t **reply, size_t *reply_len, int *store_error)
{
    char message[200];
    const char *code;
    s_who_t who;
    *reply = NULL;
    *reply_len = 0;
    if (store_error)
        *store_error = 0;
    s_resolve(self, peer, &who);
    s_audit_t a = {&who, ep == SERVICE_PARTNER ? "partner" : "coordinator", "unreadable",
                   clock_now()};
    if (len > self->cfg->max_message_bytes) {
        log_warn("request refused: frame of %zu bytes over the %zu-byte limit (%s)", len,
                 self->cfg->max_message_bytes, who.identity);
        snprintf(message, sizeof message, "Frame of %zu bytes; the limit is %zu.", len,
                 self->cfg->max_message_bytes);
        return s_refuse(batch, isolated, &a, NULL, "", "too_large", message, reply, reply_len,
                        store_error);
    }
    Relais__V1__Envelope *env = relais__v1__envelope__unpack(NULL, len, frame);
    if (!env) {
        log_warn("request refused: %zu bytes that are not an Envelope (%s)", len, who.identity);
        return s_refuse(batch, isolated, &a, NULL, "", "bad_envelope",
                        "The frame is not a serialized relais.v1.Envelope.", reply, reply_len,
                        store_error);
    }
    a.kind = s_kind(env->body_case);
    if (!self->auth)
        snprintf(who.identity, sizeof who.identity, "unauthenticated:%.64s",
                 s_clean(env->sender));
    int rc;
    if ((code = s_check(self, ep, &who, env, message, sizeof message)) != NULL) {
        /* Echo the request_id only if it is itself well-formed. */
        size_t idlen = strlen(env->request_id);
        bool echo = idlen <= SERVICE_REQUEST_ID_MAX && normalize_utf8_ok(env->request_id, idlen);
        log_warn("request refused: %s (%s endpoint=%s body=%s)", code, who.identity, a.endpoint,
                 a.kind);
        rc = s_refuse(batch, isolated, &a, env, echo ? env->request_id : "", code, message, reply,
                      reply_len, store_error);
        goto done;
    }

    Relais__V1__Envelope out = RELAIS__V1__ENVELOPE__INIT;
    out.version = 1;
    out.request_id = env->request_id;
    /* Isolated: in a nested transaction, so a store error undoes this
     * request alone.  Not isolated (the fast path), straight in the batch:
     * on a store error the server undoes and redoes the whole batch. */
    store_txn_t t = *batch;
    rc = isolated ? store_begin(batch->store, true, batch, &t) : 0;
    if (rc == 0) {
        rc = s_run(self, &t, &a, s_acting(self, &who, env), env, &out, reply, reply_len);
        if (isolated && rc == 0)
            rc = store_commit(&t);
        else if (isolated)
            store_abort(&t);
    }
    if (rc != 0)
        rc = s_unavailable(rc, env->request_id, reply, reply_len, store_error);
done:
    relais__v1__envelope__free_unpacked(env, NULL);
    return rc;
}
