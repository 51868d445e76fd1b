/*  config — reading and checking relais.conf.  See config.h for the layout.
 *
 *  libconfig parses the text into a tree of settings, each remembering the
 *  line it came from.  We then walk that tree once, section by section
 *  (programme, broker, partners, structures), copying every value into our
 *  own config_t and checking it as we go, so that the rest of the broker
 *  never sees libconfig and never sees an unchecked value.  The first
 *  problem stops the load: one clear "ORIGIN:LINE: reason" is more useful
 *  to the person editing the file than a cascade.  Checks that relate two
 *  settings (min_age <= max_age, start <= end, default_structure naming a
 *  structure) run once both are read.
 *
 *  Unknown settings are errors: the programme's rules all have defaults,
 *  so a misspelt "max_ag" would otherwise silently leave the age limit at
 *  25.
 *
 *  Limit: libconfig 1.5 (Debian 12) silently wraps a plain integer literal
 *  beyond 32 bits ("3000000000" reads as -1294967296); only an L suffix
 *  gives a 64-bit integer.  The value we get is all we can check, so a
 *  negative wrap is caught by the range checks but a wrap to a positive
 *  value is not.  relais.conf says so to whoever edits it.
 *
 *  Cost: one pass over the tree; id uniqueness is checked pairwise, O(n^2)
 *  for n a dozen partners or structures.
 */

/* libconfig names its parser state `config_t`, the very name config.h
 * gives ours.  Both are only type names (no symbol reaches the linker), so
 * we rename libconfig's while its header is read: inside this file it is
 * `libconfig_config_t`, and `config_t` is ours.  Nothing else in relais
 * includes <libconfig.h>, so the clash stays in this file. */
#define config_t libconfig_config_t
#include <libconfig.h>
#undef config_t

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ID_MAX 40

/* Defaults of the optional settings (config.h, deploy/relais.conf). */
#define S_DEFAULT_PARTNER_ENDPOINT     "tcp://127.0.0.1:7410"
#define S_DEFAULT_COORDINATOR_ENDPOINT "tcp://127.0.0.1:7411"
#define S_DEFAULT_MAX_MESSAGE_BYTES    262144
#define S_DEFAULT_MAP_SIZE_MIB         1024
#define S_DEFAULT_MAP_MAX_MIB 65536 /* 64 GiB: the map grows up to this when full */
#define S_DEFAULT_MIN_AGE              18
#define S_DEFAULT_MAX_AGE              25
#define S_DEFAULT_RESOURCES_CEILING    300
#define S_DEFAULT_ENVELOPE_EUR         1000000
#define S_DEFAULT_ALLOWANCE_EUR        500
#define S_DEFAULT_MAX_MONTHS           12

static const char *const s_partner_kinds[] = {
    "mission_locale",     "ccas",  "asq", "departement", "rectorat", "association", "insertion",
    "maison_de_quartier", "other", NULL};
static const char *const s_structure_kinds[] = {"asq", "maison_de_quartier", "association",
                                                "programme", NULL};

/* Where errors go while loading. */
typedef struct {
    const char *origin; /* the file name, or the caller's name for a text */
    char *err;
    size_t errlen;
} s_loader_t;

/* Writes "ORIGIN:LINE: reason" (or "ORIGIN: reason" when there is no line,
 * as for a missing top-level section) into the caller's buffer.  A setting
 * read through an @include names its own file. */
