/*  errbuf — an error message into the caller's buffer.
 *
 *  Modules that report failures as (char *err, size_t errlen) — the
 *  configuration, keys, the programme team's commands — write the reason
 *  there and return -1 in one statement: `return errbuf_set(err, errlen,
 *  "%s: %s", path, strerror(errno));`.  The message is truncated to
 *  ERRLEN - 1 bytes.
 */
#ifndef RELAIS_ERRBUF_H
#define RELAIS_ERRBUF_H

#include <stddef.h>

/* Formats into ERR (ERRLEN bytes) and returns -1. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
