/*  allowance — monthly dues and contract commitments.  See allowance.h. */
#include "allowance.h"

static int s_month_days(int year, int month)
{
    date_t first = {year, month, 1};
    date_t next = date_add_months(first, 1);
    return (int)(date_to_days(next) - date_to_days(first));
}

date_t allowance_max_end(date_t start, unsigned max_months)
{
    return date_from_days(date_to_days(date_add_months(start, (int)max_months)) - 1);
}

int64_t allowance_month_due(date_t start, date_t end, int year, int month, uint32_t allowance_eur)
{
    int days = s_month_days(year, month);
    int64_t first = date_to_days((date_t){year, month, 1});
    int64_t last = first + days - 1;
    int64_t from = date_to_days(start), to = date_to_days(end);
    if (from < first)
        from = first;
    if (to > last)
        to = last;
    if (to < from)
        return 0;
    int64_t active = to - from + 1;
    /* Rounded to the nearest cent, halves up. */
    return ((int64_t)allowance_eur * 100 * active * 2 + days) / (2 * days);
}

int64_t allowance_total(date_t start, date_t end, uint32_t allowance_eur)
{
    if (date_compare(end, start) < 0)
        return 0;
    int64_t total = 0;
    int y = start.year, m = start.month;
    while (y < end.year || (y == end.year && m <= end.month)) {
        total += allowance_month_due(start, end, y, m, allowance_eur);
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return total;
}