__attribute__((format(printf, 3, 4))) static void
s_fail(const s_loader_t *ld, const config_setting_t *setting, const char *fmt, ...)
{
    if (!ld->err || ld->errlen == 0)
        return;
    const char *origin = ld->origin;
    unsigned line = 0;
    if (setting) {
        line = config_setting_source_line(setting);
        if (config_setting_source_file(setting))
            origin = config_setting_source_file(setting);
    }
    int n = line ? snprintf(ld->err, ld->errlen, "%s:%u: ", origin, line)
                 : snprintf(ld->err, ld->errlen, "%s: ", origin);
    if (n < 0 || (size_t)n >= ld->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static const char *s_type_name(const config_setting_t *setting)
{
    switch (config_setting_type(setting)) {
    case CONFIG_TYPE_GROUP:
        return "a group { }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array [ ]";
    case CONFIG_TYPE_LIST:
        return "a list ( )";
    default:
        return "an unknown type";
    }
}

static bool s_in(const char *word, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(word, *words) == 0)
            return true;
    return false;
}

static char *s_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

/* Every setting of GROUP must be named in ALLOWED. */
static int s_check_keys(const s_loader_t *ld, const config_setting_t *group, const char *where,
                        const char *const *allowed)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *member = config_setting_get_elem(group, (unsigned)i);
        if (!s_in(config_setting_name(member), allowed)) {
            s_fail(ld, member, "%s: unknown setting \"%s\"", where, config_setting_name(member));
            return -1;
        }
    }
    return 0;
}

/* The member KEY of GROUP, of type TYPE (INT also accepts INT64).  *OUT is
 * NULL when the member is absent, which is an error only if REQUIRED.
 * WHERE names GROUP in messages; NULL for the top level. */
static int s_member(const s_loader_t *ld, const config_setting_t *group, const char *where,
                    const char *key, int type, bool required, config_setting_t **out)
{
    static const char *const expected[] = {
        [CONFIG_TYPE_GROUP] = "a group { }", [CONFIG_TYPE_INT] = "an integer",
        [CONFIG_TYPE_STRING] = "a string",   [CONFIG_TYPE_ARRAY] = "an array [ ]",
        [CONFIG_TYPE_LIST] = "a list ( )",
    };
    config_setting_t *member = config_setting_get_member(group, key);
    *out = NULL;
    if (!member) {
        if (!required)
            return 0;
        s_fail(ld, where ? group : NULL, "%s: missing required setting %s",
               where ? where : "top level", key);
        return -1;
    }
    int actual = config_setting_type(member);
    if (actual != type && !(type == CONFIG_TYPE_INT && actual == CONFIG_TYPE_INT64)) {
        s_fail(ld, member, "%s%s%s: expected %s, found %s", where ? where : "", where ? "." : "",
               key, expected[type], s_type_name(member));
        return -1;
    }
    *out = member;
    return 0;
}

/* A string member, copied into *OUT; left alone when absent and optional.
 * Empty strings are refused unless ALLOW_EMPTY. */
static int s_string(const s_loader_t *ld, const config_setting_t *group, const char *where,
                    const char *key, bool required, bool allow_empty, char **out,
                    config_setting_t **setting_out)
{
    config_setting_t *member;
    if (s_member(ld, group, where, key, CONFIG_TYPE_STRING, required, &member) < 0)
        return -1;
    if (setting_out)
        *setting_out = member;
    if (!member)
        return 0;
    const char *value = config_setting_get_string(member);
    if (!allow_empty && value[0] == '\0') {
        s_fail(ld, member, "%s.%s: must not be empty", where, key);
        return -1;
    }
    char *copy = s_strdup(value);
    if (!copy) {
        s_fail(ld, member, "out of memory");
        return -1;
    }
    free(*out);
    *out = copy;
    return 0;
}

/* An integer member in [MIN, MAX] into *OUT; left alone when absent and
 * optional (the caller has put the default there). */
static int s_uint(const s_loader_t *ld, const config_setting_t *group, const char *where,
                  const char *key, bool required, uint64_t min, uint64_t max, uint64_t *out,
                  config_setting_t **setting_out)
{
    config_setting_t *member;
    if (s_member(ld, group, where, key, CONFIG_TYPE_INT, required, &member) < 0)
        return -1;
    if (setting_out)
        *setting_out = member;
    if (!member)
        return 0;
    long long value = config_setting_get_int64(member);
    if (value < 0 || (uint64_t)value < min) {
        s_fail(ld, member, "%s.%s: must be at least %llu, found %lld", where, key,
               (unsigned long long)min, value);
        return -1;
    }
    if ((uint64_t)value > max) {
        s_fail(ld, member, "%s.%s: must be at most %llu, found %lld", where, key,
               (unsigned long long)max, value);
        return -1;
    }
    *out = (uint64_t)value;
    return 0;
}

