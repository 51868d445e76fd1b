/*  phonetic — French Soundex and Brouard's Phonex.  See phonetic.h for
 *  the published rules and examples.
 *
 *  Phonex is specified as an ordered list of regular-expression rewrites.
 *  Rather than pull in a regex engine for 24 fixed patterns, each rule is
 *  a small table entry: a sequence of one-character classes, how many
 *  leading and trailing characters are context (copied, not replaced) and
 *  the replacement of the middle.  s_pass applies one rule left to right
 *  without overlap, which is what a global regex replace does (the context
 *  characters are consumed too, as in the regex).  A rule with
 *  alternatives ("SCH|CH|SH") tries them in order at each position, like
 *  regex alternation.  Cost: 24 passes over at most 96 bytes.
 */
#include "phonetic.h"

#include <stdbool.h>
#include <string.h>

/* ---- input folding ------------------------------------------------------ */

/* Upper-case A-Z of S into OUT.  Two-byte UTF-8 Latin-1 letters are folded
 * here (phonex wants é→Y before any rule runs); ACCENTED_E is that letter for
 * é è ê ë: 'Y' for phonex, 'E' for soundex. */
static size_t s_fold(const char *s, char *out, size_t outlen, char accented_e)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n + 2 < outlen) {
        unsigned c = *p++;
        const char *put = NULL;
        char one[2] = {0, 0};
        if (c >= 'a' && c <= 'z') {
            one[0] = (char)(c - 'a' + 'A');
        } else if (c >= 'A' && c <= 'Z') {
            one[0] = (char)c;
        } else if (c == 0xC3 && (*p & 0xC0) == 0x80) {
            /* U+00C0..U+00FF: the code point is the second byte + 0x40;
             * | 0x20 lower-cases the Latin-1 capitals. */
            unsigned cp = *p++ + 0x40u;
            unsigned d = cp | 0x20;
            if (cp == 0xDF)
                put = "SS";
            else if (cp == 0xD7 || cp == 0xF7)
                ; /* multiplication and division signs */
            else if (d >= 0xE0 && d <= 0xE5)
                one[0] = 'A';
            else if (d == 0xE7)
                one[0] = 'S';
            else if (d >= 0xE8 && d <= 0xEB)
                one[0] = accented_e;
            else if (d >= 0xEC && d <= 0xEF)
                one[0] = 'I';
            else if (d == 0xF1)
                one[0] = 'N';
            else if ((d >= 0xF2 && d <= 0xF6) || d == 0xF8)
                one[0] = 'O';
            else if (d >= 0xF9 && d <= 0xFC)
                one[0] = 'U';
            else if (d == 0xFD || d == 0xFF)
                one[0] = 'Y';
            else if (d == 0xE6)
                put = "AE";
        } else if (c == 0xC5 && (*p == 0x92 || *p == 0x93)) {
            p++;
            put = "OE"; /* œ */
        } else if (c >= 0x80) {
            while ((*p & 0xC0) == 0x80)
                p++; /* another script's letter: no French reading */
        }
        if (one[0])
            put = one;
        for (; put && *put && n + 1 < outlen; put++)
            out[n++] = *put;
    }
    out[n] = '\0';
    return n;
}

/* ---- French Soundex --------------------------------------------------- */

/* The French table; '0' vowels, '-' ignored (H, W). */
static char s_sx_code(char c)
{
    static const char table[27] = "0123097-07245501268309-808";
    return (c >= 'A' && c <= 'Z') ? table[c - 'A'] : '-';
}

size_t phonetic_soundex_fr(const char *s, char out[PHONETIC_SOUNDEX_LEN])
{
    char w[PHONETIC_MAX_IN + 2];
    size_t n = s_fold(s, w, sizeof w, 'E');
    out[0] = '\0';
    if (n == 0)
        return 0;
    /* Tail codes without H and W. */
    char tail[PHONETIC_MAX_IN + 1];
    size_t t = 0;
    for (size_t i = 1; i < n; i++) {
        char c = s_sx_code(w[i]);
        if (c != '-')
            tail[t++] = c;
    }
    size_t start = (t > 0 && tail[0] == s_sx_code(w[0])) ? 1 : 0;
    size_t len = 0;
    out[len++] = w[0];
    char prev = '\0';
    for (size_t i = start; i < t && len < 4; i++) {
        char c = tail[i];
        if (c == prev)
            continue; /* a run of one code counts once (vowels separate runs) */
        prev = c;
        if (c != '0')
            out[len++] = c;
    }
    while (len < 4)
        out[len++] = '0';
    out[4] = '\0';
    return 4;
}

/* ---- Phonex ------------------------------------------------------------ */

typedef struct {
    const char *el[5]; /* one class per character: "AE" set, "^PCS" not in set */
    int n;
    int lead, tail; /* context characters copied as they are */
    const char *repl;
} s_alt_t;

typedef struct {
    s_alt_t alt[4];
    int n_alt;
} s_rule_t;

#define VOW     "AEIOU"
#define NOT_VOW "^AEIOU1234"
#define SVOW    "AEIOUY1234"

