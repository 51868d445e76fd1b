/*  similarity — Jaro and Jaro-Winkler.  See similarity.h for the
 *  definition and the published values the tests hold it to.
 *
 *  The textbook algorithm, with fixed-size flag arrays on the stack (names
 *  are short, so no allocation on the matching hot path).
 */
#include "similarity.h"

#include <stdbool.h>
#include <string.h>

static size_t s_len(const char *s)
{
    size_t n = strlen(s);
    return n > SIMILARITY_MAX_LEN ? SIMILARITY_MAX_LEN : n;
}

double similarity_jaro(const char *a, const char *b)
{
    size_t la = s_len(a), lb = s_len(b);
    if (la == 0 && lb == 0)
        return 1.0;
    if (la == 0 || lb == 0)
        return 0.0;
    size_t longer = la > lb ? la : lb;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    bool ma[SIMILARITY_MAX_LEN] = {false}, mb[SIMILARITY_MAX_LEN] = {false};
    size_t matches = 0;
    for (size_t i = 0; i < la; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < lb ? i + window + 1 : lb;
        for (size_t j = lo; j < hi; j++) {
            if (!mb[j] && a[i] == b[j]) {
                ma[i] = mb[j] = true;
                matches++;
                break;
            }
        }
    }
    if (matches == 0)
        return 0.0;
    /* Transpositions: matched characters of A and B, in order, that
     * differ, counted by halves. */
    size_t k = 0, half = 0;
    for (size_t i = 0; i < la; i++) {
        if (!ma[i])
            continue;
        while (!mb[k])
            k++;
        if (a[i] != b[k])
            half++;
        k++;
    }
    double m = (double)matches;
    return (m / (double)la + m / (double)lb + (m - (double)half / 2.0) / m) / 3.0;
}

double similarity_jaro_winkler(const char *a, const char *b)
{
    double j = similarity_jaro(a, b);
    size_t prefix = 0;
    while (prefix < 4 && a[prefix] && a[prefix] == b[prefix])
        prefix++;
    return j + (double)prefix * 0.1 * (1.0 - j);
}
