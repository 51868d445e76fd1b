/*  client — the relais client library: one request, one reply, retried
 *  the "lazy pirate" way.  The contract is in relais_client.h.
 *
 *  A call packs the request once, then for each attempt: send the packed
 *  frame on a DEALER socket and wait up to the per-attempt timeout for the
 *  reply whose request_id is ours.  No reply in time means the broker, the
 *  network or our connection is gone; ZeroMQ would keep the request queued
 *  on the dead socket forever, so the socket is closed (ZMQ_LINGER 0 drops
 *  the queue), a fresh one is opened and the SAME bytes are sent again: the
 *  same request_id and, for a referral, the same partner_ref, which the
 *  broker's idempotency turns into a replay of the first answer.
 *
 *  While waiting, a frame that is not ours is not an answer:
 *    - a readable Envelope with another request_id is a stale reply (to an
 *      earlier request, or a duplicate) and is skipped;
 *    - an unreadable frame is skipped too, but remembered: if no valid
 *      reply ever comes the call fails with RELAIS_EPROTO rather than
 *      RELAIS_ETIMEOUT, because something did answer, in a language that
 *      is not ours (a wrong endpoint, or a broker of another version);
 *    - an Error Envelope with an empty request_id is taken as our answer:
 *      the broker could not read our request (too big, say), so it could
 *      not echo the id, and this client has one request in flight.
 *
 *  ZeroMQ context: one per client, created in relais_client_new and
 *  terminated in relais_client_destroy.  It costs one I/O thread per
 *  client; the programs open one client each, and a context per client
 *  keeps clients independent (no global state, no teardown order).
 *
 *  CurveZMQ: with keys set (relais_client_set_curve), every socket opened
 *  is a CURVE client of the broker's public key.  A refused key is not
 *  reported by ZeroMQ to the DEALER (the handshake just fails and is
 *  retried in the background), so it looks like an unreachable broker:
 *  RELAIS_ETIMEOUT, whose message then mentions the key.
 *
 *  Timeouts are measured on CLOCK_MONOTONIC: they are durations on this
 *  machine, not instants of the programme's calendar (clock.h is for that).
 *
 *  Signals: zmq_poll returning EINTR (a signal handler ran, typically
 *  Ctrl-C with the programs' handler installed) ends the call at once with
 *  RELAIS_ESYS and last_error "interrupted"; nothing is retried.
 */
#include "relais_client.h"

#include <zmq.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_DEFAULT_TIMEOUT_MS 3000
#define S_DEFAULT_ATTEMPTS   3
/* One request is in flight at a time, so the queues only ever hold a few
 * frames; the bound keeps a misbehaving peer from growing our memory. */
#define S_HWM 100
/* Replies bigger than this make ZeroMQ drop the connection (the call then
 * times out).  A page of 100 cases with full person records is well under
 * 1 MiB; 32 MiB leaves room without letting a rogue peer exhaust memory. */
#define S_MAX_REPLY_BYTES (32 * 1024 * 1024)
#define S_REQUEST_ID_MAX  128

struct relais_client_t {
    void *ctx;
    void *socket; /* NULL after a timeout, reopened before the next send */
    char *endpoint;
    char *sender;
    int timeout_ms;
    int attempts;
    uint64_t nonce;   /* random per client, so ids differ across processes */
    uint64_t counter; /* per call, so ids differ within the process */
    char request_id[S_REQUEST_ID_MAX];
    char last_error[512];
    bool curve; /* the three keys below are set */
    char curve_secret[41];
    char curve_public[41];
    char curve_server[41];
};

static void s_set_error(relais_client_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_set_error(relais_client_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->last_error, sizeof self->last_error, fmt, ap);
    va_end(ap);
}

static int64_t s_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 64 random bits for request ids.  /dev/urandom when it can be read; else
 * the clock mixed with the pid and an address, which is unique enough for
 * ids (they need to differ, not to be secret). */
static uint64_t s_nonce(const void *salt)
{
    uint64_t value = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, &value, sizeof value);
        close(fd);
        if (n == (ssize_t)sizeof value)
            return value;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    value = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
            (uint64_t)(uintptr_t)salt;
    return value;
}

/* Closes the DEALER, dropping whatever it still queues (ZMQ_LINGER 0 was
 * set when it was opened). */
static void s_close_socket(relais_client_t *self)
{
    if (self->socket) {
        zmq_close(self->socket);
        self->socket = NULL;
    }
}

