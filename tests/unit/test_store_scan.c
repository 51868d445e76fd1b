/*  test_store_scan — store_scan over a whole database (prefix "").
 *
 *  Regression test for a bug the envelope fuzzer found: a scan with an
 *  empty prefix and no start key asked LMDB for MDB_SET_RANGE on a
 *  zero-length key, which LMDB refuses (MDB_BAD_VALSIZE).  cases.c scans
 *  the whole waitlist that way after every close and final decline, so
 *  every CLOSE action failed with "unavailable".
 */
#include "store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char s_dir[64];
static store_t *s_store;

static void setup(void)
{
    char err[256];
    strcpy(s_dir, "/tmp/relais-test-store-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    s_store = store_open(s_dir, 16 << 20, false, err, sizeof err);
    cr_assert_not_null(s_store, "%s", err);
}

static void teardown(void)
{
    char cmd[128];
    store_close(&s_store);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    cr_assert_eq(system(cmd), 0);
}

static int count_keys(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    (void)val;
    (*(int *)arg)++;
    return 0;
}

Test(store_scan, whole_database, .init = setup, .fini = teardown)
{
    store_txn_t t;
    int n = 0;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    /* Empty database: nothing, and no error. */
    cr_assert_eq(store_scan(&t, STORE_WAITLIST, "", 0, NULL, 0, count_keys, &n), 0);
    cr_assert_eq(n, 0);
    unsigned char key[8];
    for (uint64_t i = 1; i <= 3; i++) {
        store_u64_encode(i, key);
        cr_assert_eq(store_put(&t, STORE_WAITLIST, key, 8, "C0000001", 8, 0), 0);
    }
    cr_assert_eq(store_scan(&t, STORE_WAITLIST, "", 0, NULL, 0, count_keys, &n), 0);
    cr_assert_eq(n, 3);
    store_abort(&t);
}

/* store_dups: one key's values in a DUPSORT database, read only when the
 * block is small enough; the neighbouring keys never leak in. */
typedef struct {
    uint64_t got[16];
    size_t n;
    size_t stop_after; /* 0: read all */
} dups_t;

static int collect_dup(void *arg, const MDB_val *key, const MDB_val *val)
{
    dups_t *d = arg;
    cr_assert_eq(key->mv_size, 3);
    cr_assert_eq(memcmp(key->mv_data, "kb", 2), 0);
    cr_assert_eq(val->mv_size, 8);
    d->got[d->n++] = store_u64_decode(val->mv_data);
    return d->stop_after && d->n == d->stop_after;
}

Test(store_dups, reads_one_block_under_its_cap, .init = setup, .fini = teardown)
{
    store_txn_t t;
    unsigned char v[8];
    size_t count = 99;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    /* Absent key: 0, no call, no error. */
    dups_t d = {.n = 0};
    cr_assert_eq(store_dups(&t, STORE_IDENTITY, "kb", 3, 10, collect_dup, &d, &count), 0);
    cr_assert_eq(count, 0);
    cr_assert_eq(d.n, 0);
    /* "ka" and "kc" around "kb", so a scan that runs past its key shows. */
    for (uint64_t i = 1; i <= 5; i++) {
        store_u64_encode(i, v);
        cr_assert_eq(store_put(&t, STORE_IDENTITY, "ka", 3, v, 8, 0), 0);
        cr_assert_eq(store_put(&t, STORE_IDENTITY, "kc", 3, v, 8, 0), 0);
    }
    for (uint64_t i = 40; i > 36; i--) { /* stored in order whatever the put order */
        store_u64_encode(i, v);
        cr_assert_eq(store_put(&t, STORE_IDENTITY, "kb", 3, v, 8, 0), 0);
    }
    cr_assert_eq(store_dups(&t, STORE_IDENTITY, "kb", 3, 4, collect_dup, &d, &count), 0);
    cr_assert_eq(count, 4);
    cr_assert_eq(d.n, 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(d.got[i], 37 + i);
    /* Over the cap: the size, and not one value read. */
    d.n = 0;
    cr_assert_eq(store_dups(&t, STORE_IDENTITY, "kb", 3, 3, collect_dup, &d, &count), 0);
    cr_assert_eq(count, 4);
    cr_assert_eq(d.n, 0);
    /* The callback may stop early. */
    d.stop_after = 2;
    cr_assert_eq(store_dups(&t, STORE_IDENTITY, "kb", 3, 10, collect_dup, &d, &count), 0);
    cr_assert_eq(d.n, 2);
    store_abort(&t);
}
