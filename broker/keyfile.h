/*  keyfile — CurveZMQ key pairs on disk, as relais-keygen writes them.
 *
 *  A key pair is two Z85 strings of 40 characters (32-byte Curve25519
 *  keys, ZeroMQ RFC 32).  relais-keygen FILE writes:
 *
 *    FILE      mode 0600, the SECRET:            FILE.pub  mode 0644:
 *      # relais key pair (relais-keygen) ...       <public Z85>
 *      public-key <public Z85>
 *      secret-key <secret Z85>
 *
 *  Readers are lenient where it is safe: a secret file may hold only the
 *  "secret-key" line (the public key is derived from it with
 *  zmq_curve_public, and checked against a "public-key" line if present);
 *  a public key may be given as the 40 characters themselves, a .pub file,
 *  or a key file's "public-key" line.  '#' lines and blank lines are
 *  skipped.
 *
 *  A secret file readable by group or others is refused, as ssh does: a
 *  key that others could copy proves nothing.
 *
 *  Errors: functions return 0, or -1 with "FILE: reason" in ERR.  No
 *  function ever prints or logs a secret key.
 */
#ifndef RELAIS_KEYFILE_H
#define RELAIS_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#define KEYFILE_Z85_LEN 40
/* The first characters of a public key: how logs and the audit name a
 * key without spelling it out. */
#define KEYFILE_FINGERPRINT_LEN 8

typedef struct {
    char public_z85[KEYFILE_Z85_LEN + 1];
    char secret_z85[KEYFILE_Z85_LEN + 1];
} keyfile_pair_t;

/* A fresh key pair (zmq_curve_keypair; needs libzmq built with curve). */
int keyfile_generate(keyfile_pair_t *out, char *err, size_t errlen);
/* Writes PAIR to PATH (0600) and PATH.pub (0644), both new: an existing
 * file is never overwritten.  Both are fsync'd. */
int keyfile_write(const char *path, const keyfile_pair_t *pair, char *err, size_t errlen);
/* Reads the secret key file PATH (see above) into *OUT. */
int keyfile_read_secret(const char *path, keyfile_pair_t *out, char *err, size_t errlen);
/* ARG is a Z85 public key, or a file holding one (see above). */
int keyfile_read_public(const char *arg, char out[KEYFILE_Z85_LEN + 1], char *err,
                        size_t errlen);
/* True when S is exactly 40 Z85 characters (a 32-byte key). */
bool keyfile_z85_ok(const char *s);
/* The first KEYFILE_FINGERPRINT_LEN characters of Z85 (or less). */
void keyfile_fingerprint(const char *z85, char out[KEYFILE_FINGERPRINT_LEN + 1]);

#endif