static int s_open_socket(relais_client_t *self)
{
    const int linger = 0;
    const int hwm = S_HWM;
    const int64_t max_bytes = S_MAX_REPLY_BYTES;
    void *socket = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!socket) {
        s_set_error(self, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        return RELAIS_ESYS;
    }
    if (zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes) != 0 ||
        (self->curve &&
         (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, self->curve_server, 40) != 0 ||
          zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, self->curve_public, 40) != 0 ||
          zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, self->curve_secret, 40) != 0))) {
        s_set_error(self, "cannot configure a ZeroMQ socket: %s", zmq_strerror(errno));
        goto err;
    }
    if (zmq_connect(socket, self->endpoint) != 0) {
        s_set_error(self, "cannot connect to %s: %s", self->endpoint, zmq_strerror(errno));
        goto err;
    }
    self->socket = socket;
    return RELAIS_OK;
err:
    zmq_close(socket);
    return RELAIS_ESYS;
}

relais_client_t *relais_client_new(const char *endpoint, const char *sender, char *err,
                                   size_t errlen)
{
    relais_client_t *self = NULL;
    if (!endpoint || !*endpoint) {
        snprintf(err, errlen, "no broker endpoint given");
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->timeout_ms = S_DEFAULT_TIMEOUT_MS;
    self->attempts = S_DEFAULT_ATTEMPTS;
    self->nonce = s_nonce(self);
    self->endpoint = strdup(endpoint);
    self->sender = strdup(sender ? sender : "");
    if (!self->endpoint || !self->sender) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        goto err;
    }
    /* Connecting now reports a malformed endpoint at once, not at the
     * first call. */
    if (s_open_socket(self) != RELAIS_OK) {
        snprintf(err, errlen, "%s", self->last_error);
        goto err;
    }
    return self;
err:
    relais_client_destroy(&self);
    return NULL;
}

void relais_client_destroy(relais_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    relais_client_t *self = *self_p;
    s_close_socket(self);
    /* Every socket is closed with ZMQ_LINGER 0, so terminating does not
     * wait for the network; it can only be interrupted by a signal. */
    while (self->ctx && zmq_ctx_term(self->ctx) != 0 && errno == EINTR)
        ;
    free(self->endpoint);
    free(self->sender);
    memset(self->curve_secret, 0, sizeof self->curve_secret);
    free(self);
    *self_p = NULL;
}

static bool s_z85_key_ok(const char *s)
{
    uint8_t raw[32];
    return s && strlen(s) == 40 && zmq_z85_decode(raw, s) != NULL;
}

int relais_client_set_curve(relais_client_t *self, const char *secret_z85,
                            const char *broker_public_z85)
{
    if (!s_z85_key_ok(secret_z85) || !s_z85_key_ok(broker_public_z85)) {
        s_set_error(self, "%s key is not a key (40 Z85 characters expected)",
                    s_z85_key_ok(secret_z85) ? "the broker's public" : "the secret");
        return RELAIS_ESYS;
    }
    char public_z85[41];
    if (zmq_curve_public(public_z85, secret_z85) != 0) {
        s_set_error(self, "cannot derive the public key: %s (libzmq without CURVE?)",
                    zmq_strerror(errno));
        return RELAIS_ESYS;
    }
    memcpy(self->curve_secret, secret_z85, 41);
    memcpy(self->curve_public, public_z85, 41);
    memcpy(self->curve_server, broker_public_z85, 41);
    self->curve = true;
    /* The socket opened by relais_client_new was a plain one. */
    s_close_socket(self);
    return s_open_socket(self);
}

void relais_client_set_timeout(relais_client_t *self, int timeout_ms, int attempts)
{
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : S_DEFAULT_TIMEOUT_MS;
    self->attempts = attempts > 0 ? attempts : S_DEFAULT_ATTEMPTS;
}

const char *relais_client_last_error(const relais_client_t *self)
{
    return self->last_error;
}

/* Sender, pid, counter and the per-client nonce: unique across clients,
 * processes and calls, and readable in the broker's logs (the sender says
 * who, the counter says which call). */
static void s_new_request_id(relais_client_t *self)
{
    self->counter++;
    snprintf(self->request_id, sizeof self->request_id, "%.40s-%ld-%llu-%016llx",
             *self->sender ? self->sender : "anon", (long)getpid(),
             (unsigned long long)self->counter, (unsigned long long)self->nonce);
}

/* Outcome of waiting for one attempt's reply. */
typedef enum { S_GOT_REPLY, S_NO_REPLY, S_FAILED } s_wait_t;

