/*  test_csv — the partner CSV reader (agents/csv_reader.c).
 *
 *  Each test writes a file into a fresh mkdtemp directory (removed in the
 *  fini), reads it, and checks what the callbacks received.  The row
 *  callback's Referral is only valid during the call, so the collector
 *  keeps a packed-and-unpacked copy: that also proves the message the
 *  reader builds serialises.
 */
#include "csv_reader.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HDR                                                                                        \
    "partner_ref,last_name,first_names,birth_date,sex,phone,email,postcode,city,quartier,ine,"     \
    "benefits,resources_eur_month,needs,consent,referrer_name,referrer_email,notes,referred_on\n"

typedef struct {
    size_t line;
    char *partner_ref;
    Relais__V1__Referral *ref; /* NULL for an error row */
    char *error;
} row_t;

static struct {
    char dir[64];
    char path[128];
    row_t rows[512];
    size_t n;
    char *warnings[16];
    size_t n_warn;
    size_t stop_after; /* 0: never stop */
    char err[256];
} g;

static int on_row(void *arg, size_t line, const char *partner_ref,
                  const Relais__V1__Referral *referral, const char *error)
{
    (void)arg;
    cr_assert((referral == NULL) != (error == NULL), "exactly one of referral and error");
    cr_assert_not_null(partner_ref);
    cr_assert_lt(g.n, sizeof g.rows / sizeof g.rows[0]);
    row_t *r = &g.rows[g.n++];
    r->line = line;
    r->partner_ref = strdup(partner_ref);
    if (referral) {
        size_t len = relais__v1__referral__get_packed_size(referral);
        uint8_t *buf = malloc(len ? len : 1);
        cr_assert_not_null(buf);
        relais__v1__referral__pack(referral, buf);
        r->ref = relais__v1__referral__unpack(NULL, len, buf);
        cr_assert_not_null(r->ref);
        free(buf);
    } else {
        r->error = strdup(error);
    }
    return g.stop_after && g.n >= g.stop_after;
}

static void on_warn(void *arg, const char *warning)
{
    (void)arg;
    if (g.n_warn < sizeof g.warnings / sizeof g.warnings[0])
        g.warnings[g.n_warn++] = strdup(warning);
}

static void setup(void)
{
    memset(&g, 0, sizeof g);
    snprintf(g.dir, sizeof g.dir, "/tmp/relais-test-csv-XXXXXX");
    cr_assert_not_null(mkdtemp(g.dir));
    snprintf(g.path, sizeof g.path, "%s/referrals.csv", g.dir);
}

static void teardown(void)
{
    for (size_t i = 0; i < g.n; i++) {
        free(g.rows[i].partner_ref);
        free(g.rows[i].error);
        if (g.rows[i].ref)
            relais__v1__referral__free_unpacked(g.rows[i].ref, NULL);
    }
    for (size_t i = 0; i < g.n_warn; i++)
        free(g.warnings[i]);
    unlink(g.path);
    rmdir(g.dir);
}

TestSuite(csv, .init = setup, .fini = teardown);

/* Writes LEN bytes (strlen when LEN is 0) to the test file, reads it. */
static int read_bytes(const char *text, size_t len)
{
    FILE *f = fopen(g.path, "wb");
    cr_assert_not_null(f);
    len = len ? len : strlen(text);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return csv_reader_read_file(g.path, on_row, on_warn, NULL, g.err, sizeof g.err);
}

static int read_text(const char *text)
{
    return read_bytes(text, 0);
}

static const Relais__V1__Referral *ok_row(size_t i, size_t line, const char *partner_ref)
{
    cr_assert_lt(i, g.n, "row %zu missing (%zu rows)", i, g.n);
    const row_t *r = &g.rows[i];
    cr_assert_null(r->error, "row %zu: unexpected error '%s'", i, r->error ? r->error : "");
    cr_assert_eq(r->line, line, "row %zu: line %zu, expected %zu", i, r->line, line);
    cr_assert_str_eq(r->partner_ref, partner_ref);
    cr_assert_str_eq(r->ref->partner_ref, partner_ref);
    return r->ref;
}

