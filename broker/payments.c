/*  payments — one month's allowance payments, read from the case records.
 *  See payments.h for the contract.
 *
 *  The month's due of each contract is allowance_month_due, the very
 *  function allowance_total sums to make the contract's commitment (the
 *  broker calls it at signature and again when a close shortens the
 *  contract): the payments and the budget cannot drift apart, and the unit
 *  test checks the sums month by month against the commitments.
 *
 *  Cases are read in key order (case ids are zero-padded, so that is their
 *  creation order); JSON is built as a jansson document, text and CSV are
 *  written line by line as the scan goes.
 */
#include "payments.h"
#include "errbuf.h"

#include "allowance.h"
#include "date.h"
#include "relais_store.pb-c.h"
#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int year, month;
    uint32_t allowance_eur;
    payments_format_t format;
    FILE *out;
    json_t *list; /* JSON: the payment lines */
    payments_total_t total;
    size_t unreadable; /* contracts whose dates do not parse: reported */
    int rc;
} s_scan_t;

/* "1234.56" (amounts here are never negative). */
static const char *s_eur(int64_t cents, char buf[32])
{
    snprintf(buf, 32, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
    return buf;
}

int payments_parse_month(const char *s, int *year, int *month)
{
    char day[11];
    date_t d;
    /* "YYYY-MM" and nothing else: made a day to reuse the strict parser. */
    if (!s || strlen(s) != 7)
        return -1;
    snprintf(day, sizeof day, "%s-01", s);
    if (!date_parse_iso(day, &d))
        return -1;
    *year = d.year;
    *month = d.month;
    return 0;
}

static int s_case_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_scan_t *s = arg;
    Relais__Store__CaseRecord *c =
        relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!c) {
        s->rc = MDB_CORRUPTED;
        return 1;
    }
    date_t start, end;
    if (!*c->contract_on)
        goto done;
    if (!date_parse_iso(c->contract_on, &start) || !date_parse_iso(c->contract_end, &end)) {
        s->unreadable++; /* relais-admin verify names it */
        goto done;
    }
    int64_t due = allowance_month_due(start, end, s->year, s->month, s->allowance_eur);
    if (due <= 0)
        goto done;
    s->total.contracts++;
    s->total.total_cents += due;
    char eur[32];
    if (s->format == PAYMENTS_JSON && s->list) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "case_id", c->case_id, "structure_id",
                              c->structure_id, "contract_start", c->contract_on, "contract_end",
                              c->contract_end, "due_cents", (json_int_t)due);
        if (!o || json_array_append_new(s->list, o) != 0)
            s->rc = ENOMEM;
    } else if (s->format == PAYMENTS_CSV && s->out) {
        /* Ids are [A-Z0-9-] and dates ISO: nothing to quote. */
        fprintf(s->out, "%s,%s,%s,%s,%s\n", c->case_id, c->structure_id, c->contract_on,
                c->contract_end, s_eur(due, eur));
    } else if (s->out) {
        fprintf(s->out, "%-10s %-20s %-10s  %-10s  %12s\n", c->case_id, c->structure_id,
                c->contract_on, c->contract_end, s_eur(due, eur));
    }
done:
    relais__store__case_record__free_unpacked(c, NULL);
    return s->rc != 0;
}

int payments_month(const char *store_dir, const config_t *cfg, int year, int month, FILE *out,
                   payments_format_t format, payments_total_t *total, char *err, size_t errlen)
{
    s_scan_t s = {.year = year,
                  .month = month,
                  .allowance_eur = cfg->allowance_eur,
                  .format = format,
                  .out = out};
    store_txn_t t = {0};
    json_t *doc = NULL;
    int status = -1, rc;
    char eur[32];
    if (total)
        memset(total, 0, sizeof *total);
    if (month < 1 || month > 12 || year < 1 || year > 9999)
        return errbuf_set(err, errlen, "bad month %04d-%02d", year, month);
    /* Map size 0: the one the broker recorded (see admin.c). */
    store_t *store = store_open(store_dir, 0, true, err, errlen);
    if (!store)
        return -1;
    if (format == PAYMENTS_JSON && !(s.list = json_array())) {
        errbuf_set(err, errlen, "out of memory");
        goto cleanup;
    }
    if (out && format == PAYMENTS_CSV)
        fprintf(out, "case_id,structure_id,contract_start,contract_end,due_eur\n");
    else if (out && format == PAYMENTS_TEXT)
        fprintf(out,
                "allowances due for %04d-%02d (%u EUR a month, prorated by days)\n"
                "%-10s %-20s %-10s  %-10s  %12s\n",
                year, month, cfg->allowance_eur, "case", "structure", "start", "end", "due EUR");
    if ((rc = store_begin(store, false, NULL, &t)) != 0 ||
        (rc = store_scan(&t, STORE_CASES, "", 0, NULL, 0, s_case_one, &s)) != 0 ||
        (rc = s.rc) != 0) {
        errbuf_set(err, errlen, "cannot read store %s: %s", store_dir,
               rc == ENOMEM ? "out of memory" : store_strerror(rc));
        goto cleanup;
    }
    status = 0;
    if (out && format == PAYMENTS_JSON) {
        char m[8];
        snprintf(m, sizeof m, "%04d-%02d", year, month);
        doc =
            json_pack("{s:s, s:I, s:I, s:I, s:O}", "month", m, "contracts",
                      (json_int_t)s.total.contracts, "total_cents", (json_int_t)s.total.total_cents,
                      "unreadable_contracts", (json_int_t)s.unreadable, "payments", s.list);
        if (!doc || json_dumpf(doc, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF)
            status = errbuf_set(err, errlen, "cannot write the payments");
    } else if (out && format == PAYMENTS_TEXT) {
        fprintf(out, "total %04d-%02d: %zu contract%s, %s EUR\n", year, month, s.total.contracts,
                s.total.contracts == 1 ? "" : "s", s_eur(s.total.total_cents, eur));
    }
    if (s.unreadable && out && format != PAYMENTS_JSON)
        fprintf(stderr,
                "relais-admin: warning: %zu contract%s with unreadable dates left out "
                "(check with: relais-admin verify)\n",
                s.unreadable, s.unreadable == 1 ? "" : "s");
    if (total)
        *total = s.total;
cleanup:
    json_decref(doc);
    json_decref(s.list);
    store_abort(&t);
    store_close(&store);
    return status;
}
