/*  reasons — bounded list of answer reasons.  See reasons.h. */
#include "reasons.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void reasons_init(reasons_t *self)
{
    self->count = 0;
}

void reasons_add(reasons_t *self, const char *code, const char *fmt, ...)
{
    if (self->count >= REASONS_MAX)
        return;
    reason_t *r = &self->items[self->count++];
    if (self->count == REASONS_MAX) {
        /* The last slot is kept to say the list was cut. */
        snprintf(r->code, sizeof r->code, "too_many_problems");
        snprintf(r->message, sizeof r->message,
                 "Trop de problèmes : seuls les %d premiers sont listés.", REASONS_MAX - 1);
        return;
    }
    snprintf(r->code, sizeof r->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

int reasons_has(const reasons_t *self, const char *code)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->items[i].code, code) == 0)
            return 1;
    return 0;
}
