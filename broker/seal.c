/*  seal — XChaCha20-Poly1305 around the records' personal fields.
 *  See seal.h for the format and the contract. */
#include "seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static unsigned char s_key[SEAL_KEY_LEN];
static bool s_ready = false;

void seal_set_key(const unsigned char key[SEAL_KEY_LEN])
{
    memcpy(s_key, key, SEAL_KEY_LEN);
    s_ready = true;
}

void seal_forget(void)
{
    sodium_memzero(s_key, sizeof s_key);
    s_ready = false;
}

bool seal_ready(void)
{
    return s_ready;
}

int seal_encrypt(const void *ad, size_t adlen, const void *plain, size_t plen,
                 unsigned char **out, size_t *outlen)
{
    if (!s_ready)
        return EINVAL;
    unsigned char *buf = malloc(plen + SEAL_OVERHEAD);
    if (!buf)
        return ENOMEM;
    unsigned long long clen = 0;
    randombytes_buf(buf, SEAL_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + SEAL_NONCE_LEN, &clen, plain, plen, ad,
                                               adlen, NULL, buf, s_key);
    *out = buf;
    *outlen = SEAL_NONCE_LEN + (size_t)clen;
    return 0;
}

/* Opens SEALED into PLAIN (room for SLEN - SEAL_OVERHEAD bytes). */
static int s_open(const void *ad, size_t adlen, const unsigned char *sealed, size_t slen,
                  unsigned char *plain, size_t *plen)
{
    unsigned long long n = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, sealed + SEAL_NONCE_LEN,
                                                   slen - SEAL_NONCE_LEN, ad, adlen, sealed,
                                                   s_key) != 0)
        return EBADMSG;
    *plen = (size_t)n;
    return 0;
}

int seal_decrypt(const void *ad, size_t adlen, const void *sealed, size_t slen,
                 unsigned char **out, size_t *outlen)
{
    if (!s_ready)
        return EINVAL;
    if (slen < SEAL_OVERHEAD)
        return EBADMSG;
    unsigned char *buf = malloc(slen - SEAL_OVERHEAD + 1);
    if (!buf)
        return ENOMEM;
    int rc = s_open(ad, adlen, sealed, slen, buf, outlen);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

int seal_msg(const void *ad, size_t adlen, const ProtobufCMessage *msg, ProtobufCBinaryData *out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    unsigned char *plain = malloc(len ? len : 1);
    if (!plain)
        return ENOMEM;
    protobuf_c_message_pack(msg, plain);
    int rc = seal_encrypt(ad, adlen, plain, len, &out->data, &out->len);
    sodium_memzero(plain, len);
    free(plain);
    return rc;
}

int seal_open_msg(const void *ad, size_t adlen, const void *sealed, size_t slen,
                  const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    unsigned char *plain;
    size_t plen;
    int rc = seal_decrypt(ad, adlen, sealed, slen, &plain, &plen);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(desc, NULL, plen, plain);
    sodium_memzero(plain, plen);
    free(plain);
    return *out ? 0 : EBADMSG;
}

/* A bump allocator over the scratch space; free is a no-op. */
typedef struct {
    unsigned char *next, *end;
    bool exhausted;
} s_arena_t;

static void *s_arena_alloc(void *data, size_t size)
{
    s_arena_t *a = data;
    size = (size + 7) & ~(size_t)7;
    if (size > (size_t)(a->end - a->next)) {
        a->exhausted = true;
        return NULL;
    }
    void *p = a->next;
    a->next += size;
    return p;
}

static void s_arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

int seal_open_msg_in(const void *ad, size_t adlen, const void *sealed, size_t slen,
                     const ProtobufCMessageDescriptor *desc, void *scratch, size_t scratch_len,
                     ProtobufCMessage **out)
{
    *out = NULL;
    if (!s_ready)
        return EINVAL;
    if (slen < SEAL_OVERHEAD)
        return EBADMSG;
    size_t room = (slen - SEAL_OVERHEAD + 7) & ~(size_t)7;
    if (room >= scratch_len)
        return ENOSPC;
    unsigned char *plain = scratch;
    size_t plen;
    int rc = s_open(ad, adlen, sealed, slen, plain, &plen);
    if (rc != 0)
        return rc;
    s_arena_t arena = {plain + room, (unsigned char *)scratch + scratch_len, false};
    ProtobufCAllocator alloc = {s_arena_alloc, s_arena_free, &arena};
    *out = protobuf_c_message_unpack(desc, &alloc, plen, plain);
    sodium_memzero(plain, plen);
    if (!*out)
        return arena.exhausted ? ENOSPC : EBADMSG;
    return 0;
}
