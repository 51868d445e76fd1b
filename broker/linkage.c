/*  linkage — comparison levels and Fellegi-Sunter weights.  See linkage.h
 *  for the levels, the model and why the module is pure.
 *
 *  Everything here runs once per (referral, candidate) pair, so it works
 *  on the precomputed profile (folded names, phonex codes, hashes) and
 *  never allocates: a pair costs a few Jaro-Winkler calls on short strings.
 */
#include "linkage.h"

#include "phonetic.h"
#include "similarity.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_field_names[LINKAGE_NFIELDS] = {
    "surname", "given", "birth_date", "sex", "ine", "email", "phone", "place",
};
static const char *const s_name_levels[] = {"exact", "jw92",    "jw88", "phonetic",
                                            "jw70",  "swapped", "other"};
static const char *const s_date_levels[] = {"exact",  "typo1",     "swap_dm",
                                            "month1", "same_year", "other"};
static const char *const s_binary_levels[] = {"agree", "disagree"};

int linkage_field_levels(int field)
{
    if (field == LINKAGE_SURNAME || field == LINKAGE_GIVEN)
        return LINKAGE_NAME_LEVELS;
    if (field == LINKAGE_BIRTH_DATE)
        return LINKAGE_DATE_LEVELS;
    return LINKAGE_BINARY_LEVELS;
}

const char *linkage_field_name(int field)
{
    return field >= 0 && field < LINKAGE_NFIELDS ? s_field_names[field] : "?";
}

const char *linkage_level_name(int field, int level)
{
    if (level == LINKAGE_MISSING)
        return "missing";
    if (level < 0 || level >= linkage_field_levels(field))
        return "?";
    if (field == LINKAGE_SURNAME || field == LINKAGE_GIVEN)
        return s_name_levels[level];
    if (field == LINKAGE_BIRTH_DATE)
        return s_date_levels[level];
    return s_binary_levels[level];
}

/* ---- profiles ----------------------------------------------------------- */

void linkage_hash(const unsigned char key[LINKAGE_KEY_LEN], char tag, const void *data, size_t len,
                  unsigned char out[LINKAGE_HASH_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, LINKAGE_KEY_LEN, LINKAGE_HASH_LEN);
    crypto_generichash_update(&st, (const unsigned char *)&tag, 1);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, out, LINKAGE_HASH_LEN);
}

/* Lower-cased, trimmed e-mail address; "" when it has no '@'. */
static void s_email_norm(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; in && *in && n + 1 < outlen; in++)
        if (!isspace((unsigned char)*in))
            out[n++] = (char)tolower((unsigned char)*in);
    out[n] = '\0';
    if (!strchr(out, '@'))
        out[0] = '\0';
}

/* A French number as its national form "0XXXXXXXXX": digits only, +33 /
 * 0033 read as 0.  Fewer than 9 digits: "". */
static void s_phone_norm(const char *in, char *out, size_t outlen)
{
    char d[32];
    size_t n = 0;
    for (; in && *in && n + 1 < sizeof d; in++)
        if (isdigit((unsigned char)*in))
            d[n++] = *in;
    d[n] = '\0';
    const char *p = d;
    if (strncmp(p, "0033", 4) == 0)
        p += 4;
    else if (strncmp(p, "33", 2) == 0 && n == 11)
        p += 2;
    if (strlen(p) == 9)
        snprintf(out, outlen, "0%s", p);
    else if (strlen(p) >= 9)
        snprintf(out, outlen, "%s", p);
    else
        out[0] = '\0';
}