/* Reads one message (all its frames) from the socket.  Returns the
 * unpacked Envelope, or NULL when it is not a one-frame readable Envelope
 * (*UNREADABLE set) or on a socket error (*FAILED set, last_error set). */
static Relais__V1__Envelope *s_recv_envelope(relais_client_t *self, bool *unreadable, bool *failed)
{
    Relais__V1__Envelope *env = NULL;
    bool first = true;
    bool more = true;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->socket, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&msg);
            if (e == EAGAIN && first)
                return NULL; /* poll said readable, nothing there: wait on */
            if (e == EINTR)
                s_set_error(self, "interrupted");
            else
                s_set_error(self, "receive failed: %s", zmq_strerror(e));
            *failed = true;
            return NULL;
        }
        more = zmq_msg_more(&msg);
        if (first && !more) {
            env = relais__v1__envelope__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
            if (!env)
                *unreadable = true;
        } else {
            /* The contract's replies are exactly one frame: drain the
             * message and count it as unreadable. */
            *unreadable = true;
        }
        first = false;
        zmq_msg_close(&msg);
    }
    return env;
}

static bool s_is_ours(const relais_client_t *self, const Relais__V1__Envelope *env)
{
    if (env->request_id && strcmp(env->request_id, self->request_id) == 0)
        return true;
    return env->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR &&
           (!env->request_id || !*env->request_id);
}

/* Waits until the deadline for the reply to the request in flight. */
static s_wait_t s_wait_reply(relais_client_t *self, int64_t deadline_ms, bool *unreadable,
                             Relais__V1__Envelope **reply)
{
    for (;;) {
        int64_t left = deadline_ms - s_monotonic_ms();
        if (left <= 0)
            return S_NO_REPLY;
        zmq_pollitem_t item = {.socket = self->socket, .events = ZMQ_POLLIN};
        int n = zmq_poll(&item, 1, (long)left);
        if (n < 0) {
            if (errno == EINTR)
                s_set_error(self, "interrupted");
            else
                s_set_error(self, "poll failed: %s", zmq_strerror(errno));
            return S_FAILED;
        }
        if (n == 0 || !(item.revents & ZMQ_POLLIN))
            continue; /* the loop re-checks the deadline */
        bool failed = false;
        Relais__V1__Envelope *env = s_recv_envelope(self, unreadable, &failed);
        if (failed)
            return S_FAILED;
        if (!env)
            continue;
        if (s_is_ours(self, env)) {
            *reply = env;
            return S_GOT_REPLY;
        }
        relais__v1__envelope__free_unpacked(env, NULL); /* stale: skip */
    }
}

static int s_send(relais_client_t *self, const uint8_t *frame, size_t size)
{
    if (zmq_send(self->socket, frame, size, ZMQ_DONTWAIT) >= 0)
        return RELAIS_OK;
    if (errno == EAGAIN)
        return RELAIS_OK; /* queue full: counts as a lost attempt, retried */
    if (errno == EINTR)
        s_set_error(self, "interrupted");
    else
        s_set_error(self, "send failed: %s", zmq_strerror(errno));
    return RELAIS_ESYS;
}

