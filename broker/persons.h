/*  persons — the one way personal data goes into and out of the store.
 *
 *  A young person's identity and contact fields (relais.v1.Person) live in
 *  the `persons` database, sealed (seal.h) in PersonRecord.sealed_person
 *  with the record's key as associated data; a referral's notes and
 *  referrer in ReferralRecord.sealed_details.  Every reader and writer goes
 *  through here, so no module ever handles the sealed bytes or forgets to
 *  seal.  Records written before sealing (clear `person`, clear notes) are
 *  still read, and sealed the next time they are written.
 *
 *  Errors: 0, MDB_NOTFOUND (no such person), EINVAL (no data key loaded:
 *  datakey.h), EBADMSG (a sealed field that does not open: wrong data.key
 *  or altered record), ENOMEM, or another store code.
 *  Cost: one LMDB read or write and one XChaCha20-Poly1305 pass.
 */
#ifndef RELAIS_PERSONS_H
#define RELAIS_PERSONS_H

#include "relais_store.pb-c.h"
#include "store.h"

#include <stdint.h>

/* Person ID with its Person opened in memory: (*OUT)->person, NULL when
 * the person's data was erased.  Free with
 * relais__store__person_record__free_unpacked(*out, NULL). */
int persons_get(store_txn_t *t, uint64_t id, Relais__Store__PersonRecord **out);
/* The same from a raw `persons` value (a scan). */
int persons_decode(const MDB_val *key, const MDB_val *val, Relais__Store__PersonRecord **out);
/* Writes REC (key REC->id): REC->person sealed, never stored in clear;
 * a NULL person stores none (erased).  REC is not changed. */
int persons_put(store_txn_t *t, const Relais__Store__PersonRecord *rec);

/* A new person record (the next person id in *ID) holding P, sealed. */
int persons_create(store_txn_t *t, const Relais__V1__Person *p, uint64_t *id);

/* A referral's notes and referrer, sealed into OUT (data malloc'd) under
 * the referral's key KEY. */
int persons_seal_details(const void *key, size_t klen, const char *notes,
                         const char *referrer_name, const char *referrer_email,
                         ProtobufCBinaryData *out);
/* REC's notes and referrer (REC read under KEY): opened from
 * sealed_details, or its clear fields for a record written before
 * sealing.  Free with relais__store__referral_details__free_unpacked. */
int persons_open_details(const void *key, size_t klen, const Relais__Store__ReferralRecord *rec,
                         Relais__Store__ReferralDetails **out);

/* A merged referral's own person data (ReferralRecord.sealed_person),
 * sealed under the referral's key KEY / opened into *OUT (NULL when the
 * record holds none; free with relais__v1__person__free_unpacked). */
int persons_seal_merged(const void *key, size_t klen, const Relais__V1__Person *p,
                        ProtobufCBinaryData *out);
int persons_open_merged(const void *key, size_t klen, const Relais__Store__ReferralRecord *rec,
                        Relais__V1__Person **out);

#endif
