/*  phonetic — two published French phonetic encodings of names.
 *
 *  Used by identity matching for blocking (phonex of the surname + birth
 *  year finds "Vuilemin" for "Vuillemin") and as one comparison level
 *  ("sounds the same"), never as a match on its own.
 *
 *  phonetic_soundex_fr — the French adaptation of Russell's Soundex, as
 *    published by the Laboratoire d'informatique de l'Université du Maine
 *    (http://www-info.univ-lemans.fr/~carlier/recherche/soundex.html) and
 *    on algor.chez.com/soundex: keep the first letter, code the others
 *    B P→1, C K Q→2, D T→3, L→4, M N→5, R→6, G J→7, S X Z→8, F V→9,
 *    vowels and Y→0, H and W ignored; drop the first code when it repeats
 *    the first letter's own code, collapse runs of one code, drop the 0s,
 *    pad or cut to 4.  Ç reads as S, Œ as E.
 *    Published examples (tested): Florentin F465, Michael M240, Schœlcher
 *    S242, François F658, Christophe C683, Leffe L900, Elizabeth E481,
 *    Dupont D153, Dupond D153.
 *
 *  phonetic_phonex — Frédéric Brouard's "Phonex" (1999, described at
 *    http://sqlpro.developpez.com/cours/soundex/): 24 ordered rewriting
 *    rules for French spelling (Y→I; silent H; PH→F; EAU→O; AIN/EIN→4;
 *    AN/EN/ON→1; IN→4; S between vowels→Z; OU→3; CH/SCH/SH→5; C/Q/GU/QU→K;
 *    …), then A→O, D P→T, J→G, B V→F, M→N, runs collapsed, a final T or X
 *    dropped.  Like the reference implementation in the Talisman library
 *    (Guillaume Plique), we stop before Brouard's last step (turning the
 *    string into a float) and return the string.  Accented E reads as Y
 *    (é is pronounced like "ai"), other accents are stripped, Ç reads as S.
 *    Published examples (Talisman's test suite, tested here):
 *    PHYLAURHEIMSMET FILOR4SNY, Martin NORTIN, Bernard FYRNOR, Faure FORE,
 *    Perez TYRYZ, Gros GROS, Chapuis 5OTUIS, Boyer F2YR, Gauthier KOTIYR,
 *    Rey RY, Barthélémy FORTILINI, Henry H1RI, Moulin N3LIN, Rousseau R3SO.
 *
 *  Both take UTF-8 and ignore what is not a letter (spaces, hyphens,
 *  digits), so "Da Silva" and "Dasilva" encode alike.  The matcher feeds
 *  them normalised names (normalize.h), so "Hélène" and "HELENE" get the
 *  same code; the accent rules above only matter for raw input.
 *
 *  Thread-safety: pure.  Cost: O(length) per rule, no allocation; input
 *  beyond PHONETIC_MAX_IN letters is ignored.
 */
#ifndef RELAIS_PHONETIC_H
#define RELAIS_PHONETIC_H

#include <stddef.h>

#define PHONETIC_MAX_IN      96
#define PHONETIC_SOUNDEX_LEN 5 /* 4 characters and the NUL */

/* Writes the 4-character code into OUT; "" for a string with no letter.
 * Returns the code's length (0 or 4). */
size_t phonetic_soundex_fr(const char *s, char out[PHONETIC_SOUNDEX_LEN]);
/* Writes the Phonex string into OUT (size OUTLEN, at least 2), truncated
 * to fit; returns its length. */
size_t phonetic_phonex(const char *s, char *out, size_t outlen);

#endif
