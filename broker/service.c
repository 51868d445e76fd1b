/*  service — request decoding, checking and dispatch; reply packing.
 *  See service.h for the table of requests and error codes. */
#include "service.h"

#include "cases.h"
#include "clock.h"
#include "feed.h"
#include "log.h"
#include "normalize.h"
#include "referral.h"
#include "relais.pb-c.h"
#include "route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_REQUEST_ID_MAX 128

struct service_t {
    const config_t *cfg;
    route_t *route;
    cases_t *cases;
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

/* ---- handlers: each fills REPLY's body; returns 0 or a store error ---- */

static int s_referral(service_t *self, store_txn_t *t, const char *sender,
                      const Relais__V1__Referral *r, Relais__V1__Envelope *reply,
                      uint8_t **out, size_t *out_len)
{
    referral_answer_t answer;
    int rc = referral_handle(self->cfg, self->cases, t, sender, r, &answer);
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_ACK;
        reply->ack = &answer.ack;
        rc = s_pack(reply, out, out_len);
        /* Ids and codes only: partner_ref is the partner's reference, not
         * personal data. */
        log_info("referral partner=%s ref=%s status=%s%s case=%s structure=%s reasons=%zu",
                 sender, answer.ack.partner_ref, vocab_ack_status_name(answer.ack.status),
                 answer.ack.replay ? " replay" : "", answer.ack.case_id,
                 answer.ack.structure_id, answer.ack.n_reasons);
    }
    referral_answer_clear(&answer);
    return rc;
}

static int s_fetch_events(store_txn_t *t, const char *sender, const Relais__V1__FetchEvents *f,
                          Relais__V1__Envelope *reply, uint8_t **out, size_t *out_len)
{
    Relais__V1__Events events;
    int rc = feed_fetch(t, sender, f->after_seq, f->max, &events);
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_EVENTS;
        reply->events = &events;
        rc = s_pack(reply, out, out_len);
        log_debug("fetch_events partner=%s after=%llu count=%zu", sender,
                  (unsigned long long)f->after_seq, events.n_events);
    }
    feed_events_clear(&events);
    return rc;
}

static int s_fetch_cases(service_t *self, store_txn_t *t, const char *sender,
                         const Relais__V1__FetchCases *f, Relais__V1__Envelope *reply,
                         uint8_t **out, size_t *out_len)
{
    Relais__V1__Cases cases;
    int rc = cases_fetch(self->cases, t, sender, f->max, f->include_open, &cases);
    if (rc == 0) {
        reply->body_case = RELAIS__V1__ENVELOPE__BODY_CASES;
        reply->cases = &cases;
        rc = s_pack(reply, out, out_len);
        log_info("fetch_cases structure=%s count=%zu", sender, cases.n_cases);
    }
    cases_clear(&cases);
    return rc;
}

static int s_act(service_t *self, store_txn_t *t, const char *sender,
                 const Relais__V1__CaseAction *a, Relais__V1__Envelope *reply, uint8_t **out,
                 size_t *out_len)
{
    cases_verdict_t v;
    int rc = cases_act(self->cases, t, sender, a, &v);
    if (rc != 0)
        return rc;
    Relais__V1__ActionResult result = RELAIS__V1__ACTION_RESULT__INIT;
    Relais__V1__Reason reason = RELAIS__V1__REASON__INIT;
    result.case_id = a->case_id;
    result.ok = v.ok;
    result.state = v.state;
    if (!v.ok) {
        reason.code = v.code;
        reason.message = v.message;
        result.error = &reason;
    }
    reply->body_case = RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT;
    reply->action_result = &result;
    log_info("case_action structure=%s case=%.16s action=%s ok=%d state=%s%s%s", sender,
             a->case_id, vocab_action_name(a->kind), v.ok, vocab_case_state_name(v.state),
             v.ok ? "" : " refused=", v.ok ? "" : v.code);
    return s_pack(reply, out, out_len);
}

int service_housekeeping(service_t *self, store_t *store)
{
    store_txn_t t;
    size_t reminded = 0, rerouted = 0;
    int rc = store_begin(store, true, NULL, &t);
    if (rc == 0) {
        rc = cases_escalate(self->cases, &t, clock_now(), &reminded, &rerouted);
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
    }
    if (rc != 0)
        log_error("housekeeping failed: %s (will retry)", store_strerror(rc));
    else if (reminded || rerouted)
        log_info("housekeeping: %zu reminder(s), %zu re-routing(s) for no answer", reminded,
                 rerouted);
    return rc;
}

