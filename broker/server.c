/*  server — ZeroMQ ROUTER sockets, batching, group commit, replies.
 *  See server.h for the cycle and its guarantees. */
#include "server.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define SERVER_POLL_MS 1000
#define SERVER_SOCKETS 2

typedef struct {
    zmq_msg_t identity; /* the peer's routing id */
    zmq_msg_t body;     /* the request frame, kept until the batch is done */
    int frames;         /* body frames received (a request is exactly one) */
    int socket;         /* index in server_t.sockets */
    uint8_t *reply;
    size_t reply_len;
} s_slot_t;

struct server_t {
    const config_t *cfg;
    store_t *store;
    service_t *service;
    void *ctx;
    void *sockets[SERVER_SOCKETS];
    s_slot_t *slots; /* one batch: SERVER_BATCH_MAX per socket */
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
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

static void *s_bind(server_t *self, const char *endpoint, const char *name, char *err,
                    size_t errlen)
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
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 || zmq_bind(s, endpoint) != 0) {
        snprintf(err, errlen, "cannot bind the %s endpoint %s: %s", name, endpoint,
                 zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

server_t *server_new(const config_t *cfg, store_t *store, service_t *service,
                     const char *partner_endpoint, const char *coordinator_endpoint, char *err,
                     size_t errlen)
{
    server_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    self->service = service;
    self->slots = calloc(SERVER_BATCH_MAX * SERVER_SOCKETS, sizeof *self->slots);
    if (!self->slots || !(self->ctx = zmq_ctx_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    const char *endpoints[SERVER_SOCKETS] = {partner_endpoint, coordinator_endpoint};
    for (int i = 0; i < SERVER_SOCKETS; i++)
        if (!(self->sockets[i] = s_bind(self, endpoints[i], s_endpoint_names[i], err, errlen)))
            goto fail;
    return self;
fail:
    server_destroy(&self);
    return NULL;
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
    return 1;
}

/* Builds SLOT's reply within BATCH; *STORE_ERROR as service_handle. */
static void s_handle(server_t *self, store_txn_t *batch, s_slot_t *slot, int *store_error)
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
        rc = service_handle(self->service, batch, (service_endpoint_t)slot->socket,
                            zmq_msg_data(&slot->body), zmq_msg_size(&slot->body), &slot->reply,
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
 * it.  When the map is full, the whole batch is undone, the map grown and
 * the batch handled again from its kept frames; at the ceiling, the
 * requests that did not fit get Error "unavailable" and the others are
 * committed.  Returns 0, or -1 when no write transaction can be begun. */
static int s_process(server_t *self, size_t n)
{
    for (;;) {
        store_txn_t batch;
        int rc = store_begin(self->store, true, NULL, &batch);
        if (rc == MDB_MAP_RESIZED) {
            /* Another process (a copy tool) grew the file: adopt its size. */
            store_set_map_size(self->store, 0);
            rc = store_begin(self->store, true, NULL, &batch);
        }
        if (rc != 0) {
            log_error("cannot begin a write transaction: %s", store_strerror(rc));
            s_fail_batch(self->slots, n);
            return -1;
        }
        int map_full = 0;
        for (size_t k = 0; k < n; k++) {
            int store_error;
            s_handle(self, &batch, &self->slots[k], &store_error);
            map_full |= store_error == MDB_MAP_FULL;
        }
        if (map_full) {
            store_abort(&batch);
            if (s_grow(self))
                continue;
            /* At the ceiling: keep what fits, refuse the rest. */
            if ((rc = store_begin(self->store, true, NULL, &batch)) != 0) {
                s_fail_batch(self->slots, n);
                return 0;
            }
            for (size_t k = 0; k < n; k++) {
                int store_error;
                s_handle(self, &batch, &self->slots[k], &store_error);
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

int server_run(server_t *self, volatile sig_atomic_t *stop)
{
    zmq_pollitem_t items[SERVER_SOCKETS];
    for (int i = 0; i < SERVER_SOCKETS; i++)
        items[i] = (zmq_pollitem_t){self->sockets[i], 0, ZMQ_POLLIN, 0};
    int64_t last_housekeeping = 0;

    while (!*stop) {
        /* Between batches (no transaction open): the broker's own work. */
        int64_t now = clock_now();
        if (now - last_housekeeping >= SERVICE_HOUSEKEEPING_SECONDS) {
            service_housekeeping(self->service, self->store);
            last_housekeeping = now;
        }
        int n = zmq_poll(items, SERVER_SOCKETS, SERVER_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        if (n == 0)
            continue;

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
        int rc = s_process(self, taken);
        for (size_t k = 0; k < taken; k++)
            s_send(self, &self->slots[k]);
        if (rc != 0)
            return -1;
    }
    return 0;
}
