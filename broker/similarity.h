/*  similarity — string similarity for comparing names.
 *
 *  Jaro-Winkler (Winkler 1990, "String Comparator Metrics and Enhanced
 *  Decision Rules in the Fellegi-Sunter Model of Record Linkage"): the
 *  Jaro score (common characters within a window of max(len)/2 - 1,
 *  half-transpositions) raised for a common prefix of up to 4 characters
 *  by the scaling factor p = 0.1.  Published values it reproduces (tested):
 *  MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813.
 *
 *  Works on bytes: call it on normalised names (normalize.h), which are
 *  ASCII for every Latin-script name; other scripts still compare, a
 *  multi-byte letter counting as several characters.
 *
 *  Thread-safety: pure.  Cost: O(len_a * window), no allocation; strings
 *  longer than SIMILARITY_MAX_LEN bytes are compared on their first
 *  SIMILARITY_MAX_LEN bytes (no name is that long after validation).
 */
#ifndef RELAIS_SIMILARITY_H
#define RELAIS_SIMILARITY_H

#define SIMILARITY_MAX_LEN 64

/* Jaro similarity in [0, 1]; 1 for two empty strings. */
double similarity_jaro(const char *a, const char *b);
/* Jaro-Winkler with prefix scale 0.1, prefix at most 4. */
double similarity_jaro_winkler(const char *a, const char *b);

#endif
