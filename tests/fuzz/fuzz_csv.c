/*  fuzz_csv — libFuzzer target: the partner CSV reader on arbitrary bytes.
 *
 *  Partner files come from spreadsheets and hand edits: anything can be in
 *  them.  csv_reader_read_buffer reads the input as a whole file; the row
 *  callback then touches EVERY field of the Referral it is handed (strlen
 *  on each string, each enum and number read and checked), so that a
 *  dangling, unterminated or NULL pointer in what the reader builds is
 *  caught by ASan here, not by the agent in production.  The callback also
 *  checks the header's promise: exactly one of referral and error.
 *
 *  Seeds: tests/fuzz/corpus/csv/ (the head of deploy/samples/referrals.csv,
 *  ';' exports with a BOM, quoted cells, bad rows).
 */
#include "csv_reader.h"
#include "vocab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sum of lengths: used so the compiler cannot drop the reads. */
static volatile size_t g_sink;

static size_t s_touch(const char *s)
{
    if (!s)
        abort(); /* the reader promises protobuf-style strings: never NULL */
    return strlen(s);
}

static int s_on_row(void *arg, size_t line, const char *partner_ref, const Relais__V1__Referral *r,
                    const char *error)
{
    (void)arg;
    if ((r == NULL) == (error == NULL) || !partner_ref || line < 1)
        abort();
    size_t n = s_touch(partner_ref);
    if (error) {
        g_sink += n + s_touch(error);
        return 0;
    }
    const Relais__V1__Person *p = r->person;
    if (!p)
        abort();
    n += s_touch(r->partner_ref) + s_touch(r->referrer_name) + s_touch(r->referrer_email) +
         s_touch(r->notes) + s_touch(r->referred_on);
    n += s_touch(p->last_name) + s_touch(p->first_names) + s_touch(p->birth_date) +
         s_touch(p->sex) + s_touch(p->phone) + s_touch(p->email) + s_touch(p->postcode) +
         s_touch(p->city) + s_touch(p->quartier) + s_touch(p->ine);
    /* The reader maps words to enum values: only known ones may come out. */
    if (r->n_benefits > VOCAB_BENEFIT_COUNT || r->n_needs > VOCAB_NEED_COUNT)
        abort();
    for (size_t i = 0; i < r->n_benefits; i++)
        if ((int)r->benefits[i] < 1 || (int)r->benefits[i] >= VOCAB_BENEFIT_COUNT)
            abort();
    for (size_t i = 0; i < r->n_needs; i++)
        if ((int)r->needs[i] < 1 || (int)r->needs[i] >= VOCAB_NEED_COUNT)
            abort();
    n += r->resources_eur_month + (size_t)r->consent;
    /* And the message must serialise, as the agent will send it. */
    size_t len = relais__v1__referral__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    relais__v1__referral__pack(r, buf);
    free(buf);
    g_sink += n + len;
    return 0;
}

static void s_on_warn(void *arg, const char *warning)
{
    (void)arg;
    g_sink += s_touch(warning);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    /* A private copy of exactly SIZE bytes: ASan then flags any read past
     * the end (the buffer is not NUL-terminated, as the header allows). */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    int rc = csv_reader_read_buffer(buf, size, s_on_row, s_on_warn, NULL, err, sizeof err);
    if (rc == -1 && (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0'))
        abort(); /* a refused file must say why */
    if (rc != 0 && rc != -1)
        abort(); /* our callback never stops the reader */
    free(buf);
    return 0;
}
