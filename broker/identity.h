/*  identity — is this young person already known?  (The "match" step.)
 *
 *  One person, one case, however many referrals: the Mission locale's
 *  "Hélène Da Silva-Costa" and the ASQ's "HELENE DA SILVA COSTA", same
 *  birth date, are one person; so is "Lea Ndiaye" with a day/month-swapped
 *  birth date from the Rectorat.  This module is the only place that
 *  decides it; the referral path calls identity_match, then identity_index
 *  for a new person.  A false merge (two young people's social records
 *  mixed, one's case sent to the other's coordinator) is worse than a
 *  missed one, and every rule below leans that way.
 *
 *  How (record linkage in three steps):
 *  1. Candidates (blocking).  Each indexed person has several keys in the
 *     `identity` database (MDB_DUPSORT, key → u64 person id + u64 sealed
 *     sketch of the names and birth date, sketch.h; entries written before
 *     sketches hold the id alone).  A key is one kind byte and a keyed
 *     BLAKE2b-128 hash of its material, never plaintext:
 *       'S' phonex(surname variant) + birth year  (every variant, with and
 *           without particles; looked up with the given names too, for
 *           first/last names swapped)
 *       'G' French soundex(given-name token) + birth date (looked up also
 *           with day and month swapped when both are ≤ 12)
 *       'D' birth date (looked up also swapped)
 *       'T' all name tokens, sorted
 *       'I' INE     'E' e-mail     'P' phone
 *     The union of the blocks is scored, except that a block of more than
 *     IDENTITY_SOLO_CAP persons only corroborates: its persons are scored
 *     when a second key (or a small block) finds them too; and a person
 *     that one name or date key alone finds (not an INE, e-mail or phone)
 *     is scored only when its sketch is plausible (names alike, birth date
 *     not far off: most such candidates are namesakes, and scoring one
 *     means opening its sealed profile).  The bare birth date is looked
 *     up only while its block can be under its cap (IDENTITY_BIRTH_DATES).
 *     A block larger than its cap (IDENTITY_BLOCK_CAP;
 *     IDENTITY_DATE_BLOCK_CAP for a bare birth date, which holds ~34
 *     persons at 100,000 and ~340 at a million, so it only helps a small
 *     store) says nothing useful, so it is skipped and reported (a warning
 *     naming the key kind, never the value); its size comes with the
 *     look-up (mdb_cursor_count), none of it is read.
 *  2. Scoring (linkage.h): Fellegi-Sunter levels and log2 weights per
 *     field, with term frequencies for exact name agreements (how many
 *     persons carry the name, kept in the `linkage` database, counted when
 *     a person is indexed).
 *  3. Verdict, with the model's two thresholds on the posterior log2-odds
 *     (score + log2(prior_share / persons indexed), linkage.h):
 *     SAME      exactly one candidate reaches upper, and for it the
 *               surnames agree at least phonetically, the given names at
 *               Jaro-Winkler ≥ 0.92 (twins are often "Noé" / "Noémie"; or
 *               both names are swapped), the birth
 *               dates are at most a typo / swap / a month apart, and the
 *               INEs do not conflict
 *     POSSIBLE  for a human (code):
 *               "possible_match" a candidate scores ≥ lower but not enough
 *                                to link, or several candidates could link
 *                                (two known persons are never merged, and a
 *                                referral never picks one of two on its own)
 *               "ine_conflict"   the best candidate would link but the INEs
 *                                differ
 *               "same_ine"       a candidate has the same INE and not
 *                                enough else agrees
 *     NEW       otherwise.
 *     Candidates whose given names plainly differ (level "other") are
 *     never SAME nor POSSIBLE unless their INE agrees: same surname and
 *     birth date with another given name is twins, and a shared family
 *     phone or e-mail must not turn siblings into one person.  Nor are
 *     those whose first given names are alike (Jaro-Winkler 0.70 to 0.92)
 *     but both carried by at least IDENTITY_ATTESTED known persons: two
 *     names ("Noé" / "Noémie", "Louis" / "Louise"), not one misspelt,
 *     which the counts can tell once the model's tf_min_persons are
 *     indexed (before, such a pair goes to review).  Phone and e-mail are
 *     evidence with a weight, never a key that decides.
 *
 *  Keys: the hash key is the data key's index subkey (datakey.h:
 *  DATA_DIR/data.key, created by identity_init on first start), or, for a
 *  store made before the data key, its `identity.key` (32 random bytes,
 *  mode 0600), kept as long as it exists.  Changing the key makes the
 *  existing index unreadable (it must then be rebuilt).  identity_init
 *  also sets the sealing key (seal.h): profiles are stored sealed.
 *
 *  Also in `linkage` (store.h lists the database):
 *    'f' + hash('s' or 'g', name)  -> u64 persons carrying that name
 *    'n' "persons"                 -> u64 persons counted
 *    'p' + u64 person id           -> relais.store.MatchProfile
 *
 *  Thread-safety: identity_init / identity_set_key / identity_load_model
 *  at start, before any match.  identity_match and identity_index keep a
 *  one-entry profile memo and the capped-block counters: one thread at a
 *  time (the broker's single loop).
 *  Cost: 6 to 8 index look-ups (one B-tree descent each); about 1
 *  candidate scored at 10,000 persons and 4 at a million, each one profile
 *  read, one decryption and a few Jaro-Winkler calls; two name-frequency
 *  reads once a candidate agrees exactly on a name, two more for a
 *  candidate whose given name is alike but not the same (see README
 *  "Matching quality" for measured times).
 */