int linkage_profile_build(const Relais__V1__Person *p, const unsigned char key[LINKAGE_KEY_LEN],
                          linkage_profile_t *out)
{
    memset(out, 0, sizeof *out);
    out->n_surnames =
        normalize_surname_variants(p->last_name, out->surnames, NORMALIZE_VARIANTS_MAX);
    if (out->n_surnames == 0)
        return EINVAL;
    for (size_t i = 0; i < out->n_surnames; i++)
        phonetic_phonex(out->surnames[i], out->surname_codes[i], LINKAGE_CODE_MAX);
    out->n_given = normalize_given_tokens(p->first_names, out->given, NORMALIZE_VARIANTS_MAX);
    for (size_t i = 0; i < out->n_given; i++)
        phonetic_phonex(out->given[i], out->given_codes[i], LINKAGE_CODE_MAX);
    snprintf(out->birth_date, sizeof out->birth_date, "%s", p->birth_date ? p->birth_date : "");
    if (p->sex && (p->sex[0] == 'F' || p->sex[0] == 'M' || p->sex[0] == 'f' || p->sex[0] == 'm'))
        out->sex[0] = (char)toupper((unsigned char)p->sex[0]);
    if (p->ine && *p->ine) {
        snprintf(out->ine, sizeof out->ine, "%s", p->ine);
        for (char *c = out->ine; *c; c++)
            *c = (char)toupper((unsigned char)*c);
    }
    char buf[256];
    s_email_norm(p->email, buf, sizeof buf);
    if ((out->has_email = *buf != '\0'))
        linkage_hash(key, 'e', buf, strlen(buf), out->email_hash);
    s_phone_norm(p->phone, buf, sizeof buf);
    if ((out->has_phone = *buf != '\0'))
        linkage_hash(key, 't', buf, strlen(buf), out->phone_hash);
    snprintf(out->postcode, sizeof out->postcode, "%s", p->postcode ? p->postcode : "");
    char *q = p->quartier && *p->quartier ? normalize_compact(p->quartier) : NULL;
    if (q)
        snprintf(out->quartier, sizeof out->quartier, "%s", q);
    free(q);
    return 0;
}

void linkage_profile_to_msg(linkage_profile_t *prof, linkage_msg_hold_t *hold,
                            Relais__Store__MatchProfile *msg)
{
    relais__store__match_profile__init(msg);
    for (size_t i = 0; i < prof->n_surnames; i++) {
        hold->s[i] = prof->surnames[i];
        hold->sc[i] = prof->surname_codes[i];
    }
    for (size_t i = 0; i < prof->n_given; i++) {
        hold->g[i] = prof->given[i];
        hold->gc[i] = prof->given_codes[i];
    }
    msg->n_surnames = msg->n_surname_codes = prof->n_surnames;
    msg->surnames = hold->s;
    msg->surname_codes = hold->sc;
    msg->n_given = msg->n_given_codes = prof->n_given;
    msg->given = hold->g;
    msg->given_codes = hold->gc;
    msg->birth_date = prof->birth_date;
    msg->sex = prof->sex;
    msg->ine = prof->ine;
    if (prof->has_email)
        msg->email_hash = (ProtobufCBinaryData){LINKAGE_HASH_LEN, prof->email_hash};
    if (prof->has_phone)
        msg->phone_hash = (ProtobufCBinaryData){LINKAGE_HASH_LEN, prof->phone_hash};
    msg->postcode = prof->postcode;
    msg->quartier = prof->quartier;
}

/* Bounded copy; no snprintf: this runs for every field of every
 * candidate. */
