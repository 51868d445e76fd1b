/*  Jaro-Winkler against the published values (Winkler 1990, the values
 *  every implementation is checked against). */
#include "similarity.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static void s_near(double got, double want, const char *what)
{
    cr_expect(fabs(got - want) < 0.0005, "%s: %.4f, want %.3f", what, got, want);
}

Test(similarity, jaro_winkler_published_values)
{
    s_near(similarity_jaro_winkler("MARTHA", "MARHTA"), 0.961, "MARTHA/MARHTA");
    s_near(similarity_jaro_winkler("DWAYNE", "DUANE"), 0.840, "DWAYNE/DUANE");
    s_near(similarity_jaro_winkler("DIXON", "DICKSONX"), 0.813, "DIXON/DICKSONX");
}

Test(similarity, jaro_published_values)
{
    s_near(similarity_jaro("MARTHA", "MARHTA"), 0.944, "MARTHA/MARHTA");
    s_near(similarity_jaro("DWAYNE", "DUANE"), 0.822, "DWAYNE/DUANE");
    s_near(similarity_jaro("DIXON", "DICKSONX"), 0.767, "DIXON/DICKSONX");
}

Test(similarity, edges)
{
    cr_expect_eq(similarity_jaro_winkler("", ""), 1.0);
    cr_expect_eq(similarity_jaro_winkler("abc", ""), 0.0);
    cr_expect_eq(similarity_jaro_winkler("abc", "xyz"), 0.0);
    cr_expect_eq(similarity_jaro_winkler("vuillemin", "vuillemin"), 1.0);
    cr_expect_eq(similarity_jaro_winkler("a", "a"), 1.0);
    /* Symmetric. */
    cr_expect_eq(similarity_jaro_winkler("dupont", "dupond"),
                 similarity_jaro_winkler("dupond", "dupont"));
    /* Longer than the cap: compared on the first 64 bytes, no overflow. */
    char a[200], b[200];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[150] = 'y';
    cr_expect_eq(similarity_jaro_winkler(a, b), 1.0);
}
