/*  test_config — the built-in configuration, deploy/relais.conf, and every
 *  way a configuration file can be wrong.
 *
 *  The error tests write small files into a fresh temporary directory and
 *  check the whole message, "FILE:LINE: reason": the line is the point of
 *  the message (it is what the person editing the file needs), so each
 *  test's text is written out with the offending line visible.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELAIS_CONF RELAIS_SOURCE_DIR "/deploy/relais.conf"

static char s_dir[64];
static char s_path[128];

static void s_setup(void)
{
    strcpy(s_dir, "/tmp/relais-test-config-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    snprintf(s_path, sizeof s_path, "%s/relais.conf", s_dir);
}

static void s_teardown(void)
{
    unlink(s_path);
    rmdir(s_dir);
}

TestSuite(config, .init = s_setup, .fini = s_teardown);

static void s_write(const char *text)
{
    FILE *file = fopen(s_path, "w");
    cr_assert_not_null(file);
    cr_assert_eq(fputs(text, file) >= 0, true);
    cr_assert_eq(fclose(file), 0);
}

/* Loading TEXT from a file must fail with exactly "PATH:" + EXPECTED. */
static void s_expect_error(const char *text, const char *expected)
{
    char err[512] = "";
    char want[640];
    s_write(text);
    config_t *config = config_load_file(s_path, err, sizeof err);
    cr_assert_null(config, "loaded although it should fail with: %s", expected);
    snprintf(want, sizeof want, "%s:%s", s_path, expected);
    cr_assert_str_eq(err, want);
}

static config_t *s_load_ok(const char *text)
{
    char err[512] = "";
    s_write(text);
    config_t *config = config_load_file(s_path, err, sizeof err);
    cr_assert_not_null(config, "%s", err);
    return config;
}

/* ---------------------------------------------------------------- default */