/* A date member: "YYYY-MM-DD" (a real day) or "" (open). */
static int s_date(const s_loader_t *ld, const config_setting_t *group, const char *where,
                  const char *key, bool *has, date_t *out, config_setting_t **setting_out)
{
    config_setting_t *member;
    if (s_member(ld, group, where, key, CONFIG_TYPE_STRING, false, &member) < 0)
        return -1;
    *setting_out = member;
    *has = false;
    if (!member)
        return 0;
    const char *value = config_setting_get_string(member);
    if (value[0] == '\0')
        return 0;
    if (!date_parse_iso(value, out)) {
        s_fail(ld, member, "%s.%s: \"%s\" is not a real day written YYYY-MM-DD (or \"\" for open)",
               where, key, value);
        return -1;
    }
    *has = true;
    return 0;
}

/* Checks one word of a list: NULL when fine, else why not ("is not ..."). */
typedef const char *(*s_word_check_fn)(const char *word);

/* An optional array of non-empty strings, each passing CHECK (if any),
 * copied into *OUT; *N_OUT counts the copies made, so config_free frees
 * exactly those even when a later word fails. */

static int s_string_array(const s_loader_t *ld, const config_setting_t *group, const char *where,
                          const char *key, s_word_check_fn check, char ***out, size_t *n_out)
{
    config_setting_t *array;
    if (s_member(ld, group, where, key, CONFIG_TYPE_ARRAY, false, &array) < 0)
        return -1;
    if (!array)
        return 0;
    int n = config_setting_length(array);
    if (n == 0)
        return 0;
    *out = calloc((size_t)n, sizeof **out);
    if (!*out) {
        s_fail(ld, array, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        config_setting_t *elem = config_setting_get_elem(array, (unsigned)i);
        if (config_setting_type(elem) != CONFIG_TYPE_STRING) {
            s_fail(ld, elem, "%s.%s: expected strings, found %s", where, key, s_type_name(elem));
            return -1;
        }
        const char *word = config_setting_get_string(elem);
        const char *why = word[0] == '\0' ? "must not be empty" : check ? check(word) : NULL;
        if (why) {
            s_fail(ld, elem, "%s.%s: \"%s\" %s", where, key, word, why);
            return -1;
        }
        (*out)[i] = s_strdup(word);
        if (!(*out)[i]) {
            s_fail(ld, elem, "out of memory");
            return -1;
        }
        (*n_out)++;
    }
    return 0;
}

/* French postcodes are five digits; anything else could never match a
 * referral and would silently route nobody. */
static const char *s_check_postcode(const char *word)
{
    for (int i = 0; i < 5; i++)
        if (word[i] < '0' || word[i] > '9')
            return "is not a postcode (5 digits)";
    return word[5] == '\0' ? NULL : "is not a postcode (5 digits)";
}

/* [a-z0-9-], 1..40 characters: ids travel in Envelope.sender, logs and
 * file names, so they stay plain. */
static bool s_id_is_valid(const char *id)
{
    size_t len = strlen(id);
    if (len < 1 || len > S_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* The id, name and kind every partner and structure has.  WHERE becomes
 * 'partner "ID"' once the id is known, for the messages that follow. */
static int s_identity(const s_loader_t *ld, const config_setting_t *group, char *where,
                      size_t where_len, const char *what, const char *const *kinds, char **id,
                      char **name, char **kind)
{
    config_setting_t *setting;
    if (s_string(ld, group, where, "id", true, true, id, &setting) < 0)
        return -1;
    if (!s_id_is_valid(*id)) {
        s_fail(ld, setting, "%s.id: \"%s\" must be 1 to %d characters among a-z 0-9 -", where, *id,
               S_ID_MAX);
        return -1;
    }
    snprintf(where, where_len, "%s \"%s\"", what, *id);
    if (s_string(ld, group, where, "name", true, false, name, NULL) < 0 ||
        s_string(ld, group, where, "kind", true, false, kind, &setting) < 0)
        return -1;
    if (!s_in(*kind, kinds)) {
        char list[200] = "";
        for (const char *const *k = kinds; *k; k++) {
            strncat(list, " ", sizeof list - strlen(list) - 1);
            strncat(list, *k, sizeof list - strlen(list) - 1);
        }
        s_fail(ld, setting, "%s.kind: unknown kind \"%s\" (one of:%s)", where, *kind, list);
        return -1;
    }
    return 0;
}

/* The list named KEY at the top level: required, at least one group. */
static int s_record_list(const s_loader_t *ld, const config_setting_t *root, const char *key,
                         config_setting_t **out)
{
    if (s_member(ld, root, NULL, key, CONFIG_TYPE_LIST, false, out) < 0)
        return -1;
    if (!*out) {
        s_fail(ld, NULL, "missing required list %s = ( {...}, ... )", key);
        return -1;
    }
    if (config_setting_length(*out) == 0) {
        s_fail(ld, *out, "%s: at least one is required", key);
        return -1;
    }
    int n = config_setting_length(*out);
    for (int i = 0; i < n; i++) {
        config_setting_t *elem = config_setting_get_elem(*out, (unsigned)i);
        if (config_setting_type(elem) != CONFIG_TYPE_GROUP) {
            s_fail(ld, elem, "%s[%d]: expected a group { }, found %s", key, i, s_type_name(elem));
            return -1;
        }
    }
    return 0;
}

static int s_load_programme(const s_loader_t *ld, config_t *self, const config_setting_t *root,
                            config_setting_t **default_setting,
                            config_setting_t **programme_setting)
{
    static const char *const keys[] = {"name",
                                       "min_age",
                                       "max_age",
                                       "resources_ceiling_eur",
                                       "excluded_benefits",
                                       "envelope_eur",
                                       "allowance_eur",
                                       "max_months",
                                       "start_date",
                                       "end_date",
                                       "default_structure",
                                       "programme_structure",
                                       "reminder_days",
                                       "reroute_days",
                                       "waitlist_housing_first",
                                       "retention_months",
                                       NULL};
    const char *where = "programme";
    config_setting_t *group, *min_s, *max_s, *start_s, *end_s, *array;
    if (s_member(ld, root, NULL, "programme", CONFIG_TYPE_GROUP, false, &group) < 0)
        return -1;
    if (!group) {
        s_fail(ld, NULL, "missing required section programme = { ... }");
        return -1;
    }
    if (s_check_keys(ld, group, where, keys) < 0)
        return -1;
    if (s_string(ld, group, where, "name", true, false, &self->programme_name, NULL) < 0 ||
        s_string(ld, group, where, "default_structure", true, false, &self->default_structure,
                 default_setting) < 0 ||
        s_string(ld, group, where, "programme_structure", true, false, &self->programme_structure,
                 programme_setting) < 0)
        return -1;

    uint64_t min_age = S_DEFAULT_MIN_AGE, max_age = S_DEFAULT_MAX_AGE;
    uint64_t ceiling = S_DEFAULT_RESOURCES_CEILING, envelope = S_DEFAULT_ENVELOPE_EUR;
    uint64_t allowance = S_DEFAULT_ALLOWANCE_EUR, months = S_DEFAULT_MAX_MONTHS;
    uint64_t reminder = 10, reroute = 30, retention = 24;
    config_setting_t *reroute_s = NULL;
    int housing_first = 0;
    if (s_uint(ld, group, where, "reminder_days", false, 1, 3650, &reminder, NULL) < 0 ||
        s_uint(ld, group, where, "reroute_days", false, 1, 3650, &reroute, &reroute_s) < 0 ||
        s_uint(ld, group, where, "retention_months", false, 1, 1200, &retention, NULL) < 0)
        return -1;
    self->retention_months = (unsigned)retention;
    config_setting_t *hf = config_setting_get_member(group, "waitlist_housing_first");
    if (hf) {
        if (config_setting_type(hf) != CONFIG_TYPE_BOOL) {
            s_fail(ld, hf, "programme: waitlist_housing_first must be true or false");
            return -1;
        }
        housing_first = config_setting_get_bool(hf);
    }
    if (reroute <= reminder) {
        s_fail(ld, reroute_s ? reroute_s : group,
               "programme: reroute_days (%llu) must be greater than reminder_days (%llu)",
               (unsigned long long)reroute, (unsigned long long)reminder);
        return -1;
    }
    self->reminder_days = (unsigned)reminder;
    self->reroute_days = (unsigned)reroute;
    self->waitlist_housing_first = housing_first != 0;
    if (s_uint(ld, group, where, "min_age", false, 1, UINT_MAX, &min_age, &min_s) < 0 ||
        s_uint(ld, group, where, "max_age", false, 1, UINT_MAX, &max_age, &max_s) < 0 ||
        s_uint(ld, group, where, "resources_ceiling_eur", false, 0, UINT32_MAX, &ceiling, NULL) <
            0 ||
        s_uint(ld, group, where, "envelope_eur", false, 0, UINT64_MAX, &envelope, NULL) < 0 ||
        s_uint(ld, group, where, "allowance_eur", false, 1, UINT32_MAX, &allowance, NULL) < 0 ||
        s_uint(ld, group, where, "max_months", false, 1, UINT32_MAX, &months, NULL) < 0)
        return -1;
    if (min_age > max_age) {
        s_fail(ld, max_s ? max_s : min_s,
               "programme: min_age (%llu) is greater than max_age (%llu)",
               (unsigned long long)min_age, (unsigned long long)max_age);
        return -1;
    }
    self->min_age = (unsigned)min_age;
    self->max_age = (unsigned)max_age;
    self->resources_ceiling_eur = (uint32_t)ceiling;
    self->envelope_eur = envelope;
    self->allowance_eur = (uint32_t)allowance;
    self->max_months = (uint32_t)months;

    if (s_member(ld, group, where, "excluded_benefits", CONFIG_TYPE_ARRAY, false, &array) < 0)
        return -1;
    /* Absent: the programme's four common-law schemes.  An explicit list,
     * even an empty one, replaces them. */
    if (!array) {
        self->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_RSA] = true;
        self->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_CEJ] = true;
        self->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES] = true;
        self->excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_ARE] = true;
    }
    int n = array ? config_setting_length(array) : 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *elem = config_setting_get_elem(array, (unsigned)i);
        if (config_setting_type(elem) != CONFIG_TYPE_STRING) {
            s_fail(ld, elem, "programme.excluded_benefits: expected strings, found %s",
                   s_type_name(elem));
            return -1;
        }
        const char *word = config_setting_get_string(elem);
        int benefit = vocab_benefit_parse(word);
        if (benefit < 0) {
            s_fail(ld, elem,
                   "programme.excluded_benefits: unknown benefit \"%s\" (one of: rsa cej "
                   "garantie_jeunes are aah)",
                   word);
            return -1;
        }
        /* Excluding "none" would exclude exactly the young people the
         * programme is for. */
        if (benefit == RELAIS__V1__BENEFIT__BENEFIT_NONE) {
            s_fail(ld, elem, "programme.excluded_benefits: \"%s\" cannot be excluded", word);
            return -1;
        }
        self->excluded_benefit[benefit] = true;
    }

    if (s_date(ld, group, where, "start_date", &self->has_start, &self->start_date, &start_s) < 0 ||
        s_date(ld, group, where, "end_date", &self->has_end, &self->end_date, &end_s) < 0)
        return -1;
    if (self->has_start && self->has_end && date_compare(self->start_date, self->end_date) > 0) {
        s_fail(ld, end_s, "programme: start_date %s is after end_date %s",
               config_setting_get_string(start_s), config_setting_get_string(end_s));
        return -1;
    }
    return 0;
}