static void bad_row(size_t i, size_t line, const char *partner_ref, const char *reason)
{
    cr_assert_lt(i, g.n, "row %zu missing (%zu rows)", i, g.n);
    const row_t *r = &g.rows[i];
    cr_assert_not_null(r->error, "row %zu: expected an error", i);
    cr_assert_eq(r->line, line, "row %zu: line %zu, expected %zu", i, r->line, line);
    cr_assert_str_eq(r->partner_ref, partner_ref);
    cr_assert_str_eq(r->error, reason);
}

Test(csv, comma_file_all_fields)
{
    cr_assert_eq(read_text(HDR "ML-1,Da Silva-Costa,Hélène Maria,2003-07-14,F,06 12 34 56 78,"
                               "helene@example.org,25000,Besançon,Planoise,1234567890A,none,0,"
                               "housing|training,yes,Claire Martin,c.martin@ml.example,"
                               "Orientée après un atelier CV.,2026-11-16\n"
                               "ML-2,Yılmaz,Emre,2002-01-31,M,,,25000,Besançon,Battant,,rsa|are,"
                               "120,,non,,,,\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.n_warn, 0);

    const Relais__V1__Referral *r = ok_row(0, 2, "ML-1");
    cr_assert_str_eq(r->person->last_name, "Da Silva-Costa");
    cr_assert_str_eq(r->person->first_names, "Hélène Maria");
    cr_assert_str_eq(r->person->birth_date, "2003-07-14");
    cr_assert_str_eq(r->person->sex, "F");
    cr_assert_str_eq(r->person->phone, "06 12 34 56 78");
    cr_assert_str_eq(r->person->email, "helene@example.org");
    cr_assert_str_eq(r->person->postcode, "25000");
    cr_assert_str_eq(r->person->city, "Besançon");
    cr_assert_str_eq(r->person->quartier, "Planoise");
    cr_assert_str_eq(r->person->ine, "1234567890A");
    cr_assert_eq(r->n_benefits, 1);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_NONE);
    cr_assert_eq(r->resources_eur_month, 0);
    cr_assert_eq(r->n_needs, 2);
    cr_assert_eq(r->needs[0], RELAIS__V1__NEED__NEED_HOUSING);
    cr_assert_eq(r->needs[1], RELAIS__V1__NEED__NEED_TRAINING);
    cr_assert(r->consent);
    cr_assert_str_eq(r->referrer_name, "Claire Martin");
    cr_assert_str_eq(r->referrer_email, "c.martin@ml.example");
    cr_assert_str_eq(r->notes, "Orientée après un atelier CV.");
    cr_assert_str_eq(r->referred_on, "2026-11-16");

    r = ok_row(1, 3, "ML-2");
    cr_assert_str_eq(r->person->last_name, "Yılmaz");
    cr_assert_str_eq(r->person->phone, "");
    cr_assert_str_eq(r->person->ine, "");
    cr_assert_eq(r->n_benefits, 2);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_RSA);
    cr_assert_eq(r->benefits[1], RELAIS__V1__BENEFIT__BENEFIT_ARE);
    cr_assert_eq(r->resources_eur_month, 120);
    cr_assert_eq(r->n_needs, 0);
    cr_assert_not(r->consent);
    cr_assert_str_eq(r->notes, "");
    cr_assert_str_eq(r->referred_on, "");
}

