/*  config — the programme, its partners and structures, read once at start.
 *
 *  One libconfig file (format: https://hyperrealm.github.io/libconfig/),
 *  shipped as deploy/relais.conf.  The same text is compiled into the
 *  broker (config_default.c) and used when no --config is given, so the
 *  shipped file and the built-in default can never drift apart (a unit test
 *  checks both load to the same thing).
 *
 *  Layout of the file:
 *
 *    programme = {
 *      name = "...";
 *      min_age = 18; max_age = 25;            # inclusive, on referred_on
 *      resources_ceiling_eur = 300;           # declared monthly resources
 *      excluded_benefits = ["rsa", "cej", "garantie_jeunes", "are"];
 *      envelope_eur = 1000000; allowance_eur = 500; max_months = 12;
 *      start_date = ""; end_date = "";        # "" = open
 *      default_structure = "asq-centre";      # nobody serves / has room
 *      programme_structure = "ccas-programme";# declined by every structure
 *      reminder_days = 10; reroute_days = 30; # unanswered routed cases
 *      waitlist_housing_first = false;        # FIFO, or housing need first
 *    };
 *    broker = {                               # all optional
 *      partner_endpoint = "tcp://127.0.0.1:7410";
 *      coordinator_endpoint = "tcp://127.0.0.1:7411";
 *      max_message_bytes = 262144;            # bigger frames get an Error
 *      map_size_mib = 1024;                   # LMDB map size at start
 *      map_max_mib = 65536;                   # grown up to this when full
 *      secret_key_file = "";                  # the broker's key pair (relais-keygen)
 *      authorized_keys_file = "";             # who may connect (auth.h)
 *    };                                       # (both: --secret-key / --keys win)
 *    partners = ( { id = "mission-locale"; name = "..."; kind = "mission_locale"; }, ... );
 *    structures = ( { id = "asq-planoise"; name = "..."; kind = "asq";
 *                     quartiers = ["Planoise", ...]; postcodes = ["25000"];
 *                     capacity = 40; }, ... );
 *
 *  Checks (each failure stops the broker with "FILE:LINE: reason"): types,
 *  required keys, ids unique and made of [a-z0-9-] (1..40 chars), known
 *  benefit words, partner kinds in mission_locale ccas asq departement
 *  rectorat association insertion maison_de_quartier other, structure kinds
 *  in asq maison_de_quartier association programme, ages 0 < min <= max,
 *  capacity >= 1, dates real days with start <= end, default and programme
 *  structures naming configured structures, at least one partner and one
 *  structure, allowance and months >= 1.
 *
 *  Ownership: a config_t and everything it points to belong to it; freed by
 *  config_free.  Immutable after load: safe to share between threads.
 */
#ifndef RELAIS_CONFIG_H
#define RELAIS_CONFIG_H

#include "date.h"
#include "vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *id;
    char *name;
    char *kind;
} config_partner_t;

typedef struct {
    char *id;
    char *name;
    char *kind;
    char **quartiers; /* as written in the file */
    size_t n_quartiers;
    char **postcodes;
    size_t n_postcodes;
    uint32_t capacity; /* maximum open cases */
} config_structure_t;

typedef struct {
    /* programme */
    char *programme_name;
    unsigned min_age;
    unsigned max_age;
    uint32_t resources_ceiling_eur;
    bool excluded_benefit[VOCAB_BENEFIT_COUNT]; /* indexed by Relais__V1__Benefit */
    uint64_t envelope_eur;
    uint32_t allowance_eur;
    uint32_t max_months;
    bool has_start;
    date_t start_date;
    bool has_end;
    date_t end_date;
    char *default_structure;
    char *programme_structure;
    unsigned retention_months;   /* closed cases: personal data erased after
                                  * this many months (erasure.h) */
    unsigned reminder_days;      /* routed, unanswered: remind after this */
    unsigned reroute_days;       /* ...and re-route as "no_answer" after this */
    bool waitlist_housing_first; /* waitlist: no-housing need goes first */
    /* broker */
    char *partner_endpoint;
    char *coordinator_endpoint;
    size_t max_message_bytes;
    size_t map_size_mib; /* initial LMDB map size */
    size_t map_max_mib;  /* the map doubles when full, up to this ceiling */
    char *secret_key_file;      /* "" when not set */
    char *data_key_file;        /* "": DATA_DIR/data.key (datakey.h) */
    char *authorized_keys_file; /* "" when not set */
    /* who */
    config_partner_t *partners;
    size_t n_partners;
    config_structure_t *structures;
    size_t n_structures;
} config_t;

/* The built-in Besançon configuration (same text as deploy/relais.conf). */
extern const char config_default_text[];

/* Load from a file / from text (ORIGIN names it in messages).  NULL on
 * error, with "ORIGIN:LINE: reason" (or "ORIGIN: reason") in ERR. */
config_t *config_load_file(const char *path, char *err, size_t errlen);
config_t *config_load_string(const char *text, const char *origin, char *err, size_t errlen);
config_t *config_load_default(char *err, size_t errlen);
void config_free(config_t **self_p);

/* Lookups by id; NULL when absent.  O(n), n is a dozen. */
const config_partner_t *config_partner(const config_t *self, const char *id);
const config_structure_t *config_structure(const config_t *self, const char *id);
/* The display name of partner / structure ID; ID itself when unknown (a
 * partner or structure since removed from the configuration). */
const char *config_partner_name(const config_t *self, const char *id);
const char *config_structure_name(const config_t *self, const char *id);

#endif
