/*  server — the broker's event loop: two ROUTER sockets, group commit.
 *
 *  One thread, one zmq_poll over the partner and coordinator endpoints.
 *  Each cycle:
 *    1. read what is ready, at most SERVER_BATCH_MAX requests per socket
 *       (ROUTER fair-queues between connected peers, so a flooding partner
 *       gets no more than its share of a cycle: nobody starves);
 *    2. handle them all in ONE write transaction, each in its own nested
 *       transaction (service.h);
 *    3. commit once (fsync): the cost of durability is shared by the batch;
 *    4. only then send the replies.  A reply is never sent for state that is
 *       not durable.  If the commit fails, every request of the batch gets
 *       Error "unavailable" instead, and nothing of it was kept.
 *  A reply that cannot be delivered (peer gone: EHOSTUNREACH with
 *  ZMQ_ROUTER_MANDATORY; peer's queue full: EAGAIN) is dropped and logged:
 *  the state is committed, and the client's resend gets the replay.
 *
 *  Limits: frames over max_message_bytes get Error "too_large"; frames over
 *  4 x that (ZMQ_MAXMSGSIZE) make ZeroMQ drop the connection before a byte
 *  is buffered, bounding memory whatever a peer sends.
 */
#ifndef RELAIS_SERVER_H
#define RELAIS_SERVER_H

#include "config.h"
#include "service.h"
#include "store.h"

#include <signal.h>

#define SERVER_BATCH_MAX 256

typedef struct server_t server_t;

/* Binds both endpoints.  NULL on failure (ERR: which endpoint and why). */
server_t *server_new(const config_t *cfg, store_t *store, service_t *service,
                     const char *partner_endpoint, const char *coordinator_endpoint, char *err,
                     size_t errlen);
void server_destroy(server_t **self_p);
/* Serves until *STOP becomes non-zero (set it from a signal handler).
 * Returns 0 on a requested stop, -1 on a fatal error (logged). */
int server_run(server_t *self, volatile sig_atomic_t *stop);

#endif
