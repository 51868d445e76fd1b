/*  test_hostile — bad input against the real broker process.
 *
 *  The fuzz targets (tests/fuzz/) throw random bytes at service_handle in
 *  process; this test throws a fixed corpus of hostile requests at the
 *  real broker over real ZeroMQ sockets, and pins down the PRECISE answer
 *  to each: an Error with its stable code (service.h) for what is refused
 *  before or while decoding the Envelope, ACK_INVALID with its reason codes
 *  (validate.h) for a readable referral that is not well-formed.  It then
 *  checks what the broker KEPT:
 *    - a request refused at the Envelope level (Error) stored nothing: the
 *      same partner_ref sent again with valid content is a fresh referral
 *      (ACCEPTED, replay = false);
 *    - a referral answered with an Ack kept its idempotency record: the
 *      same partner_ref with now-valid content gets the FIRST answer again
 *      (replay = true, same status, same reasons), not a new case;
 *    - a referral whose partner_ref itself is unusable (invalid UTF-8) has
 *      no key: the answer's partner_ref is "" and nothing is kept;
 *    - the only cases opened are the valid referrals' (one per coordinator
 *      queue count), and a final valid referral is ACCEPTED and, resent,
 *      replayed;
 *    - the broker still serves and stops cleanly (harness_stop asserts
 *      exit status 0).
 *
 *  Requests are built with protobuf-c directly and sent with harness_raw
 *  (one fresh DEALER each): no client library, so the exact bytes are the
 *  test's.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)
#define MAX_FRAME   262144 /* broker.max_message_bytes of the built-in config */
#define TIMEOUT_MS  5000

static harness_broker_t B;
static unsigned s_seq; /* request ids */

static void s_teardown(void)
{
    harness_cleanup(&B);
}

TestSuite(hostile, .fini = s_teardown, .timeout = 180);

/* ---- building requests --------------------------------------------------- */

/* A referral with its own storage.  Each valid one needs its own person,
 * or the second would be MERGED into the first's case: NUM makes the name
 * and the birth day unique. */
typedef struct {
    Relais__V1__Referral r;
    Relais__V1__Person p;
    char last[32];
    char born[11];
} ref_t;

static void s_ref(ref_t *h, const char *partner_ref, unsigned num)
{
    static const char *const names[] = {"Abadie",  "Bourgeois", "Cordier", "Delmas",
                                        "Esnault", "Fabre",     "Guerin",  "Hamon"};
    memset(h, 0, sizeof *h);
    relais__v1__referral__init(&h->r);
    relais__v1__person__init(&h->p);
    snprintf(h->last, sizeof h->last, "%s-%s", names[num % 8], names[num / 8 % 8]);
    snprintf(h->born, sizeof h->born, "2004-%02u-%02u", 1 + num / 28 % 12, 1 + num % 28);
    h->r.partner_ref = (char *)partner_ref;
    h->r.person = &h->p;
    h->p.last_name = h->last;
    h->p.first_names = "Camille";
    h->p.birth_date = h->born;
    h->p.postcode = "25000";
    h->p.city = "Besançon";
    h->p.quartier = "Planoise";
    h->r.consent = true;
    h->r.referred_on = HARNESS_REFERRED_ON;
}

static void s_envelope(Relais__V1__Envelope *env, const char *sender, Relais__V1__Referral *r,
                       char request_id[16])
{
    relais__v1__envelope__init(env);
    snprintf(request_id, 16, "h%u", ++s_seq);
    env->version = 1;
    env->request_id = request_id;
    env->sender = (char *)sender;
    env->body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    env->referral = r;
}

/* Packs ENV (malloc'd; *LEN set). */
static uint8_t *s_pack(const Relais__V1__Envelope *env, size_t *len)
{
    *len = relais__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(*len ? *len : 1);
    cr_assert_not_null(buf);
    relais__v1__envelope__pack(env, buf);
    return buf;
}

/* Sends BYTES as one frame to the partner endpoint; asserts a reply. */
static Relais__V1__Envelope *s_raw(const char *ep, const void *bytes, size_t len, int frames)
{
    Relais__V1__Envelope *reply = harness_raw(ep, bytes, len, frames, TIMEOUT_MS);
    cr_assert_not_null(reply, "no reply (log: %s)", B.log);
    return reply;
}

