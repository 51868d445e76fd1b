/*  log — single-line stderr logger.  See log.h. */
#include "log.h"

#include "clock.h"

#include <stdarg.h>
#include <stdio.h>

static const char *s_program = "relais";
static log_level_t s_level = LOG_INFO;

void log_set_program(const char *name)
{
    s_program = name;
}

void log_set_level(log_level_t level)
{
    s_level = level;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < s_level)
        return;
    char stamp[21];
    clock_format(clock_now(), stamp);
    /* One fprintf-sized buffer so concurrent writers do not interleave
     * within a line. */
    char line[1024];
    int n = snprintf(line, sizeof line, "%s %s %s ", stamp, s_program, names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
