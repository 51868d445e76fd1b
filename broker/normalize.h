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

#endif
