/*  audit — appending audit records, and printing them for relais-admin.
 *  The guarantees are in audit.h.
 *
 *  Output formats:
 *    text: one line per record,
 *      SEQ  AT  IDENTITY  ENDPOINT  KIND  case=C  ref=R  OUTCOME  CODE  [structure=S]  key=K
 *    --json: one JSON document, {"records": [{...}, ...]} with the
 *      record's fields ("seq", "at" as ISO 8601 UTC, then as named in
 *      relais_store.proto), and for access-report also "person_cases".
 */
#include "audit.h"
#include "errbuf.h"

#include "clock.h"
#include "date.h"
#include "relais_store.pb-c.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_SEQ_COUNTER "audit:seq"

static char *s_str(const char *s)
{
    return (char *)(s ? s : "");
}

int audit_append(store_txn_t *t, int64_t at, const audit_entry_t *e)
{
    Relais__Store__AuditRecord rec = RELAIS__STORE__AUDIT_RECORD__INIT;
    rec.at = at;
    rec.identity = s_str(e->identity);
    rec.key = s_str(e->key);
    rec.endpoint = s_str(e->endpoint);
    rec.kind = s_str(e->kind);
    rec.case_id = s_str(e->case_id);
    rec.partner_ref = s_str(e->partner_ref);
    rec.outcome = s_str(e->outcome);
    rec.code = s_str(e->code);
    rec.structure_id = s_str(e->structure_id);
    rec.reason = s_str(e->reason);
    uint64_t seq;
    int rc = store_counter_next(t, S_SEQ_COUNTER, &seq);
    if (rc != 0)
        return rc;
    unsigned char key[8];
    store_u64_encode(seq, key);
    size_t len = relais__store__audit_record__get_packed_size(&rec);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ENOMEM;
    relais__store__audit_record__pack(&rec, buf);
    /* MDB_APPEND: the sequence only grows, so every record goes at the
     * end; LMDB refuses (MDB_KEYEXIST) anything that would not. */
    rc = store_put(t, STORE_AUDIT, key, 8, buf, len, MDB_APPEND);
    free(buf);
    return rc;
}

/* ---- readers -------------------------------------------------------- */

typedef struct {
    FILE *out;
    bool json;
    json_t *records;     /* --json */
    const char *case_id; /* filter, NULL: any */
    char **case_ids;     /* filter: any of these (access-report) */
    size_t n_case_ids;
    int64_t since;
    size_t count;
    int rc;
} s_scan_t;

static bool s_wanted(const s_scan_t *s, const Relais__Store__AuditRecord *r)
{
    if (r->at < s->since)
        return false;
    if (s->case_id && strcmp(r->case_id, s->case_id) != 0)
        return false;
    if (s->case_ids) {
        for (size_t i = 0; i < s->n_case_ids; i++)
            if (strcmp(r->case_id, s->case_ids[i]) == 0)
                return true;
        return false;
    }
    return true;
}

/* Ids never hold control characters, but the log is read by people on a
 * terminal: print them as '?' rather than trust that. */
static void s_put(FILE *out, const char *s)
{
    if (!*s) {
        fputc('-', out);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

static int s_each(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_scan_t *s = arg;
    Relais__Store__AuditRecord *r =
        relais__store__audit_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!r) {
        s->rc = EINVAL;
        return 1;
    }
    if (s_wanted(s, r)) {
        uint64_t seq = key->mv_size == 8 ? store_u64_decode(key->mv_data) : 0;
        char at[21];
        clock_format(r->at, at);
        s->count++;
        if (s->json) {
            json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq",
                                  (json_int_t)seq, "at", at, "identity", r->identity, "key",
                                  r->key, "endpoint", r->endpoint, "kind", r->kind, "case_id",
                                  r->case_id, "partner_ref", r->partner_ref, "outcome",
                                  r->outcome, "code", r->code, "structure_id", r->structure_id);
            if (!o || json_array_append_new(s->records, o) != 0)
                s->rc = ENOMEM;
        } else {
            fprintf(s->out, "%-6llu %s  ", (unsigned long long)seq, at);
            s_put(s->out, r->identity);
            fputs("  ", s->out);
            s_put(s->out, r->endpoint);
            fputs("  ", s->out);
            s_put(s->out, r->kind);
            fputs("  case=", s->out);
            s_put(s->out, r->case_id);
            fputs("  ref=", s->out);
            s_put(s->out, r->partner_ref);
            fputs("  ", s->out);
            s_put(s->out, r->outcome);
            fputs("  ", s->out);
            s_put(s->out, r->code);
            if (*r->structure_id) {
                fputs("  structure=", s->out);
                s_put(s->out, r->structure_id);
            }
            fputs("  key=", s->out);
            s_put(s->out, r->key);
            fputc('\n', s->out);
        }
    }
    relais__store__audit_record__free_unpacked(r, NULL);
    return s->rc != 0;
}