Test(csv, semicolon_french_export)
{
    cr_assert_eq(read_text("partner_ref;last_name;first_names;birth_date;consent;benefits;"
                           "resources_eur_month;referred_on;city\r\n"
                           "ASQ-1;Nguyễn;Thị Lan;05/03/2004;Oui;;0;16/11/2026;Besançon, Doubs\r\n"
                           "ASQ-2;Kowalczyk;Paweł;29/02/2004;FALSE;rsa+cej;450;;\r\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    const Relais__V1__Referral *r = ok_row(0, 2, "ASQ-1");
    cr_assert_str_eq(r->person->last_name, "Nguyễn");
    cr_assert_str_eq(r->person->first_names, "Thị Lan");
    cr_assert_str_eq(r->person->birth_date, "2004-03-05");
    cr_assert_str_eq(r->person->city, "Besançon, Doubs");
    cr_assert(r->consent);
    cr_assert_eq(r->n_benefits, 0, "an empty benefits cell lists none");
    cr_assert_str_eq(r->referred_on, "2026-11-16");
    cr_assert_str_eq(r->person->sex, "", "a column absent from the header reads as empty");

    r = ok_row(1, 3, "ASQ-2");
    cr_assert_str_eq(r->person->birth_date, "2004-02-29");
    cr_assert_not(r->consent);
    cr_assert_eq(r->n_benefits, 2);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_RSA);
    cr_assert_eq(r->benefits[1], RELAIS__V1__BENEFIT__BENEFIT_CEJ);
    cr_assert_eq(r->resources_eur_month, 450);
}

Test(csv, bare_cr_line_endings_count_lines)
{
    /* Old Mac exports end lines with a bare CR: line numbers must still
     * be right (a bad row at line 3 is reported at line 3). */
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,consent\r"
                           "ML-1,Benali,Yanis,2004-10-01,1\r"
                           "ML-2,Kaya,Emre,31/02/2004,1\r"
                           "ML-3,Nowak,Ola,2004-10-02,1\r"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 3);
    ok_row(0, 2, "ML-1");
    bad_row(1, 3, "ML-2", "birth_date: not a real day as YYYY-MM-DD or DD/MM/YYYY");
    ok_row(2, 4, "ML-3");
}

