/*  normalize — folding names so two spellings of one person compare equal.
 *
 *  Partners type names by hand, in different software, with or without
 *  accents, capitals, hyphens or typographic apostrophes.  Identity
 *  matching must not depend on any of that, so every name goes through
 *  normalize_name before it is compared or indexed.
 *
 *  How: utf8proc does the Unicode work (NFKD, case folding, mark
 *  stripping) in one pass and one allocation.  We then walk its output
 *  once and rewrite it in place: letters and digits are kept, the few
 *  letters that carry no decomposable accent (œ, æ, ø, đ, ł, ı, ß) get
 *  their ASCII spelling, separators collapse to one space, everything
 *  else is dropped.  Rewriting in place is safe because no step ever
 *  writes more bytes than it has read (each replacement is no longer than
 *  the two-byte letter it replaces; a run of separators of at least one
 *  byte becomes one space).
 */
#include "normalize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Letters utf8proc leaves alone because Unicode does not see them as a
 * base letter plus an accent.  Case folding has already lowered the
 * capitals; the capitals are listed too so the table does not depend on
 * that. */
static const char *s_fixup(utf8proc_int32_t cp)
{
    switch (cp) {
    case 0x0153: /* œ */
    case 0x0152: /* Œ */
        return "oe";
    case 0x00E6: /* æ */
    case 0x00C6: /* Æ */
        return "ae";
    case 0x00F8: /* ø */
    case 0x00D8: /* Ø */
        return "o";
    case 0x00DF: /* ß (case folding usually gives "ss" already) */
        return "ss";
    case 0x0111: /* đ */
    case 0x0110: /* Đ */
        return "d";
    case 0x0142: /* ł */
    case 0x0141: /* Ł */
        return "l";
    case 0x0131: /* ı (dotless i) */
        return "i";
    default:
        return NULL;
    }
}

/* Characters that separate the parts of a name.  Typographic apostrophes
 * and dashes must count like their ASCII forms: "N’Diaye" typed on a
 * phone is "N'Diaye" typed on a PC. */
static bool s_is_separator(utf8proc_int32_t cp)
{
    switch (cp) {
    case '-':
    case '\'':
    case '.':
    case '_':
    case ',':
    case 0x2018: /* ‘ */
    case 0x2019: /* ’ */
    case 0x02BC: /* ʼ modifier apostrophe, a "letter" to Unicode */
        return true;
    default:
        break;
    }
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f')
        return true;
    utf8proc_category_t cat = utf8proc_category(cp);
    /* Zs: every kind of space (NFKD already turned most into U+0020);
     * Pd: every kind of dash and hyphen. */
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_PD;
}

static bool s_is_kept(utf8proc_int32_t cp)
{
    utf8proc_category_t cat = utf8proc_category(cp);
    switch (cat) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

char *normalize_name(const char *s)
{
    utf8proc_uint8_t *buf = NULL;
    if (!s)
        return NULL;
    utf8proc_ssize_t len =
        utf8proc_map((const utf8proc_uint8_t *)s, 0, &buf,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE |
                         UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
    if (len < 0)
        goto err; /* invalid UTF-8 or out of memory: utf8proc freed nothing to us */

    size_t in = 0, out = 0;
    bool pending_space = false;
    while (in < (size_t)len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(buf + in, len - (utf8proc_ssize_t)in, &cp);
        if (n <= 0)
            goto err; /* cannot happen on utf8proc's own output; fail closed */
        in += (size_t)n;

        if (s_is_separator(cp)) {
            pending_space = out > 0; /* leading separators vanish */
            continue;
        }
        const char *fix = s_fixup(cp);
        if (!fix && !s_is_kept(cp))
            continue; /* other punctuation, symbols, controls: dropped */

        if (pending_space) {
            buf[out++] = ' ';
            pending_space = false;
        }
        if (fix) {
            size_t flen = strlen(fix);
            memcpy(buf + out, fix, flen);
            out += flen;
        } else {
            memmove(buf + out, buf + in - (size_t)n, (size_t)n);
            out += (size_t)n;
        }
    }
    /* A trailing run of separators was never written: trimmed for free. */
    buf[out] = '\0';
    return (char *)buf;

err:
    free(buf);
    return NULL;
}

size_t normalize_first_token(const char *s, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return 0;
    out[0] = '\0';
    if (!s)
        return 0;
    while (*s == ' ')
        s++;
    size_t n = strcspn(s, " ");
    if (n > outlen - 1) {
        n = outlen - 1;
        /* Never cut a multi-byte character in half: back off over its
         * continuation bytes and its lead byte. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

char *normalize_compact(const char *s)
{
    char *folded = normalize_name(s);
    if (!folded)
        return NULL;
    char *w = folded;
    for (const char *r = folded; *r; r++)
        if (*r != ' ')
            *w++ = *r;
    *w = '\0';
    return folded;
}

int normalize_utf8_ok(const char *s, size_t len)
{
    /* Zero bytes are trivially valid, wherever they (do not) point. */
    if (!s)
        return len == 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path (most of what partners send): printable bytes
         * need no decoding.  This runs on every string field of every
         * request. */
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        /* utf8proc_iterate refuses overlong forms, surrogates, values past
         * U+10FFFF and truncated sequences. */
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp < 0)
            return 0;
        /* Tab, CR and LF are the only controls free text may hold. */
        bool allowed_control = cp == '\t' || cp == '\r' || cp == '\n';
        if (!allowed_control && (cp == 0 || utf8proc_category(cp) == UTF8PROC_CATEGORY_CC))
            return 0;
        i += (size_t)n;
    }
    return 1;
}

/* ---- name variants ------------------------------------------------------ */

static const char *const s_particles[] = {
    "de",  "du",  "des", "la",  "le", "les", "d",  "l",   "van", "von", "der", "den",
    "ben", "bin", "ibn", "ait", "el", "al",  "da", "das", "dos", "di",  "del", "della",
};
static const char *const s_name_joiners[] = {
    "epouse", "ep", "nee", "ne", "dit", "dite", "ou", "veuve", "vve", "alias",
};

static bool s_in_list(const char *tok, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tok, list[i]) == 0)
            return true;
    return false;
}

