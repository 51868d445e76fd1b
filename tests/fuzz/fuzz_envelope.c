/*  fuzz_envelope — libFuzzer target: the broker's whole request path.
 *
 *  What a partner or coordinator sends is the broker's only untrusted
 *  input.  This target feeds it to service_handle exactly as the server
 *  does (server.c: one frame, inside the batch's write transaction), on a
 *  real LMDB store and the built-in configuration, so decode -> check ->
 *  validate -> match -> decide -> route -> commit -> reply all run on
 *  fuzzed bytes.
 *
 *  Set-up, once (LLVMFuzzerInitialize): a store in a mkdtemp directory
 *  (under $TMPDIR; removed at exit), config_load_default, service_new, the
 *  clock pinned to FUZZ_NOW so dates behave the same on every run, and a
 *  few referrals committed as a baseline: so later inputs meet known
 *  persons (identity matches, MERGED, REVIEW), existing cases (C0000001...)
 *  and partner_refs already used (replays).  Logging is cut to errors: one
 *  line per request would cost more than the request.
 *
 *  Each input runs in one batch write transaction that is ABORTED at the
 *  end: inputs do not see each other's changes and the store does not grow
 *  however long the fuzzer runs.
 *
 *  Raw mode (every input): the bytes go to the partner endpoint AND to the
 *  coordinator endpoint.  Each reply must decode as an Envelope (a reply we
 *  cannot decode is a bug: abort()), with version 1, a body this endpoint
 *  may send, a known Ack status, bounded reasons, and never someone else's
 *  request_id.  When the input decodes as a Referral, validate_referral is
 *  also called on it directly, and its verdict must agree with the Ack
 *  (invalid <=> ACK_INVALID, replays aside).
 *
 *  Structured mode (inputs whose first byte is 0x00): a protobuf message
 *  cannot start with 0x00 (field number 0 does not exist), so in raw mode
 *  these inputs stop at bad_envelope.  Instead, the rest of the input
 *  becomes the FIELDS of a Referral inside a well-formed Envelope from a
 *  configured partner, so the fuzzer mutates names, dates, lists and
 *  amounts rather than protobuf framing, and reaches deep into
 *  validate.c, identity.c, eligibility.c, referral.c and cases.c.  Layout
 *  after the 0x00, fields separated by byte 0x1F (ASCII unit separator;
 *  missing trailing fields are empty, the last field takes the rest):
 *     0 partner_ref   1 last_name   2 first_names   3 birth_date   4 sex
 *     5 phone   6 email   7 postcode   8 city   9 quartier   10 ine
 *    11 referrer_name   12 referrer_email   13 notes   14 referred_on
 *    15 benefits: one Benefit value per byte (unknown values included)
 *    16 needs: one Need value per byte
 *    17 controls: byte 0 bit 0 consent, bits 1-3 partner index, bit 4
 *       FetchCases.include_open; bytes 1-4 resources_eur_month
 *       (little-endian); bytes 5.. one coordinator action each (at most
 *       FUZZ_ACTIONS_MAX): kind = bits 0-2, milestone = outcome = bits 3-6;
 *       the action's reason is the notes field, its on_date referred_on.
 *  The referral is then submitted three times: as is (must be an Ack, and
 *  INVALID exactly when validate_referral says so), again (must be the
 *  same answer with replay = true whenever there was a partner_ref to key
 *  it), and under another partner with partner_ref + "~2" (the same person:
 *  the MERGED path).  If a case was opened and routed, its structure's
 *  coordinator fetches its cases and runs the action script on it (each
 *  action sent by the structure the case is at by then), and the partner
 *  fetches its events.  tests/fuzz/corpus/envelope/ holds seeds of
 *  both kinds (make_corpus.py writes them).
 */
#include "clock.h"
#include "identity.h"
#include "config.h"
#include "date.h"
#include "log.h"
#include "reasons.h"
#include "relais.pb-c.h"
#include "relais_store.pb-c.h"
#include "service.h"
#include "store.h"
#include "validate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_NOW_Y       2026 /* the same "today" as the integration tests */
#define FUZZ_NOW_M       11
#define FUZZ_NOW_D       20
#define FUZZ_FIELDS      18
#define FUZZ_ACTIONS_MAX 8
#define FUZZ_SEP         0x1F

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    char dir[512];
    config_t *cfg;
    store_t *store;
    service_t *service;
    date_t today;
} g;

