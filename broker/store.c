/*  store — LMDB environment, databases, transactions and record codecs.
 *
 *  Thin on purpose: modules say *what* they store (case records, feed
 *  entries); this file is the one place that knows *how* (LMDB calls, key
 *  encodings, protobuf packing).  See store.h for the databases and keys.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_t {
    MDB_env *env;
    MDB_dbi dbi[STORE_DB_COUNT];
    bool read_only;
};

static const struct {
    const char *name;
    unsigned flags;
} s_dbs[STORE_DB_COUNT] = {
    [STORE_META] = {"meta", 0},
    [STORE_REFERRALS] = {"referrals", 0},
    [STORE_PERSONS] = {"persons", 0},
    [STORE_IDENTITY] = {"identity", MDB_DUPSORT},
    [STORE_CASES] = {"cases", 0},
    [STORE_QUEUES] = {"queues", 0},
    [STORE_FEEDS] = {"feeds", 0},
    [STORE_WAITLIST] = {"waitlist", 0},
    [STORE_LINKAGE] = {"linkage", 0},
    [STORE_AUDIT] = {"audit", 0},
};

const char *store_strerror(int rc)
{
    return mdb_strerror(rc);
}

store_t *store_open(const char *dir, size_t map_size, bool read_only, char *err, size_t errlen)
{
    store_t *self = calloc(1, sizeof *self);
    int rc = 0;
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->read_only = read_only;
    if (!read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if ((rc = mdb_env_create(&self->env)) != 0)
        goto lmdb_fail;
    if ((rc = mdb_env_set_maxdbs(self->env, STORE_DB_COUNT + 2)) != 0)
        goto lmdb_fail;
    if ((rc = mdb_env_set_mapsize(self->env, map_size)) != 0)
        goto lmdb_fail;
    /* MDB_NOTLS: read transactions are not tied to threads (tools, tests).
     * MDB_NOMETASYNC: the meta page's fsync is deferred, and the server
     * holds replies until it is done: see "Durability" in store.h. */
    unsigned flags = MDB_NOTLS | (read_only ? MDB_RDONLY : MDB_NOMETASYNC);
    if ((rc = mdb_env_open(self->env, dir, flags, 0600)) != 0)
        goto lmdb_fail;
    /* A process killed while holding a read transaction leaves its slot
     * taken; clear such slots so they do not pin old pages forever. */
    int dead = 0;
    if ((rc = mdb_reader_check(self->env, &dead)) != 0)
        goto lmdb_fail;

    store_txn_t t;
    if ((rc = store_begin(self, !read_only, NULL, &t)) != 0)
        goto lmdb_fail;
    for (int i = 0; i < STORE_DB_COUNT; i++) {
        unsigned f = s_dbs[i].flags | (read_only ? 0 : MDB_CREATE);
        if ((rc = mdb_dbi_open(t.txn, s_dbs[i].name, f, &self->dbi[i])) != 0) {
            store_abort(&t);
            if (rc == MDB_NOTFOUND)
                snprintf(err, errlen, "%s is not a relais store (no '%s' database)", dir,
                         s_dbs[i].name);
            else
                snprintf(err, errlen, "cannot open database '%s' in %s: %s", s_dbs[i].name,
                         dir, mdb_strerror(rc));
            goto fail;
        }
    }
    if ((rc = store_commit(&t)) != 0)
        goto lmdb_fail;
    return self;

lmdb_fail:
    snprintf(err, errlen, "cannot open store %s: %s", dir, mdb_strerror(rc));
fail:
    store_close(&self);
    return NULL;
}

void store_close(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    /* The last commit's meta page may still wait for its fsync
     * (MDB_NOMETASYNC): write it before closing. */
    if (self->env && !self->read_only)
        mdb_env_sync(self->env, 1);
    if (self->env)
        mdb_env_close(self->env);
    free(self);
    *self_p = NULL;
}

store_t *store_open_reader(const char *dir, store_txn_t *t, char *err, size_t errlen)
{
    store_t *store = store_open(dir, 0, true, err, errlen);
    if (!store)
        return NULL;
    int rc = store_begin(store, false, NULL, t);
    if (rc != 0) {
        snprintf(err, errlen, "cannot read store %s: %s", dir, store_strerror(rc));
        store_close(&store);
    }
    return store;
}

int store_sync(store_t *self)
{
    return mdb_env_sync(self->env, 1);
}

uint64_t store_last_txnid(const store_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info(self->env, &info) != 0)
        return 0;
    return (uint64_t)info.me_last_txnid;
}

size_t store_map_size(const store_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info(self->env, &info) != 0)
        return 0;
    return info.me_mapsize;
}

int store_set_map_size(store_t *self, size_t bytes)
{
    return mdb_env_set_mapsize(self->env, bytes);
}

/* A new file's name is durable only once its directory is synced. */
static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

