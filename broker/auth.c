/*  auth — the authorized-keys file: parsing, lookup, reload.  The format
 *  and its rules are in auth.h.
 *
 *  The table is a plain array: a programme has a few dozen keys, and a
 *  linear scan of them costs less than the Curve handshake it guards.
 *  A reload parses into a fresh array and swaps it in only when the whole
 *  file is good.
 */
#include "auth.h"
#include "errbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct auth_t {
    const config_t *cfg;
    char *path;
    auth_entry_t *entries;
    size_t n;
};

const char *auth_role_name(auth_role_t role)
{
    switch (role) {
    case AUTH_PARTNER: return "partner";
    case AUTH_COORDINATOR: return "coordinator";
    case AUTH_STAFF: return "staff";
    default: return "unknown";
    }
}

auth_role_t auth_parse_user_id(const char *user_id, const char **id)
{
    static const auth_role_t roles[] = {AUTH_PARTNER, AUTH_COORDINATOR, AUTH_STAFF};
    *id = "";
    if (!user_id)
        return 0;
    const char *colon = strchr(user_id, ':');
    if (!colon)
        return 0;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        const char *name = auth_role_name(roles[i]);
        if (strlen(name) == (size_t)(colon - user_id) &&
            strncmp(user_id, name, strlen(name)) == 0) {
            *id = colon + 1;
            return roles[i];
        }
    }
    return 0;
}

/* Staff ids are free, but stay printable words: they end up in logs,
 * the audit and the ZAP User-Id. */
static bool s_word_ok(const char *s)
{
    if (!*s || strlen(s) >= AUTH_ID_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == '@'))
            return false;
    return true;
}

/* Parses PATH into a new array (*OUT, *N).  0 or -1 with ERR. */
static int s_parse(const auth_t *self, auth_entry_t **out, size_t *n_out, char *err,
                   size_t errlen)
{
    FILE *f = fopen(self->path, "r");
    if (!f)
        return errbuf_set(err, errlen, "%s: %s", self->path, strerror(errno));
    auth_entry_t *entries = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t linecap = 0;
    int lineno = 0, rc = -1;
    while (getline(&line, &linecap, f) >= 0) {
        lineno++;
        char *save = NULL;
        char *role = strtok_r(line, " \t\r\n", &save);
        if (!role || *role == '#')
            continue;
        char *id = strtok_r(NULL, " \t\r\n", &save);
        char *key = strtok_r(NULL, " \t\r\n", &save);
        /* The rest of the line is a free comment, as in ssh. */
        auth_entry_t e = {.line = lineno};
        if (strcmp(role, "partner") == 0)
            e.role = AUTH_PARTNER;
        else if (strcmp(role, "coordinator") == 0)
            e.role = AUTH_COORDINATOR;
        else if (strcmp(role, "staff") == 0)
            e.role = AUTH_STAFF;
        else {
            errbuf_set(err, errlen, "%s:%d: unknown role '%.40s' (partner, coordinator or staff)",
                   self->path, lineno, role);
            goto done;
        }
        if (!id || !key) {
            errbuf_set(err, errlen, "%s:%d: expected '%s ID KEY'", self->path, lineno, role);
            goto done;
        }
        if (!s_word_ok(id)) {
            errbuf_set(err, errlen, "%s:%d: bad id '%.40s'", self->path, lineno, id);
            goto done;
        }
        if (e.role == AUTH_PARTNER && !config_partner(self->cfg, id)) {
            errbuf_set(err, errlen, "%s:%d: '%s' is not a configured partner", self->path, lineno,
                   id);
            goto done;
        }
        if (e.role == AUTH_COORDINATOR && !config_structure(self->cfg, id)) {
            errbuf_set(err, errlen, "%s:%d: '%s' is not a configured structure", self->path, lineno,
                   id);
            goto done;
        }
        if (!keyfile_z85_ok(key)) {
            errbuf_set(err, errlen, "%s:%d: bad key (40 Z85 characters expected, as in a .pub file)",
                   self->path, lineno);
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(entries[i].key, key) == 0) {
                errbuf_set(err, errlen, "%s:%d: this key is already listed on line %d (one key, "
                       "one identity)", self->path, lineno, entries[i].line);
                goto done;
            }
        snprintf(e.id, sizeof e.id, "%s", id);
        memcpy(e.key, key, sizeof e.key);
        snprintf(e.user_id, sizeof e.user_id, "%s:%s", auth_role_name(e.role), id);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            auth_entry_t *grown = realloc(entries, ncap * sizeof *grown);
            if (!grown) {
                errbuf_set(err, errlen, "out of memory");
                goto done;
            }
            entries = grown;
            cap = ncap;
        }
        entries[n++] = e;
    }
    if (ferror(f)) {
        errbuf_set(err, errlen, "%s: %s", self->path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(line);
    fclose(f);
    if (rc != 0) {
        free(entries);
        return -1;
    }
    *out = entries;
    *n_out = n;
    return 0;
}

auth_t *auth_load(const char *path, const config_t *cfg, char *err, size_t errlen)
{
    auth_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    self->cfg = cfg;
    if (s_parse(self, &self->entries, &self->n, err, errlen) != 0)
        goto fail;
    return self;
fail:
    auth_destroy(&self);
    return NULL;
}

void auth_destroy(auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    auth_t *self = *self_p;
    free(self->entries);
    free(self->path);
    free(self);
    *self_p = NULL;
}

int auth_reload(auth_t *self, char *err, size_t errlen)
{
    auth_entry_t *entries;
    size_t n;
    if (s_parse(self, &entries, &n, err, errlen) != 0)
        return -1;
    free(self->entries);
    self->entries = entries;
    self->n = n;
    return 0;
}

const auth_entry_t *auth_lookup(const auth_t *self, const char *key_z85)
{
    if (!key_z85)
        return NULL;
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->entries[i].key, key_z85) == 0)
            return &self->entries[i];
    return NULL;
}

size_t auth_count(const auth_t *self)
{
    return self->n;
}

const char *auth_path(const auth_t *self)
{
    return self->path;
}
