/*  clock — injectable time source.  See clock.h. */
#include "clock.h"

#include "date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int s_pinned = 0;
static int64_t s_pinned_now = 0;
static int s_env_read = 0;
static int64_t s_env_offset = 0; /* RELAIS_NOW - real time at first read */

static int64_t s_real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static void s_read_env(void)
{
    s_env_read = 1;
    const char *env = getenv("RELAIS_NOW");
    if (!env || !*env)
        return;
    int y, m, d;
    int64_t target;
    char tail;
    if (sscanf(env, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        tm.tm_hour = 12;
        target = (int64_t)timegm(&tm);
    } else {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (*end) {
            fprintf(stderr, "relais: RELAIS_NOW=%s is neither unix seconds nor YYYY-MM-DD; "
                            "using the real clock\n", env);
            return;
        }
        target = (int64_t)v;
    }
    s_env_offset = target - s_real_now();
}

int64_t clock_now(void)
{
    if (s_pinned)
        return s_pinned_now;
    if (!s_env_read)
        s_read_env();
    return s_real_now() + s_env_offset;
}

void clock_set(int64_t now)
{
    s_pinned = 1;
    s_pinned_now = now;
}

void clock_reset(void)
{
    s_pinned = 0;
}

void clock_format(int64_t secs, char out[static 21])
{
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool clock_parse(const char *s, int64_t *out)
{
    char day[11];
    date_t d;
    int h, m, sec, n = 0;
    if (!s || strlen(s) != 20 || s[10] != 'T' || s[19] != 'Z')
        return false;
    memcpy(day, s, 10);
    day[10] = '\0';
    if (!date_parse_iso(day, &d) || sscanf(s + 11, "%2d:%2d:%2d%n", &h, &m, &sec, &n) != 3 ||
        n != 8 || h > 23 || m > 59 || sec > 60 || h < 0 || m < 0 || sec < 0)
        return false;
    *out = date_to_days(d) * 86400 + h * 3600 + m * 60 + sec;
    return true;
}
