/*  store — the broker's one LMDB environment and its named databases.
 *
 *  All durable state lives here (one environment, one file, one writer:
 *  the broker's event loop).  A request's changes are made in one write
 *  transaction; the server commits a whole batch of requests at once and
 *  only then sends their replies (group commit, server.h), each request
 *  being isolated in a nested transaction so a failing one leaves the
 *  others' work intact.
 *
 *  Databases and their keys ("\0" is one NUL byte, u64 = 8 bytes
 *  big-endian so keys sort numerically):
 *    meta       name                      -> u64 counter (next ids, feed
 *                                            seqs, structure loads, budget)
 *    referrals  partner \0 partner_ref     -> relais.store.ReferralRecord
 *    persons    u64 person id              -> relais.store.PersonRecord
 *    identity   identity key (DUPSORT)     -> u64 person id
 *    cases      case id ("C0000001")       -> relais.store.CaseRecord
 *    queues     structure \0 case id       -> "" (the structure's open cases)
 *    feeds      partner \0 u64 seq         -> relais.v1.StatusEvent
 *    waitlist   u64 waitlist seq           -> case id
 *    audit      u64 audit seq (appended)   -> relais.store.AuditRecord
 *
 *  Durability.  A commit writes the transaction's pages and fsyncs them
 *  before it writes the meta page that makes them current.  The broker's
 *  environment is opened with MDB_NOMETASYNC, which GIVES UP the fsync of
 *  that meta page at commit time (LMDB keeps integrity: a crash can only
 *  undo the last commit, never corrupt the file).  The server makes up for
 *  it: it sends no reply for a commit until the meta page is on disk too,
 *  either because the next commit's fsync covered it (under load: one
 *  fsync per batch instead of two) or through store_sync when the broker
 *  is idle.  So an acknowledged request survives a power cut exactly as
 *  with LMDB's default sync mode.  (MDB_NOSYNC, which may corrupt the file
 *  on a crash, is never used.)  Read-only opens (tools) are unaffected.
 *
 *  Errors: functions return 0, MDB_NOTFOUND where a lookup finds nothing,
 *  or another LMDB / errno code; store_strerror() describes it.
 *  Thread-safety: one store_t per process; write transactions from one
 *  thread (the event loop); read-only transactions from any thread.
 */
#ifndef RELAIS_STORE_H
#define RELAIS_STORE_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_t store_t;

typedef enum {
    STORE_META = 0,
    STORE_REFERRALS,
    STORE_PERSONS,
    STORE_IDENTITY,
    STORE_CASES,
    STORE_QUEUES,
    STORE_FEEDS,
    STORE_WAITLIST,
    STORE_LINKAGE,
    STORE_AUDIT,
    STORE_DB_COUNT
} store_db_t;

/* A transaction and the store it belongs to: what every module that reads
 * or writes state is handed. */
typedef struct {
    store_t *store;
    MDB_txn *txn;
} store_txn_t;

/* Opens (creating if needed) the environment in directory DIR (created
 * with mode 0700 if missing) with a map of MAP_SIZE bytes.  READ_ONLY
 * opens for inspection tools.  Stale reader slots left by a crashed
 * process are cleared.  NULL on failure, with the reason in ERR. */
store_t *store_open(const char *dir, size_t map_size, bool read_only, char *err, size_t errlen);
void store_close(store_t **self_p);
const char *store_strerror(int rc);
/* A reader beside the running broker (the programme team's commands):
 * opens DIR read-only with map size 0 (LMDB adopts the size the broker
 * recorded) and begins a read transaction in *T.  NULL with the reason in
 * ERR. */
store_t *store_open_reader(const char *dir, store_txn_t *t, char *err, size_t errlen);

/* Forces everything committed so far, meta page included, to disk.
 * Returns 0 or an errno / LMDB code. */
int store_sync(store_t *self);
/* The id of the last transaction committed with changes: it moves only
 * when a commit really wrote (and fsync'd) pages; a commit of a
 * transaction that changed nothing writes nothing. */
uint64_t store_last_txnid(const store_t *self);

/* The map size in bytes, and a new one (only with no transaction open in
 * this process: the server calls it between batches). */