static Relais__V1__Envelope *s_send(const char *ep, const Relais__V1__Envelope *env)
{
    size_t len;
    uint8_t *buf = s_pack(env, &len);
    Relais__V1__Envelope *reply = s_raw(ep, buf, len, 1);
    free(buf);
    return reply;
}

/* ---- expectations -------------------------------------------------------- */

static void s_expect_error(const Relais__V1__Envelope *reply, const char *code, const char *what)
{
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ERROR, "%s: not an Error", what);
    cr_assert_str_eq(reply->error->code, code, "%s", what);
}

/* The Ack must have STATUS and exactly the reason codes CODES (NULL-ended,
 * in order). */
static void s_expect_ack(const Relais__V1__Envelope *reply, Relais__V1__AckStatus status,
                         const char *const *codes, const char *what)
{
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACK, "%s: not an Ack (%s)", what,
                 reply->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR ? reply->error->code : "");
    const Relais__V1__Ack *a = reply->ack;
    cr_assert_eq(a->status, status, "%s: status %d", what, a->status);
    size_t n = 0;
    while (codes && codes[n])
        n++;
    cr_assert_eq(a->n_reasons, n, "%s: %zu reasons (first: %s)", what, a->n_reasons,
                 a->n_reasons ? a->reasons[0]->code : "-");
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(a->reasons[i]->code, codes[i], "%s: reason %zu", what, i);
}

/* ---- what the broker must have kept --------------------------------------- */

/* A partner_ref whose first answer was an Ack: sent again later with
 * valid content, it must get that first answer replayed. */
typedef struct {
    char ref[80];
    Relais__V1__AckStatus status;
    char codes[4][40];
    size_t n_codes;
} kept_t;

/* A partner_ref refused at the Envelope level: must be free again. */
typedef struct {
    char ref[80];
    const char *sender;
} unkept_t;

static kept_t s_kept[64];
static size_t s_n_kept;
static unkept_t s_unkept[16];
static size_t s_n_unkept;
static unsigned s_accepted; /* cases opened so far */

static void s_keep(const char *ref, const Relais__V1__Ack *a)
{
    cr_assert_lt(s_n_kept, sizeof s_kept / sizeof s_kept[0]);
    kept_t *k = &s_kept[s_n_kept++];
    snprintf(k->ref, sizeof k->ref, "%s", ref);
    k->status = a->status;
    for (size_t i = 0; i < a->n_reasons && i < 4; i++)
        snprintf(k->codes[k->n_codes++], sizeof k->codes[0], "%s", a->reasons[i]->code);
}

static void s_unkeep(const char *ref, const char *sender)
{
    cr_assert_lt(s_n_unkept, sizeof s_unkept / sizeof s_unkept[0]);
    snprintf(s_unkept[s_n_unkept].ref, sizeof s_unkept[0].ref, "%s", ref);
    s_unkept[s_n_unkept++].sender = sender;
}

/* Submits a valid referral under REF (person NUM) from SENDER. */
static Relais__V1__Envelope *s_submit_valid(const char *sender, const char *ref, unsigned num)
{
    ref_t h;
    Relais__V1__Envelope env;
    char rid[16];
    s_ref(&h, ref, num);
    s_envelope(&env, sender, &h.r, rid);
    Relais__V1__Envelope *reply = s_send(B.partner_ep, &env);
    cr_assert_str_eq(reply->request_id, rid);
    return reply;
}

/* Sends ENV (a referral) and expects ACK_INVALID with CODES; the record is
 * noted for the final replay check. */
static void s_invalid(const Relais__V1__Envelope *env, const char *const *codes, const char *what)
{
    Relais__V1__Envelope *reply = s_send(B.partner_ep, env);
    s_expect_ack(reply, RELAIS__V1__ACK_STATUS__ACK_INVALID, codes, what);
    cr_assert_str_eq(reply->ack->partner_ref, env->referral->partner_ref, "%s", what);
    cr_assert_not(reply->ack->replay, "%s", what);
    cr_assert_str_eq(reply->ack->case_id, "", "%s", what);
    s_keep(env->referral->partner_ref, reply->ack);
    ENV_FREE(reply);
}

/* ---- the corpus ----------------------------------------------------------- */

