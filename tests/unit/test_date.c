/*  test_date — calendar dates (broker/date.c).
 *
 *  Ages decide who enters the programme and referral days decide which
 *  budget they draw on, so the edges matter more than the middle: leap
 *  days, month ends, birthdays, and midnight in Paris versus UTC.
 */
#include "date.h"

#include <criterion/criterion.h>

static date_t D(int y, int m, int d)
{
    return (date_t){y, m, d};
}

static void assert_date(date_t got, int y, int m, int d)
{
    cr_assert(got.year == y && got.month == m && got.day == d,
              "got %04d-%02d-%02d, want %04d-%02d-%02d", got.year, got.month, got.day, y, m, d);
}

/* ---- parsing ---------------------------------------------------------- */

Test(date_parse, iso_real_day)
{
    date_t d;
    cr_assert(date_parse_iso("2003-07-14", &d));
    assert_date(d, 2003, 7, 14);
    cr_assert(date_parse_iso("0001-01-01", &d));
    assert_date(d, 1, 1, 1);
    cr_assert(date_parse_iso("9999-12-31", &d));
    assert_date(d, 9999, 12, 31);
}

Test(date_parse, iso_leap_days)
{
    date_t d;
    cr_assert(date_parse_iso("2024-02-29", &d));
    assert_date(d, 2024, 2, 29);
    cr_assert(date_parse_iso("2000-02-29", &d), "2000 is a leap year (divisible by 400)");
    cr_assert_not(date_parse_iso("2023-02-29", &d));
    cr_assert_not(date_parse_iso("1900-02-29", &d), "1900 is not a leap year");
    cr_assert_not(date_parse_iso("2024-02-30", &d));
}

