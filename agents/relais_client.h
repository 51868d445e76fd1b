/*  relais_client — the C client library for partners and coordinators.
 *
 *  One connection to one broker endpoint (a ZeroMQ DEALER socket).  Each
 *  call sends one request Envelope and waits for the reply carrying the
 *  same request_id.  When no reply comes within the timeout, the client
 *  closes its socket (dropping what was queued), reconnects and sends the
 *  SAME request again (same request_id, same partner_ref): the broker's
 *  idempotency makes the resend safe: a referral already stored is
 *  answered with its first Ack again (replay = true), never counted twice.
 *  This is ZeroMQ's "lazy pirate" pattern.
 *
 *  Identity: the broker runs CurveZMQ; call relais_client_set_curve with
 *  your secret key and the broker's public key before the first call.
 *  Your key decides who you are (its public key is listed in the broker's
 *  authorized-keys file); the SENDER given to relais_client_new goes in
 *  Envelope.sender and must be that same identity's id (or "").  Against a
 *  broker started with --insecure-dev (development), no keys: SENDER is
 *  then trusted as it is.
 *
 *  Ownership: a reply Envelope returned through an out-parameter belongs to
 *  the caller, who frees it with relais__v1__envelope__free_unpacked(e,
 *  NULL).  Request messages passed in stay the caller's.
 *  Thread-safety: a relais_client_t is used by one thread at a time
 *  (ZeroMQ sockets are not thread-safe); use one client per thread.
 */
#ifndef RELAIS_CLIENT_H
#define RELAIS_CLIENT_H

#include "relais.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct relais_client_t relais_client_t;

/* Return codes of the calls below. */
#define RELAIS_OK 0
#define RELAIS_ETIMEOUT -1 /* no reply after every attempt: broker unreachable */
#define RELAIS_EPROTO -2   /* the reply was not a readable Envelope */
#define RELAIS_ESYS -3     /* local failure (memory, socket) */
#define RELAIS_EBROKER -4  /* the broker answered with an Error (reply holds it) */

#define RELAIS_DEFAULT_PARTNER_ENDPOINT "tcp://127.0.0.1:7410"
#define RELAIS_DEFAULT_COORDINATOR_ENDPOINT "tcp://127.0.0.1:7411"

/* Connects (lazily: ZeroMQ connects in the background) to ENDPOINT as
 * SENDER.  NULL on failure with the reason in ERR. */
relais_client_t *relais_client_new(const char *endpoint, const char *sender, char *err,
                                   size_t errlen);
void relais_client_destroy(relais_client_t **self_p);
/* Encrypts and authenticates the connection with CurveZMQ: SECRET_Z85 is
 * the client's secret key (40 Z85 characters; the public key is derived
 * from it), BROKER_PUBLIC_Z85 the broker's public key.  Call it before the
 * first request (the connection is reopened with the keys).  RELAIS_OK,
 * or RELAIS_ESYS with last_error set (a malformed key).  The client keeps
 * a copy of the secret, wiped by relais_client_destroy.  A broker that
 * does not know the key refuses the handshake: every call then ends in
 * RELAIS_ETIMEOUT. */
int relais_client_set_curve(relais_client_t *self, const char *secret_z85,
                            const char *broker_public_z85);
/* Per-attempt reply timeout (default 3000 ms) and number of attempts
 * (default 3). */
void relais_client_set_timeout(relais_client_t *self, int timeout_ms, int attempts);
/* A readable description of the last failure ("" after a success). */
const char *relais_client_last_error(const relais_client_t *self);

/* The generic call: fills REQ's version, request_id (when empty) and
 * sender, sends it, and returns the reply in *REPLY.  RELAIS_OK or
 * RELAIS_EBROKER (the reply is an Error; *REPLY is still set) or a
 * failure with *REPLY = NULL. */
int relais_client_call(relais_client_t *self, Relais__V1__Envelope *req,
                       Relais__V1__Envelope **reply);

/* Partner: submits REFERRAL.  On RELAIS_OK, (*reply)->ack is the Ack. */
int relais_client_submit(relais_client_t *self, const Relais__V1__Referral *referral,
                         Relais__V1__Envelope **reply);
/* Partner: status events with seq > AFTER_SEQ, at most MAX (0: the
 * broker's default).  On RELAIS_OK, (*reply)->events. */
int relais_client_fetch_events(relais_client_t *self, uint64_t after_seq, uint32_t max,
                               Relais__V1__Envelope **reply);
/* Coordinator: the cases of STRUCTURE_ID awaiting an answer (and, with
 * INCLUDE_OPEN, the accepted open ones).  On RELAIS_OK, (*reply)->cases. */
int relais_client_fetch_cases(relais_client_t *self, const char *structure_id, uint32_t max,
                              int include_open, Relais__V1__Envelope **reply);
/* Coordinator: acts on a case.  On RELAIS_OK, (*reply)->action_result
 * (whose ok may be false: a refused action is an answer, not a failure). */
int relais_client_act(relais_client_t *self, const Relais__V1__CaseAction *action,
                      Relais__V1__Envelope **reply);

#endif
