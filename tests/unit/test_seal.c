/*  test_seal — records sealed at rest, and opened without allocation.
 *
 *  seal_open_msg_in must give exactly what seal_open_msg gives, refuse a
 *  value moved under another key, and say ENOSPC (never a half-decoded
 *  message) when the scratch space is too small, so the caller can fall
 *  back to seal_open_msg.
 */
#include "seal.h"

#include "relais_store.pb-c.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsigned char key[SEAL_KEY_LEN];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 7 + 1);
    seal_set_key(key);
}

static void teardown(void)
{
    seal_forget();
}

static ProtobufCBinaryData sealed_profile(const char *ad)
{
    Relais__Store__MatchProfile p = RELAIS__STORE__MATCH_PROFILE__INIT;
    char *surnames[] = {"da silva costa", "silva costa"};
    char *given[] = {"helene", "marie"};
    p.n_surnames = 2;
    p.surnames = surnames;
    p.n_given = 2;
    p.given = given;
    p.birth_date = "2004-03-12";
    p.sex = "F";
    ProtobufCBinaryData out = {0, NULL};
    cr_assert_eq(seal_msg(ad, strlen(ad), &p.base, &out), 0);
    return out;
}

Test(seal, open_in_scratch_equals_open, .init = setup, .fini = teardown)
{
    ProtobufCBinaryData s = sealed_profile("p1");
    _Alignas(8) unsigned char scratch[4096];
    Relais__Store__MatchProfile *a = NULL, *b = NULL;
    cr_assert_eq(seal_open_msg("p1", 2, s.data, s.len, &relais__store__match_profile__descriptor,
                               (ProtobufCMessage **)&a),
                 0);
    cr_assert_eq(seal_open_msg_in("p1", 2, s.data, s.len,
                                  &relais__store__match_profile__descriptor, scratch,
                                  sizeof scratch, (ProtobufCMessage **)&b),
                 0);
    cr_assert_eq(b->n_surnames, 2);
    cr_assert_str_eq(b->surnames[0], a->surnames[0]);
    cr_assert_str_eq(b->surnames[1], "silva costa");
    cr_assert_eq(b->n_given, 2);
    cr_assert_str_eq(b->given[1], "marie");
    cr_assert_str_eq(b->birth_date, "2004-03-12");
    cr_assert_str_eq(b->sex, "F");
    /* Everything it points to lives in the scratch space. */
    cr_assert((unsigned char *)b >= scratch && (unsigned char *)b < scratch + sizeof scratch);
    cr_assert((unsigned char *)b->given[1] >= scratch &&
              (unsigned char *)b->given[1] < scratch + sizeof scratch);
    relais__store__match_profile__free_unpacked(a, NULL);
    free(s.data);
}

Test(seal, open_in_refuses_moved_altered_and_too_small, .init = setup, .fini = teardown)
{
    ProtobufCBinaryData s = sealed_profile("p1");
    _Alignas(8) unsigned char scratch[4096];
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    /* Another record's key: does not open. */
    cr_assert_eq(seal_open_msg_in("p2", 2, s.data, s.len, &relais__store__match_profile__descriptor,
                                  scratch, sizeof scratch, &m),
                 EBADMSG);
    cr_assert_null(m);
    /* One bit flipped. */
    s.data[s.len - 1] ^= 1;
    cr_assert_eq(seal_open_msg_in("p1", 2, s.data, s.len, &relais__store__match_profile__descriptor,
                                  scratch, sizeof scratch, &m),
                 EBADMSG);
    s.data[s.len - 1] ^= 1;
    /* Room for the plaintext but not the message; then not even that. */
    size_t plain = s.len - SEAL_OVERHEAD;
    cr_assert_eq(seal_open_msg_in("p1", 2, s.data, s.len, &relais__store__match_profile__descriptor,
                                  scratch, plain + 16, &m),
                 ENOSPC);
    cr_assert_null(m);
    cr_assert_eq(seal_open_msg_in("p1", 2, s.data, s.len, &relais__store__match_profile__descriptor,
                                  scratch, plain / 2, &m),
                 ENOSPC);
    /* Too short to be sealed at all. */
    cr_assert_eq(seal_open_msg_in("p1", 2, s.data, SEAL_OVERHEAD - 1,
                                  &relais__store__match_profile__descriptor, scratch,
                                  sizeof scratch, &m),
                 EBADMSG);
    /* No key: refused. */
    seal_forget();
    cr_assert_eq(seal_open_msg_in("p1", 2, s.data, s.len, &relais__store__match_profile__descriptor,
                                  scratch, sizeof scratch, &m),
                 EINVAL);
    free(s.data);
}
