/*  csv_reader — partner CSV files as Referral messages.  See csv_reader.h.
 *
 *  A partner's export goes through three stages, in one pass, with memory
 *  bounded by one row whatever the size of the file:
 *
 *   1. the BOM stage drops a leading UTF-8 byte order mark;
 *   2. the sniff stage holds back the header line (up to its first line end
 *      outside quotes) and counts ',' and ';' outside quotes in it to pick
 *      the delimiter: libcsv must know the delimiter before it parses the
 *      header, so the header is read twice (once here, once by libcsv);
 *   3. the parse stage hands bytes to libcsv, which calls s_on_cell for
 *      each cell and s_on_record at each record end.  The first record is
 *      the header (it maps cell positions to columns); every later record
 *      is checked and built into a Referral for the caller's callback.
 *
 *  Line numbers.  libcsv does not count lines, so the parse stage does.
 *  Outside a record it skips blanks and line ends itself (libcsv ignores
 *  them there anyway), and the first other byte opens a record on the
 *  current line.  Inside a record it feeds libcsv one physical line at a
 *  time, up to and including the next CR or LF: a record can then only end
 *  on the last byte of a feed, and a newline inside a quoted cell merely
 *  moves the counter on.  Cost: one csv_parse call per line.
 *
 *  Memory.  libcsv buffers the cell it is reading; its realloc is capped
 *  (s_capped_realloc) so that an unterminated quote cannot make it swallow
 *  the rest of the file: it then fails with CSV_ENOMEM, the row is
 *  reported, a fresh parser is started, and the rest of the record is
 *  skipped, following quotes (so a long quoted cell with line ends in it
 *  does not turn into one bogus row per line; an unterminated quote still
 *  takes the rest of the file, as RFC 4180 reads it, with one error).
 *  Only the cells of known columns are copied, into one arena reused from
 *  row to row (at most C_COUNT cells of CSV_READER_CELL_MAX bytes).
 *
 *  libcsv runs in its lenient mode (no CSV_STRICT): a stray quote in the
 *  middle of an unquoted cell (5" screen) is kept as text rather than
 *  failing the whole file, which is what spreadsheet users expect.
 */
#include "csv_reader.h"

#include "date.h"
#include "vocab.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

/* libcsv grows its cell buffer by this much at a time, up to the cap.  The
 * slack above CSV_READER_CELL_MAX leaves room for the blanks libcsv keeps
 * provisionally around a cell before trimming it. */
#define S_BLOCK      4096
#define S_LIBCSV_CAP (CSV_READER_CELL_MAX + S_BLOCK)
/* Longest word echoed back in an error message. */
#define S_ECHO_MAX 32

/* The columns of PROTOCOL.md, in its order: also the order in which
 * s_build looks for a row's problems (problems of a cell itself, bad UTF-8
 * or too long, are found first, as the cells arrive). */
typedef enum {
    C_PARTNER_REF,
    C_LAST_NAME,
    C_FIRST_NAMES,
    C_BIRTH_DATE,
    C_SEX,
    C_PHONE,
    C_EMAIL,
    C_POSTCODE,
    C_CITY,
    C_QUARTIER,
    C_INE,
    C_BENEFITS,
    C_RESOURCES,
    C_NEEDS,
    C_CONSENT,
    C_REFERRER_NAME,
    C_REFERRER_EMAIL,
    C_NOTES,
    C_REFERRED_ON,
    C_COUNT
} s_column_t;

static const struct {
    const char *name;
    bool required;
} s_columns[C_COUNT] = {
    [C_PARTNER_REF] = {"partner_ref", true},
    [C_LAST_NAME] = {"last_name", true},
    [C_FIRST_NAMES] = {"first_names", true},
    [C_BIRTH_DATE] = {"birth_date", true},
    [C_SEX] = {"sex", false},
    [C_PHONE] = {"phone", false},
    [C_EMAIL] = {"email", false},
    [C_POSTCODE] = {"postcode", false},
    [C_CITY] = {"city", false},
    [C_QUARTIER] = {"quartier", false},
    [C_INE] = {"ine", false},
    [C_BENEFITS] = {"benefits", false},
    [C_RESOURCES] = {"resources_eur_month", false},
    [C_NEEDS] = {"needs", false},
    [C_CONSENT] = {"consent", true},
    [C_REFERRER_NAME] = {"referrer_name", false},
    [C_REFERRER_EMAIL] = {"referrer_email", false},
    [C_NOTES] = {"notes", false},
    [C_REFERRED_ON] = {"referred_on", false},
};

