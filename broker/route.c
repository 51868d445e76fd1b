/*  route — structure selection.  See route.h for the rule. */
#include "route.h"

#include "normalize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const config_structure_t *cfg;
    char **quartiers; /* folded (normalize_compact) */
} s_structure_t;

struct route_t {
    const config_t *cfg;
    s_structure_t *structures;
    size_t n;
};

void route_destroy(route_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    route_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        if (self->structures[i].quartiers)
            for (size_t j = 0; j < self->structures[i].cfg->n_quartiers; j++)
                free(self->structures[i].quartiers[j]);
        free(self->structures[i].quartiers);
    }
    free(self->structures);
    free(self);
    *self_p = NULL;
}

route_t *route_new(const config_t *cfg, char *err, size_t errlen)
{
    route_t *self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->cfg = cfg;
    self->structures = calloc(cfg->n_structures, sizeof *self->structures);
    if (!self->structures)
        goto oom;
    self->n = cfg->n_structures;
    for (size_t i = 0; i < self->n; i++) {
        const config_structure_t *s = &cfg->structures[i];
        self->structures[i].cfg = s;
        self->structures[i].quartiers = calloc(s->n_quartiers + 1, sizeof(char *));
        if (!self->structures[i].quartiers)
            goto oom;
        for (size_t j = 0; j < s->n_quartiers; j++) {
            self->structures[i].quartiers[j] = normalize_compact(s->quartiers[j]);
            if (!self->structures[i].quartiers[j]) {
                snprintf(err, errlen, "structure %s: quartier %zu is not valid UTF-8", s->id,
                         j + 1);
                route_destroy(&self);
                return NULL;
            }
        }
    }
    return self;
oom:
    snprintf(err, errlen, "out of memory");
    route_destroy(&self);
    return NULL;
}

static size_t s_load_name(char *out, size_t outlen, const char *structure_id)
{
    int n = snprintf(out, outlen, "load:%s", structure_id);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

int route_load(store_txn_t *t, const char *structure_id, uint64_t *out)
{
    char name[96];
    if (!s_load_name(name, sizeof name, structure_id))
        return EINVAL;
    return store_counter_get(t, name, out);
}

int route_load_add(store_txn_t *t, const char *structure_id, int64_t delta)
{
    char name[96];
    if (!s_load_name(name, sizeof name, structure_id))
        return EINVAL;
    return store_counter_add(t, name, delta, NULL);
}

static int s_excluded(const char *id, char *const *exclude, size_t n_exclude)
{
    for (size_t i = 0; i < n_exclude; i++)
        if (strcmp(exclude[i], id) == 0)
            return 1;
    return 0;
}

static int s_serves_quartier(const s_structure_t *s, const char *folded)
{
    if (!folded || !*folded)
        return 0;
    for (size_t j = 0; j < s->cfg->n_quartiers; j++)
        if (strcmp(s->quartiers[j], folded) == 0)
            return 1;
    return 0;
}

static int s_serves_postcode(const s_structure_t *s, const char *postcode)
{
    if (!postcode || !*postcode)
        return 0;
    for (size_t j = 0; j < s->cfg->n_postcodes; j++)
        if (strcmp(s->cfg->postcodes[j], postcode) == 0)
            return 1;
    return 0;
}

enum { S_BY_QUARTIER, S_BY_POSTCODE, S_BY_DEFAULT };

int route_pick(route_t *self, store_txn_t *t, const Relais__V1__Person *p,
               char *const *exclude, size_t n_exclude, const config_structure_t **out)
{
    char *quartier = normalize_compact(p && p->quartier ? p->quartier : "");
    const char *postcode = p ? p->postcode : "";
    int rc = 0;
    *out = NULL;
    if (!quartier)
        return ENOMEM;
    for (int rule = S_BY_QUARTIER; rule <= S_BY_DEFAULT && !*out; rule++) {
        uint64_t best_load = 0;
        for (size_t i = 0; i < self->n; i++) {
            const s_structure_t *s = &self->structures[i];
            if (strcmp(s->cfg->kind, "programme") == 0 ||
                s_excluded(s->cfg->id, exclude, n_exclude))
                continue;
            int fits = rule == S_BY_QUARTIER   ? s_serves_quartier(s, quartier)
                       : rule == S_BY_POSTCODE ? s_serves_postcode(s, postcode)
                                               : strcmp(s->cfg->id, self->cfg->default_structure) == 0;
            if (!fits)
                continue;
            uint64_t load;
            if ((rc = route_load(t, s->cfg->id, &load)) != 0)
                goto done;
            if (load >= s->cfg->capacity)
                continue;
            /* Compare load/capacity without division: a/b < c/d <=> ad < cb;
             * equal ratios: fewer open cases first. */
            if (*out) {
                uint64_t lhs = load * (*out)->capacity, rhs = best_load * s->cfg->capacity;
                if (lhs > rhs || (lhs == rhs && load >= best_load))
                    continue;
            }
            *out = s->cfg;
            best_load = load;
        }
    }
done:
    free(quartier);
    return rc;
}
