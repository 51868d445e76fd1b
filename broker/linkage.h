/*  linkage — Fellegi-Sunter scoring of a pair of person records.
 *
 *  identity.c finds candidates; this module says how alike a referral and
 *  one candidate are, field by field, and how much that is worth.  It is
 *  pure (no store, no I/O): profiles in, levels and weights out, so the
 *  trainer (tests/quality/train.c) and the benchmark use the very code the
 *  broker runs.
 *
 *  Fellegi & Sunter (1969): for each field the pair falls in one
 *  comparison level; m = P(level | same person), u = P(level | different
 *  persons); the level contributes log2(m/u) bits; the sum is the score.
 *  A missing value (either side empty) contributes nothing.  Levels:
 *    surname, given  exact / jw92 / jw88 / phonetic / jw70 / swapped / other
 *                    (Jaro-Winkler ≥ 0.92, ≥ 0.88, phonex equal, JW ≥ 0.70;
 *                    "swapped": first and last names exchanged; several
 *                    names compared any against any, normalize.h; given
 *                    names: one set of tokens contained in the other with
 *                    the same first token is exact ("Hélène" / "Hélène
 *                    Marie"), otherwise the tokens they do not share are
 *                    compared, so "Jean-Pierre" / "Jean-Paul" is other)
 *    birth_date      exact / typo1 (one digit) / swap_dm (day↔month) /
 *                    month1 (within 31 days) / same_year / other
 *    sex, ine, email, phone, place (quartier, else postcode)
 *                    agree / disagree
 *  Term frequencies: for an exact name agreement the caller may pass the
 *  share of persons carrying that name as u (a match on "Martin" is weaker
 *  evidence than one on "Vuillemin").
 *
 *  Thresholds are on the posterior log2-odds, not on the raw score: a
 *  referral is compared with every known person, so the prior odds that a
 *  given pair is the same person are about prior_share / N (prior_share:
 *  the share of referrals that concern someone already known; N: persons
 *  indexed).  Adding log2(prior_share / N) to the score keeps the meaning
 *  of a threshold as the store grows: at a million persons "same surname,
 *  same given name, birth date one digit off" happens by chance and is no
 *  longer enough, as it is among a thousand (measured: README "Matching
 *  quality").
 *
 *  The m/u values are a model file (deploy/linkage-model.json, produced by
 *  tests/quality/train.c from generated labelled pairs and random pairs),
 *  compiled into the broker at build time (linkage_model_default_text), so
 *  the binary and the shipped file cannot drift.  It also holds the two
 *  thresholds identity.c decides with.
 *
 *  Thread-safety: a model is immutable once parsed; every function is
 *  reentrant.  Cost: linkage_compare is O(variants² × name length), a few
 *  microseconds; no allocation.
 */
#ifndef RELAIS_LINKAGE_H
#define RELAIS_LINKAGE_H

#include "normalize.h"
#include "relais.pb-c.h"
#include "relais_store.pb-c.h"

#include <stdbool.h>
#include <stddef.h>

#define LINKAGE_KEY_LEN  32 /* keyed-hash key (libsodium generichash) */
#define LINKAGE_HASH_LEN 16 /* keyed hashes of phone, email, index keys */
#define LINKAGE_CODE_MAX 32 /* a phonex code, truncated */
#define LINKAGE_MISSING  (-1)

typedef enum {
    LINKAGE_SURNAME = 0,
    LINKAGE_GIVEN,
    LINKAGE_BIRTH_DATE,
    LINKAGE_SEX,
    LINKAGE_INE,
    LINKAGE_EMAIL,
    LINKAGE_PHONE,
    LINKAGE_PLACE,
    LINKAGE_NFIELDS
} linkage_field_t;

enum { /* surname and given levels, best first */
       LINKAGE_NAME_EXACT = 0,
       LINKAGE_NAME_JW92,
       LINKAGE_NAME_JW88,
       LINKAGE_NAME_PHONETIC,
       LINKAGE_NAME_JW70,
       LINKAGE_NAME_SWAPPED,
       LINKAGE_NAME_OTHER,
       LINKAGE_NAME_LEVELS
};
enum { /* birth date levels */
       LINKAGE_DATE_EXACT = 0,
       LINKAGE_DATE_TYPO1,
       LINKAGE_DATE_SWAP_DM,
       LINKAGE_DATE_MONTH1,
       LINKAGE_DATE_SAME_YEAR,
       LINKAGE_DATE_OTHER,
       LINKAGE_DATE_LEVELS
};
enum { LINKAGE_AGREE = 0, LINKAGE_DISAGREE, LINKAGE_BINARY_LEVELS };

#define LINKAGE_MAX_LEVELS LINKAGE_NAME_LEVELS

