/*  date — Gregorian calendar dates.  See date.h.
 *
 *  Day counting uses Howard Hinnant's days_from_civil / civil_from_days
 *  algorithms: O(1), exact over the whole proleptic Gregorian calendar.
 */
#include "date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool date_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int s_month_days(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && date_is_leap(year) ? 29 : days[month - 1];
}

bool date_is_valid(int year, int month, int day)
{
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= s_month_days(year, month);
}

/* Reads exactly N ASCII digits at S. */
static bool s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool date_parse_iso(const char *s, date_t *out)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    if (!s_digits(s, 4, &y) || !s_digits(s + 5, 2, &m) || !s_digits(s + 8, 2, &d))
        return false;
    if (!date_is_valid(y, m, d))
        return false;
    *out = (date_t){y, m, d};
    return true;
}

bool date_parse_any(const char *s, date_t *out)
{
    if (!s)
        return false;
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len != 10)
        return false;
    char buf[11];
    memcpy(buf, s, 10);
    buf[10] = '\0';
    if (buf[2] == '/' && buf[5] == '/') {
        int y, m, d;
        if (!s_digits(buf, 2, &d) || !s_digits(buf + 3, 2, &m) || !s_digits(buf + 6, 4, &y))
            return false;
        if (!date_is_valid(y, m, d))
            return false;
        *out = (date_t){y, m, d};
        return true;
    }
    return date_parse_iso(buf, out);
}

void date_format(date_t d, char out[static 11])
{
    /* Digits written one by one: fixed width whatever the values, which
     * the compiler can prove fits. */
    unsigned y = (unsigned)d.year % 10000, m = (unsigned)d.month % 100, dd = (unsigned)d.day % 100;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + dd / 10);
    out[9] = (char)('0' + dd % 10);
    out[10] = '\0';
}

int date_compare(date_t a, date_t b)
{
    if (a.year != b.year)
        return a.year < b.year ? -1 : 1;
    if (a.month != b.month)
        return a.month < b.month ? -1 : 1;
    if (a.day != b.day)
        return a.day < b.day ? -1 : 1;
    return 0;
}

int64_t date_to_days(date_t d)
{
    int64_t y = d.year - (d.month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (d.month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

date_t date_from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return (date_t){(int)(y + (m <= 2)), m, d};
}

/* Europe/Paris offset from UTC at instant SECS: +1h, +2h in summer time
 * (last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC).
 * Computed here rather than through TZ so that a broker started with any
 * TZ dates referrals the same way. */
static int s_paris_offset(int64_t secs)
{
    date_t day = date_from_days(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400);
    int y = day.year;
    /* Last Sunday of a month: from the last day, back to weekday 0.
     * 1970-01-01 was a Thursday (4). */
    int64_t mar31 = date_to_days((date_t){y, 3, 31});
    int64_t oct31 = date_to_days((date_t){y, 10, 31});
    int64_t mar_sun = mar31 - ((mar31 % 7 + 7 + 4) % 7);
    int64_t oct_sun = oct31 - ((oct31 % 7 + 7 + 4) % 7);
    int64_t start = mar_sun * 86400 + 3600;
    int64_t end = oct_sun * 86400 + 3600;
    return secs >= start && secs < end ? 7200 : 3600;
}

date_t date_from_unix(int64_t secs)
{
    int64_t local = secs + s_paris_offset(secs);
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    return date_from_days(days);
}

int date_age_on(date_t birth, date_t on)
{
    int age = on.year - birth.year;
    if (on.month < birth.month || (on.month == birth.month && on.day < birth.day))
        age--;
    return age;
}

date_t date_add_months(date_t d, int months)
{
    int total = d.year * 12 + (d.month - 1) + months;
    date_t r = {total / 12, total % 12 + 1, d.day};
    int last = s_month_days(r.year, r.month);
    if (r.day > last)
        r.day = last;
    return r;
}