static void s_truncated(void)
{
    ref_t h;
    Relais__V1__Envelope env;
    char rid[16];
    s_ref(&h, "H-TRUNC", 100);
    s_envelope(&env, "mission-locale", &h.r, rid);
    size_t len;
    uint8_t *full = s_pack(&env, &len);
    /* protobuf-c packs fields in number order: version, request_id,
     * sender, then the referral (field 10).  So the bytes before the
     * referral are a complete Envelope without a body. */
    Relais__V1__Envelope head = env;
    head.body_case = RELAIS__V1__ENVELOPE__BODY__NOT_SET;
    head.referral = NULL;
    size_t boundary = relais__v1__envelope__get_packed_size(&head);
    cr_assert_lt(boundary + 8, len);
    struct {
        size_t cut;
        const char *code;
    } cuts[] = {
        {1, "bad_envelope"},            /* a tag without its value */
        {4, "bad_envelope"},            /* inside request_id */
        {boundary, "bad_request"},      /* a whole Envelope, no body */
        {boundary + 1, "bad_envelope"}, /* the referral's tag alone */
        {boundary + 3, "bad_envelope"}, /* its length says more follows */
        {len / 2 + boundary / 2, "bad_envelope"},
        {len - 1, "bad_envelope"}, /* one byte short */
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        Relais__V1__Envelope *reply = s_raw(B.partner_ep, full, cuts[i].cut, 1);
        char what[64];
        snprintf(what, sizeof what, "cut at %zu of %zu", cuts[i].cut, len);
        s_expect_error(reply, cuts[i].code, what);
        ENV_FREE(reply);
    }
    free(full);
    s_unkeep("H-TRUNC", "mission-locale");
}

static void s_envelope_level(void)
{
    ref_t h;
    Relais__V1__Envelope env, *reply;
    char rid[16];
    size_t len;
    uint8_t *buf;

    /* Oversized: a referral whose notes take it over the frame limit. */
    char *notes = malloc(MAX_FRAME + 1);
    cr_assert_not_null(notes);
    memset(notes, 'n', MAX_FRAME);
    notes[MAX_FRAME] = '\0';
    s_ref(&h, "H-BIG", 101);
    h.r.notes = notes;
    s_envelope(&env, "mission-locale", &h.r, rid);
    reply = s_send(B.partner_ep, &env);
    s_expect_error(reply, "too_large", "oversized frame");
    ENV_FREE(reply);
    free(notes);
    s_unkeep("H-BIG", "mission-locale");

    /* A valid referral, sent as two frames of one message. */
    s_ref(&h, "H-MULTI", 102);
    s_envelope(&env, "mission-locale", &h.r, rid);
    buf = s_pack(&env, &len);
    reply = s_raw(B.partner_ep, buf, len, 2);
    s_expect_error(reply, "bad_frame", "two frames");
    ENV_FREE(reply);
    free(buf);
    s_unkeep("H-MULTI", "mission-locale");

    /* Zero bytes: a valid, empty Envelope, without a body. */
    reply = s_raw(B.partner_ep, "", 0, 1);
    s_expect_error(reply, "bad_request", "empty envelope");
    ENV_FREE(reply);

    /* Version 2. */
    s_ref(&h, "H-V2", 103);
    s_envelope(&env, "mission-locale", &h.r, rid);
    env.version = 2;
    reply = s_send(B.partner_ep, &env);
    s_expect_error(reply, "unsupported_version", "version 2");
    cr_assert_str_eq(reply->request_id, rid, "a well-formed request_id is echoed");
    ENV_FREE(reply);
    s_unkeep("H-V2", "mission-locale");

    /* A request_id of 129 bytes (the limit is 128): not echoed. */
    char long_id[130];
    memset(long_id, 'r', 129);
    long_id[129] = '\0';
    s_ref(&h, "H-RID", 104);
    s_envelope(&env, "mission-locale", &h.r, rid);
    env.request_id = long_id;
    reply = s_send(B.partner_ep, &env);
    s_expect_error(reply, "bad_request", "129-byte request_id");
    cr_assert_str_eq(reply->request_id, "");
    ENV_FREE(reply);
    s_unkeep("H-RID", "mission-locale");

    /* A referral on the coordinator endpoint, from a real structure. */
    s_ref(&h, "H-COORD", 105);
    s_envelope(&env, "asq-planoise", &h.r, rid);
    reply = s_send(B.coordinator_ep, &env);
    /* The coordinator's key may not refer anyone (its role). */
    s_expect_error(reply, "forbidden", "referral to coordinators");
    ENV_FREE(reply);
    s_unkeep("H-COORD", "mission-locale");

    /* A sender that is not the key's identity (spoofing). */
    s_ref(&h, "H-UNKNOWN", 106);
    s_envelope(&env, "nobody", &h.r, rid);
    reply = s_send(B.partner_ep, &env);
    s_expect_error(reply, "forbidden", "unknown sender");
    ENV_FREE(reply);
    s_unkeep("H-UNKNOWN", "mission-locale");
}

