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
