/*  test_normalize — name folding (broker/normalize.c).
 *
 *  Identity matching rests on this: two partners' spellings of the same
 *  person must fold to the same string, and garbage must be refused rather
 *  than folded into something that matches a stranger.
 */
#include "normalize.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void assert_folds(const char *in, const char *want)
{
    char *got = normalize_name(in);
    cr_assert_not_null(got, "normalize_name(\"%s\") returned NULL", in);
    cr_assert_str_eq(got, want, "normalize_name(\"%s\")", in);
    free(got);
}

static void assert_compacts(const char *in, const char *want)
{
    char *got = normalize_compact(in);
    cr_assert_not_null(got, "normalize_compact(\"%s\") returned NULL", in);
    cr_assert_str_eq(got, want, "normalize_compact(\"%s\")", in);
    free(got);
}

/* ---- normalize_name ----------------------------------------------------- */

Test(normalize_name, brief_examples)
{
    assert_folds("Léa-Marie N'DIAYE", "lea marie n diaye");
    assert_folds("  ÉLODIE   ", "elodie");
    assert_folds("Cœur", "coeur");
    assert_folds("Straße", "strasse");
    assert_folds("Jean-Noël", "jean noel");
}

Test(normalize_name, accents_and_case)
{
    assert_folds("ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ", "aaaceeeeiioouuuy");
    assert_folds("àâäçéèêëîïôöùûüÿ", "aaaceeeeiioouuuy");
    assert_folds("Zoë Ñúñez", "zoe nunez");
    assert_folds("MÜLLER", "muller");
    /* Decomposed input (e + combining acute) folds like precomposed. */
    assert_folds("Le\xcc\x81"
                 "a",
                 "lea");
}

Test(normalize_name, ligatures_and_letters_that_do_not_decompose)
{
    assert_folds("Œ", "oe");
    assert_folds("œ", "oe");
    assert_folds("ŒUVRE", "oeuvre");
    assert_folds("Æ", "ae");
    assert_folds("Lætitia", "laetitia");
    assert_folds("ß", "ss");
    assert_folds("ẞ", "ss"); /* capital sharp s */
    assert_folds("Ø", "o");
    assert_folds("Søren Bjørn", "soren bjorn");
    assert_folds("Đorđe", "dorde");
    assert_folds("Łukasz Wałęsa", "lukasz walesa");
    assert_folds("Işık", "isik");
}

Test(normalize_name, apostrophes_ascii_and_typographic)
{
    assert_folds("N'Diaye", "n diaye");
    assert_folds("N’Diaye", "n diaye");
    assert_folds("N‘Diaye", "n diaye");
    assert_folds("Nʼdiaye", "n diaye");
    assert_folds("D'Alembert", "d alembert");
}

Test(normalize_name, separators_collapse_to_one_space)
{
    assert_folds("Jean--Pierre", "jean pierre");
    assert_folds("Jean - Pierre", "jean pierre");
    assert_folds("J.-P. Martin", "j p martin");
    assert_folds("St. Jean", "st jean");
    assert_folds("Martin,Paul", "martin paul");
    assert_folds("jean_pierre", "jean pierre");
    assert_folds("a \t\n\r b", "a b");
    assert_folds("Jean\u2013Pierre", "jean pierre");   /* en dash */
    assert_folds("Jean\u2010Pierre", "jean pierre");   /* Unicode hyphen */
    assert_folds("Marie\u00a0Claire", "marie claire"); /* no-break space */
    assert_folds("Marie\u202fClaire", "marie claire"); /* narrow no-break space */
    assert_folds("  --Anne--  ", "anne");
    assert_folds("'  ' -", "");
}

Test(normalize_name, digits_kept_other_punctuation_dropped)
{
    assert_folds("Louis 14", "louis 14");
    assert_folds("Anne (dite) \"Nanou\"!?", "anne dite nanou");
    assert_folds("a@b#c$d%e", "abcde");
    assert_folds("Marie/Claire", "marieclaire");
    assert_folds("x²", "x2");
    assert_folds("Ｊｅａｎ", "jean"); /* full-width letters: compatibility forms */
}

Test(normalize_name, empty_and_invalid)
{
    assert_folds("", "");
    cr_assert_null(normalize_name(NULL));
    cr_assert_null(normalize_name("\xff"));
    cr_assert_null(normalize_name("L\xc3"));        /* truncated sequence */
    cr_assert_null(normalize_name("L\xc0\xa9"));    /* overlong */
    cr_assert_null(normalize_name("\xed\xa0\x80")); /* surrogate */
}