/* What the matcher compares of one person, normalised once. */
typedef struct {
    char surnames[NORMALIZE_VARIANTS_MAX][NORMALIZE_TOKEN_MAX];
    char surname_codes[NORMALIZE_VARIANTS_MAX][LINKAGE_CODE_MAX];
    size_t n_surnames;
    char given[NORMALIZE_VARIANTS_MAX][NORMALIZE_TOKEN_MAX];
    char given_codes[NORMALIZE_VARIANTS_MAX][LINKAGE_CODE_MAX];
    size_t n_given;
    char birth_date[11]; /* YYYY-MM-DD or "" */
    char sex[2];         /* "F", "M" or "" (X counts as missing) */
    char ine[24];        /* upper-case, "" when none */
    unsigned char email_hash[LINKAGE_HASH_LEN];
    bool has_email;
    unsigned char phone_hash[LINKAGE_HASH_LEN];
    bool has_phone;
    char postcode[12];
    char quartier[NORMALIZE_TOKEN_MAX];
} linkage_profile_t;

/* One field's contribution, for explanations. */
typedef struct {
    int level;     /* LINKAGE_MISSING or a level of the field */
    double weight; /* bits; 0 when missing */
} linkage_evidence_t;

typedef struct linkage_model_t linkage_model_t;

/* deploy/linkage-model.json, compiled in (linkage_model_text.c). */
extern const char linkage_model_default_text[];

/* Builds the profile of P.  KEY keys the hashes of phone and email (the
 * same key as the identity index, identity.h).  Returns 0, or EINVAL when
 * the surname has no letter (validation makes that impossible). */
int linkage_profile_build(const Relais__V1__Person *p, const unsigned char key[LINKAGE_KEY_LEN],
                          linkage_profile_t *out);
/* Profile <-> stored record.  linkage_profile_to_msg points MSG's strings
 * into PROF and into HOLD (pointer arrays), so PROF must outlive MSG. */
typedef struct {
    char *s[NORMALIZE_VARIANTS_MAX], *sc[NORMALIZE_VARIANTS_MAX];
    char *g[NORMALIZE_VARIANTS_MAX], *gc[NORMALIZE_VARIANTS_MAX];
} linkage_msg_hold_t;
void linkage_profile_to_msg(linkage_profile_t *prof, linkage_msg_hold_t *hold,
                            Relais__Store__MatchProfile *msg);
void linkage_profile_from_msg(const Relais__Store__MatchProfile *msg, linkage_profile_t *out);

/* Keyed BLAKE2b-128 of LEN bytes at DATA, domain-separated by TAG (one
 * byte: which kind of value). */
void linkage_hash(const unsigned char key[LINKAGE_KEY_LEN], char tag, const void *data, size_t len,
                  unsigned char out[LINKAGE_HASH_LEN]);

/* The comparison level of each field (LINKAGE_MISSING when a side lacks
 * it). */
void linkage_compare(const linkage_profile_t *a, const linkage_profile_t *b,
                     int level[LINKAGE_NFIELDS]);

/* The birth-date level of two "YYYY-MM-DD" dates (LINKAGE_MISSING when
 * either is not of that form). */
int linkage_date_level(const char *a, const char *b);

/* Parses a model (JSON text).  NULL with the reason in ERR. */
linkage_model_t *linkage_model_parse(const char *json, char *err, size_t errlen);
void linkage_model_free(linkage_model_t **self_p);
/* Thresholds on the posterior log2-odds (score + linkage_model_prior). */
double linkage_model_upper(const linkage_model_t *m);
double linkage_model_lower(const linkage_model_t *m);
/* log2 prior odds that a referral and one of PERSONS known persons are
 * the same: log2(prior_share / max(PERSONS, tf_min_persons)). */
double linkage_model_prior(const linkage_model_t *m, unsigned long persons);
/* Below this many indexed persons term frequencies are too noisy and the
 * model's u is used. */
unsigned long linkage_model_tf_min_persons(const linkage_model_t *m);
const char *linkage_model_version(const linkage_model_t *m);
double linkage_model_m(const linkage_model_t *m, int field, int level);
double linkage_model_u(const linkage_model_t *m, int field, int level);

/* Sums the weights of LEVEL.  TF_U[field] > 0 replaces u for an exact
 * agreement on surname / given (NULL: none).  EV (may be NULL) receives
 * each field's contribution. */
double linkage_score(const linkage_model_t *m, const int level[LINKAGE_NFIELDS],
                     const double tf_u[LINKAGE_NFIELDS], linkage_evidence_t ev[LINKAGE_NFIELDS]);

const char *linkage_field_name(int field);
/* "missing" for LINKAGE_MISSING. */
const char *linkage_level_name(int field, int level);
int linkage_field_levels(int field);

#endif
