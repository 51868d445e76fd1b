/*  validate — is a referral well-formed?  See validate.h.
 *
 *  The first gate of the referral path: everything after it (matching,
 *  eligibility, storage, the coordinators' screens) may assume strings are
 *  clean UTF-8 within bounds, dates are real days and enums are known.
 *
 *  The partner gets every problem in one answer, so a social worker fixes
 *  a row once rather than once per resubmission.  Per field we report each
 *  independent problem (bad_utf8 and too_long can both hold), but a format
 *  check (bad_date, bad_value) runs only on a value that is present, clean
 *  and within bounds: "not a real day" says nothing useful about bytes
 *  that are not even text.
 *
 *  Bounds are in bytes of UTF-8, not characters: they exist to bound what
 *  is stored and copied, and an accented letter is two bytes.  The
 *  messages say so.
 *
 *  Messages name the field in French and in the contract's spelling, and
 *  never quote the value: answers travel back to partners and into logs.
 */
#include "validate.h"

#include "normalize.h"
#include "vocab.h"

#include <string.h>
#include <utf8proc.h>

typedef struct {
    reasons_t *out;
    bool bad; /* any reason added (OUT may be full and stop counting) */
} s_ctx_t;

/* One field of the contract: its French label (used in messages, after
 * "Le champ ") and its bound; 0 = no byte bound of its own (the format
 * check bounds it). */
typedef struct {
    const char *label;
    size_t max;
} s_field_t;

#define s_add(ctx, code, ...)                                                                      \
    do {                                                                                           \
        (ctx)->bad = true;                                                                         \
        reasons_add((ctx)->out, (code), __VA_ARGS__);                                              \
    } while (0)

/* Protobuf-c never leaves a string NULL, but a hand-built message might:
 * NULL reads as "". */
static const char *s_str(const char *s)
{
    return s ? s : "";
}

static bool s_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

/* Checks what every string field shares (required, UTF-8, bound).
 * Returns true when the value is non-empty, clean and within bounds, so
 * the caller can go on with a format check.  A required field that is
 * only white space is missing: a name of three spaces names nobody.  An
 * optional one is not empty, so it still gets its format check. */
static bool s_string(s_ctx_t *ctx, const char *value, s_field_t f, bool required)
{
    const char *s = s_str(value);
    size_t len = strlen(s);
    bool ok = len > 0;
    if (required && s_blank(s)) {
        s_add(ctx, "missing_field", "Le champ %s est obligatoire.", f.label);
        return false;
    }
    if (!normalize_utf8_ok(s, len)) {
        s_add(ctx, "bad_utf8",
              "Le champ %s n'est pas un texte UTF-8 valide ou contient des caractères de "
              "contrôle.",
              f.label);
        ok = false;
    }
    if (f.max > 0 && len > f.max) {
        s_add(ctx, "too_long",
              "Le champ %s est trop long : %zu octets au plus (une lettre accentuée en compte "
              "deux).",
              f.label, f.max);
        ok = false;
    }
    return ok;
}

static bool s_all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool s_ine_ok(const char *s)
{
    if (strlen(s) != 11)
        return false;
    for (size_t i = 0; i < 11; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

/* A phone number may hold digits, spaces, "+", dots, dashes, brackets;
 * any letter, of any script, means something else was typed there.  S is
 * known to be valid UTF-8. */
static bool s_phone_ok(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(s), i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, len - i, &cp);
        if (n <= 0)
            return false;
        switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
            return false;
        default:
            break;
        }
        i += n;
    }
    return true;
}

static void s_email(s_ctx_t *ctx, const char *value, s_field_t f)
{
    if (s_string(ctx, value, f, false) && !strchr(value, '@'))
        s_add(ctx, "bad_value", "Le champ %s n'est pas une adresse électronique (il manque « @ »).",
              f.label);
}

/* "unspecified" (0) names no value, and anything past the enum is a value
 * this broker does not know (protobuf-c keeps unknown numbers as read). */
static bool s_enum_known(int value, int count)
{
    return value >= 1 && value < count;
}

/* One reason per problem of a list, however many items are bad. */
static void s_list(s_ctx_t *ctx, size_t n, size_t n_unknown, const char *label)
{
    if (n > VALIDATE_MAX_LIST)
        s_add(ctx, "too_many", "La liste %s compte trop d'éléments : %d au plus.", label,
              VALIDATE_MAX_LIST);
    if (n_unknown > 0)
        s_add(ctx, "bad_value", "La liste %s contient une valeur inconnue.", label);
}