typedef enum { S_PHASE_BOM, S_PHASE_SNIFF, S_PHASE_PARSE } s_phase_t;

typedef struct {
    csv_row_fn on_row;
    csv_warn_fn on_warn;
    void *arg;
    char *err;
    size_t errlen;
    int status; /* 0 going on, 1 stopped by the callback, -1 failed */

    struct csv_parser parser;
    bool parser_live;
    s_phase_t phase;
    size_t bom_pos; /* bytes of the BOM matched so far */

    /* Sniff stage: the held-back header line and its delimiter counts. */
    char *sniff;
    size_t sniff_len, sniff_cap;
    bool sniff_quoted, sniff_content;
    size_t n_comma, n_semicolon;

    /* Parse stage: where we are in the file. */
    size_t line;     /* physical line of the next byte, from 1 */
    bool after_cr;   /* the last line-end byte seen was a CR (CRLF counts once) */
    size_t rec_line; /* line on which the open record started */
    bool in_record;
    bool skipping;    /* after a cell too long: dropping the rest of the record */
    bool skip_quoted; /* ...and inside quotes */

    /* The header: which column each cell position holds (-1: ignored). */
    bool header_done;
    size_t header_cells;
    signed char colmap[CSV_READER_CELLS_MAX];

    /* The current row.  OFF[c] is valid when PRESENT[c]. */
    size_t ncells;
    bool any_nonempty;
    char row_err[256];
    char *arena;
    size_t arena_len, arena_cap;
    size_t off[C_COUNT];
    bool present[C_COUNT];

    /* The message handed to the callback, and the storage it points to. */
    Relais__V1__Referral ref;
    Relais__V1__Person person;
    Relais__V1__Benefit benefits[VOCAB_BENEFIT_COUNT];
    Relais__V1__Need needs[VOCAB_NEED_COUNT];
    char birth_date[11];
    char referred_on[11];
} s_reader_t;

static void s_on_cell(void *data, size_t len, void *ctx);
static void s_on_record(int c, void *ctx);

/* ---- errors -------------------------------------------------------------- */

/* The whole file fails; the first reason is kept. */
__attribute__((format(printf, 2, 3))) static void s_fail(s_reader_t *s, const char *fmt, ...)
{
    if (s->status == -1)
        return;
    s->status = -1;
    if (s->err && s->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
    }
}

/* The current row fails; the first reason is kept, later cells are still
 * consumed so the next row starts in the right place. */