Test(normalize_name, same_person_two_spellings)
{
    char *a = normalize_name("Léa-Marie N’DIAYE");
    char *b = normalize_name("lea marie n'diaye");
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}

/* ---- normalize_first_token ---------------------------------------------- */

Test(normalize_first_token, first_of_several)
{
    char out[32];
    cr_assert_eq(normalize_first_token("lea marie", out, sizeof out), 3);
    cr_assert_str_eq(out, "lea");
    cr_assert_eq(normalize_first_token("elodie", out, sizeof out), 6);
    cr_assert_str_eq(out, "elodie");
}

Test(normalize_first_token, empty)
{
    char out[8] = "junk";
    cr_assert_eq(normalize_first_token("", out, sizeof out), 0);
    cr_assert_str_eq(out, "");
}

Test(normalize_first_token, truncates_to_fit)
{
    char out[5];
    cr_assert_eq(normalize_first_token("maximilien jean", out, sizeof out), 4);
    cr_assert_str_eq(out, "maxi");
    char one[1] = {'x'};
    cr_assert_eq(normalize_first_token("lea", one, sizeof one), 0);
    cr_assert_eq(one[0], '\0');
}

Test(normalize_first_token, truncation_keeps_utf8_whole)
{
    /* Folding keeps letters it cannot spell in ASCII ("þ" is 2 bytes).
     * Cutting "aþb" to 2 bytes would leave half a character. */
    char out[3];
    size_t n = normalize_first_token("a\xc3\xbe"
                                     "b",
                                     out, sizeof out);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(out, "a");
    cr_assert(normalize_utf8_ok(out, strlen(out)));
}

/* ---- normalize_compact -------------------------------------------------- */

Test(normalize_compact, spaces_removed)
{
    assert_compacts("N'DIAYE", "ndiaye");
    assert_compacts("ndiaye", "ndiaye");
    assert_compacts("Léa-Marie N’Diaye", "leamariendiaye");
    assert_compacts("  ", "");
    cr_assert_null(normalize_compact("\xff"));
    cr_assert_null(normalize_compact(NULL));
}

/* ---- normalize_utf8_ok -------------------------------------------------- */

static int ok(const char *s)
{
    return normalize_utf8_ok(s, strlen(s));
}

Test(normalize_utf8_ok, valid_text)
{
    cr_assert(ok(""));
    cr_assert(ok("Léa-Marie N’DIAYE"));
    cr_assert(ok("ligne 1\nligne 2\r\n\tfin"));
    cr_assert(ok("emoji \xf0\x9f\x98\x80"));
    cr_assert(ok("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last code point */
}

Test(normalize_utf8_ok, control_characters)
{
    cr_assert_not(ok("a\x01"
                     "b"));
    cr_assert_not(ok("a\x1b[31m"));
    cr_assert_not(ok("a\x7f"));     /* DEL */
    cr_assert_not(ok("a\xc2\x85")); /* U+0085, a C1 control */
    cr_assert_not(ok("\x0b"));      /* vertical tab */
    cr_assert_not(ok("\x0c"));      /* form feed */
}

Test(normalize_utf8_ok, nul_inside_length)
{
    const char s[] = "ab\0cd";
    cr_assert_not(normalize_utf8_ok(s, 5));
    cr_assert(normalize_utf8_ok(s, 2), "only LEN bytes are looked at");
}

Test(normalize_utf8_ok, invalid_sequences)
{
    cr_assert_not(ok("\xff"));
    cr_assert_not(ok("\xfe"));
    cr_assert_not(ok("\x80"));             /* lone continuation byte */
    cr_assert_not(ok("\xc3"));             /* truncated 2-byte */
    cr_assert_not(ok("\xe2\x80"));         /* truncated 3-byte */
    cr_assert_not(ok("\xc3("));            /* bad continuation */
    cr_assert_not(ok("\xc0\xaf"));         /* overlong "/" */
    cr_assert_not(ok("\xc1\xbf"));         /* overlong 2-byte */
    cr_assert_not(ok("\xe0\x80\xaf"));     /* overlong 3-byte */
    cr_assert_not(ok("\xf0\x80\x80\xaf")); /* overlong 4-byte */
    cr_assert_not(ok("\xc0\x80"));         /* overlong NUL ("modified UTF-8") */
    cr_assert_not(ok("\xed\xa0\x80"));     /* UTF-16 surrogate */
    cr_assert_not(ok("\xf4\x90\x80\x80")); /* past U+10FFFF */
    /* A valid sequence cut by LEN is invalid. */
    cr_assert_not(normalize_utf8_ok("\xc3\xa9", 1));
}