static void s_copy(char *dst, size_t dlen, const char *src)
{
    size_t n = src ? strnlen(src, dlen - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

void linkage_profile_from_msg(const Relais__Store__MatchProfile *msg, linkage_profile_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = msg->n_surnames < NORMALIZE_VARIANTS_MAX ? msg->n_surnames : NORMALIZE_VARIANTS_MAX;
    for (size_t i = 0; i < n; i++) {
        s_copy(out->surnames[i], NORMALIZE_TOKEN_MAX, msg->surnames[i]);
        s_copy(out->surname_codes[i], LINKAGE_CODE_MAX,
               i < msg->n_surname_codes ? msg->surname_codes[i] : "");
    }
    out->n_surnames = n;
    n = msg->n_given < NORMALIZE_VARIANTS_MAX ? msg->n_given : NORMALIZE_VARIANTS_MAX;
    for (size_t i = 0; i < n; i++) {
        s_copy(out->given[i], NORMALIZE_TOKEN_MAX, msg->given[i]);
        s_copy(out->given_codes[i], LINKAGE_CODE_MAX,
               i < msg->n_given_codes ? msg->given_codes[i] : "");
    }
    out->n_given = n;
    s_copy(out->birth_date, sizeof out->birth_date, msg->birth_date);
    s_copy(out->sex, sizeof out->sex, msg->sex);
    s_copy(out->ine, sizeof out->ine, msg->ine);
    if ((out->has_email = msg->email_hash.len == LINKAGE_HASH_LEN))
        memcpy(out->email_hash, msg->email_hash.data, LINKAGE_HASH_LEN);
    if ((out->has_phone = msg->phone_hash.len == LINKAGE_HASH_LEN))
        memcpy(out->phone_hash, msg->phone_hash.data, LINKAGE_HASH_LEN);
    s_copy(out->postcode, sizeof out->postcode, msg->postcode);
    s_copy(out->quartier, sizeof out->quartier, msg->quartier);
}

/* ---- comparisons -------------------------------------------------------- */

/* Level of one pair of folded names with their phonex codes. */
static int s_pair_level(const char *a, const char *ac, const char *b, const char *bc)
{
    if (strcmp(a, b) == 0)
        return LINKAGE_NAME_EXACT;
    double jw = similarity_jaro_winkler(a, b);
    if (jw >= 0.92)
        return LINKAGE_NAME_JW92;
    if (jw >= 0.88)
        return LINKAGE_NAME_JW88;
    if (*ac && strcmp(ac, bc) == 0)
        return LINKAGE_NAME_PHONETIC;
    if (jw >= 0.70)
        return LINKAGE_NAME_JW70;
    return LINKAGE_NAME_OTHER;
}

/* Best level over every pair (any against any); SKIP_A / SKIP_B mark
 * entries to leave out (NULL: none). */
static int s_best_level(const char (*a)[NORMALIZE_TOKEN_MAX], const char (*ac)[LINKAGE_CODE_MAX],
                        size_t na, const bool *skip_a, const char (*b)[NORMALIZE_TOKEN_MAX],
                        const char (*bc)[LINKAGE_CODE_MAX], size_t nb, const bool *skip_b)
{
    int best = LINKAGE_NAME_OTHER;
    for (size_t i = 0; i < na && best != LINKAGE_NAME_EXACT; i++) {
        if (skip_a && skip_a[i])
            continue;
        for (size_t j = 0; j < nb && best != LINKAGE_NAME_EXACT; j++) {
            if (skip_b && skip_b[j])
                continue;
            int l = s_pair_level(a[i], ac[i], b[j], bc[j]);
            if (l < best)
                best = l;
        }
    }
    return best;
}

static void s_concat(const char (*t)[NORMALIZE_TOKEN_MAX], size_t n, char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(t[i]);
        if (len + l + 1 > outlen)
            break;
        memcpy(out + len, t[i], l + 1);
        len += l;
    }
}

/* Given names: see linkage.h. */
static int s_given_level(const linkage_profile_t *a, const linkage_profile_t *b)
{
    char ca[4 * NORMALIZE_TOKEN_MAX], cb[4 * NORMALIZE_TOKEN_MAX];
    s_concat(a->given, a->n_given, ca, sizeof ca);
    s_concat(b->given, b->n_given, cb, sizeof cb);
    if (strcmp(ca, cb) == 0)
        return LINKAGE_NAME_EXACT;
    bool sa[NORMALIZE_VARIANTS_MAX] = {false}, sb[NORMALIZE_VARIANTS_MAX] = {false};
    size_t shared = 0;
    for (size_t i = 0; i < a->n_given; i++)
        for (size_t j = 0; j < b->n_given; j++)
            if (!sb[j] && strcmp(a->given[i], b->given[j]) == 0) {
                sa[i] = sb[j] = true;
                shared++;
                break;
            }
    if (shared && (shared == a->n_given || shared == b->n_given))
        return sa[0] && sb[0] && strcmp(a->given[0], b->given[0]) == 0 ? LINKAGE_NAME_EXACT
                                                                       : LINKAGE_NAME_JW92;
    /* Compare what they do not share ("Jean-Pierre" / "Jean-Paul": pierre
     * against paul), so a common first token does not make twins alike. */
    return s_best_level(a->given, a->given_codes, a->n_given, sa, b->given, b->given_codes,
                        b->n_given, sb);
}

/* A's surnames against B's given names, each and all together ("Léa
 * Marie" written as a surname is "leamarie"). */
static int s_cross_level(const linkage_profile_t *a, const linkage_profile_t *b)
{
    char g[NORMALIZE_VARIANTS_MAX + 1][NORMALIZE_TOKEN_MAX];
    char gc[NORMALIZE_VARIANTS_MAX + 1][LINKAGE_CODE_MAX];
    memcpy(g, b->given, sizeof b->given);
    memcpy(gc, b->given_codes, sizeof b->given_codes);
    size_t n = b->n_given;
    if (n > 1) {
        /* No phonex for the joined name: swapped needs JW ≥ 0.92 anyway. */
        s_concat(b->given, b->n_given, g[n], NORMALIZE_TOKEN_MAX);
        gc[n][0] = '\0';
        n++;
    }
    return s_best_level(a->surnames, a->surname_codes, a->n_surnames, NULL, g, gc, n, NULL);
}

static int s_digit(const char *d, int i)
{
    return d[i] - '0';
}

int linkage_date_level(const char *a, const char *b)
{
    if (strlen(a) != 10 || strlen(b) != 10)
        return LINKAGE_MISSING;
    if (strcmp(a, b) == 0)
        return LINKAGE_DATE_EXACT;
    int diff = 0;
    for (int i = 0; i < 10; i++)
        diff += a[i] != b[i];
    if (diff == 1)
        return LINKAGE_DATE_TYPO1;
    int ya = atoi(a), yb = atoi(b);
    int ma = s_digit(a, 5) * 10 + s_digit(a, 6), mb = s_digit(b, 5) * 10 + s_digit(b, 6);
    int da = s_digit(a, 8) * 10 + s_digit(a, 9), db = s_digit(b, 8) * 10 + s_digit(b, 9);
    if (ya == yb && ma == db && da == mb)
        return LINKAGE_DATE_SWAP_DM;
    /* Days since an epoch, months as 31 days: close enough for "within a
     * month" and no calendar needed. */
    long xa = (long)ya * 372 + ma * 31 + da, xb = (long)yb * 372 + mb * 31 + db;
    if (labs(xa - xb) <= 31)
        return LINKAGE_DATE_MONTH1;
    if (ya == yb)
        return LINKAGE_DATE_SAME_YEAR;
    return LINKAGE_DATE_OTHER;
}

static int s_binary(bool both, bool equal)
{
    return !both ? LINKAGE_MISSING : equal ? LINKAGE_AGREE : LINKAGE_DISAGREE;
}

void linkage_compare(const linkage_profile_t *a, const linkage_profile_t *b,
                     int level[LINKAGE_NFIELDS])
{
    level[LINKAGE_SURNAME] = s_best_level(a->surnames, a->surname_codes, a->n_surnames, NULL,
                                          b->surnames, b->surname_codes, b->n_surnames, NULL);
    level[LINKAGE_GIVEN] = a->n_given && b->n_given ? s_given_level(a, b) : LINKAGE_MISSING;
    /* First and last names exchanged: only when the straight reading is
     * poor and the crossed one is strong on both names. */
    if (level[LINKAGE_GIVEN] != LINKAGE_MISSING &&
        (level[LINKAGE_SURNAME] > LINKAGE_NAME_JW88 || level[LINKAGE_GIVEN] > LINKAGE_NAME_JW88)) {
        if (s_cross_level(a, b) <= LINKAGE_NAME_JW92 && s_cross_level(b, a) <= LINKAGE_NAME_JW92)
            level[LINKAGE_SURNAME] = level[LINKAGE_GIVEN] = LINKAGE_NAME_SWAPPED;
    }
    level[LINKAGE_BIRTH_DATE] = linkage_date_level(a->birth_date, b->birth_date);
    level[LINKAGE_SEX] = s_binary(*a->sex && *b->sex, strcmp(a->sex, b->sex) == 0);
    level[LINKAGE_INE] = s_binary(*a->ine && *b->ine, strcmp(a->ine, b->ine) == 0);
    level[LINKAGE_EMAIL] = s_binary(a->has_email && b->has_email,
                                    memcmp(a->email_hash, b->email_hash, LINKAGE_HASH_LEN) == 0);
    level[LINKAGE_PHONE] = s_binary(a->has_phone && b->has_phone,
                                    memcmp(a->phone_hash, b->phone_hash, LINKAGE_HASH_LEN) == 0);
    if (*a->quartier && *b->quartier)
        level[LINKAGE_PLACE] = s_binary(true, strcmp(a->quartier, b->quartier) == 0);
    else
        level[LINKAGE_PLACE] =
            s_binary(*a->postcode && *b->postcode, strcmp(a->postcode, b->postcode) == 0);
}

/* ---- the model ---------------------------------------------------------- */

struct linkage_model_t {
    double m[LINKAGE_NFIELDS][LINKAGE_MAX_LEVELS];
    double u[LINKAGE_NFIELDS][LINKAGE_MAX_LEVELS];
    double w[LINKAGE_NFIELDS][LINKAGE_MAX_LEVELS];
    double upper, lower;
    double prior_share;
    unsigned long tf_min_persons;
    char version[64];
};

linkage_model_t *linkage_model_parse(const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    linkage_model_t *self = calloc(1, sizeof *self);
    json_t *root = json_loads(text, 0, &jerr);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!root) {
        snprintf(err, errlen, "line %d: %s", jerr.line, jerr.text);
        goto fail;
    }
    json_t *fields = json_object_get(root, "fields");
    const char *version = json_string_value(json_object_get(root, "version"));
    json_t *upper = json_object_get(root, "upper"), *lower = json_object_get(root, "lower");
    json_t *tfmin = json_object_get(root, "tf_min_persons");
    json_t *prior = json_object_get(root, "prior_share");
    if (!json_is_object(fields) || !version || !json_is_number(upper) || !json_is_number(lower) ||
        !json_is_integer(tfmin) || !json_is_number(prior)) {
        snprintf(err, errlen,
                 "needs version, upper, lower, prior_share, tf_min_persons and fields");
        goto fail;
    }
    self->prior_share = json_number_value(prior);
    if (!(self->prior_share > 0 && self->prior_share < 1)) {
        snprintf(err, errlen, "prior_share must be in (0, 1)");
        goto fail;
    }
    snprintf(self->version, sizeof self->version, "%s", version);
    self->upper = json_number_value(upper);
    self->lower = json_number_value(lower);
    self->tf_min_persons = (unsigned long)json_integer_value(tfmin);
    if (self->lower > self->upper) {
        snprintf(err, errlen, "lower threshold above upper");
        goto fail;
    }
    for (int f = 0; f < LINKAGE_NFIELDS; f++) {
        json_t *field = json_object_get(fields, s_field_names[f]);
        for (int l = 0; l < linkage_field_levels(f); l++) {
            json_t *mu = json_object_get(field, linkage_level_name(f, l));
            double m = json_number_value(json_array_get(mu, 0));
            double u = json_number_value(json_array_get(mu, 1));
            if (json_array_size(mu) != 2 || !(m > 0 && m <= 1) || !(u > 0 && u <= 1)) {
                snprintf(err, errlen, "fields.%s.%s must be [m, u] with 0 < m, u <= 1",
                         s_field_names[f], linkage_level_name(f, l));
                goto fail;
            }
            self->m[f][l] = m;
            self->u[f][l] = u;
            self->w[f][l] = log2(m / u);
        }
    }
    json_decref(root);
    return self;
fail:
    json_decref(root);
    free(self);
    return NULL;
}

