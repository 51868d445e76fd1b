/*  sketch — names and birth date in 64 sealed bits (sketch.h). */
#include "sketch.h"

#include "date.h"

#include <sodium.h>
#include <string.h>

/* Folded names are lower-case ASCII letters and spaces (normalize.h); any
 * other byte is one more symbol. */
#define SYMBOLS    28
#define BOUNDARY   26
#define HALF_BITS  24
#define HALF_MASK  ((UINT64_C(1) << HALF_BITS) - 1)
#define DATE_SHIFT 48
#define YEAR_BASE  1950

static unsigned char s_bit[SYMBOLS][SYMBOLS];
static unsigned char s_pad_key[crypto_shorthash_KEYBYTES];

static int s_symbol(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c == ' ' || c == '\0')
        return BOUNDARY;
    return SYMBOLS - 1;
}

void sketch_set_key(const unsigned char key[LINKAGE_KEY_LEN])
{
    unsigned char h[LINKAGE_HASH_LEN];
    for (int a = 0; a < SYMBOLS; a++)
        for (int b = 0; b < SYMBOLS; b++) {
            unsigned char pair[2] = {(unsigned char)a, (unsigned char)b};
            linkage_hash(key, 'b', pair, sizeof pair, h);
            s_bit[a][b] = (unsigned char)(h[0] % HALF_BITS);
        }
    _Static_assert(LINKAGE_HASH_LEN >= crypto_shorthash_KEYBYTES, "pad key");
    linkage_hash(key, 'k', "sketch pad", 10, h);
    memcpy(s_pad_key, h, sizeof s_pad_key);
    sodium_memzero(h, sizeof h);
}

/* The bigrams of NAME (with a boundary before and after) into MASK. */
static uint64_t s_bigrams(const char *name, uint64_t mask)
{
    int prev = BOUNDARY;
    for (const unsigned char *c = (const unsigned char *)name;; c++) {
        int sym = s_symbol(*c);
        if (!(prev == BOUNDARY && sym == BOUNDARY))
            mask |= UINT64_C(1) << s_bit[prev][sym];
        if (!*c)
            break;
        prev = sym;
    }
    return mask;
}

/* "YYYY-MM-DD" -> 16 bits (0: not a date we can hold). */
static uint64_t s_date_pack(const char *s)
{
    date_t d;
    if (!date_parse_iso(s, &d) || d.year < YEAR_BASE || d.year > YEAR_BASE + 127)
        return 0;
    return (uint64_t)((d.year - YEAR_BASE) << 9 | d.month << 5 | d.day);
}

static void s_date_unpack(uint64_t v, char out[11])
{
    date_t d = {(int)(v >> 9) + YEAR_BASE, (int)(v >> 5) & 15, (int)v & 31};
    date_format(d, out);
}

uint64_t sketch_of(const linkage_profile_t *prof)
{
    uint64_t sur = s_bigrams(prof->surnames[0], 0), given = 0;
    for (size_t i = 0; i < prof->n_given; i++)
        given = s_bigrams(prof->given[i], given);
    return s_date_pack(prof->birth_date) << DATE_SHIFT | given << HALF_BITS | sur;
}

uint64_t sketch_seal(uint64_t sketch, uint64_t id)
{
    unsigned char in[8], pad[crypto_shorthash_BYTES];
    for (int i = 0; i < 8; i++)
        in[i] = (unsigned char)(id >> (8 * i));
    crypto_shorthash(pad, in, sizeof in, s_pad_key);
    uint64_t p = 0;
    for (int i = 0; i < 8; i++)
        p |= (uint64_t)pad[i] << (8 * i);
    return sketch ^ p;
}

static double s_dice(uint64_t a, uint64_t b)
{
    if (!a || !b)
        return 1.0;
    return 2.0 * __builtin_popcountll(a & b) / (__builtin_popcountll(a) + __builtin_popcountll(b));
}

double sketch_names(uint64_t a, uint64_t b)
{
    uint64_t as = a & HALF_MASK, ag = a >> HALF_BITS & HALF_MASK;
    uint64_t bs = b & HALF_MASK, bg = b >> HALF_BITS & HALF_MASK;
    double straight = (s_dice(as, bs) + s_dice(ag, bg)) / 2;
    double crossed = (s_dice(as, bg) + s_dice(ag, bs)) / 2;
    return straight > crossed ? straight : crossed;
}

bool sketch_plausible(uint64_t q, uint64_t c)
{
    double names = sketch_names(q, c);
    if (names < SKETCH_NAMES_MIN)
        return false;
    uint64_t qd = q >> DATE_SHIFT, cd = c >> DATE_SHIFT;
    if (!qd || !cd || qd == cd)
        return true;
    char a[11], b[11];
    s_date_unpack(qd, a);
    s_date_unpack(cd, b);
    return linkage_date_level(a, b) != LINKAGE_DATE_OTHER && names >= SKETCH_NAMES_MIN_DATE_OFF;
}