static int s_load_broker(const s_loader_t *ld, config_t *self, const config_setting_t *root)
{
    static const char *const keys[] = {"partner_endpoint", "coordinator_endpoint",
                                       "max_message_bytes", "map_size_mib", "map_max_mib",
                                       "secret_key_file", "authorized_keys_file",
                                       "data_key_file", NULL};
    const char *where = "broker";
    config_setting_t *group;
    uint64_t max_bytes = S_DEFAULT_MAX_MESSAGE_BYTES, map_mib = S_DEFAULT_MAP_SIZE_MIB;
    uint64_t map_max = S_DEFAULT_MAP_MAX_MIB;
    config_setting_t *map_max_s = NULL;

    self->partner_endpoint = s_strdup(S_DEFAULT_PARTNER_ENDPOINT);
    self->coordinator_endpoint = s_strdup(S_DEFAULT_COORDINATOR_ENDPOINT);
    self->secret_key_file = s_strdup("");
    self->authorized_keys_file = s_strdup("");
    self->data_key_file = s_strdup("");
    if (!self->partner_endpoint || !self->coordinator_endpoint || !self->secret_key_file ||
        !self->authorized_keys_file || !self->data_key_file) {
        s_fail(ld, NULL, "out of memory");
        return -1;
    }
    if (s_member(ld, root, NULL, "broker", CONFIG_TYPE_GROUP, false, &group) < 0)
        return -1;
    if (group) {
        /* map_size_mib is turned into bytes, which must fit a size_t. */
        if (s_check_keys(ld, group, where, keys) < 0 ||
            s_string(ld, group, where, "partner_endpoint", false, false, &self->partner_endpoint,
                     NULL) < 0 ||
            s_string(ld, group, where, "coordinator_endpoint", false, false,
                     &self->coordinator_endpoint, NULL) < 0 ||
            s_string(ld, group, where, "secret_key_file", false, true, &self->secret_key_file,
                     NULL) < 0 ||
            s_string(ld, group, where, "authorized_keys_file", false, true,
                     &self->authorized_keys_file, NULL) < 0 ||
            s_string(ld, group, where, "data_key_file", false, true, &self->data_key_file,
                     NULL) < 0 ||
            s_uint(ld, group, where, "max_message_bytes", false, 1, SIZE_MAX, &max_bytes, NULL) <
                0 ||
            s_uint(ld, group, where, "map_size_mib", false, 1, SIZE_MAX / (1024 * 1024), &map_mib,
                   NULL) < 0 ||
            s_uint(ld, group, where, "map_max_mib", false, 1, SIZE_MAX / (1024 * 1024), &map_max,
                   &map_max_s) < 0)
            return -1;
    }
    if (map_max < map_mib) {
        if (map_max_s) {
            s_fail(ld, map_max_s, "broker: map_max_mib %llu is below map_size_mib %llu",
                   (unsigned long long)map_max, (unsigned long long)map_mib);
            return -1;
        }
        map_max = map_mib; /* a larger initial map than the default ceiling */
    }
    self->max_message_bytes = (size_t)max_bytes;
    self->map_size_mib = (size_t)map_mib;
    self->map_max_mib = (size_t)map_max;
    return 0;
}