size_t store_map_size(const store_t *self);
int store_set_map_size(store_t *self, size_t bytes);

/* Writes a consistent copy of the store, as of one read transaction, to
 * DEST_DIR/data.mdb (DEST_DIR must exist; the file must not): mode 0600
 * (it holds personal data), fsync'd with its directory before returning,
 * so a copy reported done survives a power cut.  COMPACT leaves out free
 * pages (a smaller file) and only reads: a live writer is never blocked.
 * Without it LMDB takes the writer lock for a moment to snapshot the meta
 * pages, so it waits for an open write transaction to end.  Works on a
 * read-only store.  Cost: one pass over the used pages.  Returns 0 or an
 * errno / LMDB code; on failure the partial file is removed. */
int store_copy(store_t *self, const char *dest_dir, bool compact);

/* Begins a transaction; PARENT (may be NULL) makes it a nested one. */
int store_begin(store_t *self, bool write, store_txn_t *parent, store_txn_t *out);
int store_commit(store_txn_t *t);
void store_abort(store_txn_t *t);

int store_get(store_txn_t *t, store_db_t db, const void *key, size_t klen, MDB_val *val);
int store_put(store_txn_t *t, store_db_t db, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags);
/* Deletes KEY (with VAL, for a DUPSORT database; VAL NULL: every value). */
int store_del(store_txn_t *t, store_db_t db, const void *key, size_t klen, const void *val,
              size_t vlen);

/* Protobuf records: unpack into *OUT (caller frees with
 * protobuf_c_message_free_unpacked(*out, NULL)), pack and put. */
int store_get_msg(store_txn_t *t, store_db_t db, const void *key, size_t klen,
                  const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);
int store_put_msg(store_txn_t *t, store_db_t db, const void *key, size_t klen,
                  const ProtobufCMessage *msg);

/* u64 counters (8 bytes, big-endian) under KEY in DB.  store_u64_get: 0
 * when absent, MDB_CORRUPTED when the value is not 8 bytes.
 * store_u64_add adds DELTA (never below 0) and returns the new value in
 * *OUT (may be NULL). */
int store_u64_get(store_txn_t *t, store_db_t db, const void *key, size_t klen, uint64_t *out);
int store_u64_add(store_txn_t *t, store_db_t db, const void *key, size_t klen, int64_t delta,
                  uint64_t *out);

/* meta counters, named: store_u64_get / store_u64_add in STORE_META.
 * store_counter_next: adds 1, returns the new value (first is 1). */
int store_counter_get(store_txn_t *t, const char *name, uint64_t *out);
int store_counter_add(store_txn_t *t, const char *name, int64_t delta, uint64_t *out);
int store_counter_next(store_txn_t *t, const char *name, uint64_t *out);

/* Calls FN for each (key, value) whose key starts with PREFIX, in key
 * order, from the first key >= START (NULL: from PREFIX).  FN returns 0 to
 * go on, 1 to stop.  Returns 0 or an LMDB error. */
typedef int (*store_scan_fn)(void *arg, const MDB_val *key, const MDB_val *val);
int store_scan(store_txn_t *t, store_db_t db, const void *prefix, size_t plen,
               const void *start, size_t slen, store_scan_fn fn, void *arg);

/* Reads the values KEY holds in DUPSORT database DB, in one B-tree
 * descent: *COUNT is how many it holds (0 when absent, O(log n) however
 * many); FN is called for each, in order, only when *COUNT <= MAX (a
 * block too large to be useful is learned without reading it).  FN
 * returns 0 to go on, 1 to stop.  Returns 0 or an LMDB error. */
int store_dups(store_txn_t *t, store_db_t db, const void *key, size_t klen, size_t max,
               store_scan_fn fn, void *arg, size_t *count);

/* Key helpers. */
void store_u64_encode(uint64_t v, unsigned char out[8]);
uint64_t store_u64_decode(const void *in);
/* Builds "A \0 B" into OUT (size OUTLEN); returns the length, or 0 when it
 * does not fit. */
size_t store_key2(char *out, size_t outlen, const char *a, const char *b);

#endif
