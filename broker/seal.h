/*  seal — personal data encrypted at rest.
 *
 *  Every record field that identifies or contacts a young person (the
 *  Person of a PersonRecord, a referral's notes and referrer, the
 *  matcher's MatchProfile) is stored sealed: XChaCha20-Poly1305 (libsodium
 *  crypto_aead_xchacha20poly1305_ietf) under the sealing subkey of the
 *  data key (datakey.h), with a fresh random 24-byte nonce per write.
 *
 *  Format of a sealed value:  nonce (24 bytes) | ciphertext | tag (16).
 *  The associated data is the record's LMDB key, so a sealed value copied
 *  under another key (another person's) does not open.
 *
 *  Errors: 0; EINVAL when no key is set (seal_set_key); EBADMSG when a
 *  value does not open (wrong key, moved, altered, or not sealed at all);
 *  ENOMEM.
 *  Thread-safety: seal_set_key at start, before any other call; the rest
 *  only reads the key.  Cost: one pass over the bytes (about 1 GB/s).
 */
#ifndef RELAIS_SEAL_H
#define RELAIS_SEAL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN 24
#define SEAL_OVERHEAD (SEAL_NONCE_LEN + 16)

void seal_set_key(const unsigned char key[SEAL_KEY_LEN]);
/* Forgets the key (zeroed). */
void seal_forget(void);
bool seal_ready(void);

/* Seals PLAIN into *OUT (malloc'd, *OUTLEN = PLEN + SEAL_OVERHEAD). */
int seal_encrypt(const void *ad, size_t adlen, const void *plain, size_t plen,
                 unsigned char **out, size_t *outlen);
/* Opens SEALED into *OUT (malloc'd, at least 1 byte). */
int seal_decrypt(const void *ad, size_t adlen, const void *sealed, size_t slen,
                 unsigned char **out, size_t *outlen);

/* The same for a protobuf message: MSG packed and sealed into OUT (its
 * data malloc'd; free it); OUT opened and unpacked (free with
 * protobuf_c_message_free_unpacked). */
int seal_msg(const void *ad, size_t adlen, const ProtobufCMessage *msg, ProtobufCBinaryData *out);
int seal_open_msg(const void *ad, size_t adlen, const void *sealed, size_t slen,
                  const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);
/* seal_open_msg without the allocator: the plaintext and the unpacked
 * message live in SCRATCH (SCRATCH_LEN bytes, 8-aligned), nothing is to
 * be freed, and *OUT is valid until SCRATCH is reused.  For the matcher,
 * which opens a dozen profiles per referral.  ENOSPC when SCRATCH is too
 * small for this record (use seal_open_msg then). */
int seal_open_msg_in(const void *ad, size_t adlen, const void *sealed, size_t slen,
                     const ProtobufCMessageDescriptor *desc, void *scratch, size_t scratch_len,
                     ProtobufCMessage **out);

#endif