static void s_check_besancon(const config_t *c)
{
    static const struct {
        const char *id, *kind, *name;
    } partners[] = {
        {"mission-locale", "mission_locale", "Mission locale du Grand Besançon"},
        {"ccas", "ccas", "CCAS de Besançon — antennes sociales de quartier"},
        {"departement-25", "departement", "Conseil départemental du Doubs"},
        {"rectorat", "rectorat", "Rectorat de l'académie de Besançon"},
        {"addsea", "association", "ADDSEA"},
        {"gbm-insertion", "insertion", "Grand Besançon Métropole — service emploi-insertion"},
        {"maison-de-quartier", "maison_de_quartier", "Maisons de quartier de Besançon"},
        {"association", "association", "Associations emploi, insertion, formation"},
    };
    static const struct {
        const char *id, *name, *kind;
        const char *quartiers[5];
        const char *postcodes[7];
        uint32_t capacity;
    } structures[] = {
        {"asq-planoise",
         "Antenne sociale de quartier Planoise",
         "asq",
         {"Planoise", "Châteaufarine", "Hauts-du-Chazal"},
         {NULL},
         40},
        {"asq-montrapon",
         "Antenne sociale de quartier Montrapon – Fontaine-Écu",
         "asq",
         {"Montrapon", "Fontaine-Écu", "Montboucons", "Saint-Ferjeux"},
         {NULL},
         30},
        {"mdq-clairs-soleils",
         "Maison de quartier Clairs-Soleils",
         "maison_de_quartier",
         {"Clairs-Soleils", "Vareilles", "Bregille"},
         {NULL},
         25},
        {"mdq-battant",
         "Maison de quartier Battant",
         "maison_de_quartier",
         {"Battant", "Chaprais", "Rivotte"},
         {NULL},
         25},
        {"mdq-palente",
         "Maison de quartier Palente – Orchamps",
         "maison_de_quartier",
         {"Palente", "Orchamps", "Saragosse"},
         {NULL},
         25},
        {"assoc-insertion",
         "Association Jeunes et Insertion du Grand Besançon",
         "association",
         {"Planoise", "Battant", "Palente"},
         {"25220", "25410", "25480", "25720", "25770", "25870"},
         30},
        {"asq-centre",
         "Antenne sociale de quartier Centre-ville (accueil général)",
         "asq",
         {"Centre", "Saint-Claude", "Tilleroyes"},
         {NULL},
         40},
        {"ccas-programme",
         "CCAS — équipe du programme Urgence Solidarités Jeunes",
         "programme",
         {NULL},
         {NULL},
         1000},
    };

    cr_assert_str_eq(c->programme_name, "Urgence Solidarités — jeunes 18-25 ans (Besançon)");
    cr_assert_eq(c->min_age, 18);
    cr_assert_eq(c->max_age, 25);
    cr_assert_eq(c->resources_ceiling_eur, 300);
    cr_assert_eq(c->envelope_eur, 1000000);
    cr_assert_eq(c->allowance_eur, 500);
    cr_assert_eq(c->max_months, 12);
    cr_assert_not(c->has_start);
    cr_assert_not(c->has_end);
    cr_assert_str_eq(c->default_structure, "asq-centre");
    cr_assert_str_eq(c->programme_structure, "ccas-programme");
    for (int b = 0; b < VOCAB_BENEFIT_COUNT; b++) {
        bool excluded = b == RELAIS__V1__BENEFIT__BENEFIT_RSA ||
                        b == RELAIS__V1__BENEFIT__BENEFIT_CEJ ||
                        b == RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES ||
                        b == RELAIS__V1__BENEFIT__BENEFIT_ARE;
        cr_assert_eq(c->excluded_benefit[b], excluded, "benefit %s", vocab_benefit_name(b));
    }

    cr_assert_str_eq(c->partner_endpoint, "tcp://127.0.0.1:7410");
    cr_assert_str_eq(c->coordinator_endpoint, "tcp://127.0.0.1:7411");
    cr_assert_eq(c->max_message_bytes, 262144);
    cr_assert_eq(c->map_size_mib, 1024);

    size_t n_partners = sizeof partners / sizeof partners[0];
    cr_assert_eq(c->n_partners, n_partners);
    for (size_t i = 0; i < n_partners; i++) {
        cr_assert_str_eq(c->partners[i].id, partners[i].id);
        cr_assert_str_eq(c->partners[i].kind, partners[i].kind);
        cr_assert_str_eq(c->partners[i].name, partners[i].name);
        cr_assert_eq(config_partner(c, partners[i].id), &c->partners[i]);
    }

    size_t n_structures = sizeof structures / sizeof structures[0];
    cr_assert_eq(c->n_structures, n_structures);
    for (size_t i = 0; i < n_structures; i++) {
        const config_structure_t *s = &c->structures[i];
        cr_assert_str_eq(s->id, structures[i].id);
        cr_assert_str_eq(s->name, structures[i].name);
        cr_assert_str_eq(s->kind, structures[i].kind);
        cr_assert_eq(s->capacity, structures[i].capacity, "%s", s->id);
        size_t nq = 0, np = 0;
        while (nq < 5 && structures[i].quartiers[nq])
            nq++;
        while (np < 7 && structures[i].postcodes[np])
            np++;
        cr_assert_eq(s->n_quartiers, nq, "%s", s->id);
        cr_assert_eq(s->n_postcodes, np, "%s", s->id);
        for (size_t q = 0; q < nq; q++)
            cr_assert_str_eq(s->quartiers[q], structures[i].quartiers[q]);
        for (size_t p = 0; p < np; p++)
            cr_assert_str_eq(s->postcodes[p], structures[i].postcodes[p]);
        cr_assert_eq(config_structure(c, structures[i].id), s);
    }
    cr_assert_null(config_partner(c, "nobody"));
    cr_assert_null(config_structure(c, "nowhere"));
    cr_assert_null(config_structure(c, NULL));
}