int relais_client_call(relais_client_t *self, Relais__V1__Envelope *req,
                       Relais__V1__Envelope **reply)
{
    int rc = RELAIS_ESYS;
    uint8_t *frame = NULL;
    bool unreadable = false;
    *reply = NULL;
    self->last_error[0] = '\0';

    /* The strings filled in point into the client: valid until its next
     * call or its destruction. */
    req->version = 1;
    if (!req->request_id || !*req->request_id) {
        s_new_request_id(self);
        req->request_id = self->request_id;
    } else if (req->request_id != self->request_id) {
        /* The caller's own id (a resend of its own): kept for matching. */
        if (strlen(req->request_id) >= sizeof self->request_id) {
            s_set_error(self, "request_id longer than %d bytes", S_REQUEST_ID_MAX - 1);
            return RELAIS_ESYS;
        }
        snprintf(self->request_id, sizeof self->request_id, "%s", req->request_id);
    }
    req->sender = self->sender;

    size_t size = relais__v1__envelope__get_packed_size(req);
    frame = malloc(size ? size : 1);
    if (!frame) {
        s_set_error(self, "out of memory");
        goto done;
    }
    relais__v1__envelope__pack(req, frame);

    for (int attempt = 1; attempt <= self->attempts; attempt++) {
        if (!self->socket && (rc = s_open_socket(self)) != RELAIS_OK)
            goto done;
        if ((rc = s_send(self, frame, size)) != RELAIS_OK)
            goto done;
        s_wait_t w = s_wait_reply(self, s_monotonic_ms() + self->timeout_ms, &unreadable, reply);
        if (w == S_FAILED) {
            rc = RELAIS_ESYS;
            goto done;
        }
        if (w == S_GOT_REPLY)
            break;
        /* Lazy pirate: the socket may be wedged on a dead connection with
         * our request queued; start afresh. */
        s_close_socket(self);
    }

    if (!*reply) {
        if (unreadable) {
            rc = RELAIS_EPROTO;
            s_set_error(self, "%s answered with unreadable messages (not a relais broker?)",
                        self->endpoint);
        } else {
            rc = RELAIS_ETIMEOUT;
            s_set_error(self,
                        "no reply from %s after %d attempt%s of %d ms: is the broker running%s?",
                        self->endpoint, self->attempts, self->attempts > 1 ? "s" : "",
                        self->timeout_ms,
                        self->curve ? ", and is your key in its authorized keys"
                                    : " (without --insecure-dev it needs your --key and "
                                      "--broker-key)");
        }
        goto done;
    }
    if ((*reply)->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR) {
        const Relais__V1__Error *e = (*reply)->error;
        s_set_error(self, "broker error %s: %s", e && e->code ? e->code : "",
                    e && e->message ? e->message : "");
        rc = RELAIS_EBROKER;
        goto done;
    }
    rc = RELAIS_OK;
done:
    free(frame);
    return rc;
}

/* The typed calls: one body in, one expected body out.  Any other body is
 * a protocol error (the broker answered something we did not ask). */
static int s_call_expect(relais_client_t *self, Relais__V1__Envelope *req,
                         Relais__V1__Envelope__BodyCase expected, Relais__V1__Envelope **reply)
{
    int rc = relais_client_call(self, req, reply);
    if (rc == RELAIS_OK && (*reply)->body_case != expected) {
        s_set_error(self, "unexpected reply from %s (body %d, expected %d)", self->endpoint,
                    (int)(*reply)->body_case, (int)expected);
        relais__v1__envelope__free_unpacked(*reply, NULL);
        *reply = NULL;
        rc = RELAIS_EPROTO;
    }
    return rc;
}

int relais_client_submit(relais_client_t *self, const Relais__V1__Referral *referral,
                         Relais__V1__Envelope **reply)
{
    Relais__V1__Envelope req = RELAIS__V1__ENVELOPE__INIT;
    req.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    /* Packing only reads the referral; the cast is for the generated
     * struct's non-const member. */
    req.referral = (Relais__V1__Referral *)referral;
    return s_call_expect(self, &req, RELAIS__V1__ENVELOPE__BODY_ACK, reply);
}

int relais_client_fetch_events(relais_client_t *self, uint64_t after_seq, uint32_t max,
                               Relais__V1__Envelope **reply)
{
    Relais__V1__FetchEvents fetch = RELAIS__V1__FETCH_EVENTS__INIT;
    fetch.after_seq = after_seq;
    fetch.max = max;
    Relais__V1__Envelope req = RELAIS__V1__ENVELOPE__INIT;
    req.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    req.fetch_events = &fetch;
    return s_call_expect(self, &req, RELAIS__V1__ENVELOPE__BODY_EVENTS, reply);
}

int relais_client_fetch_cases(relais_client_t *self, const char *structure_id, uint32_t max,
                              int include_open, Relais__V1__Envelope **reply)
{
    Relais__V1__FetchCases fetch = RELAIS__V1__FETCH_CASES__INIT;
    fetch.structure_id = (char *)(structure_id ? structure_id : "");
    fetch.max = max;
    fetch.include_open = include_open != 0;
    Relais__V1__Envelope req = RELAIS__V1__ENVELOPE__INIT;
    req.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_CASES;
    req.fetch_cases = &fetch;
    return s_call_expect(self, &req, RELAIS__V1__ENVELOPE__BODY_CASES, reply);
}

int relais_client_act(relais_client_t *self, const Relais__V1__CaseAction *action,
                      Relais__V1__Envelope **reply)
{
    Relais__V1__Envelope req = RELAIS__V1__ENVELOPE__INIT;
    req.body_case = RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
    req.case_action = (Relais__V1__CaseAction *)action;
    return s_call_expect(self, &req, RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT, reply);
}