/* ---- dispatch --------------------------------------------------------- */

/* Checks what can be checked before touching the store.  Returns NULL when
 * the request may proceed, else the error code (and MESSAGE). */
static const char *s_check(const service_t *self, service_endpoint_t ep,
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
    bool partner_body = env->body_case == RELAIS__V1__ENVELOPE__BODY_REFERRAL ||
                        env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    bool coordinator_body = env->body_case == RELAIS__V1__ENVELOPE__BODY_FETCH_CASES ||
                            env->body_case == RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
    if (ep == SERVICE_PARTNER ? !partner_body : !coordinator_body) {
        snprintf(message, mlen, "The %s endpoint accepts %s.",
                 ep == SERVICE_PARTNER ? "partner" : "coordinator",
                 ep == SERVICE_PARTNER ? "Referral and FetchEvents"
                                       : "FetchCases and CaseAction");
        return "bad_request";
    }
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

static int s_run(service_t *self, store_txn_t *t, const Relais__V1__Envelope *env,
                 Relais__V1__Envelope *reply, uint8_t **out, size_t *out_len)
{
    switch (env->body_case) {
    case RELAIS__V1__ENVELOPE__BODY_REFERRAL:
        return s_referral(self, t, env->sender, env->referral, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS:
        return s_fetch_events(t, env->sender, env->fetch_events, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_FETCH_CASES:
        return s_fetch_cases(self, t, env->sender, env->fetch_cases, reply, out, out_len);
    case RELAIS__V1__ENVELOPE__BODY_CASE_ACTION:
        return s_act(self, t, env->sender, env->case_action, reply, out, out_len);
    default:
        return EINVAL; /* s_check let through only the four above */
    }
}

int service_handle(service_t *self, store_txn_t *batch, service_endpoint_t ep,
                   const uint8_t *frame, size_t len, uint8_t **reply, size_t *reply_len,
                   int *store_error)
{
    char message[200];
    const char *code;
    *reply = NULL;
    *reply_len = 0;
    if (store_error)
        *store_error = 0;
    if (len > self->cfg->max_message_bytes) {
        log_warn("request refused: frame of %zu bytes over the %zu-byte limit", len,
                 self->cfg->max_message_bytes);
        snprintf(message, sizeof message, "Frame of %zu bytes; the limit is %zu.", len,
                 self->cfg->max_message_bytes);
        return service_error_reply("", "too_large", message, reply, reply_len);
    }
    Relais__V1__Envelope *env = relais__v1__envelope__unpack(NULL, len, frame);
    if (!env) {
        log_warn("request refused: %zu bytes that are not an Envelope", len);
        return service_error_reply("", "bad_envelope",
                                   "The frame is not a serialized relais.v1.Envelope.", reply,
                                   reply_len);
    }
    int rc;
    if ((code = s_check(self, ep, env, message, sizeof message)) != NULL) {
        /* Echo the request_id only if it is itself well-formed. */
        size_t idlen = strlen(env->request_id);
        bool echo = idlen <= SERVICE_REQUEST_ID_MAX && normalize_utf8_ok(env->request_id, idlen);
        log_warn("request refused: %s (endpoint=%s body=%d)", code,
                 ep == SERVICE_PARTNER ? "partner" : "coordinator", (int)env->body_case);
        rc = service_error_reply(echo ? env->request_id : "", code, message, reply, reply_len);
        goto done;
    }

    Relais__V1__Envelope out = RELAIS__V1__ENVELOPE__INIT;
    out.version = 1;
    out.request_id = env->request_id;
    store_txn_t t;
    rc = store_begin(batch->store, true, batch, &t);
    if (rc == 0) {
        rc = s_run(self, &t, env, &out, reply, reply_len);
        if (rc == 0)
            rc = store_commit(&t);
        else
            store_abort(&t);
    }
    if (rc != 0) {
        /* Nothing of this request was kept: the nested transaction is gone.
         * The client may resend; idempotency makes that safe. */
        if (store_error)
            *store_error = rc;
        log_error("request failed: store error: %s", store_strerror(rc));
        free(*reply);
        *reply = NULL;
        rc = service_error_reply(env->request_id, "unavailable",
                                 "The broker cannot store this request now; nothing was "
                                 "changed. Retry later.", reply, reply_len);
    }
done:
    relais__v1__envelope__free_unpacked(env, NULL);
    return rc;
}