static void s_bad_referrals(void)
{
    static const char *const too_many[] = {"too_many", NULL};
    static const char *const bad_utf8[] = {"bad_utf8", NULL};
    static const char *const bad_date[] = {"bad_date", NULL};
    ref_t h;
    Relais__V1__Envelope env, *reply;
    char rid[16], ref[80];

    /* 10 000 needs, all known values: too_many, nothing else. */
    enum { N_NEEDS = 10000 };
    Relais__V1__Need *needs = calloc(N_NEEDS, sizeof *needs);
    cr_assert_not_null(needs);
    for (size_t i = 0; i < N_NEEDS; i++)
        needs[i] = RELAIS__V1__NEED__NEED_HOUSING;
    s_ref(&h, "H-NEEDS", 200);
    h.r.n_needs = N_NEEDS;
    h.r.needs = needs;
    s_envelope(&env, "mission-locale", &h.r, rid);
    s_invalid(&env, too_many, "10 000 needs");
    free(needs);

    /* Invalid UTF-8 (a lone continuation byte, then an overlong '/') in
     * every string field, one at a time: exactly one bad_utf8 each, and
     * no format check on bytes that are not text. */
    static const char *const bad = "Ab\x80"
                                   "c\xc0\xaf";
    s_ref(&h, "", 201); /* FIELDS point into H, which each s_ref resets */
    char **fields[] = {&h.p.last_name, &h.p.first_names, &h.p.birth_date,    &h.p.sex,
                       &h.p.phone,     &h.p.email,       &h.p.postcode,      &h.p.city,
                       &h.p.quartier,  &h.p.ine,         &h.r.referrer_name, &h.r.referrer_email,
                       &h.r.notes,     &h.r.referred_on};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        s_ref(&h, "", 201);
        *fields[i] = (char *)bad;
        snprintf(ref, sizeof ref, "H-UTF8-%zu", i);
        h.r.partner_ref = ref;
        s_envelope(&env, "mission-locale", &h.r, rid);
        char what[48];
        snprintf(what, sizeof what, "bad UTF-8 in string field %zu", i);
        s_invalid(&env, bad_utf8, what);
    }

    /* ... and in partner_ref itself: no idempotency key, so the answer
     * names no partner_ref and nothing is kept. */
    s_ref(&h, bad, 202);
    s_envelope(&env, "mission-locale", &h.r, rid);
    reply = s_send(B.partner_ep, &env);
    s_expect_ack(reply, RELAIS__V1__ACK_STATUS__ACK_INVALID, bad_utf8, "bad UTF-8 partner_ref");
    cr_assert_str_eq(reply->ack->partner_ref, "");
    ENV_FREE(reply);
    reply = s_send(B.partner_ep, &env);
    cr_assert_not(reply->ack->replay, "an unkeyed referral cannot be replayed");
    ENV_FREE(reply);

    /* Dates that are not days. */
    static const char *const dates[] = {"2003-02-30", "0000-00-00", "9999-99-99", "2003-2-3"};
    for (size_t i = 0; i < 4; i++) {
        s_ref(&h, "", 203);
        h.p.birth_date = (char *)dates[i];
        snprintf(ref, sizeof ref, "H-DATE-%zu", i);
        h.r.partner_ref = ref;
        s_envelope(&env, "mission-locale", &h.r, rid);
        s_invalid(&env, bad_date, dates[i]);
    }
    s_ref(&h, "H-DATE-ON", 204);
    h.r.referred_on = "2026-2-30";
    s_envelope(&env, "mission-locale", &h.r, rid);
    s_invalid(&env, bad_date, "referred_on");

    /* The largest resources a uint32 holds: a plain ineligibility. */
    static const char *const rich[] = {"resources_above_ceiling", NULL};
    s_ref(&h, "H-RICH", 205);
    h.r.resources_eur_month = 4294967295u;
    s_envelope(&env, "mission-locale", &h.r, rid);
    reply = s_send(B.partner_ep, &env);
    s_expect_ack(reply, RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE, rich, "4294967295 EUR");
    s_keep("H-RICH", reply->ack);
    ENV_FREE(reply);
}