static int s_load_partners(const s_loader_t *ld, config_t *self, const config_setting_t *root)
{
    static const char *const keys[] = {"id", "name", "kind", NULL};
    config_setting_t *list;
    if (s_record_list(ld, root, "partners", &list) < 0)
        return -1;
    size_t n = (size_t)config_setting_length(list);
    self->partners = calloc(n, sizeof *self->partners);
    if (!self->partners) {
        s_fail(ld, list, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        config_setting_t *group = config_setting_get_elem(list, (unsigned)i);
        config_partner_t *partner = &self->partners[i];
        char where[80];
        snprintf(where, sizeof where, "partners[%zu]", i);
        self->n_partners = i + 1; /* so config_free frees what is filled in */
        if (s_check_keys(ld, group, where, keys) < 0 ||
            s_identity(ld, group, where, sizeof where, "partner", s_partner_kinds, &partner->id,
                       &partner->name, &partner->kind) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->partners[j].id, partner->id) == 0) {
                s_fail(ld, config_setting_get_member(group, "id"), "duplicate partner id \"%s\"",
                       partner->id);
                return -1;
            }
    }
    return 0;
}

static int s_load_structures(const s_loader_t *ld, config_t *self, const config_setting_t *root)
{
    static const char *const keys[] = {"id",        "name",     "kind", "quartiers",
                                       "postcodes", "capacity", NULL};
    config_setting_t *list;
    if (s_record_list(ld, root, "structures", &list) < 0)
        return -1;
    size_t n = (size_t)config_setting_length(list);
    self->structures = calloc(n, sizeof *self->structures);
    if (!self->structures) {
        s_fail(ld, list, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        config_setting_t *group = config_setting_get_elem(list, (unsigned)i);
        config_structure_t *structure = &self->structures[i];
        char where[80];
        snprintf(where, sizeof where, "structures[%zu]", i);
        self->n_structures = i + 1; /* so config_free frees what is filled in */
        if (s_check_keys(ld, group, where, keys) < 0 ||
            s_identity(ld, group, where, sizeof where, "structure", s_structure_kinds,
                       &structure->id, &structure->name, &structure->kind) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->structures[j].id, structure->id) == 0) {
                s_fail(ld, config_setting_get_member(group, "id"), "duplicate structure id \"%s\"",
                       structure->id);
                return -1;
            }
        uint64_t value = 0;
        if (s_uint(ld, group, where, "capacity", true, 1, UINT32_MAX, &value, NULL) < 0 ||
            s_string_array(ld, group, where, "quartiers", NULL, &structure->quartiers,
                           &structure->n_quartiers) < 0 ||
            s_string_array(ld, group, where, "postcodes", s_check_postcode, &structure->postcodes,
                           &structure->n_postcodes) < 0)
            return -1;
        structure->capacity = (uint32_t)value;
    }
    return 0;
}

