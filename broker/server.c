/*  server — ZeroMQ ROUTER sockets, batching, group commit, replies.
 *  See server.h for the cycle and its guarantees. */
#include "server.h"

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

/* Receives one request (identity + frames) from socket I into SLOT and
 * handles it in BATCH.  Returns 1 when a request was taken, 0 when none
 * was waiting, -1 on a fatal error. */
static int s_take(server_t *self, int i, store_txn_t *batch, s_slot_t *slot)
{
    void *s = self->sockets[i];
    zmq_msg_t frame;
    int more = 0, rc = 0;
    size_t more_len = sizeof more;
    zmq_msg_init(&slot->identity);
    if (zmq_msg_recv(&slot->identity, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&slot->identity);
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    slot->socket = i;
    slot->reply = NULL;
    /* The body: exactly one frame.  Extra frames are read and discarded so
     * the next request starts clean. */
    zmq_msg_init(&frame);
    int frames = 0;
    do {
        if (frames > 0) {
            zmq_msg_close(&frame);
            zmq_msg_init(&frame);
        }
        if (zmq_msg_recv(&frame, s, 0) < 0) {
            zmq_msg_close(&frame);
            zmq_msg_close(&slot->identity);
            return -1;
        }
        frames++;
        zmq_getsockopt(s, ZMQ_RCVMORE, &more, &more_len);
    } while (more);
    if (frames > 1) {
        log_warn("request refused: %d frames on the %s endpoint (one expected)", frames,
                 s_endpoint_names[i]);
        rc = service_error_reply("", "bad_frame", "A request is exactly one frame.",
                                 &slot->reply, &slot->reply_len);
    } else {
        rc = service_handle(self->service, batch, (service_endpoint_t)i, zmq_msg_data(&frame),
                            zmq_msg_size(&frame), &slot->reply, &slot->reply_len);
    }
    zmq_msg_close(&frame);
    if (rc != 0)
        log_error("cannot build a reply: out of memory");
    return 1;
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

int server_run(server_t *self, volatile sig_atomic_t *stop)
{
    zmq_pollitem_t items[SERVER_SOCKETS];
    for (int i = 0; i < SERVER_SOCKETS; i++)
        items[i] = (zmq_pollitem_t){self->sockets[i], 0, ZMQ_POLLIN, 0};

    while (!*stop) {
        int n = zmq_poll(items, SERVER_SOCKETS, SERVER_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        if (n == 0)
            continue;

        store_txn_t batch;
        int rc = store_begin(self->store, true, NULL, &batch);
        if (rc != 0) {
            log_error("cannot begin a write transaction: %s", store_strerror(rc));
            return -1;
        }
        size_t taken = 0;
        for (int i = 0; i < SERVER_SOCKETS; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            for (int k = 0; k < SERVER_BATCH_MAX; k++) {
                int got = s_take(self, i, &batch, &self->slots[taken]);
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
        rc = store_commit(&batch);
        if (rc != 0) {
            log_error("commit of %zu request(s) failed: %s", taken, store_strerror(rc));
            s_fail_batch(self->slots, taken);
        }
        for (size_t k = 0; k < taken; k++)
            s_send(self, &self->slots[k]);
    }
    return 0;
}