static void s_die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_envelope: %s: %s\n", what, why);
    abort();
}

/* Aborts unless REPLY's body is WANT, saying what came instead. */
static void s_expect(const Relais__V1__Envelope *reply, Relais__V1__Envelope__BodyCase want,
                     const char *why)
{
    if (reply->body_case == want)
        return;
    if (reply->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR)
        fprintf(stderr, "fuzz_envelope: got Error %s: %s\n", reply->error->code,
                reply->error->message);
    s_die("structured", why);
}

/* ---- one request, and what any reply must satisfy --------------------- */

static bool s_body_ok(service_endpoint_t ep, Relais__V1__Envelope__BodyCase b)
{
    if (b == RELAIS__V1__ENVELOPE__BODY_ERROR)
        return true;
    if (ep == SERVICE_PARTNER)
        return b == RELAIS__V1__ENVELOPE__BODY_ACK || b == RELAIS__V1__ENVELOPE__BODY_EVENTS;
    return b == RELAIS__V1__ENVELOPE__BODY_CASES || b == RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT;
}

/* Sends FRAME to EP inside BATCH and returns the decoded reply (the caller
 * frees it).  REQUEST_ID: the request's, when it decoded (else NULL).
 * Aborts on any reply that breaks the contract. */
static Relais__V1__Envelope *s_call(store_txn_t *batch, service_endpoint_t ep, const uint8_t *frame,
                                    size_t len, const char *request_id)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (service_handle(g.service, batch, ep, frame, len, false, &bytes, &n, NULL) != 0)
        s_die("service_handle", "no reply at all");
    Relais__V1__Envelope *reply = relais__v1__envelope__unpack(NULL, n, bytes);
    free(bytes);
    if (!reply)
        s_die("reply", "not a decodable Envelope");
    if (reply->version != 1 || !s_body_ok(ep, reply->body_case))
        s_die("reply", "bad version or a body this endpoint never sends");
    /* An echoed request_id is the request's own, never another's. */
    if (*reply->request_id && (!request_id || strcmp(reply->request_id, request_id) != 0))
        s_die("reply", "request_id not the request's");
    if (reply->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR && !*reply->error->code)
        s_die("reply", "Error without a code");
    if (reply->body_case == RELAIS__V1__ENVELOPE__BODY_ACK) {
        const Relais__V1__Ack *a = reply->ack;
        if (a->status < RELAIS__V1__ACK_STATUS__ACK_ACCEPTED ||
            a->status > RELAIS__V1__ACK_STATUS__ACK_REVIEW || a->n_reasons > REASONS_MAX)
            s_die("ack", "unknown status or unbounded reasons");
        for (size_t i = 0; i < a->n_reasons; i++)
            if (!*a->reasons[i]->code)
                s_die("ack", "reason without a code");
    }
    return reply;
}

static Relais__V1__Envelope *s_send(store_txn_t *batch, service_endpoint_t ep,
                                    const Relais__V1__Envelope *req)
{
    size_t len = relais__v1__envelope__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        s_die("malloc", "request");
    relais__v1__envelope__pack(req, buf);
    Relais__V1__Envelope *reply = s_call(batch, ep, buf, len, req->request_id);
    free(buf);
    return reply;
}

/* The verdict of validate_referral on R, as the broker computes "today". */
static bool s_valid(const Relais__V1__Referral *r)
{
    reasons_t reasons;
    reasons_init(&reasons);
    bool ok = validate_referral(r, g.today, &reasons);
    if (ok != (reasons.count == 0) || reasons.count > REASONS_MAX)
        s_die("validate_referral", "verdict and reasons disagree");
    return ok;
}

/* A referral answered by an Ack agrees with validate_referral (a replay
 * carries an earlier answer, to possibly different content). */
static void s_check_verdict(const Relais__V1__Referral *r, const Relais__V1__Ack *a)
{
    if (a->replay)
        return;
    bool invalid = a->status == RELAIS__V1__ACK_STATUS__ACK_INVALID;
    if (invalid == s_valid(r))
        s_die("ack", "ACK_INVALID disagrees with validate_referral");
}

/* ---- raw mode ---------------------------------------------------------- */