/* ---- the checks after the storm -------------------------------------------- */

static void s_check_kept(void)
{
    for (size_t i = 0; i < s_n_kept; i++) {
        const kept_t *k = &s_kept[i];
        Relais__V1__Envelope *reply = s_submit_valid("mission-locale", k->ref, 300 + (unsigned)i);
        cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACK, "%s", k->ref);
        const Relais__V1__Ack *a = reply->ack;
        cr_assert(a->replay, "%s: the first answer was not kept", k->ref);
        cr_assert_eq(a->status, k->status, "%s", k->ref);
        cr_assert_eq(a->n_reasons, k->n_codes, "%s", k->ref);
        for (size_t j = 0; j < k->n_codes; j++)
            cr_assert_str_eq(a->reasons[j]->code, k->codes[j], "%s", k->ref);
        ENV_FREE(reply);
    }
}

static void s_check_unkept(void)
{
    for (size_t i = 0; i < s_n_unkept; i++) {
        const unkept_t *u = &s_unkept[i];
        Relais__V1__Envelope *reply = s_submit_valid(u->sender, u->ref, 400 + (unsigned)i);
        s_expect_ack(reply, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED, NULL, u->ref);
        cr_assert_not(reply->ack->replay, "%s: a refused request left a record", u->ref);
        s_accepted++;
        ENV_FREE(reply);
    }
}

/* Every case the broker holds, over all structures' queues. */
static size_t s_count_cases(void)
{
    static const char *const structures[] = {"asq-planoise", "asq-montrapon", "mdq-clairs-soleils",
                                             "mdq-battant",  "mdq-palente",   "assoc-insertion",
                                             "asq-centre",   "ccas-programme"};
    size_t total = 0;
    for (size_t i = 0; i < sizeof structures / sizeof structures[0]; i++) {
        Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
        Relais__V1__FetchCases fc = RELAIS__V1__FETCH_CASES__INIT;
        char rid[16];
        snprintf(rid, sizeof rid, "h%u", ++s_seq);
        env.version = 1;
        env.request_id = rid;
        env.sender = (char *)structures[i];
        fc.structure_id = (char *)structures[i];
        fc.include_open = true;
        fc.max = 500;
        env.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_CASES;
        env.fetch_cases = &fc;
        /* Each structure's own coordinator key: a coordinator sees its
         * structure only. */
        char key[400];
        harness_key_path(&B, "coordinator", structures[i], key, sizeof key);
        size_t len;
        uint8_t *buf = s_pack(&env, &len);
        Relais__V1__Envelope *reply =
            harness_raw_keyed(&B, B.coordinator_ep, key, buf, len, 1, TIMEOUT_MS);
        free(buf);
        cr_assert_not_null(reply, "no reply for %s", structures[i]);
        cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_CASES, "%s", structures[i]);
        total += reply->cases->n_cases;
        ENV_FREE(reply);
    }
    return total;
}

Test(hostile, every_bad_request_gets_its_precise_answer_and_only_valid_ones_are_kept)
{
    harness_start(&B, NULL);

    s_truncated();
    s_envelope_level();
    s_bad_referrals();
    cr_assert_eq(s_count_cases(), 0, "a hostile request opened a case");

    /* Still serving: a valid referral is accepted, and a resend replayed. */
    Relais__V1__Envelope *first = s_submit_valid("mission-locale", "H-FINAL", 500);
    s_expect_ack(first, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED, NULL, "final valid referral");
    s_accepted++;
    Relais__V1__Envelope *again = s_submit_valid("mission-locale", "H-FINAL", 500);
    s_expect_ack(again, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED, NULL, "final, resent");
    cr_assert(again->ack->replay);
    cr_assert_str_eq(again->ack->case_id, first->ack->case_id);
    ENV_FREE(first);
    ENV_FREE(again);

    s_check_kept();
    s_check_unkept();
    cr_assert_eq(s_count_cases(), s_accepted, "only the valid referrals opened cases");

    harness_stop(&B);
}