Test(csv, bom_is_skipped)
{
    cr_assert_eq(read_text("\xEF\xBB\xBFpartner_ref,last_name,first_names,birth_date,consent\n"
                           "ML-1,Benali,Yanis,2004-10-01,1\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n_warn, 0, "the BOM must not turn partner_ref into an unknown column");
    const Relais__V1__Referral *r = ok_row(0, 2, "ML-1");
    cr_assert_str_eq(r->person->last_name, "Benali");
    cr_assert(r->consent);
}

Test(csv, quoted_cells_and_line_numbers)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,consent,notes\n"
                           "ML-1,\"Traoré, dite \"\"Awa\"\"\",Aïssata,2005-06-30,true,"
                           "\"Première ligne\nseconde ligne\n\ntroisième\"\n"
                           "ML-2,Ferreira,\"João\",2004-12-24,yes,\"a, b\"\n"
                           "ML-3,\"Sa\"\"id\",Karim,2003-04-01,yes,\"x\r\ny\"\r\n"
                           "ML-4,Popescu,Ana,2003-04-02,yes,\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 4);
    const Relais__V1__Referral *r = ok_row(0, 2, "ML-1");
    cr_assert_str_eq(r->person->last_name, "Traoré, dite \"Awa\"");
    cr_assert_str_eq(r->person->first_names, "Aïssata");
    cr_assert_str_eq(r->notes, "Première ligne\nseconde ligne\n\ntroisième");
    /* ML-1 spans lines 2 to 5. */
    r = ok_row(1, 6, "ML-2");
    cr_assert_str_eq(r->person->first_names, "João");
    cr_assert_str_eq(r->notes, "a, b");
    r = ok_row(2, 7, "ML-3");
    cr_assert_str_eq(r->person->last_name, "Sa\"id");
    cr_assert_str_eq(r->notes, "x\r\ny");
    ok_row(3, 9, "ML-4");
}

Test(csv, columns_in_another_order_and_trimmed)
{
    cr_assert_eq(read_text("consent , Birth_Date,notes,first_names,partner_ref,last_name\n"
                           "  oui ,  2004-01-02 ,  \"  spaced  \"  , Inès ,ML-9,  Le Gall  \n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n_warn, 0);
    const Relais__V1__Referral *r = ok_row(0, 2, "ML-9");
    cr_assert_str_eq(r->person->last_name, "Le Gall");
    cr_assert_str_eq(r->person->first_names, "Inès");
    cr_assert_str_eq(r->person->birth_date, "2004-01-02");
    cr_assert_str_eq(r->notes, "spaced");
    cr_assert(r->consent);
}

Test(csv, unknown_column_warns_once_and_rows_still_read)
{
    cr_assert_eq(read_text("partner_ref,last_name,foo,first_names,birth_date,consent,Bar\n"
                           "ML-1,Morel,x,Lucas,2004-05-06,no,y\n"
                           "ML-2,Morel,x,Léo,2004-05-07,no,y\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n_warn, 2);
    cr_assert_str_eq(g.warnings[0], "unknown column 'foo' ignored");
    cr_assert_str_eq(g.warnings[1], "unknown column 'Bar' ignored");
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(ok_row(0, 2, "ML-1")->person->first_names, "Lucas");
    cr_assert_str_eq(ok_row(1, 3, "ML-2")->person->first_names, "Léo");
}

Test(csv, warn_callback_may_be_null)
{
    FILE *f = fopen(g.path, "wb");
    cr_assert_not_null(f);
    fputs("partner_ref,last_name,first_names,birth_date,consent,foo\nML-1,A,B,2004-05-06,no,\n", f);
    fclose(f);
    cr_assert_eq(csv_reader_read_file(g.path, on_row, NULL, NULL, g.err, sizeof g.err), 0);
    cr_assert_eq(g.n, 1);
}

Test(csv, missing_required_column)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,consent\nML-1,A,B,yes\n"), -1);
    cr_assert_str_eq(g.err, "required column missing from the header: birth_date");
    cr_assert_eq(g.n, 0);
}

Test(csv, missing_required_columns_all_named)
{
    cr_assert_eq(read_text("partner_ref;last_name;first_names\n"), -1);
    cr_assert_str_eq(g.err, "required columns missing from the header: birth_date, consent");
}

Test(csv, bad_rows_reported_and_reading_goes_on)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,benefits,consent,"
                           "resources_eur_month\n"
                           "ML-1,Petit,Jade,31/02/2004,,yes,0\n"
                           "ML-2,Petit,Jade,2004-02-03,rsaa,yes,0\n"
                           "ML-3,Petit,Jade,2004-02-03,,maybe,0\n"
                           "ML-4,Petit,Jade,2004-02-03,,yes,12e\n"
                           "ML-5,Petit,Jade,2004-02-03,,yes,-5\n"
                           "ML-6,Petit,Jade,2004-02-03,,yes,4294967296\n"
                           "ML-7,,Jade,2004-02-03,,yes,0\n"
                           ",Petit,Jade,2004-02-03,,yes,0\n"
                           "ML-9,Petit,Jade,2004-02-03,,,0\n"
                           "ML-10,Petit,Jade,2004-02-03,,yes,4294967295\n"
                           "ML-11,Petit,Jade,2004-02-03,,yes,0,surplus\n"
                           "ML-12,Petit,Jade,2004-02-03,,yes,0,,\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 12);
    bad_row(0, 2, "ML-1", "birth_date: not a real day as YYYY-MM-DD or DD/MM/YYYY");
    bad_row(1, 3, "ML-2", "benefits: unknown word 'rsaa'");
    bad_row(2, 4, "ML-3", "consent: 'maybe' is not one of yes no oui non true false 1 0");
    bad_row(3, 5, "ML-4", "resources_eur_month: not a whole number of euros");
    bad_row(4, 6, "ML-5", "resources_eur_month: not a whole number of euros");
    bad_row(5, 7, "ML-6", "resources_eur_month: too large");
    bad_row(6, 8, "ML-7", "last_name: empty, but required");
    bad_row(7, 9, "", "partner_ref: empty, but required");
    bad_row(8, 10, "ML-9", "consent: empty, but required");
    cr_assert_eq(ok_row(9, 11, "ML-10")->resources_eur_month, 4294967295u);
    bad_row(10, 12, "ML-11", "more cells than the header's 7 columns");
    ok_row(11, 13, "ML-12"); /* empty cells past the header are padding */
}

Test(csv, bad_needs_and_referred_on)
{
    cr_assert_eq(
        read_text("partner_ref,last_name,first_names,birth_date,needs,consent,referred_on\n"
                  "ML-1,A,B,2004-02-03,health|logement,yes,\n"
                  "ML-2,A,B,2004-02-03,,yes,2026-13-01\n"
                  "ML-3,A,B,2004-02-03, Health + HOUSING + health ,yes,\n"),
        0, "%s", g.err);
    bad_row(0, 2, "ML-1", "needs: unknown word 'logement'");
    bad_row(1, 3, "ML-2",
            "referred_on: '2026-13-01' is not a real day as YYYY-MM-DD or DD/MM/YYYY");
    const Relais__V1__Referral *r = ok_row(2, 4, "ML-3");
    cr_assert_eq(r->n_needs, 2, "repeated words are listed once");
    cr_assert_eq(r->needs[0], RELAIS__V1__NEED__NEED_HEALTH);
    cr_assert_eq(r->needs[1], RELAIS__V1__NEED__NEED_HOUSING);
}

Test(csv, benefit_lists)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,benefits,consent\n"
                           "ML-1,A,B,2004-02-03,rsa|are,yes\n"
                           "ML-2,A,B,2004-02-03,rsa+cej,yes\n"
                           "ML-3,A,B,2004-02-03,garantie_jeunes | AAH,yes\n"
                           "ML-4,A,B,2004-02-03,,yes\n"
                           "ML-5,A,B,2004-02-03,none,yes\n"),
                 0, "%s", g.err);
    const Relais__V1__Referral *r = ok_row(0, 2, "ML-1");
    cr_assert_eq(r->n_benefits, 2);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_RSA);
    cr_assert_eq(r->benefits[1], RELAIS__V1__BENEFIT__BENEFIT_ARE);
    r = ok_row(1, 3, "ML-2");
    cr_assert_eq(r->n_benefits, 2);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_RSA);
    cr_assert_eq(r->benefits[1], RELAIS__V1__BENEFIT__BENEFIT_CEJ);
    r = ok_row(2, 4, "ML-3");
    cr_assert_eq(r->n_benefits, 2);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES);
    cr_assert_eq(r->benefits[1], RELAIS__V1__BENEFIT__BENEFIT_AAH);
    cr_assert_eq(ok_row(3, 5, "ML-4")->n_benefits, 0);
    r = ok_row(4, 6, "ML-5");
    cr_assert_eq(r->n_benefits, 1);
    cr_assert_eq(r->benefits[0], RELAIS__V1__BENEFIT__BENEFIT_NONE);
}

