/*  reasons — the list of (code, message) pairs an answer carries.
 *
 *  Validation, eligibility, matching and routing all explain themselves the
 *  same way: a stable machine-readable code (PROTOCOL.md's Reason.code, such
 *  as "missing_field" or "too_old") and a plain-French message that can be
 *  read to the young person.  Messages never contain personal data: they
 *  name fields and rules, never values a partner sent about a person.
 *
 *  The list is fixed-size (no allocation on the hot path).  Past
 *  REASONS_MAX the last slot says "too_many_problems" and further reasons
 *  are dropped: an answer stays bounded whatever the input.
 */
#ifndef RELAIS_REASONS_H
#define RELAIS_REASONS_H

#include <stddef.h>

#define REASONS_MAX 16
#define REASON_CODE_MAX 40
#define REASON_MESSAGE_MAX 240

typedef struct {
    char code[REASON_CODE_MAX];
    char message[REASON_MESSAGE_MAX];
} reason_t;

typedef struct {
    reason_t items[REASONS_MAX];
    size_t count;
} reasons_t;

void reasons_init(reasons_t *self);
/* Appends a reason; MESSAGE is a printf format.  Codes and messages longer
 * than their slot are truncated. */
void reasons_add(reasons_t *self, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when a reason with CODE is in the list. */
int reasons_has(const reasons_t *self, const char *code);

#endif