static void s_raw(store_txn_t *batch, const uint8_t *data, size_t size)
{
    Relais__V1__Envelope *req = relais__v1__envelope__unpack(NULL, size, data);
    const char *rid = req ? req->request_id : NULL;
    for (int ep = SERVICE_PARTNER; ep <= SERVICE_COORDINATOR; ep++) {
        Relais__V1__Envelope *reply = s_call(batch, (service_endpoint_t)ep, data, size, rid);
        if (req && req->body_case == RELAIS__V1__ENVELOPE__BODY_REFERRAL) {
            s_valid(req->referral);
            if (reply->body_case == RELAIS__V1__ENVELOPE__BODY_ACK)
                s_check_verdict(req->referral, reply->ack);
        }
        relais__v1__envelope__free_unpacked(reply, NULL);
    }
    if (req)
        relais__v1__envelope__free_unpacked(req, NULL);
}

/* ---- structured mode --------------------------------------------------- */

typedef struct {
    char *s[FUZZ_FIELDS]; /* NUL-terminated, into one copy of the input */
    size_t len[FUZZ_FIELDS];
} s_fields_t;

/* Splits IN into the fields of the layout above; returns the copy to free. */
static char *s_split(const uint8_t *in, size_t size, s_fields_t *f)
{
    char *copy = malloc(size + 1);
    if (!copy)
        s_die("malloc", "fields");
    memcpy(copy, in, size);
    copy[size] = '\0';
    size_t start = 0, k = 0;
    for (size_t i = 0; i < size && k + 1 < FUZZ_FIELDS; i++) {
        if ((uint8_t)copy[i] != FUZZ_SEP)
            continue;
        copy[i] = '\0';
        f->s[k] = copy + start;
        f->len[k++] = i - start;
        start = i + 1;
    }
    f->s[k] = copy + start;
    f->len[k++] = size - start;
    for (; k < FUZZ_FIELDS; k++) {
        f->s[k] = copy + size; /* "" */
        f->len[k] = 0;
    }
    return copy;
}

static uint8_t s_byte(const s_fields_t *f, size_t field, size_t i, uint8_t dflt)
{
    return i < f->len[field] ? (uint8_t)f->s[field][i] : dflt;
}

