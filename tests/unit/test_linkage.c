/*  test_linkage — name variants, each comparison level, the model, and
 *  the matcher's verdicts on a real LMDB store: the merge, the twins, the
 *  siblings sharing a family phone, the swapped first and last names, two
 *  look-alike known persons, the key file. */
#include "datakey.h"
#include "identity.h"
#include "linkage.h"
#include "normalize.h"
#include "store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char KEY[LINKAGE_KEY_LEN] = {1, 2, 3};

static Relais__V1__Person s_person(const char *last, const char *first, const char *birth)
{
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    p.last_name = (char *)last;
    p.first_names = (char *)first;
    p.birth_date = (char *)birth;
    p.postcode = "25000";
    return p;
}

static void s_levels(const Relais__V1__Person *a, const Relais__V1__Person *b,
                     int level[LINKAGE_NFIELDS])
{
    linkage_profile_t pa, pb;
    cr_assert_eq(linkage_profile_build(a, KEY, &pa), 0);
    cr_assert_eq(linkage_profile_build(b, KEY, &pb), 0);
    linkage_compare(&pa, &pb, level);
}

/* ---- normalisation of names -------------------------------------------- */

Test(linkage, surname_variants_with_and_without_particles)
{
    char v[NORMALIZE_VARIANTS_MAX][NORMALIZE_TOKEN_MAX];
    cr_assert_eq(normalize_surname_variants("de la Fontaine", v, NORMALIZE_VARIANTS_MAX), 2);
    cr_expect_str_eq(v[0], "delafontaine");
    cr_expect_str_eq(v[1], "fontaine");
    cr_assert_eq(normalize_surname_variants("D'Almeida", v, NORMALIZE_VARIANTS_MAX), 2);
    cr_expect_str_eq(v[1], "almeida");
    cr_assert_eq(normalize_surname_variants("Ben Ali", v, NORMALIZE_VARIANTS_MAX), 2);
    cr_expect_str_eq(v[1], "ali");
    cr_assert_eq(normalize_surname_variants("Le", v, NORMALIZE_VARIANTS_MAX), 1);
    cr_expect_str_eq(v[0], "le");
    cr_assert_eq(normalize_surname_variants("Da Silva-Costa", v, NORMALIZE_VARIANTS_MAX), 2);
    cr_expect_str_eq(v[0], "dasilvacosta");
    cr_expect_str_eq(v[1], "silvacosta");
}

Test(linkage, several_names_and_saints)
{
    char v[NORMALIZE_VARIANTS_MAX][NORMALIZE_TOKEN_MAX];
    cr_assert_eq(normalize_surname_variants("Durand épouse Martin", v, NORMALIZE_VARIANTS_MAX), 2);
    cr_expect_str_eq(v[0], "durand");
    cr_expect_str_eq(v[1], "martin");
    cr_assert_eq(normalize_surname_variants("Durand / Van Damme", v, NORMALIZE_VARIANTS_MAX), 3);
    cr_expect_str_eq(v[1], "vandamme");
    cr_expect_str_eq(v[2], "damme");
    cr_assert_eq(normalize_surname_variants("St-Cyr", v, NORMALIZE_VARIANTS_MAX), 1);
    cr_expect_str_eq(v[0], "saintcyr");
    cr_assert_eq(normalize_given_tokens("Ste-Marie Léa léa", v, NORMALIZE_VARIANTS_MAX), 3);
    cr_expect_str_eq(v[0], "sainte");
    cr_expect_str_eq(v[2], "lea");
}

/* ---- each comparison level ---------------------------------------------- */

Test(linkage, surname_levels)
{
    static const struct {
        const char *a, *b;
        int level;
    } v[] = {
        {"Da Silva-Costa", "DA SILVA COSTA", LINKAGE_NAME_EXACT},
        {"de la Fontaine", "Fontaine", LINKAGE_NAME_EXACT},
        {"Durand épouse Martin", "Martin", LINKAGE_NAME_EXACT},
        {"Vuillemin", "Vuilemin", LINKAGE_NAME_JW92},
        {"Moreau", "Morel", LINKAGE_NAME_JW88},
        {"Lefebvre", "Lefaivre", LINKAGE_NAME_JW88},
        {"Rousseau", "Roussot", LINKAGE_NAME_PHONETIC},
        {"Bernard", "Bertrand", LINKAGE_NAME_JW92},
        {"Durand", "Dumont", LINKAGE_NAME_JW70},
        {"Nguyen", "Durand", LINKAGE_NAME_OTHER},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        Relais__V1__Person a = s_person(v[i].a, "Léa", "2004-03-12");
        Relais__V1__Person b = s_person(v[i].b, "Léa", "2004-03-12");
        int level[LINKAGE_NFIELDS];
        s_levels(&a, &b, level);
        cr_expect_eq(level[LINKAGE_SURNAME], v[i].level, "%s / %s: %s", v[i].a, v[i].b,
                     linkage_level_name(LINKAGE_SURNAME, level[LINKAGE_SURNAME]));
    }
}