/* Scans the whole log of T through S; prints the JSON document (with
 * EXTRA's members; EXTRA is taken, may be NULL) at the end.  0 or -1
 * with ERR. */
static int s_scan(store_txn_t *t, s_scan_t *s, json_t *extra, char *err, size_t errlen)
{
    if (s->json && !(s->records = json_array())) {
        json_decref(extra);
        return errbuf_set(err, errlen, "out of memory");
    }
    int rc = store_scan(t, STORE_AUDIT, "", 0, NULL, 0, s_each, s);
    if (rc == 0)
        rc = s->rc;
    if (rc != 0) {
        json_decref(s->records);
        json_decref(extra);
        return errbuf_set(err, errlen, "cannot read the audit log: %s",
                      rc == EINVAL ? "a record is unreadable" : store_strerror(rc));
    }
    if (s->json) {
        json_t *doc = extra ? extra : json_object();
        json_object_set_new(doc, "records", s->records);
        json_object_set_new(doc, "count", json_integer((json_int_t)s->count));
        int w = json_dumpf(doc, s->out, JSON_COMPACT);
        fputc('\n', s->out);
        json_decref(doc);
        if (w != 0)
            return errbuf_set(err, errlen, "cannot write the output");
    } else {
        fprintf(s->out, "%zu record(s)\n", s->count);
    }
    return 0;
}

int audit_print(const char *store_dir, FILE *out, bool json, const char *case_id,
                const char *since, size_t *count, char *err, size_t errlen)
{
    s_scan_t s = {.out = out, .json = json, .case_id = case_id && *case_id ? case_id : NULL};
    if (since) {
        date_t d;
        if (!date_parse_any(since, &d))
            return errbuf_set(err, errlen, "--since '%s' is not a day (YYYY-MM-DD)", since);
        s.since = date_to_days(d) * 86400;
    } else {
        s.since = INT64_MIN;
    }
    store_txn_t t;
    store_t *store = store_open_reader(store_dir, &t, err, errlen);
    if (!store)
        return -1;
    int rc = s_scan(&t, &s, NULL, err, errlen);
    store_abort(&t);
    store_close(&store);
    if (count)
        *count = s.count;
    return rc;
}

int audit_access_report(const char *store_dir, FILE *out, bool json, const char *case_id,
                        size_t *count, char *err, size_t errlen)
{
    Relais__Store__CaseRecord *c = NULL;
    Relais__Store__PersonRecord *p = NULL;
    json_t *extra = NULL;
    int rc = -1;
    store_txn_t t;
    store_t *store = store_open_reader(store_dir, &t, err, errlen);
    if (!store)
        return -1;
    int lrc = store_get_msg(&t, STORE_CASES, case_id, strlen(case_id),
                            &relais__store__case_record__descriptor, (ProtobufCMessage **)&c);
    if (lrc != 0) {
        errbuf_set(err, errlen, "case %s: %s", case_id,
               lrc == MDB_NOTFOUND ? "no such case" : store_strerror(lrc));
        goto done;
    }
    unsigned char pkey[8];
    store_u64_encode(c->person_id, pkey);
    lrc = store_get_msg(&t, STORE_PERSONS, pkey, 8, &relais__store__person_record__descriptor,
                        (ProtobufCMessage **)&p);
    if (lrc != 0 && lrc != MDB_NOTFOUND) {
        errbuf_set(err, errlen, "case %s: %s", case_id, store_strerror(lrc));
        goto done;
    }
    /* Every case of the person; when the person record is gone (erased),
     * at least the case asked about. */
    char *only[1] = {(char *)case_id};
    s_scan_t s = {.out = out, .json = json, .since = INT64_MIN, .case_ids = only,
                  .n_case_ids = 1};
    if (p && p->n_case_ids) {
        s.case_ids = p->case_ids;
        s.n_case_ids = p->n_case_ids;
    }
    if (json) {
        json_t *cases = json_array();
        if (!(extra = json_object()) || !cases) {
            json_decref(cases);
            errbuf_set(err, errlen, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < s.n_case_ids; i++)
            json_array_append_new(cases, json_string(s.case_ids[i]));
        json_object_set_new(extra, "person_cases", cases);
    } else {
        fprintf(out, "Access report for the young person of case %s (cases:", case_id);
        for (size_t i = 0; i < s.n_case_ids; i++)
            fprintf(out, " %s", s.case_ids[i]);
        fprintf(out, "): who saw or changed their record, and when\n");
    }
    rc = s_scan(&t, &s, extra, err, errlen);
    extra = NULL; /* s_scan took it */
    if (count)
        *count = s.count;
done:
    json_decref(extra);
    if (c)
        relais__store__case_record__free_unpacked(c, NULL);
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    store_abort(&t);
    store_close(&store);
    return rc;
}