Test(config, default_is_the_besancon_configuration)
{
    char err[256] = "";
    config_t *c = config_load_default(err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    s_check_besancon(c);
    config_free(&c);
    cr_assert_null(c);
    config_free(&c); /* harmless twice */
}

Test(config, shipped_file_loads_to_the_same_values)
{
    char err[256] = "";
    config_t *c = config_load_file(RELAIS_CONF, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    s_check_besancon(c);
    config_free(&c);
}

Test(config, built_in_text_is_the_shipped_file_byte_for_byte)
{
    FILE *file = fopen(RELAIS_CONF, "rb");
    cr_assert_not_null(file);
    size_t len = strlen(config_default_text);
    char *buf = malloc(len + 2);
    cr_assert_not_null(buf);
    size_t got = fread(buf, 1, len + 1, file); /* one more: the file must not be longer */
    fclose(file);
    cr_assert_eq(got, len);
    cr_assert_eq(memcmp(buf, config_default_text, len), 0);
    free(buf);
}

Test(config, absent_optional_settings_take_their_defaults)
{
    config_t *c = s_load_ok("programme = {\n"
                            "  name = \"P\";\n"
                            "  default_structure = \"s1\";\n"
                            "  programme_structure = \"s1\";\n"
                            "};\n"
                            "partners = ( { id = \"p1\"; name = \"P1\"; kind = \"other\"; } );\n"
                            "structures = ( { id = \"s1\"; name = \"S1\"; kind = \"programme\";\n"
                            "                 capacity = 1; } );\n");
    cr_assert_eq(c->min_age, 18);
    cr_assert_eq(c->max_age, 25);
    cr_assert_eq(c->resources_ceiling_eur, 300);
    cr_assert_eq(c->envelope_eur, 1000000);
    cr_assert_eq(c->allowance_eur, 500);
    cr_assert_eq(c->max_months, 12);
    cr_assert_not(c->has_start);
    cr_assert_not(c->has_end);
    cr_assert(c->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_RSA]);
    cr_assert(c->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_CEJ]);
    cr_assert(c->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES]);
    cr_assert(c->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_ARE]);
    cr_assert_not(c->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_AAH]);
    cr_assert_not(c->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_NONE]);
    cr_assert_str_eq(c->partner_endpoint, "tcp://127.0.0.1:7410");
    cr_assert_str_eq(c->coordinator_endpoint, "tcp://127.0.0.1:7411");
    cr_assert_eq(c->max_message_bytes, 262144);
    cr_assert_eq(c->map_size_mib, 1024);
    cr_assert_eq(c->structures[0].n_quartiers, 0);
    cr_assert_eq(c->structures[0].n_postcodes, 0);
    config_free(&c);
}

Test(config, explicit_values_are_read)
{
    config_t *c = s_load_ok("programme = {\n"
                            "  name = \"P\"; min_age = 16; max_age = 30;\n"
                            "  resources_ceiling_eur = 0; excluded_benefits = [\"AAH\"];\n"
                            "  envelope_eur = 5000000000L; allowance_eur = 1; max_months = 24;\n"
                            "  start_date = \"2024-02-29\"; end_date = \"2024-02-29\";\n"
                            "  default_structure = \"s1\"; programme_structure = \"s1\";\n"
                            "};\n"
                            "broker = { partner_endpoint = \"ipc:///tmp/p\"; map_size_mib = 8; };\n"
                            "partners = ( { id = \"p1\"; name = \"P1\"; kind = \"other\"; } );\n"
                            "structures = ( { id = \"s1\"; name = \"S1\"; kind = \"programme\";\n"
                            "                 capacity = 1; } );\n");
    cr_assert_eq(c->min_age, 16);
    cr_assert_eq(c->max_age, 30);
    cr_assert_eq(c->resources_ceiling_eur, 0);
    cr_assert_eq(c->envelope_eur, 5000000000ULL);
    cr_assert_eq(c->allowance_eur, 1);
    cr_assert_eq(c->max_months, 24);
    cr_assert(c->has_start);
    cr_assert(c->has_end);
    cr_assert_eq(c->start_date.year, 2024);
    cr_assert_eq(c->start_date.month, 2);
    cr_assert_eq(c->end_date.day, 29);
    /* An explicit list replaces the default one. */
    for (int b = 0; b < VOCAB_BENEFIT_COUNT; b++)
        cr_assert_eq(c->excluded_benefit[b], b == RELAIS__V1__BENEFIT__BENEFIT_AAH);
    cr_assert_str_eq(c->partner_endpoint, "ipc:///tmp/p");
    cr_assert_str_eq(c->coordinator_endpoint, "tcp://127.0.0.1:7411");
    cr_assert_eq(c->map_size_mib, 8);
    config_free(&c);
}

