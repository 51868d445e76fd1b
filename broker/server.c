/*  server — ZeroMQ ROUTER sockets, the ZAP handler, batching, group
 *  commit, replies.  See server.h for the cycle and its guarantees.
 *
 *  The ZAP handler lives in this loop rather than in a thread of its own:
 *  the broker stays single-threaded (the auth table needs no lock), and a
 *  handshake costs one table lookup, answered before the next batch. */
#include "server.h"

#include "clock.h"
#include "keyfile.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define SERVER_POLL_MS 1000
#define SERVER_SOCKETS 2
#define SERVER_ZAP_ENDPOINT "inproc://zeromq.zap.01"
/* An unknown key retries its handshake every reconnect interval: log it
 * once per this many seconds, per key. */
#define SERVER_REFUSAL_LOG_SECONDS 60
#define SERVER_REFUSAL_SLOTS 16

typedef struct {
    zmq_msg_t identity; /* the peer's routing id */
    zmq_msg_t body;     /* the request frame, kept until the batch is done */
    int frames;         /* body frames received (a request is exactly one) */
    int socket;         /* index in server_t.sockets */
    service_peer_t peer; /* ZAP User-Id and key: metadata of BODY */
    uint8_t *reply;
    size_t reply_len;
} s_slot_t;

struct server_t {
    const config_t *cfg;
    store_t *store;
    service_t *service;
    void *ctx;
    void *sockets[SERVER_SOCKETS];
    void *zap;       /* ZMQ_REP on SERVER_ZAP_ENDPOINT */
    auth_t *auth;    /* NULL: --insecure-dev */
    s_slot_t *slots; /* the batch being handled: SERVER_BATCH_MAX per socket */
    s_slot_t *held;  /* the batch committed last, its replies held until its
                        meta page is on disk (store.h, "Durability") */
    size_t n_held;
    struct {
        char fingerprint[KEYFILE_FINGERPRINT_LEN + 1];
        int64_t logged_at;
        unsigned suppressed;
    } refusals[SERVER_REFUSAL_SLOTS];
};

static const char *const s_endpoint_names[SERVER_SOCKETS] = {"partner", "coordinator"};

void server_destroy(server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    server_t *self = *self_p;
    for (int i = 0; i < SERVER_SOCKETS; i++)
        if (self->sockets[i])
            zmq_close(self->sockets[i]);
    if (self->zap)
        zmq_close(self->zap);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->slots);
    free(self->held);
    free(self);
    *self_p = NULL;
}

