/*  identity — first-version matcher: exact normalised keys.  See
 *  identity.h for the rules and why conflicts go to a human. */
#include "identity.h"

#include "normalize.h"
#include "relais_store.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDENTITY_KEY_MAX 400 /* well above VALIDATE_MAX_NAME * 2 + a date */

/* "n:" last | first given name | birth date.  Returns the length, 0 on
 * failure (invalid UTF-8 or no memory: validation makes both unlikely). */
static size_t s_name_key(const Relais__V1__Person *p, char *out, size_t outlen)
{
    size_t len = 0;
    char *last = normalize_name(p->last_name);
    char *first = normalize_name(p->first_names);
    char token[128];
    if (last && first) {
        normalize_first_token(first, token, sizeof token);
        int n = snprintf(out, outlen, "n:%s|%s|%s", last, token, p->birth_date);
        if (n > 0 && (size_t)n < outlen)
            len = (size_t)n;
    }
    free(last);
    free(first);
    return len;
}

/* "i:" INE, upper-cased; 0 when the person has none. */
static size_t s_ine_key(const Relais__V1__Person *p, char *out, size_t outlen)
{
    if (!p->ine || !*p->ine)
        return 0;
    int n = snprintf(out, outlen, "i:%s", p->ine);
    if (n <= 0 || (size_t)n >= outlen)
        return 0;
    for (char *c = out + 2; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return (size_t)n;
}

/* The first person id under KEY; 0 when none. */
static int s_lookup(store_txn_t *t, const char *key, size_t klen, uint64_t *out)
{
    MDB_val v;
    *out = 0;
    if (!klen)
        return 0;
    int rc = store_get(t, STORE_IDENTITY, key, klen, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = store_u64_decode(v.mv_data);
    return 0;
}

/* Does known person ID carry an INE different from INE? */
static int s_ine_differs(store_txn_t *t, uint64_t id, const char *ine, int *differs)
{
    unsigned char key[8];
    Relais__Store__PersonRecord *rec = NULL;
    *differs = 0;
    if (!ine || !*ine)
        return 0;
    store_u64_encode(id, key);
    int rc = store_get_msg(t, STORE_PERSONS, key, 8, &relais__store__person_record__descriptor,
                           (ProtobufCMessage **)&rec);
    if (rc != 0)
        return rc;
    if (rec->person && rec->person->ine && *rec->person->ine)
        *differs = strcasecmp(rec->person->ine, ine) != 0;
    relais__store__person_record__free_unpacked(rec, NULL);
    return 0;
}

static void s_possible(identity_result_t *out, uint64_t id, const char *code)
{
    out->verdict = IDENTITY_POSSIBLE;
    out->person_id = id;
    snprintf(out->code, sizeof out->code, "%s", code);
}

int identity_match(store_txn_t *t, const Relais__V1__Person *p, identity_result_t *out)
{
    char nkey[IDENTITY_KEY_MAX], ikey[IDENTITY_KEY_MAX];
    uint64_t by_name = 0, by_ine = 0;
    memset(out, 0, sizeof *out);
    size_t nlen = s_name_key(p, nkey, sizeof nkey);
    if (!nlen)
        return ENOMEM;
    size_t ilen = s_ine_key(p, ikey, sizeof ikey);
    int rc = s_lookup(t, nkey, nlen, &by_name);
    if (rc == 0)
        rc = s_lookup(t, ikey, ilen, &by_ine);
    if (rc != 0)
        return rc;

    if (by_name && by_ine) {
        if (by_name == by_ine) {
            out->verdict = IDENTITY_SAME;
            out->person_id = by_name;
        } else {
            s_possible(out, by_name, "ine_conflict");
        }
    } else if (by_name) {
        int differs;
        if ((rc = s_ine_differs(t, by_name, p->ine, &differs)) != 0)
            return rc;
        if (differs) {
            s_possible(out, by_name, "ine_conflict");
        } else {
            out->verdict = IDENTITY_SAME;
            out->person_id = by_name;
        }
    } else if (by_ine) {
        s_possible(out, by_ine, "same_ine");
    }
    return 0;
}

int identity_index(store_txn_t *t, uint64_t person_id, const Relais__V1__Person *p)
{
    char nkey[IDENTITY_KEY_MAX], ikey[IDENTITY_KEY_MAX];
    unsigned char id[8];
    store_u64_encode(person_id, id);
    size_t nlen = s_name_key(p, nkey, sizeof nkey);
    if (!nlen)
        return ENOMEM;
    int rc = store_put(t, STORE_IDENTITY, nkey, nlen, id, 8, 0);
    size_t ilen = s_ine_key(p, ikey, sizeof ikey);
    if (rc == 0 && ilen)
        rc = store_put(t, STORE_IDENTITY, ikey, ilen, id, 8, 0);
    return rc;
}