int store_copy(store_t *self, const char *dest_dir, bool compact)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/data.mdb", dest_dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return ENAMETOOLONG;
    /* Our own descriptor rather than mdb_env_copy2(path): that one creates
     * the file 0666 less the umask; a copy of young people's records must
     * be readable by its owner only, whatever the umask. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int rc = mdb_env_copyfd2(self->env, fd, compact ? MDB_CP_COMPACT : 0);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc == 0)
        rc = s_fsync_dir(dest_dir);
    if (rc != 0)
        unlink(path);
    return rc;
}

int store_begin(store_t *self, bool write, store_txn_t *parent, store_txn_t *out)
{
    out->store = self;
    out->txn = NULL;
    return mdb_txn_begin(self->env, parent ? parent->txn : NULL, write ? 0 : MDB_RDONLY,
                         &out->txn);
}

int store_commit(store_txn_t *t)
{
    int rc = mdb_txn_commit(t->txn);
    t->txn = NULL; /* committed or not, the handle is gone */
    return rc;
}

void store_abort(store_txn_t *t)
{
    if (t->txn)
        mdb_txn_abort(t->txn);
    t->txn = NULL;
}

int store_get(store_txn_t *t, store_db_t db, const void *key, size_t klen, MDB_val *val)
{
    MDB_val k = {klen, (void *)key};
    return mdb_get(t->txn, t->store->dbi[db], &k, val);
}

int store_put(store_txn_t *t, store_db_t db, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, (void *)val};
    return mdb_put(t->txn, t->store->dbi[db], &k, &v, flags);
}

int store_del(store_txn_t *t, store_db_t db, const void *key, size_t klen, const void *val,
              size_t vlen)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, (void *)val};
    return mdb_del(t->txn, t->store->dbi[db], &k, val ? &v : NULL);
}

int store_get_msg(store_txn_t *t, store_db_t db, const void *key, size_t klen,
                  const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    MDB_val v;
    *out = NULL;
    int rc = store_get(t, db, key, klen, &v);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    /* A record that does not decode is corruption, not absence. */
    return *out ? 0 : MDB_CORRUPTED;
}

int store_put_msg(store_txn_t *t, store_db_t db, const void *key, size_t klen,
                  const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    MDB_val k = {klen, (void *)key};
    MDB_val v = {len, NULL};
    /* MDB_RESERVE: LMDB hands us the space, we pack straight into it: no
     * intermediate buffer. */
    int rc = mdb_put(t->txn, t->store->dbi[db], &k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    protobuf_c_message_pack(msg, v.mv_data);
    return 0;
}

void store_u64_encode(uint64_t v, unsigned char out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t store_u64_decode(const void *in)
{
    const unsigned char *p = in;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

size_t store_key2(char *out, size_t outlen, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + 1 + lb > outlen)
        return 0;
    memcpy(out, a, la);
    out[la] = '\0';
    memcpy(out + la + 1, b, lb);
    return la + 1 + lb;
}

int store_u64_get(store_txn_t *t, store_db_t db, const void *key, size_t klen, uint64_t *out)
{
    MDB_val v;
    *out = 0;
    int rc = store_get(t, db, key, klen, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = store_u64_decode(v.mv_data);
    return 0;
}

int store_u64_add(store_txn_t *t, store_db_t db, const void *key, size_t klen, int64_t delta,
                  uint64_t *out)
{
    uint64_t cur;
    int rc = store_u64_get(t, db, key, klen, &cur);
    if (rc != 0)
        return rc;
    if (delta < 0 && (uint64_t)(-delta) > cur)
        cur = 0;
    else
        cur = (uint64_t)((int64_t)cur + delta);
    unsigned char buf[8];
    store_u64_encode(cur, buf);
    rc = store_put(t, db, key, klen, buf, 8, 0);
    if (rc == 0 && out)
        *out = cur;
    return rc;
}

int store_counter_get(store_txn_t *t, const char *name, uint64_t *out)
{
    return store_u64_get(t, STORE_META, name, strlen(name), out);
}

int store_counter_add(store_txn_t *t, const char *name, int64_t delta, uint64_t *out)
{
    return store_u64_add(t, STORE_META, name, strlen(name), delta, out);
}

int store_counter_next(store_txn_t *t, const char *name, uint64_t *out)
{
    return store_counter_add(t, name, 1, out);
}

int store_scan(store_txn_t *t, store_db_t db, const void *prefix, size_t plen,
               const void *start, size_t slen, store_scan_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
    if (rc != 0)
        return rc;
    MDB_val k = start ? (MDB_val){slen, (void *)start} : (MDB_val){plen, (void *)prefix};
    MDB_val v;
    /* LMDB refuses an empty key for MDB_SET_RANGE (MDB_BAD_VALSIZE), and
     * "the first key >= the empty key" is simply the first key: a scan of
     * a whole database (prefix "", no start) starts there. */
    rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (fn(arg, &k, &v) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_dups(store_txn_t *t, store_db_t db, const void *key, size_t klen, size_t max,
               store_scan_fn fn, void *arg, size_t *count)
{
    MDB_cursor *cur;
    *count = 0;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {klen, (void *)key}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == 0) {
        size_t n = 0;
        rc = mdb_cursor_count(cur, &n);
        *count = n;
        if (rc == 0 && n <= max)
            while (rc == 0 && fn(arg, &k, &v) == 0)
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