static void *s_bind(server_t *self, const char *endpoint, const char *name,
                    const char *secret_z85, char *err, size_t errlen)
{
    void *s = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!s) {
        snprintf(err, errlen, "%s endpoint: %s", name, zmq_strerror(errno));
        return NULL;
    }
    int one = 1, zero = 0;
    int64_t hard_max = (int64_t)self->cfg->max_message_bytes * 4;
    int hwm = 10000;
    if (zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max) != 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        /* The ZAP domain names the endpoint in ZAP requests, and makes
         * libzmq ask ZAP even for the NULL mechanism (--insecure-dev). */
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, name, strlen(name)) != 0 ||
        (secret_z85 && (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
                        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret_z85,
                                       KEYFILE_Z85_LEN) != 0)) ||
        zmq_bind(s, endpoint) != 0) {
        snprintf(err, errlen, "cannot bind the %s endpoint %s: %s", name, endpoint,
                 zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

server_t *server_new(const config_t *cfg, store_t *store, service_t *service, auth_t *auth,
                     const char *secret_z85, const char *partner_endpoint,
                     const char *coordinator_endpoint, char *err, size_t errlen)
{
    server_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    self->service = service;
    self->auth = auth;
    self->slots = calloc(SERVER_BATCH_MAX * SERVER_SOCKETS, sizeof *self->slots);
    self->held = calloc(SERVER_BATCH_MAX * SERVER_SOCKETS, sizeof *self->held);
    if (!self->slots || !self->held || !(self->ctx = zmq_ctx_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((auth == NULL) != (secret_z85 == NULL)) {
        snprintf(err, errlen, "keys: an authorized-keys table goes with a secret key");
        goto fail;
    }
    /* The ZAP handler first: a CURVE socket with no handler bound would
     * let every key in. */
    int zero = 0;
    if (!(self->zap = zmq_socket(self->ctx, ZMQ_REP)) ||
        zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(self->zap, SERVER_ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(errno));
        goto fail;
    }
    const char *endpoints[SERVER_SOCKETS] = {partner_endpoint, coordinator_endpoint};
    for (int i = 0; i < SERVER_SOCKETS; i++)
        if (!(self->sockets[i] =
                  s_bind(self, endpoints[i], s_endpoint_names[i], secret_z85, err, errlen)))
            goto fail;
    return self;
fail:
    server_destroy(&self);
    return NULL;
}

/* ---- ZAP (RFC 27) ------------------------------------------------------ */

/* Logs the refusal of key FINGERPRINT unless it was logged less than
 * SERVER_REFUSAL_LOG_SECONDS ago. */
static void s_log_refusal(server_t *self, const char *domain, const char *address,
                          const char *fingerprint)
{
    int64_t now = clock_now();
    int slot = 0;
    for (int i = 0; i < SERVER_REFUSAL_SLOTS; i++) {
        if (strcmp(self->refusals[i].fingerprint, fingerprint) == 0) {
            slot = i;
            break;
        }
        if (self->refusals[i].logged_at < self->refusals[slot].logged_at)
            slot = i; /* the oldest, to be reused */
    }
    if (strcmp(self->refusals[slot].fingerprint, fingerprint) == 0 &&
        now - self->refusals[slot].logged_at < SERVER_REFUSAL_LOG_SECONDS) {
        self->refusals[slot].suppressed++;
        return;
    }
    unsigned suppressed = strcmp(self->refusals[slot].fingerprint, fingerprint) == 0
                              ? self->refusals[slot].suppressed
                              : 0;
    log_warn("connection refused on the %s endpoint from %s: unknown key %s... (%u more "
             "attempt(s) since last logged)",
             domain, address, fingerprint, suppressed);
    snprintf(self->refusals[slot].fingerprint, sizeof self->refusals[slot].fingerprint, "%s",
             fingerprint);
    self->refusals[slot].logged_at = now;
    self->refusals[slot].suppressed = 0;
}

/* Copies frame F into OUT (size OUTLEN) as a C string. */
static void s_frame_str(zmq_msg_t *f, char *out, size_t outlen)
{
    size_t n = zmq_msg_size(f);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, zmq_msg_data(f), n);
    out[n] = '\0';
}

/* Decides one ZAP request (FRAMES, N of them): status, User-Id and the
 * key metadata property. */
static const char *s_zap_decide(server_t *self, zmq_msg_t *frames, int n, char *user_id,
                                size_t ulen, char *key_z85)
{
    char domain[32], address[64], mechanism[16];
    *user_id = '\0';
    *key_z85 = '\0';
    if (n < 6)
        return "500";
    s_frame_str(&frames[2], domain, sizeof domain);
    s_frame_str(&frames[3], address, sizeof address);
    s_frame_str(&frames[5], mechanism, sizeof mechanism);
    if (!self->auth) {
        /* --insecure-dev: every connection is let in, and said so. */
        log_warn("INSECURE (--insecure-dev): unauthenticated %s connection on the %s endpoint "
                 "from %s; identities are not checked",
                 mechanism, domain, address);
        return "200";
    }
    if (strcmp(mechanism, "CURVE") != 0 || n < 7 || zmq_msg_size(&frames[6]) != 32) {
        log_warn("connection refused on the %s endpoint from %s: mechanism %s", domain, address,
                 mechanism);
        return "400";
    }
    zmq_z85_encode(key_z85, zmq_msg_data(&frames[6]), 32);
    const auth_entry_t *e = auth_lookup(self->auth, key_z85);
    if (!e) {
        char fp[KEYFILE_FINGERPRINT_LEN + 1];
        keyfile_fingerprint(key_z85, fp);
        s_log_refusal(self, domain, address, fp);
        *key_z85 = '\0';
        return "400";
    }
    snprintf(user_id, ulen, "%s", e->user_id);
    log_debug("connection on the %s endpoint from %s: %s", domain, address, e->user_id);
    return "200";
}

/* Answers every ZAP request waiting.  A malformed one is dropped (libzmq
 * never sends one). */
static void s_zap_serve(server_t *self)
{
    for (;;) {
        zmq_msg_t frames[8];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, self->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&frames[i]);
                return; /* EAGAIN: none waiting */
            }
            more = zmq_msg_more(&m);
            if (n < 8)
                frames[n++] = m;
            else
                zmq_msg_close(&m);
        }
        char user_id[AUTH_USER_ID_MAX], key[KEYFILE_Z85_LEN + 1];
        const char *status = s_zap_decide(self, frames, n, user_id, sizeof user_id, key);
        /* Metadata (ZMTP encoding): name length (1 byte), name, value
         * length (4 bytes, big-endian), value. */
        static const char prop[] = "X-Relais-Key";
        unsigned char meta[1 + sizeof prop + 4 + KEYFILE_Z85_LEN];
        size_t mlen = 0;
        if (*key) {
            size_t plen = strlen(prop), klen = strlen(key);
            meta[mlen++] = (unsigned char)plen;
            memcpy(meta + mlen, prop, plen);
            mlen += plen;
            meta[mlen++] = 0;
            meta[mlen++] = 0;
            meta[mlen++] = 0;
            meta[mlen++] = (unsigned char)klen;
            memcpy(meta + mlen, key, klen);
            mlen += klen;
        }
        const char *text = strcmp(status, "200") == 0 ? "OK" : "refused";
        size_t idlen = n > 1 ? zmq_msg_size(&frames[1]) : 0;
        if (zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE) < 0 ||
            zmq_send(self->zap, n > 1 ? zmq_msg_data(&frames[1]) : "", idlen, ZMQ_SNDMORE) < 0 ||
            zmq_send(self->zap, status, 3, ZMQ_SNDMORE) < 0 ||
            zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE) < 0 ||
            zmq_send(self->zap, user_id, strlen(user_id), ZMQ_SNDMORE) < 0 ||
            zmq_send(self->zap, meta, mlen, 0) < 0)
            log_error("cannot answer a ZAP request: %s", zmq_strerror(errno));
        for (int i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
    }
}