Test(config, load_string_names_its_origin)
{
    char err[256] = "";
    cr_assert_null(
        config_load_string("programme = {\n  name = ;\n};\n", "inline", err, sizeof err));
    cr_assert_str_eq(err, "inline:2: syntax error");
    cr_assert_null(config_load_string("", "empty", err, sizeof err));
    cr_assert_str_eq(err, "empty: missing required section programme = { ... }");
}

/* ----------------------------------------------------------------- errors */

Test(config, missing_file_names_the_file)
{
    char err[512] = "";
    char path[200];
    snprintf(path, sizeof path, "%s/nope.conf", s_dir);
    cr_assert_null(config_load_file(path, err, sizeof err));
    char want[300];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    cr_assert_str_eq(err, want);
}

Test(config, syntax_error)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  min_age = = 18;\n"
                   "};\n",
                   "3: syntax error");
}

Test(config, duplicate_setting_is_a_parse_error)
{
    s_expect_error("programme = {\n"
                   "  min_age = 18;\n"
                   "  min_age = 19;\n"
                   "};\n",
                   "3: duplicate setting name");
}

/* The valid tail shared by the tests below that break the programme: lines
 * N+1.. after the programme section. */
#define S_PARTNERS "partners = ( { id = \"p1\"; name = \"P1\"; kind = \"ccas\"; } );\n"
#define S_STRUCTURES                                                                               \
    "structures = (\n"                                                                             \
    "  { id = \"s1\"; name = \"S1\"; kind = \"asq\"; capacity = 1; },\n"                           \
    "  { id = \"s2\"; name = \"S2\"; kind = \"programme\"; capacity = 1; }\n"                      \
    ");\n"
#define S_PROGRAMME_OK                                                                             \
    "programme = {\n"                                                                              \
    "  name = \"P\";\n"                                                                            \
    "  default_structure = \"s1\";\n"                                                              \
    "  programme_structure = \"s2\";\n"                                                            \
    "};\n"

Test(config, the_shared_tail_is_valid)
{
    config_t *c = s_load_ok(S_PROGRAMME_OK S_PARTNERS S_STRUCTURES);
    config_free(&c);
}

Test(config, include_is_relative_to_the_including_file)
{
    char part[200];
    snprintf(part, sizeof part, "%s/partners.conf", s_dir);
    FILE *file = fopen(part, "w");
    cr_assert_not_null(file);
    fputs(S_PARTNERS, file);
    fclose(file);
    config_t *c = s_load_ok(S_PROGRAMME_OK "@include \"partners.conf\"\n" S_STRUCTURES);
    unlink(part);
    cr_assert_eq(c->n_partners, 1);
    cr_assert_str_eq(c->partners[0].id, "p1");
    config_free(&c);
}

