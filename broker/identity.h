/*  identity — is this young person already known?  (The "match" step.)
 *
 *  One person, one case, however many referrals: the Mission locale's
 *  "Hélène Da Silva-Costa" and the ASQ's "HELENE DA SILVA COSTA", same
 *  birth date, are one person.  This module is the only place that decides
 *  it; the referral path calls identity_match, then identity_index for a
 *  new person.  A later version replaces the rules below with scored
 *  matching behind the same two functions.
 *
 *  First version: exact keys after normalisation (normalize.h):
 *    "n:" last name | first given name | birth date
 *    "i:" INE (upper-cased), when present
 *  Verdicts:
 *    SAME      the name key finds person A and nothing contradicts it
 *              (same INE, or an INE missing on either side), or the name
 *              and INE keys find the same person
 *    POSSIBLE  conflicting evidence, for a human to decide:
 *              "ine_conflict"  name key finds A, but A and the referral
 *                              carry different INEs, or the INE key finds
 *                              another person than the name key
 *              "same_ine"      the INE key finds A, the name key nothing
 *    NEW       no key finds anyone
 *  A false merge (two young people's records mixed) is worse than a missed
 *  one, hence POSSIBLE rather than SAME whenever the evidence disagrees.
 *
 *  Cost: two index lookups and one person read.
 */
#ifndef RELAIS_IDENTITY_H
#define RELAIS_IDENTITY_H

#include "relais.pb-c.h"
#include "store.h"

#include <stdint.h>

typedef enum { IDENTITY_NEW = 0, IDENTITY_SAME, IDENTITY_POSSIBLE } identity_verdict_t;

typedef struct {
    identity_verdict_t verdict;
    uint64_t person_id; /* SAME: the person; POSSIBLE: the candidate; NEW: 0 */
    char code[40];      /* POSSIBLE: why, a stable Reason code */
} identity_result_t;

/* P must be valid (validate.h).  Returns 0 or a store error (ENOMEM when
 * a name cannot be normalised). */
int identity_match(store_txn_t *t, const Relais__V1__Person *p, identity_result_t *out);
/* Makes PERSON_ID findable by P's keys. */
int identity_index(store_txn_t *t, uint64_t person_id, const Relais__V1__Person *p);

#endif
