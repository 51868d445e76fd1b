/*  sketch — a person's names and birth date in 64 sealed bits, to skip
 *  hopeless candidates without opening their profiles.
 *
 *  The matcher (identity.c) scores every candidate its blocking keys find,
 *  and scoring one means reading and opening its sealed profile.  At a
 *  million persons most candidates come from one key only (a surname sound
 *  and a birth year; a given-name sound and a birth date; the same name
 *  tokens) and share nothing else with the referral: measured, 12 of 15
 *  per referral, fewer than 1 % of them the person.  A sketch, stored
 *  next to the person id in each index entry, tells those apart cheaply.
 *
 *  What it holds:
 *    bits  0-23  the surname (folded, as written): its letter pairs with
 *                the word boundaries (" lea" gives " l", "le", "ea",
 *                "a "), each setting one of 24 bits (a Bloom filter of
 *                bigrams, Schnell, Bachteler & Reiher 2009); the bit of a
 *                pair comes from a keyed hash
 *    bits 24-47  the given names, the same way
 *    bits 48-63  the birth date: year - 1950 (7 bits), month, day; 0 when
 *                unknown
 *  Stored sealed: XORed with a keyed pseudo-random pad of the person id
 *  (SipHash-2-4, crypto_shorthash), so the index holds no name, date or
 *  name-derived pattern in clear.  Both keys derive from the identity
 *  index key (identity.h).
 *
 *  sketch_plausible: the candidate is worth scoring when its names look
 *  like the referral's — Dice coefficient of the surname halves and of
 *  the given-name halves, averaged, also with the halves crossed (first
 *  and last names swapped): one typo leaves it near 0.8–1, another name
 *  about 0.3 — at least SKETCH_NAMES_MIN with the same birth date, at
 *  least SKETCH_NAMES_MIN_DATE_OFF with another date that is still not
 *  "other" (linkage.h: one digit, day/month swapped, within a month, the
 *  same year).  Measured at a million persons: of the candidates with a
 *  date off and names at 0.7–0.8, 5 in 14,000 mattered to the verdict.
 *
 *  Thread-safety: sketch_set_key at start, before any other call; then
 *  read-only.  Cost: a table look-up per letter pair; a SipHash per seal.
 */
#ifndef RELAIS_SKETCH_H
#define RELAIS_SKETCH_H

#include "linkage.h"

#include <stdbool.h>
#include <stdint.h>

#define SKETCH_NAMES_MIN          0.7
#define SKETCH_NAMES_MIN_DATE_OFF 0.8

/* Derives the pair -> bit table and the sealing key from KEY. */
void sketch_set_key(const unsigned char key[LINKAGE_KEY_LEN]);
/* PROF's sketch, in clear. */
uint64_t sketch_of(const linkage_profile_t *prof);
/* Seals (or opens: the same operation) person ID's sketch. */
uint64_t sketch_seal(uint64_t sketch, uint64_t id);
/* 0..1: how alike the names are (above); a half empty on either side
 * counts as 1. */
double sketch_names(uint64_t a, uint64_t b);
/* Whether a candidate sketched C is worth scoring for a referral
 * sketched Q (above; both in clear). */
bool sketch_plausible(uint64_t q, uint64_t c);

#endif