Test(config, duplicate_structure_id)
{
    s_expect_error(S_PROGRAMME_OK S_PARTNERS /* lines 1-6 */
                   "structures = (\n"
                   "  { id = \"s1\"; name = \"S1\"; kind = \"asq\"; capacity = 1; },\n"
                   "  { id = \"s2\"; name = \"S2\"; kind = \"programme\"; capacity = 1; },\n"
                   "  { name = \"Again\"; kind = \"asq\"; capacity = 1;\n"
                   "    id = \"s1\"; }\n" /* line 11 */
                   ");\n",
                   "11: duplicate structure id \"s1\"");
}

Test(config, duplicate_partner_id)
{
    s_expect_error(S_PROGRAMME_OK
                   "partners = (\n"
                   "  { id = \"p1\"; name = \"P1\"; kind = \"ccas\"; },\n"
                   "  { id = \"p1\"; name = \"P2\"; kind = \"rectorat\"; }\n" /* line 8 */
                   ");\n" S_STRUCTURES,
                   "8: duplicate partner id \"p1\"");
}

Test(config, unknown_benefit_word)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  excluded_benefits = [ \"rsa\",\n"
                   "                        \"rmi\" ];\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "4: programme.excluded_benefits: unknown benefit \"rmi\" "
                   "(one of: rsa cej garantie_jeunes are aah)");
}

Test(config, none_cannot_be_excluded)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  excluded_benefits = [ \"none\" ];\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme.excluded_benefits: \"none\" cannot be excluded");
}

Test(config, default_structure_unknown)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  default_structure = \"asq-nulle-part\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme.default_structure: no structure has id \"asq-nulle-part\"");
}

Test(config, programme_structure_unknown)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"p1\";\n" /* a partner, not a structure */
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "4: programme.programme_structure: no structure has id \"p1\"");
}

Test(config, capacity_zero)
{
    s_expect_error(S_PROGRAMME_OK S_PARTNERS
                   "structures = (\n"
                   "  { id = \"s1\"; name = \"S1\"; kind = \"asq\";\n"
                   "    capacity = 0; },\n" /* line 9 */
                   "  { id = \"s2\"; name = \"S2\"; kind = \"programme\"; capacity = 1; }\n"
                   ");\n",
                   "9: structure \"s1\".capacity: must be at least 1, found 0");
}

Test(config, capacity_missing)
{
    s_expect_error(S_PROGRAMME_OK S_PARTNERS
                   "structures = (\n"
                   "  { id = \"s1\"; name = \"S1\"; kind = \"asq\"; },\n" /* line 8 */
                   "  { id = \"s2\"; name = \"S2\"; kind = \"programme\"; capacity = 1; }\n"
                   ");\n",
                   "8: structure \"s1\": missing required setting capacity");
}

Test(config, min_age_above_max_age)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  min_age = 26;\n"
                   "  max_age = 25;\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "4: programme: min_age (26) is greater than max_age (25)");
    /* Against the default max_age, the line is min_age's. */
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  min_age = 30;\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme: min_age (30) is greater than max_age (25)");
}

Test(config, min_age_zero)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  min_age = 0;\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme.min_age: must be at least 1, found 0");
}

Test(config, date_that_does_not_exist)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  start_date = \"2024-01-01\";\n"
                   "  end_date = \"2024-02-30\";\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "4: programme.end_date: \"2024-02-30\" is not a real day written YYYY-MM-DD "
                   "(or \"\" for open)");
}

Test(config, start_after_end)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  start_date = \"2024-06-01\";\n"
                   "  end_date = \"2024-05-31\";\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "4: programme: start_date 2024-06-01 is after end_date 2024-05-31");
}

Test(config, open_start_with_an_end_is_fine)
{
    config_t *c = s_load_ok("programme = {\n"
                            "  name = \"P\";\n"
                            "  start_date = \"\";\n"
                            "  end_date = \"2021-12-31\";\n"
                            "  default_structure = \"s1\";\n"
                            "  programme_structure = \"s2\";\n"
                            "};\n" S_PARTNERS S_STRUCTURES);
    cr_assert_not(c->has_start);
    cr_assert(c->has_end);
    cr_assert_eq(c->end_date.year, 2021);
    config_free(&c);
}