/* The whole tree into a new config_t; NULL (and ERR) on the first problem. */
static config_t *s_load(const s_loader_t *ld, const libconfig_config_t *lc)
{
    static const char *const sections[] = {"programme", "broker", "partners", "structures", NULL};
    config_setting_t *root = config_root_setting(lc);
    config_setting_t *default_setting = NULL, *programme_setting = NULL;
    config_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_fail(ld, NULL, "out of memory");
        goto err;
    }
    if (s_check_keys(ld, root, "top level", sections) < 0 ||
        s_load_programme(ld, self, root, &default_setting, &programme_setting) < 0 ||
        s_load_broker(ld, self, root) < 0 || s_load_partners(ld, self, root) < 0 ||
        s_load_structures(ld, self, root) < 0)
        goto err;
    if (!config_structure(self, self->default_structure)) {
        s_fail(ld, default_setting, "programme.default_structure: no structure has id \"%s\"",
               self->default_structure);
        goto err;
    }
    if (!config_structure(self, self->programme_structure)) {
        s_fail(ld, programme_setting, "programme.programme_structure: no structure has id \"%s\"",
               self->programme_structure);
        goto err;
    }
    return self;
err:
    config_free(&self);
    return NULL;
}

/* A parse error from libconfig, in our format.  An error inside an
 * @include names the included file. */
