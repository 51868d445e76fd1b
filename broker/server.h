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
 *  Who connects (CurveZMQ + ZAP).  By default both endpoints are CURVE
 *  servers under the broker's long-term secret key, and a ZAP handler
 *  (RFC 27) runs inside the broker: a ZMQ_REP socket bound on
 *  inproc://zeromq.zap.01 BEFORE the endpoints (so no handshake is ever
 *  let through unchecked), served by the same zmq_poll loop.  It admits
 *  only the public keys of the authorized-keys table (auth.h) and gives
 *  each connection the ZAP User-Id "ROLE:ID" and the metadata property
 *  "X-Relais-Key" (its public key); every request frame carries both
 *  (zmq_msg_gets), and service.h decides from them.  An unknown key gets
 *  ZAP status 400: the handshake fails, not one byte of data is read or
 *  answered; the refusal is logged with the key's fingerprint only (at
 *  most once a minute per key: a client retrying its handshake must not
 *  flood the log).  ZAP requests are answered between batches: a
 *  handshake waits at most one batch.
 *
 *  SIGHUP (server_run's RELOAD flag) re-reads the authorized-keys file
 *  between batches: added keys can connect, removed keys cannot (new
 *  handshakes) and their open connections are refused at their next
 *  request; nothing else is touched.  A file with an error is reported
 *  and the keys in force stay in force.
 *
 *  --insecure-dev (AUTH NULL): plain TCP, no CURVE; the ZAP handler still
 *  sees every connection (a ZAP domain is set) and logs a warning for
 *  each; identities are the Envelope.sender, trusted.
 *
 *  Limits: frames over max_message_bytes get Error "too_large"; frames over
 *  4 x that (ZMQ_MAXMSGSIZE) make ZeroMQ drop the connection before a byte
 *  is buffered, bounding memory whatever a peer sends.
 */
#ifndef RELAIS_SERVER_H
#define RELAIS_SERVER_H

#include "auth.h"
#include "config.h"
#include "service.h"
#include "store.h"

#include <signal.h>

#define SERVER_BATCH_MAX 256

typedef struct server_t server_t;

/* Binds the ZAP handler, then both endpoints: CURVE servers with
 * SECRET_Z85 admitting AUTH's keys, or, with AUTH and SECRET_Z85 NULL,
 * plain (--insecure-dev).  AUTH is borrowed (reloaded in place on
 * SIGHUP); the secret is copied into ZeroMQ only.  NULL on failure (ERR:
 * which endpoint and why). */
server_t *server_new(const config_t *cfg, store_t *store, service_t *service, auth_t *auth,
                     const char *secret_z85, const char *partner_endpoint,
                     const char *coordinator_endpoint, char *err, size_t errlen);
void server_destroy(server_t **self_p);
/* Serves until *STOP becomes non-zero (set it from a signal handler);
 * when *RELOAD (may be NULL) becomes non-zero, re-reads the
 * authorized-keys file and clears it.  Returns 0 on a requested stop, -1
 * on a fatal error (logged). */
int server_run(server_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

#endif