void linkage_model_free(linkage_model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

double linkage_model_upper(const linkage_model_t *m)
{
    return m->upper;
}
double linkage_model_prior(const linkage_model_t *m, unsigned long persons)
{
    /* Below tf_min_persons the store is treated as that large: a nearly
     * empty store must not make weak evidence enough. */
    if (persons < m->tf_min_persons)
        persons = m->tf_min_persons;
    return log2(m->prior_share / (double)persons);
}
double linkage_model_lower(const linkage_model_t *m)
{
    return m->lower;
}
unsigned long linkage_model_tf_min_persons(const linkage_model_t *m)
{
    return m->tf_min_persons;
}
const char *linkage_model_version(const linkage_model_t *m)
{
    return m->version;
}
double linkage_model_m(const linkage_model_t *m, int f, int l)
{
    return m->m[f][l];
}
double linkage_model_u(const linkage_model_t *m, int f, int l)
{
    return m->u[f][l];
}

double linkage_score(const linkage_model_t *m, const int level[LINKAGE_NFIELDS],
                     const double tf_u[LINKAGE_NFIELDS], linkage_evidence_t ev[LINKAGE_NFIELDS])
{
    double total = 0;
    for (int f = 0; f < LINKAGE_NFIELDS; f++) {
        int l = level[f];
        double w = 0;
        if (l != LINKAGE_MISSING) {
            w = m->w[f][l];
            if (tf_u && tf_u[f] > 0 && l == LINKAGE_NAME_EXACT &&
                (f == LINKAGE_SURNAME || f == LINKAGE_GIVEN))
                w = log2(m->m[f][l] / tf_u[f]);
        }
        if (ev) {
            ev[f].level = l;
            ev[f].weight = w;
        }
        total += w;
    }
    return total;
}