Test(csv, blank_lines_skipped)
{
    cr_assert_eq(read_text("\npartner_ref;last_name;first_names;birth_date;consent\n"
                           "\n"
                           "ML-1;A;B;2004-02-03;oui\n"
                           "   \n"
                           ";;;;\n"
                           "\r\n"
                           "ML-2;A;B;2004-02-04;non"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    ok_row(0, 4, "ML-1");
    ok_row(1, 8, "ML-2"); /* no final line end: still read */
}

Test(csv, callback_stops_early)
{
    g.stop_after = 2;
    cr_assert_eq(read_text(HDR "ML-1,A,B,2004-02-03,,,,,,,,,,,yes,,,,\n"
                               "ML-2,A,B,bad,,,,,,,,,,,yes,,,,\n"
                               "ML-3,A,B,2004-02-03,,,,,,,,,,,yes,,,,\n"),
                 1);
    cr_assert_eq(g.n, 2);
    ok_row(0, 2, "ML-1");
    cr_assert_not_null(g.rows[1].error);
}

Test(csv, invalid_utf8_cell)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,consent\n"
                           "ML-1,Lef\xE8vre,Zo\xE9,2004-02-03,yes\n"
                           "ML-2,Lefèvre,Zoé,2004-02-03,yes\n"
                           "ML-3,Ctrl\x01,Zoé,2004-02-03,yes\n"
                           "ML-4,A,\xED\xA0\x80,2004-02-03,yes\n" /* a surrogate */
                           "ML-5,A,\xC0\xAF,2004-02-03,yes\n"     /* overlong '/' */
                           "ML-\xFF,A,B,2004-02-03,yes\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n, 6);
    bad_row(0, 2, "ML-1", "last_name: not valid UTF-8");
    ok_row(1, 3, "ML-2");
    bad_row(2, 4, "ML-3", "last_name: not valid UTF-8");
    bad_row(3, 5, "ML-4", "first_names: not valid UTF-8");
    bad_row(4, 6, "ML-5", "first_names: not valid UTF-8");
    bad_row(5, 7, "", "partner_ref: not valid UTF-8"); /* never handed on as partner_ref */
}

Test(csv, invalid_utf8_header)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,consent,r\xE9"
                           "f\nML-1,A,B,2004-02-03,yes,\n"),
                 -1);
    cr_assert_str_eq(g.err, "the header is not valid UTF-8 (column 6)");
}

