/*  test_sketch — the matcher's pre-filter: which candidates are worth
 *  opening.  A false "not plausible" loses a duplicate, so the cases a
 *  duplicate really shows (accents and case, a compound given name
 *  shortened, one typo, first and last names swapped, a date one digit off
 *  or day/month swapped) must pass under any key; another person (another
 *  name, or the same name born years apart) must not. */
#include "linkage.h"
#include "sketch.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

static unsigned char s_key[LINKAGE_KEY_LEN];

static uint64_t s_sketch(const char *last, const char *first, const char *birth)
{
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    linkage_profile_t prof;
    p.last_name = (char *)last;
    p.first_names = (char *)first;
    p.birth_date = (char *)birth;
    cr_assert_eq(linkage_profile_build(&p, s_key, &prof), 0);
    return sketch_of(&prof);
}

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(sketch, .init = setup);

/* Every assertion under 32 different keys: the bit of a letter pair is
 * keyed, so a case that passes by luck of one key would show here. */
#define FOR_KEYS                                                                                   \
    for (int k = 0; k < 32; k++)                                                                   \
        if ((memset(s_key, k * 37 + 1, sizeof s_key), sketch_set_key(s_key), 1))

Test(sketch, a_duplicate_is_plausible_under_any_key)
{
    FOR_KEYS
    {
        uint64_t q = s_sketch("N'Diaye", "Léa-Marie", "2004-03-12");
        cr_assert(sketch_plausible(q, s_sketch("NDIAYE", "LEA MARIE", "2004-03-12")), "key %d", k);
        cr_assert(sketch_plausible(q, s_sketch("Ndiaye", "Léa", "2004-03-12")), "key %d", k);
        cr_assert(sketch_plausible(q, s_sketch("Ndiaey", "Lea-Marie", "2004-03-12")), "key %d", k);
        cr_assert(sketch_plausible(q, s_sketch("Léa-Marie", "N'Diaye", "2004-03-12")), "key %d",
                  k);
        cr_assert(sketch_plausible(q, s_sketch("Ndiaye", "Lea-Marie", "2004-12-03")), "key %d", k);
        cr_assert(sketch_plausible(q, s_sketch("Ndiaye", "Lea-Marie", "2005-03-12")), "key %d", k);
        cr_assert(sketch_plausible(q, s_sketch("Ndiaye", "Lea-Marie", "2004-04-02")), "key %d", k);
        /* The same year is still a date a person may be mistaken on. */
        cr_assert(sketch_plausible(q, s_sketch("Ndiaye", "Lea-Marie", "2004-09-25")), "key %d", k);
    }
}

Test(sketch, another_person_is_not)
{
    int names_other = 0;
    FOR_KEYS
    {
        uint64_t q = s_sketch("Vuillemin", "Théo", "2003-07-21");
        /* Same names, born years apart: the date says no. */
        cr_assert_not(sketch_plausible(q, s_sketch("Vuillemin", "Theo", "2006-11-02")), "key %d",
                      k);
        /* Another name: the names say no (chance overlap of 24 bits may
         * pass it now and then; never often). */
        names_other += sketch_plausible(q, s_sketch("Benali", "Karim", "2003-07-21"));
        names_other += sketch_plausible(q, s_sketch("Martin", "Lucas", "2003-07-21"));
        cr_assert_lt(sketch_names(q, s_sketch("Bouvier", "Inès", "2003-07-21")), 0.7, "key %d",
                     k);
    }
    cr_assert_leq(names_other, 2, "%d of 64 unrelated names passed", names_other);
}

Test(sketch, sealing_hides_it_and_opens_it)
{
    memset(s_key, 7, sizeof s_key);
    sketch_set_key(s_key);
    uint64_t s = s_sketch("Da Silva-Costa", "Hélène", "2004-03-12");
    uint64_t a = sketch_seal(s, 41), b = sketch_seal(s, 42);
    cr_assert_neq(a, s);
    cr_assert_neq(a, b, "two persons with the same names must not show it");
    cr_assert_eq(sketch_seal(a, 41), s);
    cr_assert_eq(sketch_seal(b, 42), s);
    /* Another key, another sketch and another pad. */
    memset(s_key, 8, sizeof s_key);
    sketch_set_key(s_key);
    cr_assert_neq(s_sketch("Da Silva-Costa", "Hélène", "2004-03-12"), s);
    cr_assert_neq(sketch_seal(s, 41), a);
}

Test(sketch, missing_date_and_names_count_as_no_evidence)
{
    memset(s_key, 9, sizeof s_key);
    sketch_set_key(s_key);
    uint64_t q = s_sketch("Rossi", "Giulia", "");
    cr_assert(sketch_plausible(q, s_sketch("Rossi", "Giulia", "2002-05-05")));
    cr_assert(sketch_plausible(s_sketch("Rossi", "", "2002-05-05"),
                               s_sketch("Rossi", "Giulia", "2002-05-05")));
    cr_assert_float_eq(sketch_names(q, q), 1.0, 1e-9);
}

/* A birth date that is not the referral's asks more of the names (0.8)
 * than an exact one (0.7): at a million persons most candidates sharing a
 * name sound and a birth year, or a day/month swap, are namesakes. */
Test(sketch, a_date_off_asks_more_of_the_names)
{
    static const char *const names[][2] = {
        {"Ndiaye", "Lea"},   {"Diallo", "Lea"},   {"Ndiaye", "Leo"},    {"Ndiay", "Léa"},
        {"Nadiaye", "Lina"}, {"Sow", "Lea"},      {"Ndoye", "Lea"},     {"Ndiaye", "Lee"},
    };
    static const char *const dates[] = {"2004-03-12", "2004-03-19", "2004-12-03", "2004-08-30"};
    FOR_KEYS
    {
        uint64_t q = s_sketch("Ndiaye", "Léa", "2004-03-12");
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++)
            for (size_t d = 0; d < sizeof dates / sizeof dates[0]; d++) {
                uint64_t c = s_sketch(names[n][0], names[n][1], dates[d]);
                double alike = sketch_names(q, c);
                bool expect = alike >= (d == 0 ? SKETCH_NAMES_MIN : SKETCH_NAMES_MIN_DATE_OFF);
                cr_assert_eq(sketch_plausible(q, c), expect, "key %d: %s %s %s (names %.2f)", k,
                             names[n][0], names[n][1], dates[d], alike);
            }
    }
}