static void s_person(s_ctx_t *ctx, const Relais__V1__Person *p, date_t today)
{
    static const s_field_t last_name = {"« nom » (last_name)", VALIDATE_MAX_NAME};
    static const s_field_t first_names = {"« prénoms » (first_names)", VALIDATE_MAX_NAME};
    static const s_field_t birth_date = {"« date de naissance » (birth_date)", 0};
    static const s_field_t sex = {"« sexe » (sex)", 0};
    static const s_field_t phone = {"« téléphone » (phone)", VALIDATE_MAX_SHORT};
    static const s_field_t email = {"« adresse électronique » (email)", VALIDATE_MAX_EMAIL};
    static const s_field_t postcode = {"« code postal » (postcode)", VALIDATE_MAX_SHORT};
    static const s_field_t city = {"« commune » (city)", VALIDATE_MAX_NAME};
    static const s_field_t quartier = {"« quartier » (quartier)", VALIDATE_MAX_NAME};
    static const s_field_t ine = {"« INE » (ine)", VALIDATE_MAX_SHORT};

    /* A name must hold at least one letter once folded (the matcher
     * compares names, and "---" or "()" is none): the same folding the
     * matcher uses decides. */
    char names[NORMALIZE_VARIANTS_MAX][NORMALIZE_TOKEN_MAX];
    if (s_string(ctx, p->last_name, last_name, true) &&
        normalize_surname_variants(p->last_name, names, NORMALIZE_VARIANTS_MAX) == 0)
        s_add(ctx, "bad_value", "Le champ %s doit contenir au moins une lettre.", last_name.label);
    if (s_string(ctx, p->first_names, first_names, true) &&
        normalize_given_tokens(p->first_names, names, NORMALIZE_VARIANTS_MAX) == 0)
        s_add(ctx, "bad_value", "Le champ %s doit contenir au moins une lettre.",
              first_names.label);

    if (s_string(ctx, p->birth_date, birth_date, true)) {
        date_t born;
        if (!date_parse_iso(p->birth_date, &born))
            s_add(ctx, "bad_date", "Le champ %s n'est pas une date réelle au format AAAA-MM-JJ.",
                  birth_date.label);
        else if (date_compare(born, today) > 0)
            s_add(ctx, "bad_date", "Le champ %s est dans le futur.", birth_date.label);
    }

    if (s_string(ctx, p->sex, sex, false)) {
        const char *s = p->sex;
        if (strcmp(s, "F") != 0 && strcmp(s, "M") != 0 && strcmp(s, "X") != 0)
            s_add(ctx, "bad_value", "Le champ %s doit valoir F, M, X ou rester vide.", sex.label);
    }

    if (s_string(ctx, p->phone, phone, false) && !s_phone_ok(p->phone))
        s_add(ctx, "bad_value", "Le champ %s ne doit pas contenir de lettres.", phone.label);

    s_email(ctx, p->email, email);

    if (s_string(ctx, p->postcode, postcode, false) && !s_all_digits(p->postcode, 5))
        s_add(ctx, "bad_value", "Le champ %s doit compter exactement 5 chiffres.", postcode.label);

    s_string(ctx, p->city, city, false);
    s_string(ctx, p->quartier, quartier, false);

    if (s_string(ctx, p->ine, ine, false) && !s_ine_ok(p->ine))
        s_add(ctx, "bad_value", "Le champ %s doit compter exactement 11 lettres ou chiffres.",
              ine.label);
}

bool validate_referral(const Relais__V1__Referral *r, date_t today, reasons_t *out)
{
    static const s_field_t partner_ref = {"« référence partenaire » (partner_ref)",
                                          VALIDATE_MAX_REF};
    static const s_field_t referrer_name = {"« nom du prescripteur » (referrer_name)",
                                            VALIDATE_MAX_SHORT};
    static const s_field_t referrer_email = {
        "« adresse électronique du prescripteur » (referrer_email)", VALIDATE_MAX_EMAIL};
    static const s_field_t notes = {"« notes » (notes)", VALIDATE_MAX_NOTES};
    static const s_field_t referred_on = {"« date d'orientation » (referred_on)", 0};

    s_ctx_t ctx = {out, false};
    if (!r) {
        s_add(&ctx, "missing_field", "L'orientation est vide.");
        return false;
    }

    s_string(&ctx, r->partner_ref, partner_ref, true);

    if (r->person)
        s_person(&ctx, r->person, today);
    else
        s_add(&ctx, "missing_field", "Le champ « personne » (person) est obligatoire.");

    size_t unknown = 0;
    for (size_t i = 0; i < r->n_benefits; i++)
        unknown += !s_enum_known((int)r->benefits[i], VOCAB_BENEFIT_COUNT);
    s_list(&ctx, r->n_benefits, unknown, "« prestations » (benefits)");
    unknown = 0;
    for (size_t i = 0; i < r->n_needs; i++)
        unknown += !s_enum_known((int)r->needs[i], VOCAB_NEED_COUNT);
    s_list(&ctx, r->n_needs, unknown, "« besoins » (needs)");

    s_string(&ctx, r->referrer_name, referrer_name, false);
    s_email(&ctx, r->referrer_email, referrer_email);
    s_string(&ctx, r->notes, notes, false);

    /* Empty means "the day it is received": fine. */
    if (s_string(&ctx, r->referred_on, referred_on, false)) {
        date_t on;
        if (!date_parse_iso(r->referred_on, &on))
            s_add(&ctx, "bad_date", "Le champ %s n'est pas une date réelle au format AAAA-MM-JJ.",
                  referred_on.label);
        else if (date_compare(on, today) > 0)
            s_add(&ctx, "bad_date", "Le champ %s est dans le futur.", referred_on.label);
    }

    return !ctx.bad;
}