static void s_structured(store_txn_t *batch, const uint8_t *data, size_t size)
{
    s_fields_t f;
    char *copy = s_split(data, size, &f);
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__Benefit benefits[64];
    Relais__V1__Need needs[64];
    char **person_fields[] = {&p.last_name, &p.first_names, &p.birth_date, &p.sex,      &p.phone,
                              &p.email,     &p.postcode,    &p.city,       &p.quartier, &p.ine};
    r.partner_ref = f.s[0];
    for (size_t i = 0; i < sizeof person_fields / sizeof person_fields[0]; i++)
        *person_fields[i] = f.s[1 + i];
    r.referrer_name = f.s[11];
    r.referrer_email = f.s[12];
    r.notes = f.s[13];
    r.referred_on = f.s[14];
    r.person = &p;
    /* Up to 64 each: past VALIDATE_MAX_LIST is already too_many, and the
     * raw mode reaches longer lists. */
    for (size_t i = 0; i < f.len[15] && i < 64; i++)
        benefits[r.n_benefits++] = (Relais__V1__Benefit)(uint8_t)f.s[15][i];
    for (size_t i = 0; i < f.len[16] && i < 64; i++)
        needs[r.n_needs++] = (Relais__V1__Need)(uint8_t)f.s[16][i];
    r.benefits = benefits;
    r.needs = needs;
    uint8_t c0 = s_byte(&f, 17, 0, 1);
    r.consent = c0 & 1;
    r.resources_eur_month = (uint32_t)s_byte(&f, 17, 1, 0) | (uint32_t)s_byte(&f, 17, 2, 0) << 8 |
                            (uint32_t)s_byte(&f, 17, 3, 0) << 16 |
                            (uint32_t)s_byte(&f, 17, 4, 0) << 24;
    const char *partner = g.cfg->partners[(c0 >> 1 & 7) % g.cfg->n_partners].id;
    const char *other = g.cfg->partners[((c0 >> 1 & 7) + 1) % g.cfg->n_partners].id;

    env.version = 1;
    env.request_id = "fuzz-1";
    env.sender = (char *)partner;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    env.referral = &r;

    /* 1. as is: a well-formed Envelope from a known partner gets an Ack */
    Relais__V1__Envelope *first = s_send(batch, SERVICE_PARTNER, &env);
    s_expect(first, RELAIS__V1__ENVELOPE__BODY_ACK, "a well-formed referral did not get an Ack");
    const Relais__V1__Ack *a1 = first->ack;
    s_check_verdict(&r, a1);

    /* 2. again: the same answer, marked as a replay, whenever it was keyed */
    env.request_id = "fuzz-2";
    Relais__V1__Envelope *again = s_send(batch, SERVICE_PARTNER, &env);
    s_expect(again, RELAIS__V1__ENVELOPE__BODY_ACK, "a resend did not get an Ack");
    if (*a1->partner_ref && (!again->ack->replay || again->ack->status != a1->status ||
                             strcmp(again->ack->case_id, a1->case_id) != 0))
        s_die("structured", "a resend was not the first answer replayed");
    relais__v1__envelope__free_unpacked(again, NULL);

    /* 3. the same person through another partner: the MERGED path */
    char ref2[VALIDATE_MAX_REF + 8];
    snprintf(ref2, sizeof ref2, "%.*s~2", VALIDATE_MAX_REF - 2, r.partner_ref);
    r.partner_ref = ref2;
    env.sender = (char *)other;
    env.request_id = "fuzz-3";
    Relais__V1__Envelope *merged = s_send(batch, SERVICE_PARTNER, &env);
    s_expect(merged, RELAIS__V1__ENVELOPE__BODY_ACK, "a second referral did not get an Ack");
    s_check_verdict(&r, merged->ack);
    relais__v1__envelope__free_unpacked(merged, NULL);

    /* 4. the coordinator of the structure the case went to, and the
     * partner's feed */
    if (*a1->case_id && *a1->structure_id) {
        Relais__V1__Envelope cenv = RELAIS__V1__ENVELOPE__INIT;
        Relais__V1__FetchCases fc = RELAIS__V1__FETCH_CASES__INIT;
        Relais__V1__CaseAction act = RELAIS__V1__CASE_ACTION__INIT;
        cenv.version = 1;
        cenv.request_id = "fuzz-c";
        cenv.sender = a1->structure_id;
        fc.structure_id = a1->structure_id;
        fc.include_open = c0 >> 4 & 1;
        cenv.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_CASES;
        cenv.fetch_cases = &fc;
        Relais__V1__Envelope *rep = s_send(batch, SERVICE_COORDINATOR, &cenv);
        s_expect(rep, RELAIS__V1__ENVELOPE__BODY_CASES, "FetchCases of the own structure refused");
        relais__v1__envelope__free_unpacked(rep, NULL);

        char at[64]; /* the structure the case is at */
        snprintf(at, sizeof at, "%s", a1->structure_id);
        act.case_id = a1->case_id;
        act.reason = f.s[13];
        act.on_date = f.s[14];
        cenv.body_case = RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
        cenv.case_action = &act;
        for (size_t i = 5; i < f.len[17] && i < 5 + FUZZ_ACTIONS_MAX; i++) {
            uint8_t b = (uint8_t)f.s[17][i];
            act.kind = (Relais__V1__ActionKind)(b & 7);
            act.milestone = (Relais__V1__CaseState)(b >> 3 & 15);
            act.outcome = (Relais__V1__Outcome)(b >> 3 & 15);
            /* Act as the structure the case is at now: after a decline it
             * is another one (the ActionResult does not say which), so
             * re-routing, the final decline and the waitlist drain are
             * reached too.  Read from the batch directly: one more
             * request per structure would cost a nested transaction
             * each, which ASan makes slow (LMDB allocates 3 MB per
             * nested write transaction). */
            Relais__Store__CaseRecord *rec = NULL;
            if (store_get_msg(batch, STORE_CASES, a1->case_id, strlen(a1->case_id),
                              &relais__store__case_record__descriptor,
                              (ProtobufCMessage **)&rec) != 0)
                s_die("structured", "the acknowledged case is not in the store");
            if (*rec->structure_id) /* "" once waitlisted or declined for good */
                snprintf(at, sizeof at, "%s", rec->structure_id);
            relais__store__case_record__free_unpacked(rec, NULL);
            cenv.sender = at;
            rep = s_send(batch, SERVICE_COORDINATOR, &cenv);
            /* A case no longer at that structure (waitlisted or declined
             * for good): the structure may not touch it, Error forbidden. */
            if (rep->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR &&
                strcmp(rep->error->code, "forbidden") == 0) {
                relais__v1__envelope__free_unpacked(rep, NULL);
                continue;
            }
            s_expect(rep, RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT,
                     "CaseAction did not get an ActionResult");
            const Relais__V1__ActionResult *res = rep->action_result;
            if (!res->ok && (!res->error || !*res->error->code))
                s_die("structured", "a refused action without a reason code");
            relais__v1__envelope__free_unpacked(rep, NULL);
        }
        Relais__V1__FetchEvents fe = RELAIS__V1__FETCH_EVENTS__INIT;
        env.sender = (char *)partner;
        env.request_id = "fuzz-e";
        env.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
        env.fetch_events = &fe;
        rep = s_send(batch, SERVICE_PARTNER, &env);
        s_expect(rep, RELAIS__V1__ENVELOPE__BODY_EVENTS, "FetchEvents refused");
        relais__v1__envelope__free_unpacked(rep, NULL);
    }
    relais__v1__envelope__free_unpacked(first, NULL);
    free(copy);
}

