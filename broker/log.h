/*  log — the one logger: one line per event on stderr.
 *
 *  Lines read "2026-11-30T08:15:00Z relais-broker INFO referral ...".
 *  House rule, enforced by review and by a test that greps the broker's
 *  stderr: callers log identifiers only (partner ids, partner_refs, case
 *  ids, structure ids, codes), never a name, birth date, phone, email or
 *  free-text note.
 */
#ifndef RELAIS_LOG_H
#define RELAIS_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Program name at the start of every line (default "relais"). */
void log_set_program(const char *name);
void log_set_level(log_level_t level);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
