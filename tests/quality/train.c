/*  train — estimates the linkage model's m and u (deploy/linkage-model.json).
 *
 *    train_linkage --data DIR --upper X --lower Y --version V [--pairs N] > model.json
 *
 *  DIR is a gen_referrals.py output used for training only (another seed
 *  than the benchmark's).  For each field and comparison level (linkage.h):
 *    m = share of labelled true pairs (a "dup" query and its known person)
 *        at that level, among pairs where the field is present;
 *    u = the same share among N random pairs of distinct known persons.
 *  Both are smoothed (add 0.5 per level) so no level has probability 0,
 *  and m is floored at 0.005 (see below).
 *  u for an e-mail or phone agreement is floored at 0.001: random pairs
 *  almost never share one, but real families, foster homes and social
 *  workers do, and the weight must stay evidence, not proof.
 *  The thresholds (posterior log2-odds, linkage.h) are given on the
 *  command line: they are chosen by running bench_matching on a training
 *  set (README "Matching quality").  prior_share 0.5: about half the
 *  referrals of the generator, and of a partner pushing a caseload twice,
 *  concern someone already known.
 */
#include "csv_reader.h"
#include "linkage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char KEY[LINKAGE_KEY_LEN] = {42};
#define M_FLOOR 0.005

typedef struct {
    linkage_profile_t *known; /* index = person id */
    size_t cap;
    uint64_t *truth; /* query -> person, 0 when not a dup */
    size_t nq;
    double m[LINKAGE_NFIELDS][LINKAGE_MAX_LEVELS], u[LINKAGE_NFIELDS][LINKAGE_MAX_LEVELS];
} train_t;

static int s_on_known(void *arg, size_t line, const char *ref, const Relais__V1__Referral *r,
                      const char *error)
{
    train_t *t = arg;
    (void)line;
    if (error || ref[0] != 'K')
        return 0;
    size_t id = strtoull(ref + 1, NULL, 10);
    if (id >= t->cap) {
        size_t want = (id + 1) * 2;
        linkage_profile_t *g = realloc(t->known, want * sizeof *g);
        if (!g)
            return 1;
        memset(g + t->cap, 0, (want - t->cap) * sizeof *g);
        t->known = g;
        t->cap = want;
    }
    linkage_profile_build(r->person, KEY, &t->known[id]);
    return 0;
}

static void s_count(double c[LINKAGE_NFIELDS][LINKAGE_MAX_LEVELS], const linkage_profile_t *a,
                    const linkage_profile_t *b)
{
    int level[LINKAGE_NFIELDS];
    linkage_compare(a, b, level);
    for (int f = 0; f < LINKAGE_NFIELDS; f++)
        if (level[f] != LINKAGE_MISSING)
            c[f][level[f]] += 1;
}

static int s_on_query(void *arg, size_t line, const char *ref, const Relais__V1__Referral *r,
                      const char *error)
{
    train_t *t = arg;
    (void)line;
    if (error || ref[0] != 'Q')
        return 0;
    size_t q = strtoull(ref + 1, NULL, 10);
    if (q >= t->nq || !t->truth[q] || t->truth[q] >= t->cap)
        return 0;
    linkage_profile_t p;
    linkage_profile_build(r->person, KEY, &p);
    s_count(t->m, &p, &t->known[t->truth[q]]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *version = "trained";
    double upper = 14, lower = 6;
    long pairs = 2000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
        else if (!strcmp(argv[i], "--upper"))
            upper = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--lower"))
            lower = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--version"))
            version = argv[i + 1];
        else if (!strcmp(argv[i], "--pairs"))
            pairs = atol(argv[i + 1]);
    }
    if (!data) {
        fprintf(stderr, "usage: train_linkage --data DIR --upper X --lower Y --version V\n");
        return 1;
    }
    train_t t;
    memset(&t, 0, sizeof t);
    char path[4096], err[256], line[512];
    snprintf(path, sizeof path, "%s/truth.csv", data);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'Q' || !strstr(line, ",dup"))
            continue;
        size_t q = strtoull(line + 1, NULL, 10);
        if (q >= t.nq) {
            size_t want = (q + 1) * 2;
            uint64_t *g = realloc(t.truth, want * sizeof *g);
            if (!g)
                return 1;
            memset(g + t.nq, 0, (want - t.nq) * sizeof *g);
            t.truth = g;
            t.nq = want;
        }
        t.truth[q] = strtoull(strchr(line, ',') + 1, NULL, 10);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/known.csv", data);
    if (csv_reader_read_file(path, s_on_known, NULL, &t, err, sizeof err) < 0)
        return 1;
    snprintf(path, sizeof path, "%s/queries.csv", data);
    if (csv_reader_read_file(path, s_on_query, NULL, &t, err, sizeof err) < 0)
        return 1;
    /* Random pairs of distinct known persons (ids 1..cap-1 that exist). */
    srand(12345);
    for (long i = 0; i < pairs; i++) {
        size_t a = 1 + (size_t)rand() % (t.cap - 1), b = 1 + (size_t)rand() % (t.cap - 1);
        if (a == b || !t.known[a].n_surnames || !t.known[b].n_surnames)
            continue;
        s_count(t.u, &t.known[a], &t.known[b]);
    }

    printf("{\n  \"version\": \"%s\",\n", version);
    printf("  \"produced_by\": \"tests/quality/train.c (train_linkage --data %s --upper %g "
           "--lower %g --pairs %ld)\",\n",
           data, upper, lower, pairs);
    printf("  \"upper\": %g,\n  \"lower\": %g,\n  \"prior_share\": 0.5,\n"
           "  \"tf_min_persons\": 1000,\n  \"fields\": {\n",
           upper, lower);
    for (int fi = 0; fi < LINKAGE_NFIELDS; fi++) {
        int nl = linkage_field_levels(fi);
        double sm = 0, su = 0, mm[LINKAGE_MAX_LEVELS];
        for (int l = 0; l < nl; l++) {
            sm += t.m[fi][l] + 0.5;
            su += t.u[fi][l] + 0.5;
        }
        /* m floored at M_FLOOR then renormalised: the generator never
         * makes some errors (a wrong sex, a mistyped INE) that real
         * partners do make, and a level the generator never produces
         * must not become a veto. */
        double sfl = 0;
        for (int l = 0; l < nl; l++) {
            mm[l] = (t.m[fi][l] + 0.5) / sm;
            if (mm[l] < M_FLOOR)
                mm[l] = M_FLOOR;
            sfl += mm[l];
        }
        printf("    \"%s\": {", linkage_field_name(fi));
        for (int l = 0; l < nl; l++) {
            double m = mm[l] / sfl, u = (t.u[fi][l] + 0.5) / su;
            if ((fi == LINKAGE_EMAIL || fi == LINKAGE_PHONE) && l == LINKAGE_AGREE && u < 0.001)
                u = 0.001;
            printf("%s\"%s\": [%.6g, %.6g]", l ? ", " : "", linkage_level_name(fi, l), m, u);
        }
        printf("}%s\n", fi + 1 < LINKAGE_NFIELDS ? "," : "");
    }
    printf("  }\n}\n");
    free(t.known);
    free(t.truth);
    return 0;
}