Test(csv, oversized_cell_is_a_row_error)
{
    const char *head = "partner_ref,last_name,first_names,birth_date,consent,notes\n"
                       "ML-1,A,B,2004-02-03,yes,ok\n"
                       "ML-2,A,B,2004-02-03,yes,";
    const char *tail = "\nML-3,A,B,2004-02-03,yes,ok\n";
    size_t big = CSV_READER_CELL_MAX + 10000;
    size_t len = strlen(head) + big + strlen(tail);
    char *text = malloc(len + 1);
    cr_assert_not_null(text);
    strcpy(text, head);
    memset(text + strlen(head), 'x', big);
    strcpy(text + strlen(head) + big, tail);
    cr_assert_eq(read_bytes(text, len), 0, "%s", g.err);
    free(text);
    cr_assert_eq(g.n, 3);
    ok_row(0, 2, "ML-1");
    bad_row(1, 3, "ML-2", "a cell is longer than 65536 bytes");
    ok_row(2, 4, "ML-3");
}

Test(csv, oversized_quoted_cell_spanning_lines)
{
    /* A quoted notes cell of 3000 lines of 40 bytes (over 64 KiB): one error for
     * ML-2, then ML-3 on its true line. */
    const char *head = "partner_ref,last_name,first_names,birth_date,consent,notes\n"
                       "ML-1,A,B,2004-02-03,yes,ok\n"
                       "ML-2,A,B,2004-02-03,yes,\"";
    const char *line = "a line, with \"\"quotes\"\" and commas...\n";
    const char *tail = "\"\nML-3,A,B,2004-02-03,yes,ok\n";
    size_t n_lines = 3000, ll = strlen(line);
    size_t len = strlen(head) + n_lines * ll + strlen(tail);
    char *text = malloc(len + 1), *w = text;
    cr_assert_not_null(text);
    w = stpcpy(w, head);
    for (size_t i = 0; i < n_lines; i++)
        w = stpcpy(w, line);
    strcpy(w, tail);
    cr_assert_eq(read_bytes(text, len), 0, "%s", g.err);
    free(text);
    cr_assert_eq(g.n, 3);
    ok_row(0, 2, "ML-1");
    bad_row(1, 3, "ML-2", "a cell is longer than 65536 bytes");
    ok_row(2, 3 + n_lines + 1, "ML-3");
}