/* "st" → "saint", "ste" → "sainte"; any other token as it is. */
static const char *s_expand(const char *tok)
{
    if (strcmp(tok, "st") == 0)
        return "saint";
    if (strcmp(tok, "ste") == 0)
        return "sainte";
    return tok;
}

/* Appends V to OUT unless already there or OUT is full. */
static void s_add_variant(char out[][NORMALIZE_TOKEN_MAX], size_t max, size_t *n, const char *v)
{
    if (!*v || *n >= max)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(out[i], v) == 0)
            return;
    snprintf(out[*n], NORMALIZE_TOKEN_MAX, "%s", v);
    (*n)++;
}

/* TOKS[0..NT) is one name: add it compact, then without leading particles. */
static void s_add_name(char toks[][NORMALIZE_TOKEN_MAX], size_t nt, char out[][NORMALIZE_TOKEN_MAX],
                       size_t max, size_t *n)
{
    char whole[NORMALIZE_TOKEN_MAX];
    size_t first = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t len = 0;
        whole[0] = '\0';
        for (size_t i = first; i < nt; i++) {
            size_t tl = strlen(toks[i]);
            if (len + tl >= sizeof whole)
                break;
            memcpy(whole + len, toks[i], tl + 1);
            len += tl;
        }
        s_add_variant(out, max, n, whole);
        /* Second pass: skip the leading particles, keeping at least one
         * token ("Le" alone is a surname). */
        while (first + 1 < nt &&
               s_in_list(toks[first], s_particles, sizeof s_particles / sizeof *s_particles))
            first++;
        if (first == 0)
            break;
    }
}

size_t normalize_surname_variants(const char *raw, char out[][NORMALIZE_TOKEN_MAX], size_t max)
{
    size_t n = 0;
    if (!raw)
        return 0;
    const char *piece = raw;
    while (*piece) {
        size_t plen = strcspn(piece, "/;()");
        char *part = malloc(plen + 1);
        if (!part)
            return 0;
        memcpy(part, piece, plen);
        part[plen] = '\0';
        char *folded = normalize_name(part);
        free(part);
        if (!folded)
            return 0;
        char toks[16][NORMALIZE_TOKEN_MAX];
        size_t nt = 0;
        char *save = NULL;
        for (char *tok = strtok_r(folded, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            if (s_in_list(tok, s_name_joiners, sizeof s_name_joiners / sizeof *s_name_joiners)) {
                s_add_name(toks, nt, out, max, &n);
                nt = 0;
                continue;
            }
            if (nt < 16)
                snprintf(toks[nt++], NORMALIZE_TOKEN_MAX, "%s", s_expand(tok));
        }
        s_add_name(toks, nt, out, max, &n);
        free(folded);
        piece += plen;
        if (*piece)
            piece++;
    }
    return n;
}

size_t normalize_given_tokens(const char *raw, char out[][NORMALIZE_TOKEN_MAX], size_t max)
{
    size_t n = 0;
    char *folded = normalize_name(raw);
    if (!folded)
        return 0;
    char *save = NULL;
    for (char *tok = strtok_r(folded, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        s_add_variant(out, max, &n, s_expand(tok));
    free(folded);
    return n;
}