static void s_reload(server_t *self)
{
    if (!self->auth) {
        log_warn("SIGHUP: no authorized-keys file in --insecure-dev mode; nothing to reload");
        return;
    }
    char err[512];
    size_t before = auth_count(self->auth);
    if (auth_reload(self->auth, err, sizeof err) != 0) {
        log_error("SIGHUP: authorized keys NOT reloaded, the previous ones stay in force: %s",
                  err);
        return;
    }
    log_info("SIGHUP: authorized keys reloaded from %s: %zu key(s) (was %zu)",
             auth_path(self->auth), auth_count(self->auth), before);
}

/* Receives one request (identity + frames) from socket I into SLOT.
 * Returns 1 when a request was taken, 0 when none was waiting, -1 on a
 * fatal error. */
static int s_receive(server_t *self, int i, s_slot_t *slot)
{
    void *s = self->sockets[i];
    int more = 0;
    size_t more_len = sizeof more;
    zmq_msg_init(&slot->identity);
    if (zmq_msg_recv(&slot->identity, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&slot->identity);
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    slot->socket = i;
    slot->reply = NULL;
    slot->frames = 0;
    /* The body: exactly one frame.  Extra frames are read and dropped so
     * the next request starts clean; the request gets Error "bad_frame". */
    zmq_msg_init(&slot->body);
    do {
        zmq_msg_t extra;
        zmq_msg_t *into = slot->frames == 0 ? &slot->body : &extra;
        if (into == &extra)
            zmq_msg_init(&extra);
        if (zmq_msg_recv(into, s, 0) < 0) {
            if (into == &extra)
                zmq_msg_close(&extra);
            zmq_msg_close(&slot->body);
            zmq_msg_close(&slot->identity);
            return -1;
        }
        if (into == &extra)
            zmq_msg_close(&extra);
        slot->frames++;
        zmq_getsockopt(s, ZMQ_RCVMORE, &more, &more_len);
    } while (more);
    /* Who sent it: what ZAP said of the connection, carried by the frame
     * itself (valid while the frame is kept). */
    slot->peer.user_id = zmq_msg_gets(&slot->body, "User-Id");
    slot->peer.key = zmq_msg_gets(&slot->body, "X-Relais-Key");
    return 1;
}

/* Builds SLOT's reply within BATCH; ISOLATED and *STORE_ERROR as
 * service_handle. */
static void s_handle(server_t *self, store_txn_t *batch, s_slot_t *slot, bool isolated,
                     int *store_error)
{
    int rc;
    *store_error = 0;
    free(slot->reply);
    slot->reply = NULL;
    if (slot->frames > 1) {
        log_warn("request refused: %d frames on the %s endpoint (one expected)", slot->frames,
                 s_endpoint_names[slot->socket]);
        rc = service_error_reply("", "bad_frame", "A request is exactly one frame.",
                                 &slot->reply, &slot->reply_len);
    } else {
        rc = service_handle_as(self->service, batch, (service_endpoint_t)slot->socket,
                               &slot->peer, zmq_msg_data(&slot->body),
                               zmq_msg_size(&slot->body), isolated, &slot->reply,
                               &slot->reply_len, store_error);
    }
    if (rc != 0)
        log_error("cannot build a reply: out of memory");
}

static void s_send(server_t *self, s_slot_t *slot)
{
    void *s = self->sockets[slot->socket];
    if (slot->reply &&
        (zmq_msg_send(&slot->identity, s, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
         zmq_send(s, slot->reply, slot->reply_len, ZMQ_DONTWAIT) < 0)) {
        /* The state is committed; the client's resend will get the replay. */
        log_warn("reply not delivered on the %s endpoint: %s", s_endpoint_names[slot->socket],
                 errno == EHOSTUNREACH ? "client gone" : zmq_strerror(errno));
    }
    zmq_msg_close(&slot->identity);
    zmq_msg_close(&slot->body);
    free(slot->reply);
    slot->reply = NULL;
}

/* Replaces every reply of the batch by Error "unavailable". */
static void s_fail_batch(s_slot_t *slots, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free(slots[k].reply);
        slots[k].reply = NULL;
        service_error_reply("", "unavailable",
                            "The broker could not store this request; nothing was changed. "
                            "Retry later.", &slots[k].reply, &slots[k].reply_len);
    }
}

/* Doubles the map, up to the configured ceiling.  Returns 1 when it
 * grew. */
static int s_grow(server_t *self)
{
    size_t cur = store_map_size(self->store);
    size_t max = self->cfg->map_max_mib << 20;
    if (cur == 0 || cur >= max)
        return 0;
    size_t next = cur > max / 2 ? max : cur * 2;
    int rc = store_set_map_size(self->store, next);
    if (rc != 0) {
        log_error("cannot grow the store map to %zu MiB: %s", next >> 20, store_strerror(rc));
        return 0;
    }
    log_warn("store map full: grown from %zu MiB to %zu MiB (ceiling %zu MiB)", cur >> 20,
             next >> 20, max >> 20);
    return 1;
}

/* Handles the N requests of one cycle in one write transaction and commits
 * it.
 * Fast path: every request straight in the batch transaction.  A request
 * that hits a store error leaves part of itself in the batch, so the batch
 * is undone and handled again: after growing the map when it was full;
 * otherwise ISOLATED, each request in its own nested transaction, so only
 * the failing request is refused and the others are committed.  At the
 * map's ceiling the isolated pass keeps what fits and refuses the rest
 * with Error "unavailable".  Returns 0, or -1 when no write transaction can
 * be begun. */
static int s_process(server_t *self, size_t n)
{
    bool isolated = false;
    for (;;) {
        store_txn_t batch;
        int rc = store_begin(self->store, true, NULL, &batch);
        if (rc == MDB_MAP_RESIZED) {
            /* Another process grew the file: adopt its size. */
            store_set_map_size(self->store, 0);
            rc = store_begin(self->store, true, NULL, &batch);
        }
        if (rc != 0) {
            log_error("cannot begin a write transaction: %s", store_strerror(rc));
            s_fail_batch(self->slots, n);
            return -1;
        }
        int failed = 0, map_full = 0;
        for (size_t k = 0; k < n; k++) {
            int store_error;
            s_handle(self, &batch, &self->slots[k], isolated, &store_error);
            failed |= store_error != 0;
            map_full |= store_error == MDB_MAP_FULL;
            if (store_error && !isolated)
                break; /* the batch is undone below: no use going on */
        }
        if (failed && (!isolated || map_full)) {
            store_abort(&batch);
            if (map_full && s_grow(self))
                continue;
            if (!isolated) {
                isolated = true;
                continue;
            }
            /* Isolated, map full at its ceiling: commit what fit. */
            if ((rc = store_begin(self->store, true, NULL, &batch)) != 0) {
                s_fail_batch(self->slots, n);
                return 0;
            }
            for (size_t k = 0; k < n; k++) {
                int store_error;
                s_handle(self, &batch, &self->slots[k], true, &store_error);
            }
        }
        rc = store_commit(&batch);
        if (rc == MDB_MAP_FULL && s_grow(self))
            continue;
        if (rc != 0) {
            /* ENOSPC and the like: nothing of the batch is kept; the next
             * batch tries again, so the broker recovers by itself once
             * space is back. */
            log_error("commit of %zu request(s) failed: %s", n, store_strerror(rc));
            s_fail_batch(self->slots, n);
        }
        return 0;
    }
}

/* Sends the held batch's replies once its commit is wholly on disk: after
 * an explicit sync unless COVERED (a later commit's fsync covered it).  If
 * the sync fails, the held requests get Error "unavailable" instead: their
 * state is committed, and a resend gets the replay. */
static void s_release_held(server_t *self, bool covered)
{
    if (!self->n_held)
        return;
    int rc = covered ? 0 : store_sync(self->store);
    if (rc != 0) {
        log_error("cannot sync the store: %s; %zu request(s) answered 'unavailable'",
                  store_strerror(rc), self->n_held);
        s_fail_batch(self->held, self->n_held);
    }
    for (size_t k = 0; k < self->n_held; k++)
        s_send(self, &self->held[k]);
    self->n_held = 0;
}

int server_run(server_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    zmq_pollitem_t items[SERVER_SOCKETS + 1];
    for (int i = 0; i < SERVER_SOCKETS; i++)
        items[i] = (zmq_pollitem_t){self->sockets[i], 0, ZMQ_POLLIN, 0};
    items[SERVER_SOCKETS] = (zmq_pollitem_t){self->zap, 0, ZMQ_POLLIN, 0};
    int64_t last_housekeeping = 0;
    int status = 0;

    while (!*stop) {
        /* Between batches (no transaction open): the broker's own work. */
        int64_t now = clock_now();
        if (now - last_housekeeping >= SERVICE_HOUSEKEEPING_SECONDS) {
            s_release_held(self, false);
            service_housekeeping(self->service, self->store);
            last_housekeeping = now;
        }
        if (reload && *reload) {
            *reload = 0;
            s_reload(self);
        }
        /* With replies held, only look: if nothing is waiting, sync now
         * rather than keep them waiting for a next batch. */
        int n = zmq_poll(items, SERVER_SOCKETS + 1, self->n_held ? 0 : SERVER_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll failed: %s", zmq_strerror(errno));
            status = -1;
            break;
        }
        if (n == 0) {
            s_release_held(self, false);
            continue;
        }
        /* Handshakes first: they wait for nothing else. */
        if (items[SERVER_SOCKETS].revents & ZMQ_POLLIN)
            s_zap_serve(self);

        size_t taken = 0;
        for (int i = 0; i < SERVER_SOCKETS; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            for (int k = 0; k < SERVER_BATCH_MAX; k++) {
                int got = s_receive(self, i, &self->slots[taken]);
                if (got < 0) {
                    log_error("receive failed on the %s endpoint: %s", s_endpoint_names[i],
                              zmq_strerror(errno));
                    break;
                }
                if (got == 0)
                    break;
                taken++;
            }
        }
        if (taken == 0)
            continue;
        uint64_t before = store_last_txnid(self->store);
        int rc = s_process(self, taken);
        if (store_last_txnid(self->store) != before) {
            /* This commit's fsync also wrote the held batch's meta page:
             * the held replies go now, this batch's are held in turn. */
            s_release_held(self, true);
            s_slot_t *tmp = self->held;
            self->held = self->slots;
            self->slots = tmp;
            self->n_held = taken;
        } else {
            /* Nothing written (reads only, or a failed batch): these replies
             * depend only on what is committed already. */
            s_release_held(self, false);
            for (size_t k = 0; k < taken; k++)
                s_send(self, &self->slots[k]);
        }
        if (rc != 0) {
            status = -1;
            break;
        }
    }
    s_release_held(self, false);
    return status;
}
