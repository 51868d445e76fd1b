/*  bench_matching — the matching quality benchmark (a program, not a test).
 *
 *    bench_matching --data DIR [--model FILE] [--work DIR] [--keep] [--scores FILE]
 *                   [--reuse] [--cold]
 *
 *  DIR is what gen_referrals.py wrote: known.csv, queries.csv, truth.csv.
 *  Runs the REAL matcher: every known referral is indexed with
 *  identity_index into a real LMDB store (in a temporary directory, with
 *  its own identity.key), then every query is matched with identity_match
 *  in one read transaction, timed one by one.  Queries are not indexed,
 *  so every query sees the same N known persons.
 *
 *  Prints, against the truth: pairwise precision / recall / F1 of the
 *  automatic links (a SAME is right when its person is the query's true
 *  person), the review rate (POSSIBLE / queries), recall counting review
 *  (a POSSIBLE counts when its candidate is the true person), the verdicts
 *  per kind of query, the median / p90 / p99 matching time, and the mean
 *  indexing time.  --scores writes one line per query (kind, best
 *  candidate is the true person, best score, verdict) for choosing the
 *  thresholds.  --work DIR --keep keeps the store; --reuse then matches
 *  against it without indexing again (changes to the look-up side only).
 *  Before the timed queries the store is read once through (every entry of
 *  the identity and linkage databases), so the process has the file's
 *  pages mapped as a broker that has been running for a while has:
 *  otherwise each query's first touch of a page costs a page fault, which
 *  at a million persons (a 1 GB store, ~25 pages a query) is a third of the
 *  time measured and says nothing about the matcher.  --cold skips it (a
 *  broker's first referrals after a start).
 *  See README "Matching quality" for the runs.
 */
#include "csv_reader.h"
#include "identity.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KINDS 8
static const char *const s_kinds[KINDS] = {"dup", "twin", "sibling", "homonym", "new", "?"};

typedef struct {
    uint64_t *truth_q; /* query number -> true person id */
    int *kind_q;
    size_t nq, cap_q;
    store_t *store;
    store_txn_t txn;
    size_t indexed;
    double index_secs;
    double *times;
    size_t ntimes;
    size_t verdicts[KINDS][3];
    size_t same_right, same_wrong, possible_right, dups;
    size_t wrong_shown;
    size_t cands;
    FILE *scores;
    int rc;
} bench_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_kind(const char *k)
{
    for (int i = 0; i < 5; i++)
        if (strncmp(k, s_kinds[i], strlen(s_kinds[i])) == 0)
            return i;
    return 5;
}

static int s_load_truth(bench_t *b, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f)
        return errno;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'Q')
            continue;
        size_t q = strtoull(line + 1, NULL, 10);
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c2)
            continue;
        if (q >= b->cap_q) {
            size_t want = (q + 1) * 2;
            b->truth_q = realloc(b->truth_q, want * sizeof *b->truth_q);
            b->kind_q = realloc(b->kind_q, want * sizeof *b->kind_q);
            if (!b->truth_q || !b->kind_q) {
                fclose(f);
                return ENOMEM;
            }
            b->cap_q = want;
        }
        b->truth_q[q] = strtoull(c1 + 1, NULL, 10);
        b->kind_q[q] = s_kind(c2 + 1);
        if (q + 1 > b->nq)
            b->nq = q + 1;
    }
    fclose(f);
    return 0;
}

static int s_on_known(void *arg, size_t line, const char *ref, const Relais__V1__Referral *r,
                      const char *error)
{
    bench_t *b = arg;
    (void)line;
    if (error || ref[0] != 'K')
        return 0;
    if (!b->txn.txn && (b->rc = store_begin(b->store, true, NULL, &b->txn)) != 0)
        return 1;
    double t0 = s_now();
    if ((b->rc = identity_index(&b->txn, strtoull(ref + 1, NULL, 10), r->person)) != 0)
        return 1;
    b->index_secs += s_now() - t0;
    if (++b->indexed % 20000 == 0) {
        if ((b->rc = store_commit(&b->txn)) != 0)
            return 1;
        if (b->indexed % 200000 == 0)
            fprintf(stderr, "  indexed %zu\n", b->indexed);
    }
    return 0;
}

