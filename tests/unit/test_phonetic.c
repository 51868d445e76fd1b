/*  French phonetic encodings against their published examples (the
 *  sources are cited in broker/phonetic.h). */
#include "normalize.h"
#include "phonetic.h"

#include <criterion/criterion.h>
#include <stdlib.h>

typedef struct {
    const char *word, *code;
} vec_t;

Test(phonetic, soundex_fr_published_examples)
{
    static const vec_t v[] = {
        {"Florentin", "F465"}, {"Michael", "M240"},    {"Schœlcher", "S242"},
        {"François", "F658"},  {"Christophe", "C683"}, {"Leffe", "L900"},
        {"Elizabeth", "E481"}, {"Dupont", "D153"},     {"Dupond", "D153"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char code[PHONETIC_SOUNDEX_LEN];
        phonetic_soundex_fr(v[i].word, code);
        cr_expect_str_eq(code, v[i].code, "%s", v[i].word);
    }
}

Test(phonetic, phonex_published_examples)
{
    static const vec_t v[] = {
        {"PHYLAURHEIMSMET", "FILOR4SNY"},
        {"Martin", "NORTIN"},
        {"Bernard", "FYRNOR"},
        {"Faure", "FORE"},
        {"Perez", "TYRYZ"},
        {"Gros", "GROS"},
        {"Chapuis", "5OTUIS"},
        {"Boyer", "F2YR"},
        {"Gauthier", "KOTIYR"},
        {"Rey", "RY"},
        {"Barthélémy", "FORTILINI"},
        {"Henry", "H1RI"},
        {"Moulin", "N3LIN"},
        {"Rousseau", "R3SO"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char code[32];
        phonetic_phonex(v[i].word, code, sizeof code);
        cr_expect_str_eq(code, v[i].code, "%s", v[i].word);
    }
}

Test(phonetic, spellings_of_one_name_share_a_code_after_normalisation)
{
    static const char *const same[][2] = {
        {"Vuillemin", "Vuilemin"},
        {"Lefebvre", "Lefèvre"},
        {"Hélène", "HELENE"},
        {"Da Silva", "Dasilva"},
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char *a = normalize_compact(same[i][0]), *b = normalize_compact(same[i][1]);
        char ca[32], cb[32];
        phonetic_phonex(a, ca, sizeof ca);
        phonetic_phonex(b, cb, sizeof cb);
        cr_expect_str_eq(ca, cb, "%s / %s", same[i][0], same[i][1]);
        free(a);
        free(b);
    }
}

Test(phonetic, empty_and_foreign_scripts_are_safe)
{
    char code[32], sx[PHONETIC_SOUNDEX_LEN];
    cr_expect_eq(phonetic_phonex("", code, sizeof code), 0);
    cr_expect_eq(phonetic_soundex_fr("", sx), 0);
    cr_expect_str_eq(sx, "");
    phonetic_phonex("Ωμέγα", code, sizeof code); /* no Latin letter: no crash */
    cr_expect_eq(phonetic_phonex("Martin", code, 3), 2);
    cr_expect_str_eq(code, "NO");
}