Test(csv, unterminated_quote_is_one_error)
{
    const char *head = "partner_ref,last_name,first_names,birth_date,consent,notes\n"
                       "ML-1,A,B,2004-02-03,yes,\"open\n";
    size_t n_lines = 10000;
    const char *line = "ML-x,A,B,2004-02-03,yes,x\n";
    size_t len = strlen(head) + n_lines * strlen(line);
    char *text = malloc(len + 1), *w = text;
    cr_assert_not_null(text);
    w = stpcpy(w, head);
    for (size_t i = 0; i < n_lines; i++)
        w = stpcpy(w, line);
    cr_assert_eq(read_bytes(text, len), 0, "%s", g.err);
    free(text);
    cr_assert_eq(g.n, 1);
    bad_row(0, 2, "ML-1", "a cell is longer than 65536 bytes");
}

Test(csv, a_cell_at_the_limit_is_read)
{
    const char *head = "partner_ref,last_name,first_names,birth_date,consent,notes\n"
                       "ML-1,A,B,2004-02-03,yes,\"";
    size_t big = CSV_READER_CELL_MAX;
    size_t len = strlen(head) + big + 2;
    char *text = malloc(len + 1);
    cr_assert_not_null(text);
    strcpy(text, head);
    memset(text + strlen(head), 'y', big);
    strcpy(text + strlen(head) + big, "\"\n");
    cr_assert_eq(read_bytes(text, len), 0, "%s", g.err);
    free(text);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(strlen(ok_row(0, 2, "ML-1")->notes), CSV_READER_CELL_MAX);
}

Test(csv, too_many_cells)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "partner_ref,last_name,first_names,birth_date,consent\n"
                                "ML-1,A,B,2004-02-03,yes");
    for (int i = 0; i < 300; i++)
        text[n++] = ',', text[n++] = 'z';
    memcpy(text + n, "\nML-2,A,B,2004-02-03,yes\n", 26);
    cr_assert_eq(read_text(text), 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    bad_row(0, 2, "ML-1", "more cells than the header's 5 columns");
    ok_row(1, 3, "ML-2");
}

Test(csv, header_with_too_many_columns)
{
    char text[4096] = "partner_ref,last_name,first_names,birth_date,consent";
    size_t n = strlen(text);
    for (int i = 0; i < 300; i++)
        text[n++] = ',', text[n++] = 'z';
    text[n] = '\0';
    cr_assert_eq(read_text(text), -1);
    cr_assert_str_eq(g.err, "the header has more than 256 columns");
}

Test(csv, empty_file_and_missing_file)
{
    cr_assert_eq(read_text("\xEF\xBB\xBF\n\n"), -1);
    cr_assert_str_eq(g.err, "no header row (the file is empty)");
    cr_assert_eq(
        csv_reader_read_file("/nonexistent/relais.csv", on_row, on_warn, NULL, g.err, sizeof g.err),
        -1);
    cr_assert(strncmp(g.err, "cannot open '/nonexistent/relais.csv'", 37) == 0, "%s", g.err);
}

Test(csv, header_only)
{
    cr_assert_eq(read_text("partner_ref,last_name,first_names,birth_date,consent"), 0, "%s", g.err);
    cr_assert_eq(g.n, 0);
}

Test(csv, read_buffer_and_stream_agree)
{
    const char *text = "\xEF\xBB\xBFpartner_ref;last_name;first_names;birth_date;consent\n"
                       "ML-1;\"Ba;h\";\"Ali\n\";14/07/2003;oui\n"
                       "ML-2;Ba;Ali;14/07/2003;non\n";
    /* No NUL terminator needed: the buffer is cut just after ML-2's consent. */
    size_t len = strlen(text) - 1;
    cr_assert_eq(csv_reader_read_buffer(text, len, on_row, on_warn, NULL, g.err, sizeof g.err), 0,
                 "%s", g.err);
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(ok_row(0, 2, "ML-1")->person->last_name, "Ba;h");
    cr_assert_str_eq(ok_row(0, 2, "ML-1")->person->first_names, "Ali");
    ok_row(1, 4, "ML-2");

    FILE *f = fmemopen((void *)text, strlen(text), "r");
    cr_assert_not_null(f);
    cr_assert_eq(csv_reader_read_stream(f, on_row, on_warn, NULL, g.err, sizeof g.err), 0);
    fclose(f);
    cr_assert_eq(g.n, 4);
    ok_row(2, 2, "ML-1");
    ok_row(3, 4, "ML-2");
}

