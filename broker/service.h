/*  service — one request frame in, one reply frame out.  (Where a message
 *  is decoded.)
 *
 *  The server (server.h) hands each received frame here with the batch's
 *  write transaction.  service_handle decodes the Envelope, checks it
 *  (size, version, request_id, sender, a body the endpoint accepts), runs
 *  the request in a nested transaction (so a request that fails leaves the
 *  rest of the batch intact) and packs the reply Envelope:
 *
 *    partner endpoint      Referral    -> Ack     (referral.h)
 *                          FetchEvents -> Events  (feed.h)
 *    coordinator endpoint  FetchCases  -> Cases   (cases.h)
 *                          CaseAction  -> ActionResult (cases.h)
 *
 *  Who is asking.  With an authorized-keys table (service_set_auth, the
 *  default: CurveZMQ + ZAP in server.h), the identity comes from the
 *  client's key, never from Envelope.sender: the server passes the
 *  connection's ZAP User-Id ("ROLE:ID") and public key, the key must still
 *  be listed (a key revoked by a reload is refused at its next request),
 *  and the role decides:
 *    partner ID       Referral, FetchEvents (its own feed)
 *    coordinator ID   FetchCases, CaseAction for structure ID only
 *    staff ID         FetchCases of any structure (naming it), and
 *                     StaffRequest (staff.h; never in --insecure-dev mode)
 *  A role asking for anything else, a sender that disagrees with the key
 *  (Envelope.sender may be empty, or must be the key's id), a coordinator
 *  reaching for another structure's cases: Error "forbidden", nothing
 *  changed.  Without a table (relais-broker --insecure-dev) the old rule
 *  holds: Envelope.sender is trusted, checked against the configuration.
 *
 *  Every request is audited (audit.h) in the transaction that carries its
 *  changes; a refusal in its own nested transaction of the batch.
 *
 *  Anything else gets an Error reply (the one error-reply builder is
 *  service_error_reply), with these stable codes:
 *    too_large        frame over the configured max_message_bytes
 *    bad_frame        a request of more than one frame
 *    bad_envelope     bytes that are not an Envelope
 *    unsupported_version   Envelope.version other than 0/1
 *    bad_request      request_id too long / not UTF-8, no body, or a body
 *                     that is not a request of this endpoint
 *    unknown_sender   (--insecure-dev) sender is not a configured partner /
 *                     structure
 *    forbidden        the key's role may not do this, the sender is not
 *                     the key's, a revoked key, a coordinator asking for
 *                     or acting on another structure's cases
 *    unavailable      the store failed (full disk...): nothing was changed,
 *                     retry later
 *
 *  Logs: one line per request, ids and codes only.
 */
#ifndef RELAIS_SERVICE_H
#define RELAIS_SERVICE_H

#include "auth.h"
#include "config.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct service_t service_t;

typedef enum { SERVICE_PARTNER = 0, SERVICE_COORDINATOR = 1 } service_endpoint_t;

service_t *service_new(const config_t *cfg, char *err, size_t errlen);
void service_destroy(service_t **self_p);
/* Identities from keys: AUTH (borrowed, outlives the service) decides who
 * may do what.  NULL (the default) is --insecure-dev mode. */
void service_set_auth(service_t *self, const auth_t *auth);

/* The connection a request came on, as ZAP authenticated it. */
typedef struct {
    const char *user_id; /* ZAP User-Id, "ROLE:ID" */
    const char *key;     /* the client's Z85 public key */
} service_peer_t;

/* Handles FRAME (LEN bytes) received on endpoint EP, inside BATCH.  The
 * packed reply is returned in *REPLY (malloc'd, the caller frees) and
 * *REPLY_LEN.  *STORE_ERROR (may be NULL) is set to the LMDB error that
 * made the request fail (the reply is then Error "unavailable"), 0
 * otherwise.
 * ISOLATED runs the request in its own nested transaction, so a store
 * error undoes that request alone.  Not isolated (the fast path: no
 * per-request copy of the pages it touches), a store error leaves BATCH
 * with part of the request: the caller must then abort BATCH (server.c
 * handles the batch again, isolated, or after growing the map).
 * Returns 0, or ENOMEM when not even an error reply could be built. */
int service_handle(service_t *self, store_txn_t *batch, service_endpoint_t ep,
                   const uint8_t *frame, size_t len, bool isolated, uint8_t **reply,
                   size_t *reply_len, int *store_error);
/* The same, from PEER (NULL: unauthenticated; refused when an auth table
 * is set). */
int service_handle_as(service_t *self, store_txn_t *batch, service_endpoint_t ep,
                      const service_peer_t *peer, const uint8_t *frame, size_t len,
                      bool isolated, uint8_t **reply, size_t *reply_len, int *store_error);

/* Periodic work the broker does by itself, in its own write transaction:
 * escalation of unanswered routed cases (cases_escalate) on every call,
 * and the retention purge (erasure_purge, a scan of every case) on the
 * first call and then once a day.  Called by the server at start and then
 * every SERVICE_HOUSEKEEPING_SECONDS.  Returns 0
 * or a store error (logged; the next call tries again). */
#define SERVICE_HOUSEKEEPING_SECONDS 60
int service_housekeeping(service_t *self, store_t *store);

/* Packs an Envelope{request_id, error{code, message}} into *REPLY
 * (malloc'd).  Returns 0 or ENOMEM. */
int service_error_reply(const char *request_id, const char *code, const char *message,
                        uint8_t **reply, size_t *reply_len);

#endif