static void s_fail_parse(const s_loader_t *ld, const libconfig_config_t *lc)
{
    const char *file = config_error_file(lc) ? config_error_file(lc) : ld->origin;
    if (ld->err && ld->errlen)
        snprintf(ld->err, ld->errlen, "%s:%d: %s", file, config_error_line(lc),
                 config_error_text(lc));
}

config_t *config_load_string(const char *text, const char *origin, char *err, size_t errlen)
{
    s_loader_t ld = {origin ? origin : "(config)", err, errlen};
    libconfig_config_t lc;
    config_t *self = NULL;
    config_init(&lc);
    if (!text) {
        s_fail(&ld, NULL, "no text");
        goto done;
    }
    if (config_read_string(&lc, text) != CONFIG_TRUE) {
        s_fail_parse(&ld, &lc);
        goto done;
    }
    self = s_load(&ld, &lc);
done:
    config_destroy(&lc);
    return self;
}

config_t *config_load_file(const char *path, char *err, size_t errlen)
{
    s_loader_t ld = {path ? path : "(no path)", err, errlen};
    libconfig_config_t lc;
    config_t *self = NULL;
    char *dir = NULL;
    FILE *file = NULL;
    config_init(&lc);
    if (!path) {
        s_fail(&ld, NULL, "no file name given");
        goto done;
    }
    /* Opened here rather than by config_read_file, which reports only
     * "file I/O error": the errno says why. */
    file = fopen(path, "r");
    if (!file) {
        s_fail(&ld, NULL, "cannot open: %s", strerror(errno));
        goto done;
    }
    /* An @include is relative to the including file, not to wherever the
     * broker was started. */
    dir = s_strdup(path);
    if (!dir) {
        s_fail(&ld, NULL, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash) {
        slash[slash == dir ? 1 : 0] = '\0';
        config_set_include_dir(&lc, dir);
    }
    if (config_read(&lc, file) != CONFIG_TRUE) {
        s_fail_parse(&ld, &lc);
        goto done;
    }
    self = s_load(&ld, &lc);
done:
    if (file)
        fclose(file);
    free(dir);
    config_destroy(&lc);
    return self;
}

config_t *config_load_default(char *err, size_t errlen)
{
    return config_load_string(config_default_text, "(built-in relais.conf)", err, errlen);
}

static void s_free_words(char **words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

void config_free(config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *self = *self_p;
    for (size_t i = 0; i < self->n_partners; i++) {
        free(self->partners[i].id);
        free(self->partners[i].name);
        free(self->partners[i].kind);
    }
    free(self->partners);
    for (size_t i = 0; i < self->n_structures; i++) {
        config_structure_t *structure = &self->structures[i];
        free(structure->id);
        free(structure->name);
        free(structure->kind);
        s_free_words(structure->quartiers, structure->n_quartiers);
        s_free_words(structure->postcodes, structure->n_postcodes);
    }
    free(self->structures);
    free(self->programme_name);
    free(self->default_structure);
    free(self->programme_structure);
    free(self->partner_endpoint);
    free(self->coordinator_endpoint);
    free(self->secret_key_file);
    free(self->authorized_keys_file);
    free(self->data_key_file);
    free(self);
    *self_p = NULL;
}

const config_partner_t *config_partner(const config_t *self, const char *id)
{
    if (!self || !id)
        return NULL;
    for (size_t i = 0; i < self->n_partners; i++)
        if (self->partners[i].id && strcmp(self->partners[i].id, id) == 0)
            return &self->partners[i];
    return NULL;
}

const config_structure_t *config_structure(const config_t *self, const char *id)
{
    if (!self || !id)
        return NULL;
    for (size_t i = 0; i < self->n_structures; i++)
        if (self->structures[i].id && strcmp(self->structures[i].id, id) == 0)
            return &self->structures[i];
    return NULL;
}

const char *config_partner_name(const config_t *self, const char *id)
{
    const config_partner_t *p = config_partner(self, id);
    return p ? p->name : id;
}

const char *config_structure_name(const config_t *self, const char *id)
{
    const config_structure_t *s = config_structure(self, id);
    return s ? s->name : id;
}
