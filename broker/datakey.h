/*  datakey — the data key: the one secret that opens the personal data.
 *
 *  DATA_DIR/data.key holds 32 random bytes (libsodium randombytes_buf),
 *  mode 0600, created on the broker's first start (O_EXCL: two brokers
 *  starting at once cannot both write one).  A file that group or others
 *  may read is refused, as for identity.key and the CurveZMQ secret.
 *
 *  Two subkeys are derived from it with crypto_kdf (context "relaisdk"):
 *    1  sealing key   -> seal_set_key (seal.h: records encrypted at rest)
 *    2  index key     -> identity_set_key (identity.h: keyed hashes of the
 *                        identity index), unless the store predates the
 *                        data key and still has its identity.key
 *  So anyone holding a copy of the data directory WITHOUT data.key reads
 *  ids, states and dates, never a name; with it, everything: keep data.key
 *  out of the data directory's backups (README, Security).
 *
 *  Errors: 0, or -1 with "PATH: reason" in ERR.
 *  Thread-safety: at start, before anything reads records.
 */
#ifndef RELAIS_DATAKEY_H
#define RELAIS_DATAKEY_H

#include <stdbool.h>
#include <stddef.h>

#define DATAKEY_FILE "data.key"
#define DATAKEY_LEN 32

/* Where the data key lives when not in the data directory (the broker's
 * broker.data_key_file setting): keeping it apart means a copy of the
 * data directory alone opens nothing.  NULL or "": DATA_DIR/data.key. */
void datakey_set_path(const char *path);
/* Reads DATA_DIR/data.key (creating it when CREATE and missing), derives
 * the subkeys and hands the sealing key to seal.h.  Without CREATE a
 * missing file is an error (the read-only tools). */
int datakey_init(const char *data_dir, bool create, char *err, size_t errlen);
/* The index subkey (valid after datakey_init). */
void datakey_index_key(unsigned char out[DATAKEY_LEN]);
/* Forgets every key (zeroed), the sealing key included. */
void datakey_shutdown(void);

#endif