static int s_touch(void *arg, const MDB_val *key, const MDB_val *val)
{
    size_t *sum = arg;
    *sum += ((const unsigned char *)key->mv_data)[0];
    if (val->mv_size)
        *sum += ((const unsigned char *)val->mv_data)[0];
    return 0;
}

/* Reads every entry of the matcher's databases once (see the top). */
static int s_warm(store_t *store)
{
    store_txn_t t;
    size_t sum = 0;
    int rc = store_begin(store, false, NULL, &t);
    if (rc != 0)
        return rc;
    if ((rc = store_scan(&t, STORE_IDENTITY, "", 0, NULL, 0, s_touch, &sum)) == 0)
        rc = store_scan(&t, STORE_LINKAGE, "", 0, NULL, 0, s_touch, &sum);
    store_abort(&t);
    return rc;
}

static int s_on_query(void *arg, size_t line, const char *ref, const Relais__V1__Referral *r,
                      const char *error)
{
    bench_t *b = arg;
    (void)line;
    if (error || ref[0] != 'Q')
        return 0;
    size_t q = strtoull(ref + 1, NULL, 10);
    if (q >= b->nq)
        return 0;
    identity_result_t res;
    double t0 = s_now();
    if ((b->rc = identity_match(&b->txn, r->person, &res)) != 0)
        return 1;
    b->times[b->ntimes++] = s_now() - t0;
    b->cands += res.candidates;
    int kind = b->kind_q[q];
    uint64_t truth = b->truth_q[q];
    if (b->scores)
        fprintf(b->scores, "%s,%d,%.2f,%d,%s,%s,%s\n", s_kinds[kind], res.candidate_id == truth,
                res.candidate_id ? res.score + res.prior : -99.0, (int)res.verdict, res.code,
                linkage_level_name(LINKAGE_GIVEN, res.evidence[LINKAGE_GIVEN].level),
                linkage_level_name(LINKAGE_BIRTH_DATE, res.evidence[LINKAGE_BIRTH_DATE].level));
    b->verdicts[kind][res.verdict]++;
    if (kind == 0)
        b->dups++;
    if (res.verdict == IDENTITY_SAME) {
        if (res.person_id == truth) {
            b->same_right++;
        } else {
            b->same_wrong++;
            if (b->wrong_shown++ < 10) {
                printf("  false link: %s (%s) -> person %llu, score %.1f:", ref, s_kinds[kind],
                       (unsigned long long)res.person_id, res.score);
                for (int f = 0; f < LINKAGE_NFIELDS; f++)
                    printf(" %s=%s(%+.1f)", linkage_field_name(f),
                           linkage_level_name(f, res.evidence[f].level), res.evidence[f].weight);
                printf("\n");
            }
        }
    } else if (res.verdict == IDENTITY_POSSIBLE && res.person_id == truth) {
        b->possible_right++;
    }
    return 0;
}