Test(linkage, given_name_levels)
{
    static const struct {
        const char *a, *b;
        int level;
    } v[] = {
        {"Hélène Marie", "helene marie", LINKAGE_NAME_EXACT},
        {"Hélène Marie", "Hélène", LINKAGE_NAME_EXACT}, /* shortened compound */
        {"Jean-Pierre", "Jeanpierre", LINKAGE_NAME_EXACT},
        {"Marie Hélène", "Hélène", LINKAGE_NAME_JW92},    /* contained, not first */
        {"Jean-Pierre", "Jean-Paul", LINKAGE_NAME_OTHER}, /* pierre against paul */
        {"Mohamed", "Mohammed", LINKAGE_NAME_JW92},
        {"Paulo", "Hélène", LINKAGE_NAME_OTHER},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        Relais__V1__Person a = s_person("Benali", v[i].a, "2004-03-12");
        Relais__V1__Person b = s_person("Benali", v[i].b, "2004-03-12");
        int level[LINKAGE_NFIELDS];
        s_levels(&a, &b, level);
        cr_expect_eq(level[LINKAGE_GIVEN], v[i].level, "%s / %s: %s", v[i].a, v[i].b,
                     linkage_level_name(LINKAGE_GIVEN, level[LINKAGE_GIVEN]));
    }
}

Test(linkage, swapped_names_level)
{
    Relais__V1__Person a = s_person("Ndiaye", "Léa", "2004-03-12");
    Relais__V1__Person b = s_person("Lea", "NDIAYE", "2004-03-12");
    int level[LINKAGE_NFIELDS];
    s_levels(&a, &b, level);
    cr_expect_eq(level[LINKAGE_SURNAME], LINKAGE_NAME_SWAPPED);
    cr_expect_eq(level[LINKAGE_GIVEN], LINKAGE_NAME_SWAPPED);
}

Test(linkage, birth_date_levels)
{
    static const struct {
        const char *b;
        int level;
    } v[] = {
        {"2004-03-12", LINKAGE_DATE_EXACT},
        {"2004-03-13", LINKAGE_DATE_TYPO1},
        {"2004-12-03", LINKAGE_DATE_SWAP_DM},
        {"2004-04-02", LINKAGE_DATE_MONTH1},
        {"2004-07-30", LINKAGE_DATE_SAME_YEAR},
        {"2001-07-30", LINKAGE_DATE_OTHER},
        {"", LINKAGE_MISSING},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        Relais__V1__Person a = s_person("Benali", "Yasmine", "2004-03-12");
        Relais__V1__Person b = s_person("Benali", "Yasmine", v[i].b);
        int level[LINKAGE_NFIELDS];
        s_levels(&a, &b, level);
        cr_expect_eq(level[LINKAGE_BIRTH_DATE], v[i].level, "%s: %s", v[i].b,
                     linkage_level_name(LINKAGE_BIRTH_DATE, level[LINKAGE_BIRTH_DATE]));
    }
}

Test(linkage, binary_fields_and_missing_values)
{
    Relais__V1__Person a = s_person("Benali", "Yasmine", "2004-03-12");
    Relais__V1__Person b = s_person("Benali", "Yasmine", "2004-03-12");
    a.sex = "F";
    b.sex = "M";
    a.ine = "123456789ab";
    b.ine = "123456789AB";
    a.phone = "06 12 34 56 78";
    b.phone = "+33 6 12 34 56 78";
    a.email = "Yasmine.B@example.org ";
    b.email = "other@example.org";
    a.quartier = "Planoise";
    b.quartier = "PLANOISE";
    int level[LINKAGE_NFIELDS];
    s_levels(&a, &b, level);
    cr_expect_eq(level[LINKAGE_SEX], LINKAGE_DISAGREE);
    cr_expect_eq(level[LINKAGE_INE], LINKAGE_AGREE);
    cr_expect_eq(level[LINKAGE_PHONE], LINKAGE_AGREE);
    cr_expect_eq(level[LINKAGE_EMAIL], LINKAGE_DISAGREE);
    cr_expect_eq(level[LINKAGE_PLACE], LINKAGE_AGREE);
    b.sex = "";
    b.email = "";
    b.ine = "";
    s_levels(&a, &b, level);
    cr_expect_eq(level[LINKAGE_SEX], LINKAGE_MISSING);
    cr_expect_eq(level[LINKAGE_EMAIL], LINKAGE_MISSING);
    cr_expect_eq(level[LINKAGE_INE], LINKAGE_MISSING);
}