Test(config, string_where_an_integer_is_expected)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  max_months = \"12\";\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme.max_months: expected an integer, found a string");
}

Test(config, integer_where_a_string_is_expected)
{
    s_expect_error(S_PROGRAMME_OK "partners = (\n"
                                  "  { id = \"p1\";\n"
                                  "    name = 42; kind = \"ccas\"; }\n"
                                  ");\n" S_STRUCTURES,
                   "8: partner \"p1\".name: expected a string, found an integer");
}

Test(config, unknown_setting)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  max_ag = 30;\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme: unknown setting \"max_ag\"");
}

Test(config, bad_id)
{
    s_expect_error(S_PROGRAMME_OK "partners = (\n"
                                  "  { id = \"Mission_Locale\"; name = \"ML\"; kind = \"ccas\"; }\n"
                                  ");\n" S_STRUCTURES,
                   "7: partners[0].id: \"Mission_Locale\" must be 1 to 40 characters among a-z "
                   "0-9 -");
}

Test(config, unknown_kinds)
{
    s_expect_error(S_PROGRAMME_OK "partners = (\n"
                                  "  { id = \"p1\"; name = \"P1\"; kind = \"ccas\"; },\n"
                                  "  { id = \"p2\"; name = \"P2\"; kind = \"mairie\"; }\n"
                                  ");\n" S_STRUCTURES,
                   "8: partner \"p2\".kind: unknown kind \"mairie\" (one of: mission_locale ccas "
                   "asq departement rectorat association insertion maison_de_quartier other)");
    s_expect_error(S_PROGRAMME_OK S_PARTNERS
                   "structures = (\n"
                   "  { id = \"s1\"; name = \"S1\"; kind = \"ccas\"; capacity = 1; }\n"
                   ");\n",
                   "8: structure \"s1\".kind: unknown kind \"ccas\" (one of: asq "
                   "maison_de_quartier association programme)");
}

Test(config, bad_postcode)
{
    s_expect_error(S_PROGRAMME_OK S_PARTNERS
                   "structures = (\n"
                   "  { id = \"s1\"; name = \"S1\"; kind = \"asq\"; capacity = 1;\n"
                   "    postcodes = [ \"25000\",\n"
                   "                  \"2500\" ]; }\n"
                   ");\n",
                   "10: structure \"s1\".postcodes: \"2500\" is not a postcode (5 digits)");
}

Test(config, at_least_one_partner_and_structure)
{
    s_expect_error(S_PROGRAMME_OK "partners = ();\n" S_STRUCTURES,
                   "6: partners: at least one is required");
    s_expect_error(S_PROGRAMME_OK S_PARTNERS, " missing required list structures = ( {...}, ... )");
}

Test(config, missing_required_programme_setting)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  default_structure = \"s1\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "1: programme: missing required setting programme_structure");
}

Test(config, allowance_and_months_at_least_one)
{
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  allowance_eur = 0;\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme.allowance_eur: must be at least 1, found 0");
    s_expect_error("programme = {\n"
                   "  name = \"P\";\n"
                   "  max_months = -1;\n"
                   "  default_structure = \"s1\";\n"
                   "  programme_structure = \"s2\";\n"
                   "};\n" S_PARTNERS S_STRUCTURES,
                   "3: programme.max_months: must be at least 1, found -1");
}

Test(config, broker_section_checked)
{
    s_expect_error(S_PROGRAMME_OK "broker = {\n"
                                  "  max_message_bytes = 0;\n"
                                  "};\n" S_PARTNERS S_STRUCTURES,
                   "7: broker.max_message_bytes: must be at least 1, found 0");
    s_expect_error(S_PROGRAMME_OK "broker = [];\n" S_PARTNERS S_STRUCTURES,
                   "6: broker: expected a group { }, found an array [ ]");
}