#ifndef RELAIS_IDENTITY_H
#define RELAIS_IDENTITY_H

#include "linkage.h"
#include "relais.pb-c.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENTITY_BLOCK_CAP      200
#define IDENTITY_DATE_BLOCK_CAP 16
#define IDENTITY_SOLO_CAP       32
#define IDENTITY_BIRTH_DATES    3653 /* ten years of birth dates */
#define IDENTITY_ATTESTED       3    /* persons carrying a given name */
#define IDENTITY_ENTRY_LEN      16 /* u64 person id, u64 names' sketch */
#define IDENTITY_KEY_FILE       "identity.key"

typedef enum { IDENTITY_NEW = 0, IDENTITY_SAME, IDENTITY_POSSIBLE } identity_verdict_t;

typedef struct {
    identity_verdict_t verdict;
    uint64_t person_id; /* SAME: the person; POSSIBLE: the candidate; NEW: 0 */
    char code[40];      /* POSSIBLE: why, a stable Reason code */
    /* The explanation (every verdict): the best candidate, its score and
     * each field's level and weight; 0 / all missing when no candidate. */
    uint64_t candidate_id;
    double score; /* sum of the weights */
    double prior; /* log2 prior odds; score + prior is compared with the
                   * model's thresholds (linkage.h) */
    linkage_evidence_t evidence[LINKAGE_NFIELDS];
    unsigned candidates; /* how many were scored */
    /* NEW explained by a candidate set aside as another person: why
     * ("given_names_differ", "distinct_given_names"); else "". */
    char aside[24];
} identity_result_t;

/* Reads DATA_DIR/data.key, creating it when missing (datakey_init: the
 * sealing and index keys), or DATA_DIR/identity.key when a store made
 * before the data key has one, and loads the built-in model.  Returns 0, or -1 with the
 * reason in ERR. */
int identity_init(const char *data_dir, char *err, size_t errlen);
/* Forgets PERSON_ID: its identity index entries and its profile are
 * deleted (erasure.h), so identity_match finds it no more, and the name
 * counts it added are taken back (a count reaching zero is deleted).  0
 * when the profile is gone already. */
int identity_forget(store_txn_t *t, uint64_t person_id);
/* Uses KEY for every hash from now on (the security issue's data key). */
void identity_set_key(const unsigned char key[LINKAGE_KEY_LEN]);
/* Replaces the model with JSON_TEXT (tests, benchmarks, a future
 * --linkage-model option).  Returns 0, or -1 with the reason in ERR. */
int identity_load_model(const char *json_text, char *err, size_t errlen);
/* The model in use (NULL before identity_init). */
const linkage_model_t *identity_model(void);
/* Frees the model (end of the process). */
void identity_shutdown(void);

/* P must be valid (validate.h).  Returns 0 or a store error (EINVAL
 * before identity_init, ENOMEM when a name cannot be normalised). */
int identity_match(store_txn_t *t, const Relais__V1__Person *p, identity_result_t *out);
/* Makes PERSON_ID findable by P's keys and counts its names. */
int identity_index(store_txn_t *t, uint64_t person_id, const Relais__V1__Person *p);
/* The programme team's review decisions (review.h), remembered so the
 * same pair is never asked again: `linkage` key 'x' + both person ids
 * (u64, smaller first) -> "same" or "different".  identity_match consults
 * them: when several persons could link, one remembered as different from
 * the best no longer makes the referral ambiguous. */
int identity_remember(store_txn_t *t, uint64_t a, uint64_t b, bool same);
/* *OUT: 1 remembered same, -1 remembered different, 0 never decided. */
int identity_pair(store_txn_t *t, uint64_t a, uint64_t b, int *out);
/* OUT's explanation as a storage record (strings point to static names;
 * EV_HOLD / EV_PTRS are the backing arrays). */
void identity_decision_msg(const identity_result_t *r, Relais__Store__MatchEvidence ev_hold[],
                           Relais__Store__MatchEvidence *ev_ptrs[],
                           Relais__Store__MatchDecision *out);

#endif
