/*  harness — the real relais-broker, started for a test.
 *
 *  Each broker runs as its own process (the binary the build produced),
 *  on a fresh temporary data directory, with real ZeroMQ TCP endpoints on
 *  127.0.0.1 (ports picked per process, retried if taken), its stderr
 *  captured in a log file the test can read.  Its clock is pinned with
 *  RELAIS_NOW so ages and dates are reproducible.
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
} harness_broker_t;

/* Starts a broker (CONFIG_TEXT NULL: the built-in configuration) and waits
 * until it answers.  Aborts the test (cr_assert) on failure. */
void harness_start(harness_broker_t *b, const char *config_text);
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
 * within TIMEOUT_MS). */
Relais__V1__Envelope *harness_raw(const char *endpoint, const void *data, size_t len,
                                  int n_frames, int timeout_ms);

#endif
