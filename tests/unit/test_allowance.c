/*  allowance: monthly dues prorated by days, contract totals. */
#include "allowance.h"

#include <criterion/criterion.h>

static date_t D(int y, int m, int d)
{
    return (date_t){y, m, d};
}

Test(allowance, full_months_cost_the_allowance)
{
    cr_assert_eq(allowance_month_due(D(2026, 1, 1), D(2026, 12, 31), 2026, 3, 500), 50000);
    cr_assert_eq(allowance_total(D(2026, 1, 1), D(2026, 12, 31), 500), 600000);
}

Test(allowance, twelve_months_from_mid_month_cost_twelve_allowances)
{
    date_t start = D(2026, 1, 15);
    date_t end = allowance_max_end(start, 12);
    cr_assert_eq(end.year, 2027);
    cr_assert_eq(end.month, 1);
    cr_assert_eq(end.day, 14);
    /* January 2026: 17 of 31 days; January 2027: 14 of 31; 11 full months
     * between. 17 + 14 = 31: exactly one more month. */
    cr_assert_eq(allowance_month_due(start, end, 2026, 1, 500), 27419); /* 500*17/31 */
    cr_assert_eq(allowance_month_due(start, end, 2027, 1, 500), 22581); /* 500*14/31 */
    cr_assert_eq(allowance_total(start, end, 500), 600000);
}

Test(allowance, month_boundaries_and_leap_years)
{
    /* February 2028 has 29 days: 10 days active = 500*10/29. */
    cr_assert_eq(allowance_month_due(D(2028, 2, 20), D(2028, 6, 30), 2028, 2, 500), 17241);
    /* February 2027 has 28 days. */
    cr_assert_eq(allowance_month_due(D(2027, 2, 19), D(2027, 6, 30), 2027, 2, 500), 17857);
    /* One single day. */
    cr_assert_eq(allowance_total(D(2026, 4, 30), D(2026, 4, 30), 500), 1667); /* 500/30 */
    /* Outside the contract. */
    cr_assert_eq(allowance_month_due(D(2026, 4, 1), D(2026, 5, 31), 2026, 6, 500), 0);
    cr_assert_eq(allowance_total(D(2026, 5, 2), D(2026, 5, 1), 500), 0);
    /* 29 February start: max end is the day before 28 February a year on. */
    date_t end = allowance_max_end(D(2028, 2, 29), 12);
    cr_assert_eq(end.month, 2);
    cr_assert_eq(end.day, 27);
}

Test(allowance, closed_mid_month)
{
    /* A contract from 1 March closed on 10 June: March-May full, 10/30 of
     * June. */
    cr_assert_eq(allowance_total(D(2026, 3, 1), D(2026, 6, 10), 500), 3 * 50000 + 16667);
}