/* ---- set-up ------------------------------------------------------------ */

static void s_cleanup(void)
{
    service_destroy(&g.service);
    store_close(&g.store);
    config_free(&g.cfg);
    if (*g.dir) {
        char path[600];
        snprintf(path, sizeof path, "%s/data.mdb", g.dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/lock.mdb", g.dir);
        unlink(path);
        rmdir(g.dir);
    }
}

/* The baseline: persons and cases every input can meet. */
static void s_baseline(void)
{
    static const struct {
        const char *ref, *last, *first, *born, *quartier;
    } seeds[] = {
        {"base-1", "Martin", "Léa", "2004-03-15", "Planoise"},
        {"base-2", "N'Diaye", "Aminata", "2003-07-01", "Montrapon"},
        {"base-3", "Lefèvre", "Jean-Baptiste", "2001-12-31", "Battant"},
        {"base-4", "Martin", "Lea", "2004-03-15", "Planoise"},       /* same person */
        {"base-5", "Martin", "Léa", "2004-03-16", "Clairs-Soleils"}, /* possible */
    };
    store_txn_t batch;
    if (store_begin(g.store, true, NULL, &batch) != 0)
        s_die("baseline", "store_begin");
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
        Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
        Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
        p.last_name = (char *)seeds[i].last;
        p.first_names = (char *)seeds[i].first;
        p.birth_date = (char *)seeds[i].born;
        p.postcode = "25000";
        p.city = "Besançon";
        p.quartier = (char *)seeds[i].quartier;
        r.partner_ref = (char *)seeds[i].ref;
        r.person = &p;
        r.consent = true;
        r.referred_on = "2026-11-16";
        env.version = 1;
        env.request_id = "base";
        env.sender = g.cfg->partners[i % g.cfg->n_partners].id;
        env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
        env.referral = &r;
        relais__v1__envelope__free_unpacked(s_send(&batch, SERVICE_PARTNER, &env), NULL);
    }
    if (store_commit(&batch) != 0)
        s_die("baseline", "store_commit");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(g.dir, sizeof g.dir, "%s/relais-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g.dir)) {
        *g.dir = '\0';
        s_die("mkdtemp", "cannot create the store directory");
    }
    atexit(s_cleanup);
    log_set_level(LOG_ERROR);
    g.today = (date_t){FUZZ_NOW_Y, FUZZ_NOW_M, FUZZ_NOW_D};
    clock_set(date_to_days(g.today) * 86400 + 12 * 3600);
    if (!(g.cfg = config_load_default(err, sizeof err)))
        s_die("config_load_default", err);
    /* A small map: each input's changes are aborted, and the baseline is a
     * handful of records. */
    if (!(g.store = store_open(g.dir, (size_t)64 << 20, false, err, sizeof err)))
        s_die("store_open", err);
    if (identity_init(g.dir, err, sizeof err) != 0)
        s_die("identity_init", err);
    if (!(g.service = service_new(g.cfg, err, sizeof err)))
        s_die("service_new", err);
    s_baseline();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_txn_t batch;
    if (store_begin(g.store, true, NULL, &batch) != 0)
        s_die("store_begin", "batch");
    s_raw(&batch, data, size);
    if (size > 0 && data[0] == 0x00)
        s_structured(&batch, data + 1, size - 1);
    store_abort(&batch);
    return 0;
}