/* ---- the model ---------------------------------------------------------- */

Test(linkage, model_weights_and_missing_values)
{
    char err[256];
    linkage_model_t *m = linkage_model_parse(linkage_model_default_text, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_expect_gt(linkage_model_upper(m), linkage_model_lower(m));
    int level[LINKAGE_NFIELDS];
    for (int f = 0; f < LINKAGE_NFIELDS; f++)
        level[f] = LINKAGE_MISSING;
    linkage_evidence_t ev[LINKAGE_NFIELDS];
    cr_expect_eq(linkage_score(m, level, NULL, ev), 0.0);
    level[LINKAGE_SURNAME] = LINKAGE_NAME_EXACT;
    double plain = linkage_score(m, level, NULL, ev);
    cr_expect_gt(plain, 0);
    /* Term frequency: a common name is weaker evidence than a rare one. */
    double tf_common[LINKAGE_NFIELDS] = {[LINKAGE_SURNAME] = 0.01};
    double tf_rare[LINKAGE_NFIELDS] = {[LINKAGE_SURNAME] = 0.00001};
    cr_expect_lt(linkage_score(m, level, tf_common, NULL), linkage_score(m, level, tf_rare, NULL));
    level[LINKAGE_SURNAME] = LINKAGE_NAME_OTHER;
    cr_expect_lt(linkage_score(m, level, NULL, NULL), 0);
    /* The prior: a million persons need 10 bits more than a thousand. */
    cr_expect_float_eq(linkage_model_prior(m, 1000) - linkage_model_prior(m, 1024000), 10.0, 1e-9);
    cr_expect_eq(linkage_model_prior(m, 1), linkage_model_prior(m, 1000)); /* floor */
    linkage_model_free(&m);
    cr_expect_null(m);
    cr_expect_null(linkage_model_parse("{\"version\": \"x\"}", err, sizeof err));
    cr_expect_null(linkage_model_parse("not json", err, sizeof err));
}

/* ---- the matcher on a real store ----------------------------------------- */

static char s_dir[64];
static store_t *s_store;

static void s_setup(void)
{
    char err[256];
    snprintf(s_dir, sizeof s_dir, "/tmp/relais-linkage-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    s_store = store_open(s_dir, 64u << 20, false, err, sizeof err);
    cr_assert_not_null(s_store, "%s", err);
    cr_assert_eq(identity_init(s_dir, err, sizeof err), 0, "%s", err);
}

static void s_teardown(void)
{
    char path[128];
    store_close(&s_store);
    identity_shutdown();
    const char *files[] = {"data.mdb", "lock.mdb", IDENTITY_KEY_FILE};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", s_dir, files[i]);
        unlink(path);
    }
    rmdir(s_dir);
}

static identity_result_t s_match(const Relais__V1__Person *p)
{
    store_txn_t t;
    identity_result_t r;
    cr_assert_eq(store_begin(s_store, false, NULL, &t), 0);
    cr_assert_eq(identity_match(&t, p, &r), 0);
    store_abort(&t);
    return r;
}

static void s_index(uint64_t id, const Relais__V1__Person *p)
{
    store_txn_t t;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(identity_index(&t, id, p), 0);
    cr_assert_eq(store_commit(&t), 0);
}

TestSuite(matcher, .init = s_setup, .fini = s_teardown);

Test(matcher, key_file_is_private_and_reused)
{
    char path[128], err[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", s_dir, DATAKEY_FILE);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    cr_expect_eq(st.st_size, LINKAGE_KEY_LEN);
    /* Same key on restart: what was indexed is still found. */
    Relais__V1__Person p = s_person("Vuillemin", "Théo", "2005-02-14");
    s_index(1, &p);
    identity_shutdown();
    cr_assert_eq(identity_init(s_dir, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s_match(&p).verdict, IDENTITY_SAME);
    /* A key file others can read is refused. */
    chmod(path, 0644);
    identity_shutdown();
    cr_expect_neq(identity_init(s_dir, err, sizeof err), 0);
    cr_expect(strstr(err, "0600") != NULL, "%s", err);
    chmod(path, 0600);
    cr_assert_eq(identity_init(s_dir, err, sizeof err), 0, "%s", err);
}

Test(matcher, spelling_variants_link_with_an_explanation)
{
    Relais__V1__Person known = s_person("Da Silva-Costa", "Hélène Marie", "2003-04-09");
    s_index(7, &known);
    Relais__V1__Person again = s_person("DA SILVA COSTA", "helene", "2003-04-09");
    identity_result_t r = s_match(&again);
    cr_assert_eq(r.verdict, IDENTITY_SAME, "score %.1f", r.score);
    cr_expect_eq(r.person_id, 7);
    cr_expect_eq(r.candidate_id, 7);
    cr_expect_eq(r.evidence[LINKAGE_SURNAME].level, LINKAGE_NAME_EXACT);
    cr_expect_gt(r.evidence[LINKAGE_SURNAME].weight, 0);
    cr_expect_eq(r.evidence[LINKAGE_PHONE].level, LINKAGE_MISSING);
    cr_expect_eq(r.evidence[LINKAGE_PHONE].weight, 0);
    /* Typo in the surname and day/month swapped: still the same person. */
    Relais__V1__Person typo = s_person("Da Silva Cota", "Hélène", "2003-09-04");
    cr_expect_eq(s_match(&typo).verdict, IDENTITY_SAME);
    /* Nobody like her: new. */
    Relais__V1__Person other = s_person("Yilmaz", "Zeynep", "2004-10-10");
    identity_result_t n = s_match(&other);
    cr_expect_eq(n.verdict, IDENTITY_NEW);
    cr_expect_eq(n.candidates, 0);
}

Test(matcher, twins_are_not_merged)
{
    Relais__V1__Person a = s_person("Da Silva-Costa", "Hélène", "2003-04-09");
    a.phone = "0612345678";
    a.quartier = "Battant";
    s_index(1, &a);
    Relais__V1__Person b = s_person("Da Silva-Costa", "Paulo", "2003-04-09");
    b.phone = "0612345678";
    b.quartier = "Battant";
    identity_result_t r = s_match(&b);
    cr_expect_eq(r.verdict, IDENTITY_NEW);
    /* Explained: the sister was looked at and set aside. */
    cr_expect_eq(r.candidate_id, 1);
    cr_expect_str_eq(r.aside, "given_names_differ");
    cr_expect_eq(r.evidence[LINKAGE_GIVEN].level, LINKAGE_NAME_OTHER);
}

Test(matcher, siblings_sharing_a_family_phone_are_not_merged)
{
    Relais__V1__Person a = s_person("Traoré", "Aminata", "2003-05-20");
    a.phone = "06 11 22 33 44";
    a.email = "famille.traore@example.org";
    s_index(1, &a);
    Relais__V1__Person b = s_person("Traoré", "Moussa", "2005-01-03");
    b.phone = "0611223344";
    b.email = "famille.traore@example.org";
    identity_result_t r = s_match(&b);
    cr_expect_eq(r.verdict, IDENTITY_NEW, "code %s score %.1f", r.code, r.score);
    /* The phone alone, with a near-identical name, is not enough to link
     * either when the birth date is plainly different. */
    Relais__V1__Person c = s_person("Traore", "Aminata", "2001-11-27");
    c.phone = "0611223344";
    cr_expect_neq(s_match(&c).verdict, IDENTITY_SAME);
}

Test(matcher, swapped_first_and_last_names_are_found)
{
    Relais__V1__Person a = s_person("Ndiaye", "Léa-Marie", "2004-06-17");
    s_index(3, &a);
    Relais__V1__Person b = s_person("Léa Marie", "Ndiaye", "2004-06-17");
    identity_result_t r = s_match(&b);
    cr_expect_neq(r.verdict, IDENTITY_NEW);
    cr_expect_eq(r.candidate_id, 3);
    cr_expect_eq(r.evidence[LINKAGE_SURNAME].level, LINKAGE_NAME_SWAPPED);
}

Test(matcher, conflicting_ine_goes_to_review)
{
    Relais__V1__Person a = s_person("Moreau", "Camille", "2004-09-01");
    a.ine = "123456789AB";
    s_index(1, &a);
    Relais__V1__Person b = s_person("MOREAU", "camille", "2004-09-01");
    b.ine = "987654321CD";
    identity_result_t r = s_match(&b);
    cr_expect_eq(r.verdict, IDENTITY_POSSIBLE);
    cr_expect_str_eq(r.code, "ine_conflict");
}

Test(matcher, two_linkable_known_persons_go_to_review)
{
    /* Two known records that both look like the referral (an earlier
     * missed duplicate): never pick one, never merge them. */
    Relais__V1__Person a = s_person("Yilmaz", "Zeynep", "2004-10-10");
    Relais__V1__Person b = s_person("Yilmaz", "Zeynep", "2004-10-10");
    s_index(1, &a);
    s_index(2, &b);
    identity_result_t r = s_match(&a);
    cr_expect_eq(r.verdict, IDENTITY_POSSIBLE);
    cr_expect_str_eq(r.code, "possible_match");
}

Test(matcher, unknown_before_init_is_an_error)
{
    identity_shutdown();
    store_txn_t t;
    identity_result_t r;
    Relais__V1__Person p = s_person("Yilmaz", "Zeynep", "2004-10-10");
    cr_assert_eq(store_begin(s_store, false, NULL, &t), 0);
    cr_expect_neq(identity_match(&t, &p, &r), 0);
    store_abort(&t);
}

/* A candidate found by one key alone is opened only when its sketch is
 * plausible (sketch.h): the same names born years apart are not, the same
 * names with a year one digit off are. */
Test(matcher, one_key_candidates_are_opened_only_when_plausible)
{
    Relais__V1__Person known = s_person("Vuillemin", "Théo", "2003-07-21");
    s_index(3, &known);
    Relais__V1__Person later = s_person("Vuillemin", "Théo", "2006-11-02");
    identity_result_t r = s_match(&later);
    cr_expect_eq(r.verdict, IDENTITY_NEW);
    cr_expect_eq(r.candidates, 0, "a namesake born three years apart was opened");
    Relais__V1__Person typo = s_person("Vuillemin", "Théo", "2005-07-21");
    r = s_match(&typo);
    cr_expect_eq(r.candidates, 1);
    cr_expect_eq(r.candidate_id, 3);
    cr_expect_eq(r.evidence[LINKAGE_BIRTH_DATE].level, LINKAGE_DATE_TYPO1);
}

static int s_legacy_entry(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    unsigned char (*keys)[64] = arg;
    for (int i = 0; i < 32; i++)
        if (keys[i][0] == 0) {
            keys[i][0] = (unsigned char)key->mv_size;
            memcpy(keys[i] + 1, key->mv_data, key->mv_size);
            return 0;
        }
    return 1;
}

static int s_count(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    (void)val;
    (*(int *)arg)++;
    return 0;
}

/* A store indexed before sketches holds bare 8-byte person ids: they are
 * still found (always opened), and forgetting the person removes them. */
Test(matcher, entries_without_sketch_still_match_and_are_forgotten)
{
    Relais__V1__Person known = s_person("Da Silva-Costa", "Hélène", "2003-04-09");
    known.phone = "0612345678";
    s_index(5, &known);
    unsigned char keys[32][64] = {{0}}, id[8];
    store_txn_t t;
    store_u64_encode(5, id);
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(store_scan(&t, STORE_IDENTITY, "", 0, NULL, 0, s_legacy_entry, keys), 0);
    int n = 0;
    for (; n < 32 && keys[n][0]; n++) {
        cr_assert_eq(store_del(&t, STORE_IDENTITY, keys[n] + 1, keys[n][0], NULL, 0), 0);
        cr_assert_eq(store_put(&t, STORE_IDENTITY, keys[n] + 1, keys[n][0], id, 8, 0), 0);
    }
    cr_assert_gt(n, 3);
    cr_assert_eq(store_commit(&t), 0);

    Relais__V1__Person again = s_person("DA SILVA COSTA", "helene", "2003-04-09");
    identity_result_t r = s_match(&again);
    cr_expect_eq(r.verdict, IDENTITY_SAME);
    cr_expect_eq(r.person_id, 5);

    int left = 0;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(identity_forget(&t, 5), 0);
    cr_assert_eq(store_scan(&t, STORE_IDENTITY, "", 0, NULL, 0, s_count, &left), 0);
    cr_assert_eq(store_commit(&t), 0);
    cr_expect_eq(left, 0, "%d index entries left after forgetting", left);
    cr_expect_eq(s_match(&again).verdict, IDENTITY_NEW);
}

/* Fills the store past the model's tf_min_persons, every given name below
 * carried by many, so that name counts speak. */
static void s_fill(size_t n)
{
    static const char *const given[] = {"Noé", "Noémie", "Lina", "Louis", "Louise", "Inès"};
    store_txn_t t;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    for (size_t i = 0; i < n; i++) {
        char last[16], birth[16];
        size_t v = i;
        int len = 0;
        last[len++] = 'F';
        do {
            last[len++] = (char)('a' + v % 26);
            v /= 26;
        } while (v && len < 10);
        last[len] = '\0';
        snprintf(birth, sizeof birth, "2001-%02zu-%02zu", 1 + i % 12, 1 + i % 28);
        Relais__V1__Person p = s_person(last, given[i % 6], birth);
        cr_assert_eq(identity_index(&t, 1000 + i, &p), 0);
    }
    cr_assert_eq(store_commit(&t), 0);
}

/* Twins "Noé" and "Noémie" (Jaro-Winkler 0.88, as alike as a name and
 * its typo), same surname, birth date and phone: once the store counts
 * enough persons to know both are names many carry, the referral is a new
 * person, not a question for the programme team; a typo nobody carries,
 * at the same level, still is one. */
Test(matcher, twins_with_two_attested_given_names_are_new_persons)
{
    Relais__V1__Person a = s_person("Garnier", "Noémie", "2004-05-06");
    a.phone = "0611223344";
    a.quartier = "Planoise";
    s_index(1, &a);
    Relais__V1__Person twin = s_person("Garnier", "Noé", "2004-05-06");
    twin.phone = "0611223344";
    twin.quartier = "Planoise";
    identity_result_t r = s_match(&twin);
    cr_expect_eq(r.evidence[LINKAGE_GIVEN].level, LINKAGE_NAME_JW88);
    cr_expect_eq(r.verdict, IDENTITY_POSSIBLE, "few persons known: the team decides");

    cr_expect_str_eq(r.aside, "");
    s_fill(1200);
    r = s_match(&twin);
    cr_expect_eq(r.candidates, 1);
    cr_expect_eq(r.verdict, IDENTITY_NEW);
    cr_expect_eq(r.candidate_id, 1);
    cr_expect_str_eq(r.aside, "distinct_given_names");

    Relais__V1__Person b = s_person("Perrin", "Lina", "2004-08-09");
    b.phone = "0622334455";
    s_index(2, &b);
    Relais__V1__Person typo = s_person("Perrin", "Lmna", "2004-08-09");
    typo.phone = "0622334455";
    r = s_match(&typo);
    cr_expect_eq(r.evidence[LINKAGE_GIVEN].level, LINKAGE_NAME_JW70);
    cr_expect_neq(r.verdict, IDENTITY_NEW, "a misspelt name is not another name");
    cr_expect_eq(r.candidate_id, 2);
}

/* Forgetting takes back everything indexing wrote: index entries, the
 * profile, and the name counts (two persons forgotten: nothing left). */
Test(matcher, forgetting_leaves_no_count_behind)
{
    Relais__V1__Person a = s_person("Vuillemin", "Théo Jules", "2003-07-21");
    Relais__V1__Person b = s_person("Vuillemin", "Théo", "2005-01-30");
    s_index(1, &a);
    s_index(2, &b);
    store_txn_t t;
    int left = 0;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(identity_forget(&t, 1), 0);
    cr_assert_eq(store_scan(&t, STORE_LINKAGE, "", 0, NULL, 0, s_count, &left), 0);
    /* b's profile, its surname and given name counts, npersons. */
    cr_expect_eq(left, 4, "%d linkage records", left);
    cr_assert_eq(identity_forget(&t, 2), 0);
    cr_assert_eq(identity_forget(&t, 2), 0, "forgetting twice is not an error");
    left = 0;
    cr_assert_eq(store_scan(&t, STORE_LINKAGE, "", 0, NULL, 0, s_count, &left), 0);
    cr_expect_eq(left, 0, "%d linkage records left", left);
    left = 0;
    cr_assert_eq(store_scan(&t, STORE_IDENTITY, "", 0, NULL, 0, s_count, &left), 0);
    cr_expect_eq(left, 0, "%d index entries left", left);
    cr_assert_eq(store_commit(&t), 0);
}