Test(csv, delimiter_chosen_outside_quotes)
{
    /* Three ',' inside quotes must not outvote the four ';'. */
    cr_assert_eq(read_text("partner_ref;last_name;first_names;birth_date;consent;\"a,b,c,d\"\n"
                           "ML-1;A;B;2004-02-03;oui;x\n"),
                 0, "%s", g.err);
    cr_assert_eq(g.n_warn, 1);
    cr_assert_str_eq(g.warnings[0], "unknown column 'a,b,c,d' ignored");
    ok_row(0, 2, "ML-1");
}

/* ---- the committed sample ---------------------------------------------------
 * deploy/samples/referrals.csv (written by make_referrals.py): every row but
 * one is readable; the unreadable one (ML-2026-0027, 31/02/2004) is on line 28.
 * The row layout is described at the top of make_referrals.py. */
Test(csv, sample_referrals_file)
{
    int rc = csv_reader_read_file(RELAIS_SOURCE_DIR "/deploy/samples/referrals.csv", on_row,
                                  on_warn, NULL, g.err, sizeof g.err);
    cr_assert_eq(rc, 0, "%s", g.err);
    cr_assert_eq(g.n_warn, 0);
    size_t errors = 0, readable = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (g.rows[i].error) {
            errors++;
            cr_assert_eq(g.rows[i].line, 28);
            cr_assert_str_eq(g.rows[i].partner_ref, "ML-2026-0027");
            cr_assert(strstr(g.rows[i].error, "birth_date") != NULL, "%s", g.rows[i].error);
        } else {
            readable++;
            cr_assert_eq(g.rows[i].line, i + 2, "one physical line per row");
            cr_assert_str_eq(g.rows[i].ref->referred_on, "2026-11-16");
        }
    }
    cr_assert_eq(errors, 1);
    cr_assert_eq(readable, 188);
    cr_assert_eq(g.n, 189);
    /* A few rows the broker's tests rely on, read exactly. */
    const Relais__V1__Referral *r = ok_row(0, 2, "ML-2026-0001");
    cr_assert_str_eq(r->person->last_name, "Da Silva-Costa");
    cr_assert_str_eq(r->person->first_names, "Hélène");
    cr_assert_str_eq(r->person->birth_date, "2005-03-14");
    cr_assert_str_eq(r->person->quartier, "Planoise");
    r = ok_row(12, 14, "ML-2026-0013");
    cr_assert_str_eq(r->person->last_name, "DA SILVA COSTA");
    cr_assert_str_eq(r->person->birth_date, "2005-03-14");
    r = ok_row(21, 23, "ML-2026-0022");
    cr_assert_not(r->consent);
    r = ok_row(23, 25, "ML-2026-0024");
    cr_assert_str_eq(r->person->postcode, "25OOO");
    r = ok_row(25, 27, "ML-2026-0026");
    cr_assert_eq(strlen(r->person->last_name), 150);
    ok_row(188, 190, "ML-2026-0189");
}

Test(csv, sample_ccas_file)
{
    int rc = csv_reader_read_file(RELAIS_SOURCE_DIR "/deploy/samples/referrals-ccas.csv", on_row,
                                  on_warn, NULL, g.err, sizeof g.err);
    cr_assert_eq(rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 3);
    ok_row(0, 2, "ASQ-0001");
    ok_row(1, 3, "ASQ-0002");
    ok_row(2, 4, "ASQ-0003");
}
