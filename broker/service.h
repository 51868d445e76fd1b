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
 *  Anything else gets an Error reply (the one error-reply builder is
 *  service_error_reply), with these stable codes:
 *    too_large        frame over the configured max_message_bytes
 *    bad_frame        a request of more than one frame
 *    bad_envelope     bytes that are not an Envelope
 *    unsupported_version   Envelope.version other than 0/1
 *    bad_request      request_id too long / not UTF-8, no body, or a body
 *                     that is not a request of this endpoint
 *    unknown_sender   sender is not a configured partner / structure
 *    forbidden        a coordinator asking for another structure's cases
 *    unavailable      the store failed (full disk...): nothing was changed,
 *                     retry later
 *
 *  Logs: one line per request, ids and codes only.
 */
#ifndef RELAIS_SERVICE_H
#define RELAIS_SERVICE_H

#include "config.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct service_t service_t;

typedef enum { SERVICE_PARTNER = 0, SERVICE_COORDINATOR = 1 } service_endpoint_t;

service_t *service_new(const config_t *cfg, char *err, size_t errlen);
void service_destroy(service_t **self_p);

/* Handles FRAME (LEN bytes) received on endpoint EP, inside BATCH.  The
 * packed reply is returned in *REPLY (malloc'd, the caller frees) and
 * *REPLY_LEN.  *STORE_ERROR (may be NULL) is set to the LMDB error that
 * made the request fail (the reply is then Error "unavailable"), 0
 * otherwise: the server grows the map and retries on MDB_MAP_FULL.
 * Returns 0, or ENOMEM when not even an error reply could be built. */
int service_handle(service_t *self, store_txn_t *batch, service_endpoint_t ep,
                   const uint8_t *frame, size_t len, uint8_t **reply, size_t *reply_len,
                   int *store_error);

/* Periodic work the broker does by itself, in its own write transaction:
 * escalation of unanswered routed cases (cases_escalate).  Called by the
 * server at start and then every SERVICE_HOUSEKEEPING_SECONDS.  Returns 0
 * or a store error (logged; the next call tries again). */
#define SERVICE_HOUSEKEEPING_SECONDS 60
int service_housekeeping(service_t *self, store_t *store);

/* Packs an Envelope{request_id, error{code, message}} into *REPLY
 * (malloc'd).  Returns 0 or ENOMEM. */
int service_error_reply(const char *request_id, const char *code, const char *message,
                        uint8_t **reply, size_t *reply_len);

#endif
