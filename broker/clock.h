/*  clock — the one source of "now" in relais.
 *
 *  Everything that depends on time (the day a referral is received, ages,
 *  event timestamps, delays) asks clock_now(), never time() directly, so
 *  tests can move time: unit tests call clock_set(); integration tests
 *  start the broker with RELAIS_NOW set in its environment (unix seconds,
 *  or YYYY-MM-DD meaning noon UTC that day), read once, after which the
 *  clock stands still at that instant plus the real time elapsed since.
 *
 *  Thread-safety: clock_set is for tests, before threads start.
 */
#ifndef RELAIS_CLOCK_H
#define RELAIS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Unix seconds. */
int64_t clock_now(void);
/* Pins now to NOW (tests); clock_reset() returns to the real clock. */
void clock_set(int64_t now);
void clock_reset(void);
/* Formats unix seconds as ISO 8601 UTC, "2026-11-30T08:15:00Z". */
void clock_format(int64_t secs, char out[static 21]);
/* The inverse: "YYYY-MM-DDTHH:MM:SSZ" (as clock_format writes, e.g. a
 * StatusEvent's "at") to unix seconds.  False when S is not exactly that. */
bool clock_parse(const char *s, int64_t *out);

#endif
