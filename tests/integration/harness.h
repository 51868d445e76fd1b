/*  harness — the real relais-broker, started for a test.
 *
 *  Each broker runs as its own process (the binary the build produced),
 *  on a fresh temporary data directory, with real ZeroMQ TCP endpoints on
 *  127.0.0.1 (ports picked per process, retried if taken), its stderr
 *  captured in a log file the test can read.  Its clock is pinned with
 *  RELAIS_NOW so ages and dates are reproducible.
 *
 *  Keys: by default the broker runs as in production, CurveZMQ on both
 *  endpoints.  harness_start makes, in the test's directory (keys/), the
 *  broker's key pair and one key pair per configured partner
 *  ("partner-ID.key"), per structure ("coordinator-ID.key") and one for the
 *  programme staff ("staff-programme-team.key"), all listed in
 *  keys/authorized_keys; harness_partner / harness_coordinator /
 *  harness_staff connect with the right one.  harness_start_insecure runs
 *  the broker with --insecure-dev instead (plain TCP, sender trusted).
 */
#ifndef RELAIS_HARNESS_H
#define RELAIS_HARNESS_H

#include "relais.pb-c.h"
#include "relais_client.h"

#include <stdbool.h>
#include <sys/types.h>

#define HARNESS_NOW "2026-11-20"  /* the broker's "today" */
#define HARNESS_REFERRED_ON "2026-11-16"

typedef struct {
    pid_t pid;
    char dir[256];   /* temporary directory: data/, broker.log, relais.conf */
    char data[300];
    char log[300];
    char config[300]; /* "" = built-in default */
    char partner_ep[64];
    char coordinator_ep[64];
    const char *now;
    bool insecure;             /* --insecure-dev */
    char keys[300];            /* DIR/keys */
    char authorized_keys[320]; /* DIR/keys/authorized_keys */
    char broker_public[41];
} harness_broker_t;

#define HARNESS_STAFF_ID "programme-team"

/* Starts a broker (CONFIG_TEXT NULL: the built-in configuration) and waits
 * until it answers.  Aborts the test (cr_assert) on failure. */
void harness_start(harness_broker_t *b, const char *config_text);
/* The same with --insecure-dev (no keys). */
void harness_start_insecure(harness_broker_t *b, const char *config_text);
/* SIGTERM, waits; asserts a clean exit (status 0). */
void harness_stop(harness_broker_t *b);
/* SIGKILL, waits. */
void harness_kill(harness_broker_t *b);
/* Starts again on the same directory and endpoints. */
void harness_restart(harness_broker_t *b);
/* Stops if running, removes the directory. */
void harness_cleanup(harness_broker_t *b);
/* deploy/relais.conf with the text FROM replaced by TO (malloc'd). */
char *harness_config_with(const char *from, const char *to);
/* The broker's stderr so far (malloc'd). */
char *harness_log(const harness_broker_t *b);

relais_client_t *harness_partner(const harness_broker_t *b, const char *partner_id);
relais_client_t *harness_coordinator(const harness_broker_t *b, const char *structure_id);
relais_client_t *harness_staff(const harness_broker_t *b, const char *staff_id);
/* A client of ENDPOINT sending SENDER, with the secret key file KEY_FILE
 * (NULL: no Curve at all).  Short timeouts when FAST (refusal tests). */
relais_client_t *harness_client_keyed(const harness_broker_t *b, const char *endpoint,
                                      const char *sender, const char *key_file, bool fast);
/* "DIR/keys/ROLE-ID.key" into OUT. */
void harness_key_path(const harness_broker_t *b, const char *role, const char *id, char *out,
                      size_t outlen);
/* Makes a new key pair at "DIR/keys/NAME.key" (not listed anywhere);
 * its public key in PUBLIC_Z85 (41 bytes). */
void harness_new_key(const harness_broker_t *b, const char *name, char *public_z85);
/* Rewrites the authorized-keys file with TEXT, sends SIGHUP and waits
 * until the broker logs the reload. */
void harness_reload_keys(harness_broker_t *b, const char *text);
/* The authorized-keys file's text (malloc'd). */
char *harness_authorized_keys(const harness_broker_t *b);

/* A referral with its own storage: fill, adjust fields, submit. */
typedef struct {
    Relais__V1__Referral r;
    Relais__V1__Person p;
    Relais__V1__Benefit benefits[8];
    Relais__V1__Need needs[8];
} harness_ref_t;

/* The I-th of a population of distinct young people whose names and birth
 * dates do not resemble one another's (so the matcher rightly keeps them
 * apart): fills LAST, FIRST and BIRTH (YYYY-MM-DD, aged 19 to 25 on
 * HARNESS_REFERRED_ON). */
void harness_person(unsigned i, char last[48], char first[24], char birth[11]);

/* An eligible referral: consent, no benefit, referred on
 * HARNESS_REFERRED_ON, Besançon 25000. */
void harness_ref(harness_ref_t *h, const char *partner_ref, const char *last,
                 const char *first, const char *birth_date, const char *quartier);

/* Submits and returns the Ack (asserts a reply came and was an Ack).
 * The envelope holding it is kept in *HOLD for the caller to free with
 * relais__v1__envelope__free_unpacked. */
Relais__V1__Ack *harness_submit(relais_client_t *c, harness_ref_t *h,
                                Relais__V1__Envelope **hold);
/* Acts on a case; returns the ActionResult (same ownership as above). */
Relais__V1__ActionResult *harness_act(relais_client_t *c, const char *case_id,
                                      Relais__V1__ActionKind kind, Relais__V1__CaseState milestone,
                                      Relais__V1__Outcome outcome, const char *reason,
                                      Relais__V1__Envelope **hold);
/* Sends raw bytes (one frame, or several with N_FRAMES > 1) on a fresh
 * DEALER to ENDPOINT and returns the reply frame decoded (NULL if no reply
 * within TIMEOUT_MS).  The DEALER does the Curve handshake of the last
 * broker started, with the key of partner mission-locale on its partner
 * endpoint and of coordinator asq-planoise on its coordinator endpoint
 * (none for an --insecure-dev broker). */
Relais__V1__Envelope *harness_raw(const char *endpoint, const void *data, size_t len,
                                  int n_frames, int timeout_ms);
/* The same with the secret key file KEY_FILE (NULL: no Curve). */
Relais__V1__Envelope *harness_raw_keyed(const harness_broker_t *b, const char *endpoint,
                                        const char *key_file, const void *data, size_t len,
                                        int n_frames, int timeout_ms);

#endif