__attribute__((format(printf, 2, 3))) static void s_row_fail(s_reader_t *s, const char *fmt, ...)
{
    if (s->row_err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->row_err, sizeof s->row_err, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void s_warn(s_reader_t *s, const char *fmt, ...)
{
    if (!s->on_warn)
        return;
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->on_warn(s->arg, msg);
}

/* How many of the LEN bytes at S to echo in a message: at most S_ECHO_MAX,
 * cut on a character boundary so the message stays valid UTF-8. */
static int s_echo_len(const char *s, size_t len)
{
    if (len <= S_ECHO_MAX)
        return (int)len;
    size_t n = S_ECHO_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/* ---- cells --------------------------------------------------------------- */

static bool s_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void s_trim(const char **p, size_t *len)
{
    while (*len > 0 && s_is_blank(**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && s_is_blank((*p)[*len - 1]))
        (*len)--;
}

/* Valid UTF-8 and no control characters but tab, CR and LF (a NUL would cut
 * the C string short; the others have no business in a referral). */
static bool s_utf8_ok(const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    while (len > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)len, &cp);
        if (n <= 0 || cp < 0)
            return false;
        bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
        if (control && cp != '\t' && cp != '\r' && cp != '\n')
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The NUL-terminated cell of column COL in the current row; "" when the row
 * has no such cell. */
static char *s_cell(const s_reader_t *s, s_column_t col)
{
    return s->present[col] ? s->arena + s->off[col] : (char *)protobuf_c_empty_string;
}

/* Copies a cell into the row arena.  The arena grows to the largest row
 * seen and is reused: at most C_COUNT * (CSV_READER_CELL_MAX + 1) bytes. */
static int s_arena_put(s_reader_t *s, s_column_t col, const char *p, size_t len)
{
    if (s->arena_cap - s->arena_len < len + 1) {
        size_t cap = s->arena_cap ? s->arena_cap : 1024;
        while (cap - s->arena_len < len + 1)
            cap *= 2;
        char *grown = realloc(s->arena, cap);
        if (!grown)
            return -1;
        s->arena = grown;
        s->arena_cap = cap;
    }
    if (len > 0)
        memcpy(s->arena + s->arena_len, p, len);
    s->arena[s->arena_len + len] = '\0';
    s->off[col] = s->arena_len;
    s->present[col] = true;
    s->arena_len += len + 1;
    return 0;
}

static void s_row_reset(s_reader_t *s)
{
    s->ncells = 0;
    s->any_nonempty = false;
    s->row_err[0] = '\0';
    s->arena_len = 0;
    memset(s->present, 0, sizeof s->present);
    s->in_record = false;
}

/* ---- building the referral ------------------------------------------------- */

/* Reads a '|' or '+' separated list of vocabulary words into OUT (without
 * repeats, so it never holds more than the vocabulary has words).  False,
 * with the row failed, on an unknown word. */
static bool s_parse_list(s_reader_t *s, s_column_t col, int (*parse)(const char *), int *out,
                         size_t *n)
{
    const char *p = s_cell(s, col);
    *n = 0;
    for (;;) {
        size_t span = strcspn(p, "|+");
        const char *tok = p;
        size_t len = span;
        s_trim(&tok, &len);
        if (len > 0) {
            char word[S_ECHO_MAX + 1];
            int v = -1;
            if (len < sizeof word) {
                memcpy(word, tok, len);
                word[len] = '\0';
                v = parse(word);
            }
            if (v < 0) {
                s_row_fail(s, "%s: unknown word '%.*s'", s_columns[col].name, s_echo_len(tok, len),
                           tok);
                return false;
            }
            bool seen = false;
            for (size_t i = 0; i < *n; i++)
                seen = seen || out[i] == v;
            if (!seen)
                out[(*n)++] = v;
        }
        if (p[span] == '\0')
            return true;
        p += span + 1;
    }
}

static bool s_parse_consent(s_reader_t *s, bool *out)
{
    static const char *const yes[] = {"yes", "oui", "true", "1"};
    static const char *const no[] = {"no", "non", "false", "0"};
    const char *c = s_cell(s, C_CONSENT);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(c, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(c, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    s_row_fail(s, "consent: '%.*s' is not one of yes no oui non true false 1 0",
               s_echo_len(c, strlen(c)), c);
    return false;
}

/* Whole euros: digits only (no sign, no decimals), at most UINT32_MAX.
 * Empty: 0, as in the message. */
static bool s_parse_resources(s_reader_t *s, uint32_t *out)
{
    uint64_t v = 0;
    for (const char *c = s_cell(s, C_RESOURCES); *c; c++) {
        if (*c < '0' || *c > '9') {
            s_row_fail(s, "resources_eur_month: not a whole number of euros");
            return false;
        }
        v = v * 10 + (uint64_t)(*c - '0');
        if (v > UINT32_MAX) {
            s_row_fail(s, "resources_eur_month: too large");
            return false;
        }
    }
    *out = (uint32_t)v;
    return true;
}

/* Checks the current row and fills s->ref; false (with the row failed) when
 * it cannot be read.  Only what the message needs is checked: the broker
 * validates the rest. */
static bool s_build(s_reader_t *s)
{
    for (int c = 0; c < C_COUNT; c++) {
        if (s_columns[c].required && *s_cell(s, (s_column_t)c) == '\0') {
            s_row_fail(s, "%s: empty, but required", s_columns[c].name);
            return false;
        }
    }
    date_t d;
    if (!date_parse_any(s_cell(s, C_BIRTH_DATE), &d)) {
        /* The value is a birth date: not echoed, the line number suffices. */
        s_row_fail(s, "birth_date: not a real day as YYYY-MM-DD or DD/MM/YYYY");
        return false;
    }
    date_format(d, s->birth_date);

    int vals[VOCAB_NEED_COUNT > VOCAB_BENEFIT_COUNT ? VOCAB_NEED_COUNT : VOCAB_BENEFIT_COUNT];
    size_t n_benefits, n_needs;
    if (!s_parse_list(s, C_BENEFITS, vocab_benefit_parse, vals, &n_benefits))
        return false;
    for (size_t i = 0; i < n_benefits; i++)
        s->benefits[i] = (Relais__V1__Benefit)vals[i];
    uint32_t resources;
    if (!s_parse_resources(s, &resources))
        return false;
    if (!s_parse_list(s, C_NEEDS, vocab_need_parse, vals, &n_needs))
        return false;
    for (size_t i = 0; i < n_needs; i++)
        s->needs[i] = (Relais__V1__Need)vals[i];
    bool consent;
    if (!s_parse_consent(s, &consent))
        return false;
    const char *referred_on = s_cell(s, C_REFERRED_ON);
    s->referred_on[0] = '\0';
    if (*referred_on) {
        if (!date_parse_any(referred_on, &d)) {
            s_row_fail(s, "referred_on: '%.*s' is not a real day as YYYY-MM-DD or DD/MM/YYYY",
                       s_echo_len(referred_on, strlen(referred_on)), referred_on);
            return false;
        }
        date_format(d, s->referred_on);
    }

    Relais__V1__Person *p = &s->person;
    relais__v1__person__init(p);
    p->last_name = s_cell(s, C_LAST_NAME);
    p->first_names = s_cell(s, C_FIRST_NAMES);
    p->birth_date = s->birth_date;
    p->sex = s_cell(s, C_SEX);
    p->phone = s_cell(s, C_PHONE);
    p->email = s_cell(s, C_EMAIL);
    p->postcode = s_cell(s, C_POSTCODE);
    p->city = s_cell(s, C_CITY);
    p->quartier = s_cell(s, C_QUARTIER);
    p->ine = s_cell(s, C_INE);

    Relais__V1__Referral *r = &s->ref;
    relais__v1__referral__init(r);
    r->partner_ref = s_cell(s, C_PARTNER_REF);
    r->person = p;
    r->n_benefits = n_benefits;
    r->benefits = n_benefits ? s->benefits : NULL;
    r->resources_eur_month = resources;
    r->n_needs = n_needs;
    r->needs = n_needs ? s->needs : NULL;
    r->consent = consent;
    r->referrer_name = s_cell(s, C_REFERRER_NAME);
    r->referrer_email = s_cell(s, C_REFERRER_EMAIL);
    r->notes = s_cell(s, C_NOTES);
    r->referred_on = s->referred_on;
    return true;
}

/* ---- libcsv callbacks ----------------------------------------------------- */

static void s_header_cell(s_reader_t *s, size_t idx, const char *p, size_t len)
{
    if (idx >= CSV_READER_CELLS_MAX) {
        s_fail(s, "the header has more than %d columns", CSV_READER_CELLS_MAX);
        return;
    }
    s->colmap[idx] = -1;
    if (!s_utf8_ok(p, len)) {
        s_fail(s, "the header is not valid UTF-8 (column %zu)", idx + 1);
        return;
    }
    if (len == 0) {
        s_warn(s, "column %zu has no name: its cells are ignored", idx + 1);
        return;
    }
    for (int c = 0; c < C_COUNT; c++) {
        if (strlen(s_columns[c].name) != len || strncasecmp(s_columns[c].name, p, len) != 0)
            continue;
        bool dup = false;
        for (size_t i = 0; i < idx; i++)
            dup = dup || s->colmap[i] == c;
        if (dup)
            s_warn(s, "duplicate column '%s': the first one is used", s_columns[c].name);
        else
            s->colmap[idx] = (signed char)c;
        return;
    }
    s_warn(s, "unknown column '%.*s' ignored", s_echo_len(p, len), p);
}

static void s_header_end(s_reader_t *s)
{
    char missing[256] = "";
    size_t n = 0, used = 0;
    for (int c = 0; c < C_COUNT; c++) {
        if (!s_columns[c].required)
            continue;
        bool found = false;
        for (size_t i = 0; i < s->ncells; i++)
            found = found || s->colmap[i] == c;
        if (!found) {
            int w = snprintf(missing + used, sizeof missing - used, "%s%s", n ? ", " : "",
                             s_columns[c].name);
            if (w > 0 && (size_t)w < sizeof missing - used)
                used += (size_t)w;
            n++;
        }
    }
    if (n > 0) {
        s_fail(s, "required column%s missing from the header: %s", n > 1 ? "s" : "", missing);
        return;
    }
    s->header_cells = s->ncells;
    s->header_done = true;
}

static void s_on_cell(void *data, size_t len, void *ctx)
{
    s_reader_t *s = ctx;
    if (s->status != 0)
        return;
    if (!s->in_record) { /* cannot happen given s_parse_bytes; kept safe */
        s->in_record = true;
        s->rec_line = s->line;
    }
    const char *p = len > 0 ? data : "";
    s_trim(&p, &len);
    size_t idx = s->ncells++;
    if (len > 0)
        s->any_nonempty = true;
    if (!s->header_done) {
        s_header_cell(s, idx, p, len);
        return;
    }
    if (idx >= CSV_READER_CELLS_MAX) {
        s_row_fail(s, "more than %d cells", CSV_READER_CELLS_MAX);
        return;
    }
    if (idx >= s->header_cells) {
        /* Empty cells past the header are tolerated: spreadsheets pad rows. */
        if (len > 0)
            s_row_fail(s, "more cells than the header's %zu columns", s->header_cells);
        return;
    }
    int col = s->colmap[idx];
    if (col < 0)
        return;
    if (len > CSV_READER_CELL_MAX) {
        s_row_fail(s, "%s: longer than %d bytes", s_columns[col].name, CSV_READER_CELL_MAX);
        return;
    }
    if (!s_utf8_ok(p, len)) {
        s_row_fail(s, "%s: not valid UTF-8", s_columns[col].name);
        return;
    }
    if (s_arena_put(s, (s_column_t)col, p, len) != 0)
        s_fail(s, "out of memory");
}

/* Hands the finished row to the caller: a Referral, or the reason it could
 * not be read. */
static void s_deliver(s_reader_t *s)
{
    bool ok = !s->row_err[0] && s_build(s);
    const char *partner_ref = s_cell(s, C_PARTNER_REF);
    int rc = ok ? s->on_row(s->arg, s->rec_line, partner_ref, &s->ref, NULL)
                : s->on_row(s->arg, s->rec_line, partner_ref, NULL, s->row_err);
    if (rc != 0)
        s->status = 1;
}

static void s_on_record(int c, void *ctx)
{
    (void)c;
    s_reader_t *s = ctx;
    if (s->status != 0)
        return;
    if (!s->header_done)
        s_header_end(s);
    else if (s->any_nonempty)
        s_deliver(s);
    /* else: every cell empty, a blank row */
    s_row_reset(s);
}

/* ---- stages --------------------------------------------------------------- */

/* libcsv's allocator, capped so one cell cannot grow without bound.  No
 * state: the cap is a constant. */
static void *s_capped_realloc(void *ptr, size_t size)
{
    return size > S_LIBCSV_CAP ? NULL : realloc(ptr, size);
}

static int s_parser_start(s_reader_t *s, unsigned char delim)
{
    if (csv_init(&s->parser, 0) != 0) {
        s_fail(s, "cannot start the CSV parser");
        return -1;
    }
    s->parser_live = true;
    csv_set_delim(&s->parser, delim);
    csv_set_blk_size(&s->parser, S_BLOCK);
    csv_set_realloc_func(&s->parser, s_capped_realloc);
    return 0;
}

static void s_parser_stop(s_reader_t *s)
{
    if (s->parser_live)
        csv_free(&s->parser);
    s->parser_live = false;
}

/* libcsv gave up in the middle of a record.  A cell over the cap is this
 * row's problem: report it, start a fresh parser, skip to the next line. */
static void s_parse_failed(s_reader_t *s)
{
    int e = csv_error(&s->parser);
    if (e != CSV_ENOMEM || csv_get_buffer_size(&s->parser) < S_LIBCSV_CAP) {
        s_fail(s, "CSV parser: %s", csv_strerror(e));
        return;
    }
    if (!s->header_done) {
        s_fail(s, "a header cell is longer than %d bytes", CSV_READER_CELL_MAX);
        return;
    }
    unsigned char delim = csv_get_delim(&s->parser);
    /* csv.h documents this field: whether the cell being read is quoted,
     * i.e. whether the skip starts inside quotes. */
    bool quoted = s->parser.quoted != 0;
    s_row_fail(s, "a cell is longer than %d bytes", CSV_READER_CELL_MAX);
    s_deliver(s);
    s_row_reset(s);
    s_parser_stop(s);
    if (s->status == 0 && s_parser_start(s, delim) == 0) {
        s->skipping = true;
        s->skip_quoted = quoted;
    }
}

/* Counts physical lines whatever their ending: LF, CRLF (once), or a bare
 * CR (old Mac exports).  Called for every byte that may end a line. */
static void s_line_char(s_reader_t *s, char c)
{
    if (c == '\r' || (c == '\n' && !s->after_cr))
        s->line++;
    s->after_cr = c == '\r';
}

static void s_parse_bytes(s_reader_t *s, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && s->status == 0) {
        if (s->skipping) {
            /* Quotes toggle (a doubled quote toggles twice); a line end
             * outside quotes ends the record. */
            char c = buf[i++];
            s_line_char(s, c);
            if (c == '"')
                s->skip_quoted = !s->skip_quoted;
            else if ((c == '\n' || c == '\r') && !s->skip_quoted)
                s->skipping = false;
            continue;
        }
        if (!s->in_record) {
            if (s_is_blank(buf[i])) {
                s_line_char(s, buf[i]);
                i++;
                continue;
            }
            s->in_record = true;
            s->rec_line = s->line;
        }
        size_t end = i;
        while (end < len && buf[end] != '\n' && buf[end] != '\r')
            end++;
        size_t n = end < len ? end - i + 1 : len - i;
        size_t done = csv_parse(&s->parser, buf + i, n, s_on_cell, s_on_record, s);
        if (done < n) {
            s_parse_failed(s);
            i += done;
            continue;
        }
        if (end > i)
            s->after_cr = false;
        if (end < len)
            s_line_char(s, buf[end]);
        i += n;
    }
}

/* The header line is complete (or the input ended): choose the delimiter
 * and parse what was held back. */
static void s_sniff_done(s_reader_t *s)
{
    s->phase = S_PHASE_PARSE;
    if (s_parser_start(s, s->n_semicolon > s->n_comma ? ';' : ',') != 0)
        return;
    s_parse_bytes(s, s->sniff, s->sniff_len);
    free(s->sniff);
    s->sniff = NULL;
    s->sniff_len = s->sniff_cap = 0;
}

/* Holds bytes back until the end of the header line; returns how many of
 * the LEN bytes it took. */
static size_t s_sniff_bytes(s_reader_t *s, const char *buf, size_t len)
{
    size_t i = 0;
    bool ended = false;
    for (; i < len && !ended; i++) {
        char c = buf[i];
        if (c == '"')
            s->sniff_quoted = !s->sniff_quoted;
        else if (s->sniff_quoted)
            continue;
        else if (c == ',')
            s->n_comma++;
        else if (c == ';')
            s->n_semicolon++;
        else if (c == '\n' || c == '\r') {
            ended = s->sniff_content; /* blank lines before the header go on */
            continue;
        } else if (c == ' ' || c == '\t')
            continue;
        s->sniff_content = true;
    }
    if (s->sniff_len + i > CSV_READER_CELL_MAX) {
        s_fail(s, "the header line is longer than %d bytes", CSV_READER_CELL_MAX);
        return len;
    }
    if (s->sniff_cap - s->sniff_len < i) {
        size_t cap = s->sniff_cap ? s->sniff_cap : 1024;
        while (cap - s->sniff_len < i)
            cap *= 2;
        char *grown = realloc(s->sniff, cap);
        if (!grown) {
            s_fail(s, "out of memory");
            return len;
        }
        s->sniff = grown;
        s->sniff_cap = cap;
    }
    if (i > 0)
        memcpy(s->sniff + s->sniff_len, buf, i);
    s->sniff_len += i;
    if (ended)
        s_sniff_done(s);
    return i;
}

static void s_feed(s_reader_t *s, const char *buf, size_t len)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    size_t i = 0;
    while (s->phase == S_PHASE_BOM && i < len) {
        if ((unsigned char)buf[i] == bom[s->bom_pos]) {
            i++;
            if (++s->bom_pos == sizeof bom)
                s->phase = S_PHASE_SNIFF;
        } else {
            /* Not a BOM after all: the bytes matched so far are data. */
            s->phase = S_PHASE_SNIFF;
            s_sniff_bytes(s, (const char *)bom, s->bom_pos);
        }
    }
    if (s->phase == S_PHASE_SNIFF && i < len && s->status == 0)
        i += s_sniff_bytes(s, buf + i, len - i);
    if (s->phase == S_PHASE_PARSE && i < len && s->status == 0)
        s_parse_bytes(s, buf + i, len - i);
}

static void s_finish(s_reader_t *s)
{
    if (s->status != 0)
        return;
    if (s->phase == S_PHASE_BOM) {
        s->phase = S_PHASE_SNIFF;
        s_sniff_bytes(s, "\xEF\xBB", s->bom_pos);
    }
    if (s->phase == S_PHASE_SNIFF && s->status == 0)
        s_sniff_done(s);
    if (s->status != 0)
        return;
    /* The last record may lack its line end: csv_fini submits it. */
    if (csv_fini(&s->parser, s_on_cell, s_on_record, s) != 0 && s->status == 0)
        s_fail(s, "CSV parser: %s", csv_strerror(csv_error(&s->parser)));
    if (s->status == 0 && !s->header_done)
        s_fail(s, "no header row (the file is empty)");
}

static int s_start(s_reader_t *s, csv_row_fn on_row, csv_warn_fn on_warn, void *arg, char *err,
                   size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->on_row = on_row;
    s->on_warn = on_warn;
    s->arg = arg;
    s->err = err;
    s->errlen = errlen;
    s->line = 1;
    if (err && errlen > 0)
        err[0] = '\0';
    if (!on_row) {
        s_fail(s, "no row callback");
        return -1;
    }
    return 0;
}

static void s_stop(s_reader_t *s)
{
    s_parser_stop(s);
    free(s->sniff);
    free(s->arena);
    s->sniff = s->arena = NULL;
}

/* ---- public --------------------------------------------------------------- */

int csv_reader_read_buffer(const char *buf, size_t len, csv_row_fn on_row, csv_warn_fn on_warn,
                           void *arg, char *err, size_t errlen)
{
    s_reader_t s;
    if (s_start(&s, on_row, on_warn, arg, err, errlen) != 0)
        return -1;
    if (buf && len > 0)
        s_feed(&s, buf, len);
    s_finish(&s);
    s_stop(&s);
    return s.status;
}

int csv_reader_read_stream(FILE *in, csv_row_fn on_row, csv_warn_fn on_warn, void *arg, char *err,
                           size_t errlen)
{
    s_reader_t s;
    if (s_start(&s, on_row, on_warn, arg, err, errlen) != 0)
        return -1;
    if (!in) {
        s_fail(&s, "no input stream");
        goto done;
    }
    char block[16 * 1024];
    while (s.status == 0) {
        size_t n = fread(block, 1, sizeof block, in);
        if (n > 0)
            s_feed(&s, block, n);
        if (n < sizeof block) {
            if (ferror(in))
                s_fail(&s, "read error: %s", strerror(errno));
            break;
        }
    }
    s_finish(&s);
done:
    s_stop(&s);
    return s.status;
}

int csv_reader_read_file(const char *path, csv_row_fn on_row, csv_warn_fn on_warn, void *arg,
                         char *err, size_t errlen)
{
    FILE *in = path ? fopen(path, "rb") : NULL;
    if (!in) {
        if (!path)
            errno = EINVAL;
        if (err && errlen > 0)
            snprintf(err, errlen, "cannot open '%s': %s", path ? path : "(null)", strerror(errno));
        return -1;
    }
    int rc = csv_reader_read_stream(in, on_row, on_warn, arg, err, errlen);
    fclose(in);
    return rc;
}