/* Brouard's rules in order (phonetic.h). */
static const s_rule_t s_rules[] = {
    {{{{"Y"}, 1, 0, 0, "I"}}, 1},
    {{{{"^PCS", "H"}, 2, 1, 0, ""}}, 1},
    {{{{"P", "H"}, 2, 0, 0, "F"}}, 1},
    {{{{"G", "A", "I", "NM"}, 4, 0, 3, "K"}, {{"G", "A", "NM"}, 3, 0, 2, "K"}}, 2},
    {{{{"AE", "I", "NM", VOW}, 4, 0, 1, "YN"}}, 1},
    {{{{"E", "A", "U"}, 3, 0, 0, "O"}}, 1},
    {{{{"O", "U", "A"}, 3, 0, 0, "2"}}, 1},
    {{{{"EA", "I", "NM"}, 3, 0, 0, "4"}}, 1},
    {{{{"EA", "I"}, 2, 0, 0, "Y"}}, 1},
    {{{{"E", "RTZ"}, 2, 0, 1, "Y"}}, 1},
    {{{{"E", "S", "S"}, 3, 0, 0, "YS"}}, 1},
    {{{{"AOE", "N", NOT_VOW}, 3, 0, 1, "1"}}, 1},
    {{{{"AE", "M", NOT_VOW}, 3, 0, 1, "1"}}, 1},
    {{{{"I", "N", NOT_VOW}, 3, 0, 1, "4"}}, 1},
    {{{{SVOW, "S", SVOW}, 3, 1, 1, "Z"}}, 1},
    {{{{"O", "E"}, 2, 0, 0, "E"}, {{"E", "U"}, 2, 0, 0, "E"}}, 2},
    {{{{"A", "U"}, 2, 0, 0, "O"}}, 1},
    {{{{"O", "IY"}, 2, 0, 0, "2"}}, 1},
    {{{{"O", "U"}, 2, 0, 0, "3"}}, 1},
    {{{{"S", "C", "H"}, 3, 0, 0, "5"}, {{"C", "H"}, 2, 0, 0, "5"}, {{"S", "H"}, 2, 0, 0, "5"}}, 3},
    {{{{"S", "S"}, 2, 0, 0, "S"}}, 1},
    {{{{"S", "C", "EIY"}, 3, 0, 1, "S"}, {{"S", "EIY"}, 2, 0, 1, "S"}}, 2},
    {{{{"G", "U"}, 2, 0, 0, "K"},
      {{"Q", "U"}, 2, 0, 0, "K"},
      {{"Q"}, 1, 0, 0, "K"},
      {{"C"}, 1, 0, 0, "K"}},
     4},
    {{{{"G", "AOY"}, 2, 0, 1, "K"}}, 1},
};

static bool s_in_class(const char *cls, char c)
{
    if (cls[0] == '^')
        return strchr(cls + 1, c) == NULL;
    return strchr(cls, c) != NULL;
}

/* One rule over IN (length N) into OUT; returns the new length.  No rule
 * makes a string longer than 2x (YN for AIN), and OUT is as large. */
static size_t s_pass(const s_rule_t *rule, const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        const s_alt_t *hit = NULL;
        for (int a = 0; a < rule->n_alt && !hit; a++) {
            const s_alt_t *alt = &rule->alt[a];
            if (i + (size_t)alt->n > n)
                continue;
            int k = 0;
            while (k < alt->n && s_in_class(alt->el[k], in[i + (size_t)k]))
                k++;
            if (k == alt->n)
                hit = alt;
        }
        if (!hit) {
            out[o++] = in[i++];
            continue;
        }
        memcpy(out + o, in + i, (size_t)hit->lead);
        o += (size_t)hit->lead;
        size_t r = strlen(hit->repl);
        memcpy(out + o, hit->repl, r);
        o += r;
        memcpy(out + o, in + i + (size_t)(hit->n - hit->tail), (size_t)hit->tail);
        o += (size_t)hit->tail;
        i += (size_t)hit->n;
    }
    out[o] = '\0';
    return o;
}

static char s_single(char c)
{
    switch (c) {
    case 'A':
        return 'O';
    case 'D':
    case 'P':
        return 'T';
    case 'J':
        return 'G';
    case 'B':
    case 'V':
        return 'F';
    case 'M':
        return 'N';
    default:
        return c;
    }
}

size_t phonetic_phonex(const char *s, char *out, size_t outlen)
{
    char a[2 * PHONETIC_MAX_IN + 2], b[2 * PHONETIC_MAX_IN + 2];
    size_t n = s_fold(s, a, PHONETIC_MAX_IN + 1, 'Y');
    char *cur = a, *next = b;
    for (size_t r = 0; r < sizeof s_rules / sizeof s_rules[0]; r++) {
        n = s_pass(&s_rules[r], cur, n, next);
        char *tmp = cur;
        cur = next;
        next = tmp;
    }
    /* Single letters, then runs collapsed. */
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s_single(cur[i]);
        if (len > 0 && cur[len - 1] == c)
            continue;
        cur[len++] = c;
    }
    if (len > 0 && (cur[len - 1] == 'T' || cur[len - 1] == 'X'))
        len--;
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, cur, len);
    out[len] = '\0';
    return len;
}
