/*  persons — sealed person records and referral details.  See persons.h. */
#include "persons.h"

#include "seal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int persons_decode(const MDB_val *key, const MDB_val *val, Relais__Store__PersonRecord **out)
{
    Relais__Store__PersonRecord *rec =
        relais__store__person_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!rec)
        return EBADMSG;
    if (rec->sealed_person.len) {
        Relais__V1__Person *p = NULL;
        int rc = seal_open_msg(key->mv_data, key->mv_size, rec->sealed_person.data,
                               rec->sealed_person.len, &relais__v1__person__descriptor,
                               (ProtobufCMessage **)&p);
        if (rc != 0) {
            relais__store__person_record__free_unpacked(rec, NULL);
            return rc;
        }
        if (rec->person)
            relais__v1__person__free_unpacked(rec->person, NULL);
        rec->person = p;
    }
    *out = rec;
    return 0;
}

int persons_get(store_txn_t *t, uint64_t id, Relais__Store__PersonRecord **out)
{
    unsigned char k[8];
    MDB_val key = {8, k}, val;
    store_u64_encode(id, k);
    int rc = store_get(t, STORE_PERSONS, k, 8, &val);
    return rc != 0 ? rc : persons_decode(&key, &val, out);
}

int persons_put(store_txn_t *t, const Relais__Store__PersonRecord *rec)
{
    unsigned char k[8];
    Relais__Store__PersonRecord copy = *rec;
    store_u64_encode(rec->id, k);
    copy.person = NULL;
    copy.sealed_person.len = 0;
    copy.sealed_person.data = NULL;
    int rc = 0;
    if (rec->person && (rc = seal_msg(k, 8, &rec->person->base, &copy.sealed_person)) != 0)
        return rc;
    rc = store_put_msg(t, STORE_PERSONS, k, 8, &copy.base);
    free(copy.sealed_person.data);
    return rc;
}

int persons_seal_details(const void *key, size_t klen, const char *notes,
                         const char *referrer_name, const char *referrer_email,
                         ProtobufCBinaryData *out)
{
    Relais__Store__ReferralDetails d = RELAIS__STORE__REFERRAL_DETAILS__INIT;
    d.notes = (char *)notes;
    d.referrer_name = (char *)referrer_name;
    d.referrer_email = (char *)referrer_email;
    return seal_msg(key, klen, &d.base, out);
}

int persons_open_details(const void *key, size_t klen, const Relais__Store__ReferralRecord *rec,
                         Relais__Store__ReferralDetails **out)
{
    if (rec->sealed_details.len)
        return seal_open_msg(key, klen, rec->sealed_details.data, rec->sealed_details.len,
                             &relais__store__referral_details__descriptor,
                             (ProtobufCMessage **)out);
    Relais__Store__ReferralDetails *d = malloc(sizeof *d);
    if (!d)
        return ENOMEM;
    relais__store__referral_details__init(d);
    d->notes = strdup(rec->notes);
    d->referrer_name = strdup(rec->referrer_name);
    d->referrer_email = strdup(rec->referrer_email);
    if (!d->notes || !d->referrer_name || !d->referrer_email) {
        relais__store__referral_details__free_unpacked(d, NULL);
        return ENOMEM;
    }
    *out = d;
    return 0;
}

int persons_seal_merged(const void *key, size_t klen, const Relais__V1__Person *p,
                        ProtobufCBinaryData *out)
{
    return seal_msg(key, klen, &p->base, out);
}

int persons_open_merged(const void *key, size_t klen, const Relais__Store__ReferralRecord *rec,
                        Relais__V1__Person **out)
{
    *out = NULL;
    if (!rec->sealed_person.len)
        return 0;
    return seal_open_msg(key, klen, rec->sealed_person.data, rec->sealed_person.len,
                         &relais__v1__person__descriptor, (ProtobufCMessage **)out);
}

int persons_create(store_txn_t *t, const Relais__V1__Person *p, uint64_t *id)
{
    int rc = store_counter_next(t, "next:person", id);
    if (rc != 0)
        return rc;
    Relais__Store__PersonRecord rec = RELAIS__STORE__PERSON_RECORD__INIT;
    rec.id = *id;
    rec.person = (Relais__V1__Person *)p;
    return persons_put(t, &rec);
}