Test(date_parse, iso_rejects_impossible_days)
{
    date_t d = D(1111, 11, 11);
    const char *bad[] = {"2003-02-30", "0000-00-00", "0000-01-01", "2003-13-01",
                         "2003-00-10", "2003-04-31", "2003-01-00", "2003-01-32"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_not(date_parse_iso(bad[i], &d), "accepted %s", bad[i]);
    /* OUT untouched on failure. */
    assert_date(d, 1111, 11, 11);
}

Test(date_parse, iso_rejects_garbage_and_other_shapes)
{
    date_t d;
    const char *bad[] = {
        "",           "garbage",     "2003-1-01",   "2003-01-1",   "03-01-01",         "2003/01/01",
        "20030101",   "2003-01-01 ", " 2003-01-01", "2003-01-01x", "2003-01-01T00:00", "2O03-01-01",
        "2003-0a-01", "+003-01-01",  "-003-01-01",  "14/07/2003",  "2003-01--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_not(date_parse_iso(bad[i], &d), "accepted \"%s\"", bad[i]);
    cr_assert_not(date_parse_iso(NULL, &d));
}

Test(date_parse, any_accepts_french_and_iso)
{
    date_t d;
    cr_assert(date_parse_any("14/07/2003", &d));
    assert_date(d, 2003, 7, 14);
    cr_assert(date_parse_any("2003-07-14", &d));
    assert_date(d, 2003, 7, 14);
    cr_assert(date_parse_any("  29/02/2024\t", &d), "surrounding blanks are ignored");
    assert_date(d, 2024, 2, 29);
    cr_assert(date_parse_any(" 2024-02-29 ", &d));
    assert_date(d, 2024, 2, 29);
}

Test(date_parse, any_rejects_bad_days_and_garbage)
{
    date_t d = D(1111, 11, 11);
    const char *bad[] = {"30/02/2003", "29/02/2023", "00/00/0000", "01/13/2003",  "32/01/2003",
                         "1/7/2003",   "14-07-2003", "14/07/03",   "14/07/2003x", "14/07/2003 x",
                         "2003-02-30", "",           "   ",        "garbage!!!",  "07/14/2003"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_not(date_parse_any(bad[i], &d), "accepted \"%s\"", bad[i]);
    cr_assert_not(date_parse_any(NULL, &d));
    assert_date(d, 1111, 11, 11);
}

Test(date_parse, is_valid_and_leap)
{
    cr_assert(date_is_leap(2024));
    cr_assert(date_is_leap(2000));
    cr_assert_not(date_is_leap(1900));
    cr_assert_not(date_is_leap(2023));
    cr_assert(date_is_valid(2024, 2, 29));
    cr_assert_not(date_is_valid(0, 1, 1));
    cr_assert_not(date_is_valid(10000, 1, 1));
    cr_assert_not(date_is_valid(2024, 0, 1));
    cr_assert_not(date_is_valid(2024, 13, 1));
    cr_assert_not(date_is_valid(2024, 6, 31));
    cr_assert(date_is_valid(2024, 7, 31));
}

/* ---- format and compare ----------------------------------------------- */

Test(date_format, zero_padded)
{
    char buf[11];
    date_format(D(2003, 7, 4), buf);
    cr_assert_str_eq(buf, "2003-07-04");
    date_format(D(1, 1, 1), buf);
    cr_assert_str_eq(buf, "0001-01-01");
}

Test(date_format, compare_orders_like_strcmp)
{
    cr_assert_lt(date_compare(D(2003, 12, 31), D(2004, 1, 1)), 0);
    cr_assert_gt(date_compare(D(2004, 2, 1), D(2004, 1, 31)), 0);
    cr_assert_lt(date_compare(D(2004, 1, 30), D(2004, 1, 31)), 0);
    cr_assert_eq(date_compare(D(2004, 1, 31), D(2004, 1, 31)), 0);
}

/* ---- day numbers ------------------------------------------------------- */

Test(date_days, known_values)
{
    cr_assert_eq(date_to_days(D(1970, 1, 1)), 0);
    cr_assert_eq(date_to_days(D(1970, 1, 2)), 1);
    cr_assert_eq(date_to_days(D(1969, 12, 31)), -1);
    cr_assert_eq(date_to_days(D(2000, 3, 1)), 11017);
    cr_assert_eq(date_to_days(D(2000, 2, 29)), 11016);
    cr_assert_eq(date_to_days(D(2024, 1, 1)), 19723);
    cr_assert_eq(date_to_days(D(1, 1, 1)), -719162);
    assert_date(date_from_days(0), 1970, 1, 1);
    assert_date(date_from_days(-1), 1969, 12, 31);
    assert_date(date_from_days(11017), 2000, 3, 1);
    assert_date(date_from_days(11016), 2000, 2, 29);
}

Test(date_days, round_trip_and_consecutive_over_wide_range)
{
    /* Every day from 1600-01-01 to 2400-12-31: each one round-trips and
     * the next day number is the next calendar day. */
    int64_t first = date_to_days(D(1600, 1, 1));
    int64_t last = date_to_days(D(2400, 12, 31));
    date_t prev = date_from_days(first - 1);
    assert_date(prev, 1599, 12, 31);
    for (int64_t n = first; n <= last; n++) {
        date_t d = date_from_days(n);
        cr_assert(date_is_valid(d.year, d.month, d.day), "day %lld invalid", (long long)n);
        cr_assert_eq(date_to_days(d), n, "round trip of day %lld", (long long)n);
        cr_assert_gt(date_compare(d, prev), 0);
        bool next_day =
            (d.year == prev.year && d.month == prev.month && d.day == prev.day + 1) ||
            (d.day == 1 &&
             ((d.year == prev.year && d.month == prev.month + 1) ||
              (d.year == prev.year + 1 && d.month == 1 && prev.month == 12 && prev.day == 31)));
        cr_assert(next_day, "day %lld does not follow %04d-%02d-%02d", (long long)n, prev.year,
                  prev.month, prev.day);
        prev = d;
    }
    assert_date(prev, 2400, 12, 31);
}

Test(date_days, extremes_round_trip)
{
    cr_assert_eq(date_to_days(date_from_days(date_to_days(D(1, 1, 1)))), date_to_days(D(1, 1, 1)));
    assert_date(date_from_days(date_to_days(D(9999, 12, 31))), 9999, 12, 31);
    assert_date(date_from_days(date_to_days(D(1, 1, 1))), 1, 1, 1);
}

/* ---- ages -------------------------------------------------------------- */

Test(date_age, birthday_edges)
{
    date_t born = D(2005, 6, 15);
    cr_assert_eq(date_age_on(born, D(2023, 6, 14)), 17, "day before the 18th birthday");
    cr_assert_eq(date_age_on(born, D(2023, 6, 15)), 18, "18th birthday");
    cr_assert_eq(date_age_on(born, D(2031, 6, 14)), 25, "day before the 26th birthday");
    cr_assert_eq(date_age_on(born, D(2031, 6, 15)), 26);
    cr_assert_eq(date_age_on(born, D(2023, 5, 31)), 17, "earlier month, later day");
    cr_assert_eq(date_age_on(born, D(2023, 7, 1)), 18, "later month, earlier day");
    cr_assert_eq(date_age_on(born, born), 0);
    cr_assert_lt(date_age_on(born, D(2005, 6, 14)), 0, "before birth is negative");
}

Test(date_age, born_29_february)
{
    date_t born = D(2004, 2, 29);
    cr_assert_eq(date_age_on(born, D(2022, 2, 28)), 17, "28 Feb is still the day before");
    cr_assert_eq(date_age_on(born, D(2022, 3, 1)), 18, "1 March is the birthday");
    cr_assert_eq(date_age_on(born, D(2024, 2, 28)), 19);
    cr_assert_eq(date_age_on(born, D(2024, 2, 29)), 20, "leap year: the real birthday");
}

/* ---- adding months ----------------------------------------------------- */

Test(date_months, clamps_to_month_end)
{
    assert_date(date_add_months(D(2024, 1, 31), 1), 2024, 2, 29);
    assert_date(date_add_months(D(2023, 1, 31), 1), 2023, 2, 28);
    assert_date(date_add_months(D(2024, 3, 31), 1), 2024, 4, 30);
    assert_date(date_add_months(D(2024, 2, 29), 12), 2025, 2, 28);
    assert_date(date_add_months(D(2024, 1, 15), 0), 2024, 1, 15);
}

Test(date_months, crosses_years_both_ways)
{
    assert_date(date_add_months(D(2026, 3, 15), 12), 2027, 3, 15);
    assert_date(date_add_months(D(2026, 11, 30), 3), 2027, 2, 28);
    assert_date(date_add_months(D(2026, 12, 31), 1), 2027, 1, 31);
    assert_date(date_add_months(D(2026, 1, 31), -1), 2025, 12, 31);
    assert_date(date_add_months(D(2026, 3, 31), -1), 2026, 2, 28);
    assert_date(date_add_months(D(2026, 1, 10), -13), 2024, 12, 10);
}

/* ---- the Paris day of an instant ---------------------------------------- */

Test(date_unix, paris_summer_time_is_utc_plus_two)
{
    /* 2026-06-30T22:30:00Z = 00:30 on 1 July in Paris. */
    assert_date(date_from_unix(1782858600), 2026, 7, 1);
    /* 2026-06-30T21:59:59Z = 23:59:59 on 30 June in Paris. */
    assert_date(date_from_unix(1782856799), 2026, 6, 30);
    /* 2026-06-30T22:00:00Z = midnight. */
    assert_date(date_from_unix(1782856800), 2026, 7, 1);
}

Test(date_unix, paris_winter_time_is_utc_plus_one)
{
    /* 2026-12-31T22:30:00Z = 23:30 on 31 December in Paris. */
    assert_date(date_from_unix(1798756200), 2026, 12, 31);
    /* 2026-12-31T23:00:00Z = midnight: new year in Paris. */
    assert_date(date_from_unix(1798758000), 2027, 1, 1);
    assert_date(date_from_unix(0), 1970, 1, 1);
    /* Before the epoch: 1969-12-31T23:30:00Z is 00:30 on 1 January. */
    assert_date(date_from_unix(-1800), 1970, 1, 1);
    assert_date(date_from_unix(-1800 - 86400), 1969, 12, 31);
    assert_date(date_from_unix(-3601), 1969, 12, 31);
}

Test(date_unix, dst_switch_instants)
{
    /* 2026: summer time from Sunday 29 March 01:00Z to Sunday 25 October
     * 01:00Z.  At 22:30Z the day before each switch the offset differs:
     * 28 March 22:30Z is 23:30 (winter), 24 October 22:30Z is 00:30 on
     * the 25th (summer). */
    assert_date(date_from_unix(1774737000), 2026, 3, 28);
    assert_date(date_from_unix(1792881000), 2026, 10, 25);
    /* 25 October 2026 22:30Z, after the switch back: 23:30 on the 25th. */
    assert_date(date_from_unix(1792967400), 2026, 10, 25);
    /* 29 March 2026 22:30Z, after the switch: 00:30 on the 30th. */
    assert_date(date_from_unix(1774823400), 2026, 3, 30);
}

Test(date_unix, ignores_process_tz)
{
    setenv("TZ", "America/New_York", 1);
    assert_date(date_from_unix(1782858600), 2026, 7, 1);
    unsetenv("TZ");
}
