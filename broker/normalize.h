/*  normalize — folding names for identity comparison.
 *
 *  Two partners write the same young person "Léa-Marie N'DIAYE" and
 *  "lea marie ndiaye".  normalize_name maps both to "lea marie n diaye" /
 *  "lea marie ndiaye"... precisely: Unicode NFKD, case folding and mark
 *  (accent) stripping, all by utf8proc; then the ligatures and letters that
 *  do not decompose (œ→oe, æ→ae, ø→o, ß→ss, đ→d, ł→l, ı→i); then
 *  hyphens, apostrophes (ASCII and typographic), dots, underscores, commas
 *  and any run of white space become one single space, trimmed at both
 *  ends.  Digits are kept; other punctuation is dropped.
 *
 *  Thread-safety: pure functions.  Cost: O(length), one allocation.
 */
#ifndef RELAIS_NORMALIZE_H
#define RELAIS_NORMALIZE_H

#include <stddef.h>

/* Returns a malloc'd folded copy of the UTF-8 string S, or NULL when S is
 * not valid UTF-8 or memory runs out.  Caller frees. */
char *normalize_name(const char *s);
/* Writes into OUT (size OUTLEN) the first space-separated token of the
 * already-normalised string S ("lea" for "lea marie"); "" when S is empty.
 * Returns the token length, truncated to fit. */
size_t normalize_first_token(const char *s, char *out, size_t outlen);
/* Same folding, then every space removed: "n diaye" and "ndiaye" compare
 * equal.  Malloc'd, NULL on invalid UTF-8. */
char *normalize_compact(const char *s);
/* True when the LEN bytes at S are valid UTF-8 with no NUL and no control
 * characters other than tab, CR and LF. */
int normalize_utf8_ok(const char *s, size_t len);

/* ---- name variants for identity matching ------------------------------
 *
 * A young person may carry several names (birth name, usage name: "Durand
 * épouse Martin", "Durand / Martin", "Durand (Martin)") and a surname with
 * a particle that partners keep or drop ("de la Fontaine" / "Fontaine",
 * "Ben Ali" / "Ali", "d'Almeida" / "Almeida").  Matching compares every
 * variant of one side with every variant of the other.
 *
 * Particles recognised at the start of a name: de, du, des, la, le, les,
 * d', l', van, von, der, den, ben, bin, ibn, ait, el, al, da, das, dos, di,
 * del, della.  Tokens "st"/"ste" read "saint"/"sainte" everywhere.
 * Several names are split on / ; ( ) and on the words epouse, ep, nee,
 * ne, dit, dite, ou, veuve, vve, alias.  Cost: O(length), no allocation
 * beyond normalize_name's one per piece. */
#define NORMALIZE_TOKEN_MAX    64
#define NORMALIZE_VARIANTS_MAX 6

/* Surname variants of the raw UTF-8 name RAW, as compact folded strings
 * (no spaces: "da silva costa" → "dasilvacosta"): each name as written,
 * then without its leading particles; duplicates removed; the first
 * variant is the name as written (the one term frequencies count).
 * Returns how many were written (at most MAX), 0 for no letter at all or
 * invalid UTF-8. */
size_t normalize_surname_variants(const char *raw, char out[][NORMALIZE_TOKEN_MAX], size_t max);
/* Given-name tokens of RAW ("Hélène-Marie Léa" → helene, marie, lea),
 * folded, "st"/"ste" expanded, in order, duplicates removed.  Returns how
 * many (at most MAX). */
size_t normalize_given_tokens(const char *raw, char out[][NORMALIZE_TOKEN_MAX], size_t max);

#endif
