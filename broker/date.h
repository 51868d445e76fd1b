/*  date — calendar dates without time zones: parsing, checking, ages.
 *
 *  Referrals carry plain dates (birth date, referral date).  This module
 *  parses the two spellings partners use (ISO "YYYY-MM-DD", French
 *  "DD/MM/YYYY"), rejects days that do not exist (2003-02-30, 0000-00-00),
 *  and computes ages the way the programme's rules need them.
 *
 *  Ages: a person's age on a day is the number of birthdays passed.  A
 *  person born on 29 February has, in a non-leap year, a birthday only from
 *  1 March on (28 February is still the day before): eligible from the 18th
 *  birthday through the day before the 26th.
 *
 *  Thread-safety: pure functions.
 */
#ifndef RELAIS_DATE_H
#define RELAIS_DATE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int year;  /* 1..9999 */
    int month; /* 1..12 */
    int day;   /* 1..31 */
} date_t;

bool date_is_leap(int year);
/* True when Y-M-D is a real day of the Gregorian calendar, year 1..9999. */
bool date_is_valid(int year, int month, int day);
/* Exactly "YYYY-MM-DD", a real day.  False otherwise (OUT untouched). */
bool date_parse_iso(const char *s, date_t *out);
/* "YYYY-MM-DD" or "DD/MM/YYYY" (French exports), surrounding blanks
 * ignored, a real day. */
bool date_parse_any(const char *s, date_t *out);
/* Writes "YYYY-MM-DD" and a NUL. */
void date_format(date_t d, char out[static 11]);
/* <0, 0, >0 like strcmp. */
int date_compare(date_t a, date_t b);
/* Days since 1970-01-01 (negative before), and back. */
int64_t date_to_days(date_t d);
date_t date_from_days(int64_t days);
/* The calendar day of unix time SECS in Europe/Paris (the programme's
 * time zone, whatever the machine's TZ). */
date_t date_from_unix(int64_t secs);
/* Completed years of someone born on BIRTH, on day ON (negative if ON is
 * before BIRTH). */
int date_age_on(date_t birth, date_t on);
/* D plus N months, the day clamped to the target month's length
 * (31 January + 1 month = 28/29 February). */
date_t date_add_months(date_t d, int months);

#endif