static int s_cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *model = NULL, *work = NULL, *scores = NULL;
    int keep = 0, reuse = 0, cold = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--work") && i + 1 < argc)
            work = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else if (!strcmp(argv[i], "--reuse"))
            reuse = 1;
        else if (!strcmp(argv[i], "--cold"))
            cold = 1;
        else if (!strcmp(argv[i], "--scores") && i + 1 < argc)
            scores = argv[++i];
        else {
            fprintf(stderr, "usage: bench_matching --data DIR [--model FILE] [--work DIR] "
                            "[--keep] [--scores FILE] [--reuse] [--cold]\n");
            return 1;
        }
    }
    if (!data) {
        fprintf(stderr, "bench_matching: --data DIR is required\n");
        return 1;
    }
    char tmp[] = "/tmp/relais-bench-XXXXXX", path[4096], err[512];
    if (!work && !(work = mkdtemp(tmp))) {
        perror("mkdtemp");
        return 1;
    }
    bench_t b;
    memset(&b, 0, sizeof b);
    int status = 1;
    snprintf(path, sizeof path, "%s/truth.csv", data);
    if (s_load_truth(&b, path) != 0) {
        fprintf(stderr, "bench_matching: cannot read %s\n", path);
        goto done;
    }
    b.times = calloc(b.nq + 1, sizeof *b.times);
    if (!(b.store = store_open(work, (size_t)16 << 30, false, err, sizeof err)) ||
        identity_init(work, err, sizeof err) != 0) {
        fprintf(stderr, "bench_matching: %s\n", err);
        goto done;
    }
    if (model) {
        char *text = s_slurp(model);
        int bad = !text || identity_load_model(text, err, sizeof err) != 0;
        free(text);
        if (bad) {
            fprintf(stderr, "bench_matching: %s: %s\n", model, text ? err : "cannot read");
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/known.csv", data);
    double t0 = s_now();
    if (!reuse)
        csv_reader_read_file(path, s_on_known, NULL, &b, err, sizeof err);
    if (b.rc == 0 && b.txn.txn)
        b.rc = store_commit(&b.txn);
    if (b.rc != 0) {
        fprintf(stderr, "bench_matching: indexing: %s\n", store_strerror(b.rc));
        goto done;
    }
    double load = s_now() - t0;

    snprintf(path, sizeof path, "%s/queries.csv", data);
    if (scores && !(b.scores = fopen(scores, "w"))) {
        perror(scores);
        goto done;
    }
    if (!cold && (b.rc = s_warm(b.store)) != 0) {
        fprintf(stderr, "bench_matching: warming the store: %s\n", store_strerror(b.rc));
        goto done;
    }
    if ((b.rc = store_begin(b.store, false, NULL, &b.txn)) != 0)
        goto done;
    csv_reader_read_file(path, s_on_query, NULL, &b, err, sizeof err);
    store_abort(&b.txn);
    if (b.rc != 0) {
        fprintf(stderr, "bench_matching: matching: %s\n", store_strerror(b.rc));
        goto done;
    }

    size_t same = b.same_right + b.same_wrong, possible = 0, n = b.ntimes;
    for (int k = 0; k < KINDS; k++)
        possible += b.verdicts[k][IDENTITY_POSSIBLE];
    double precision = same ? (double)b.same_right / (double)same : 1.0;
    double recall = b.dups ? (double)b.same_right / (double)b.dups : 1.0;
    double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    double recall_review =
        b.dups ? (double)(b.same_right + b.possible_right) / (double)b.dups : 1.0;
    qsort(b.times, n, sizeof *b.times, s_cmp_d);
    printf("known persons        %zu (indexed in %.1f s, %.1f us each in identity_index)\n",
           b.indexed, load, b.indexed ? b.index_secs / (double)b.indexed * 1e6 : 0);
    printf("queries              %zu (%zu of known persons)\n", n, b.dups);
    printf("model                %s (posterior log2-odds: upper %.1f, lower %.1f)\n",
           linkage_model_version(identity_model()), linkage_model_upper(identity_model()),
           linkage_model_lower(identity_model()));
    printf("automatic links      %zu: precision %.5f  recall %.4f  F1 %.4f\n", same, precision,
           recall, f1);
    printf("review               %zu: rate %.2f %%  recall counting review %.4f\n", possible,
           n ? 100.0 * (double)possible / (double)n : 0, recall_review);
    if (n)
        printf("match time per query median %.1f us  p90 %.1f us  p99 %.1f us  (%s)\n",
               b.times[n / 2] * 1e6, b.times[n * 9 / 10] * 1e6, b.times[n * 99 / 100] * 1e6,
               cold ? "cold: pages not mapped yet" : "store pages mapped");
    printf("candidates scored    %.1f per query on average\n", n ? (double)b.cands / (double)n : 0);
    printf("verdicts by kind     (same / possible / new)\n");
    for (int k = 0; k < 5; k++)
        printf("  %-8s %7zu %7zu %7zu\n", s_kinds[k], b.verdicts[k][IDENTITY_SAME],
               b.verdicts[k][IDENTITY_POSSIBLE], b.verdicts[k][IDENTITY_NEW]);
    status = 0;
done:
    if (b.scores)
        fclose(b.scores);
    store_close(&b.store);
    identity_shutdown();
    if (!keep && work == tmp) {
        const char *files[] = {"data.mdb", "lock.mdb", IDENTITY_KEY_FILE};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", work, files[i]);
            unlink(path);
        }
        rmdir(work);
    }
    free(b.truth_q);
    free(b.kind_q);
    free(b.times);
    return status;
}
