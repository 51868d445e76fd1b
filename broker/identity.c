/*  identity — scored record linkage behind identity_match / identity_index.
 *  See identity.h for the blocking keys, the verdict rules and why each
 *  one leans against false merges.
 *
 *  One referral: build its profile (linkage.h: folded names, phonex,
 *  hashes), look up each blocking key with a capped scan, deduplicate the
 *  candidate ids, read each candidate's stored profile, compare and score
 *  it, then apply the verdict rules to the scored list.  Indexing a new
 *  person writes its keys, its profile and its name counts, all in the
 *  caller's transaction, so a referral that fails leaves no trace.
 */
#include "identity.h"

#include "datakey.h"
#include "seal.h"
#include "sketch.h"

#include "log.h"
#include "normalize.h"
#include "phonetic.h"
#include "relais_store.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_LEN  (1 + LINKAGE_HASH_LEN) /* kind byte + keyed hash */
#define MAX_KEYS 32

static unsigned char s_key[LINKAGE_KEY_LEN];
static bool s_key_set = false;
static linkage_model_t *s_model = NULL;
static unsigned long s_capped[256]; /* capped blocks seen, per key kind */

/* ---- start-up: the key file and the model ------------------------------ */

/* The last profile built, and the person it was built from (packed): a
 * referral is matched and then, if new, indexed, and both need the same
 * profile; building it (normalisation, phonetic codes, keyed hashes) is
 * the matcher's largest cost.  Compared by content, never by pointer. */
static struct {
    bool valid;
    size_t len;
    uint8_t packed[4096];
    linkage_profile_t prof;
} s_memo;

void identity_set_key(const unsigned char key[LINKAGE_KEY_LEN])
{
    memcpy(s_key, key, LINKAGE_KEY_LEN);
    s_key_set = true;
    sketch_set_key(key);
    s_memo.valid = false; /* hashes depend on the key */
}

/* linkage_profile_build, remembering the last result. */
static int s_profile_build(const Relais__V1__Person *p, linkage_profile_t *out)
{
    size_t len = relais__v1__person__get_packed_size(p);
    if (len <= sizeof s_memo.packed) {
        uint8_t packed[sizeof s_memo.packed];
        relais__v1__person__pack(p, packed);
        if (s_memo.valid && s_memo.len == len && memcmp(packed, s_memo.packed, len) == 0) {
            *out = s_memo.prof;
            return 0;
        }
        s_memo.valid = false;
        int rc = linkage_profile_build(p, s_key, out);
        if (rc == 0) {
            memcpy(s_memo.packed, packed, len);
            s_memo.len = len;
            s_memo.prof = *out;
            s_memo.valid = true;
        }
        return rc;
    }
    return linkage_profile_build(p, s_key, out);
}

/* Reads PATH's 32 bytes (a store made before the data key, datakey.h). */
static int s_key_file(const char *path, char *err, size_t errlen)
{
    unsigned char key[LINKAGE_KEY_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto sys_fail;
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%s must be readable by its owner only (mode 0600)", path);
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, key, sizeof key);
    close(fd);
    if (n != (ssize_t)sizeof key) {
        snprintf(err, errlen, "%s: expected %d bytes", path, LINKAGE_KEY_LEN);
        return -1;
    }
    identity_set_key(key);
    sodium_memzero(key, sizeof key);
    return 0;
sys_fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

int identity_load_model(const char *json_text, char *err, size_t errlen)
{
    char why[256];
    linkage_model_t *m = linkage_model_parse(json_text, why, sizeof why);
    if (!m) {
        snprintf(err, errlen, "linkage model: %s", why);
        return -1;
    }
    linkage_model_free(&s_model);
    s_model = m;
    return 0;
}

int identity_init(const char *data_dir, char *err, size_t errlen)
{
    char path[4096];
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot initialise");
        return -1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, IDENTITY_KEY_FILE) >= sizeof path) {
        snprintf(err, errlen, "data directory path too long");
        return -1;
    }
    if (datakey_init(data_dir, true, err, errlen) != 0)
        return -1;
    /* A store made before the data key has its index hashed with
     * identity.key: keep using it, or every known person would be
     * forgotten.  New stores have none and hash with the data key's index
     * subkey (datakey.h). */
    if (access(path, F_OK) == 0) {
        if (s_key_file(path, err, errlen) != 0)
            return -1;
    } else {
        unsigned char key[DATAKEY_LEN];
        datakey_index_key(key);
        identity_set_key(key);
        sodium_memzero(key, sizeof key);
    }
    return identity_load_model(linkage_model_default_text, err, errlen);
}

const linkage_model_t *identity_model(void)
{
    return s_model;
}

void identity_shutdown(void)
{
    linkage_model_free(&s_model);
    sodium_memzero(s_key, sizeof s_key);
    s_key_set = false;
    datakey_shutdown();
}

/* ---- keys --------------------------------------------------------------- */

typedef struct {
    unsigned char k[MAX_KEYS][KEY_LEN];
    size_t n;
} s_keys_t;

static void s_key_add(s_keys_t *ks, char kind, const void *material, size_t len)
{
    if (ks->n >= MAX_KEYS || len == 0)
        return;
    unsigned char *k = ks->k[ks->n];
    k[0] = (unsigned char)kind;
    linkage_hash(s_key, kind, material, len, k + 1);
    for (size_t i = 0; i < ks->n; i++)
        if (memcmp(ks->k[i], k, KEY_LEN) == 0)
            return; /* the same key twice: one lookup */
    ks->n++;
}

static void s_key_addf(s_keys_t *ks, char kind, const char *a, const char *b)
{
    char buf[160];
    int n = snprintf(buf, sizeof buf, "%s|%s", a, b);
    if (n > 0 && (size_t)n < sizeof buf && *a)
        s_key_add(ks, kind, buf, (size_t)n);
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "2004-03-12" -> "2004-12-03" when both are ≤ 12 and differ; else 0. */
static int s_swapped_date(const char *d, char out[11])
{
    if (strlen(d) != 10 || (d[5] == d[8] && d[6] == d[9]))
        return 0;
    int m = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
    if (m > 12 || day > 12 || day < 1)
        return 0;
    snprintf(out, 11, "%.4s-%c%c-%c%c", d, d[8], d[9], d[5], d[6]);
    return 1;
}

/* The blocking keys of PROF.  QUERY adds the look-up-only keys (given
 * names as surnames, swapped dates); indexing writes only the others.
 * A query against PERSONS known persons leaves out the bare birth date
 * when its block is expected to be over IDENTITY_DATE_BLOCK_CAP anyway
 * (PERSONS spread over IDENTITY_BIRTH_DATES dates): looking it up would
 * cost a B-tree descent, and at a million persons a cold page, for a
 * block that is always skipped. */
static void s_keys(const linkage_profile_t *prof, bool query, uint64_t persons, s_keys_t *ks)
{
    char year[5] = "";
    char swapped[11] = "";
    const char *date = prof->birth_date;
    snprintf(year, sizeof year, "%.4s", date);
    bool has_swap = query && s_swapped_date(date, swapped);

    for (size_t i = 0; i < prof->n_surnames; i++)
        s_key_addf(ks, 'S', prof->surname_codes[i], year);
    if (query)
        for (size_t i = 0; i < prof->n_given; i++)
            s_key_addf(ks, 'S', prof->given_codes[i], year);
    for (size_t i = 0; i < prof->n_given && i < 3; i++) {
        char sx[PHONETIC_SOUNDEX_LEN];
        phonetic_soundex_fr(prof->given[i], sx);
        s_key_addf(ks, 'G', sx, date);
        if (has_swap)
            s_key_addf(ks, 'G', sx, swapped);
    }
    if (!query || persons / IDENTITY_BIRTH_DATES <= IDENTITY_DATE_BLOCK_CAP) {
        s_key_add(ks, 'D', date, strlen(date));
        if (has_swap)
            s_key_add(ks, 'D', swapped, strlen(swapped));
    }

    /* Sorted tokens: "Ndiaye Lea" and "Lea Ndiaye" meet here. */
    const char *toks[1 + NORMALIZE_VARIANTS_MAX];
    size_t nt = 0;
    toks[nt++] = prof->surnames[0];
    for (size_t i = 0; i < prof->n_given; i++)
        toks[nt++] = prof->given[i];
    qsort(toks, nt, sizeof *toks, s_cmp_str);
    char all[(1 + NORMALIZE_VARIANTS_MAX) * NORMALIZE_TOKEN_MAX];
    size_t len = 0;
    for (size_t i = 0; i < nt; i++)
        len += (size_t)snprintf(all + len, sizeof all - len, "%s%s", i ? " " : "", toks[i]);
    s_key_add(ks, 'T', all, len);

    if (*prof->ine)
        s_key_add(ks, 'I', prof->ine, strlen(prof->ine));
    if (prof->has_email)
        s_key_add(ks, 'E', prof->email_hash, LINKAGE_HASH_LEN);
    if (prof->has_phone)
        s_key_add(ks, 'P', prof->phone_hash, LINKAGE_HASH_LEN);
}

/* ---- candidates --------------------------------------------------------- */

/* A candidate as read from a block: its id, with the flags below in the
 * high bits (ids stay < 2^61), and its sealed sketch (sketch.h), opened
 * only if needed. */
typedef struct {
    uint64_t id;
    uint64_t sketch;
} s_cand_t;

#define s_WEAK    (UINT64_C(1) << 63) /* from a large block: only corroborates */
#define s_CONTACT (UINT64_C(1) << 62) /* from an INE, e-mail or phone key */
#define s_SKETCH  (UINT64_C(1) << 61) /* has a sketch (entries before: none) */
#define s_FLAGS   (s_WEAK | s_CONTACT | s_SKETCH)

typedef struct {
    s_cand_t *ids;
    size_t n, cap_alloc;
    size_t block; /* entries read from the current block */
    size_t limit; /* the current block's cap */
    bool overflow;
    bool nomem;
} s_cands_t;

static int s_collect(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_cands_t *c = arg;
    if (val->mv_size != IDENTITY_ENTRY_LEN && val->mv_size != 8)
        return 0; /* not ours: ignore rather than fail a referral */
    if (++c->block > c->limit) {
        c->overflow = true;
        return 1;
    }
    if (c->n == c->cap_alloc) {
        size_t want = c->cap_alloc ? c->cap_alloc * 2 : 64;
        s_cand_t *grown = realloc(c->ids, want * sizeof *grown);
        if (!grown) {
            c->nomem = true;
            return 1;
        }
        c->ids = grown;
        c->cap_alloc = want;
    }
    s_cand_t *e = &c->ids[c->n++];
    e->id = store_u64_decode(val->mv_data) & ~s_FLAGS;
    e->sketch = 0;
    if (val->mv_size == IDENTITY_ENTRY_LEN) {
        e->id |= s_SKETCH;
        e->sketch = store_u64_decode((const unsigned char *)val->mv_data + 8);
    }
    return 0;
}

static int s_cmp_cand(const void *a, const void *b)
{
    uint64_t x = ((const s_cand_t *)a)->id & ~s_FLAGS, y = ((const s_cand_t *)b)->id & ~s_FLAGS;
    return x < y ? -1 : x > y;
}

/* Candidates for the keys KS of a referral whose names sketch to QSKETCH. */
/* A block over its cap is reported, but not once per referral: a common
 * date at a million persons would flood the log.  Lines at the 1st,
 * 10th, 100th... occurrence of each kind, naming the kind, never the
 * value. */
static void s_report_capped(char kind, size_t limit)
{
    unsigned long seen = ++s_capped[(unsigned char)kind];
    unsigned long p10 = 1;
    while (p10 * 10 <= seen)
        p10 *= 10;
    if (seen == p10)
        log_warn("identity: a '%c' block has more than %zu persons; skipped (%lu times so far)",
                 kind, limit, seen);
}

/* Keeps in C, sorted and once each, the candidates worth scoring for a
 * referral whose names sketch to QSKETCH.  A candidate is kept when a
 * small block holds it, or when at least two blocks do: a block of more
 * than IDENTITY_SOLO_CAP (a common surname sound in a birth year, at a
 * million persons) only corroborates.  A true duplicate almost always
 * shares a second key (given name + birth date, sorted names, phone,
 * e-mail).  A candidate found by one name or date key alone (a name sound
 * with a birth year or date, the same name tokens, the date) is kept only
 * when its sketch is plausible (sketch.h: names alike, birth date not far
 * off): most such candidates share nothing but that key, and scoring one
 * costs opening its sealed profile. */
static void s_select(s_cands_t *c, uint64_t qsketch)
{
    if (c->n == 0)
        return; /* ids may be NULL: qsort must not see it */
    qsort(c->ids, c->n, sizeof *c->ids, s_cmp_cand);
    size_t w = 0;
    for (size_t i = 0; i < c->n;) {
        uint64_t id = c->ids[i].id & ~s_FLAGS, flags = c->ids[i].id & s_FLAGS;
        uint64_t sealed = c->ids[i].sketch;
        size_t hits = 0;
        bool strong = false;
        for (; i < c->n && (c->ids[i].id & ~s_FLAGS) == id; i++) {
            hits++;
            strong |= !(c->ids[i].id & s_WEAK);
        }
        if (!strong && hits < 2)
            continue;
        if (hits == 1 && (flags & (s_CONTACT | s_SKETCH)) == s_SKETCH &&
            !sketch_plausible(qsketch, sketch_seal(sealed, id)))
            continue;
        c->ids[w++].id = id;
    }
    c->n = w;
}

/* The candidates of a referral with blocking keys KS (see s_select). */
static int s_candidates(store_txn_t *t, const s_keys_t *ks, uint64_t qsketch, s_cands_t *c)
{
    for (size_t i = 0; i < ks->n; i++) {
        size_t before = c->n;
        char kind = (char)ks->k[i][0];
        c->block = 0;
        c->overflow = false;
        c->limit = kind == 'D' ? IDENTITY_DATE_BLOCK_CAP : IDENTITY_BLOCK_CAP;
        /* A block over its cap is skipped without reading it: its size
         * comes with the same B-tree descent (mdb_cursor_count). */
        size_t size;
        int rc = store_dups(t, STORE_IDENTITY, ks->k[i], KEY_LEN, c->limit, s_collect, c, &size);
        if (rc != 0)
            return rc;
        if (c->nomem)
            return ENOMEM;
        if (size > c->limit || c->overflow) {
            c->n = before;
            s_report_capped(kind, c->limit);
            continue;
        }
        uint64_t flags = 0;
        if (c->n - before > IDENTITY_SOLO_CAP)
            flags |= s_WEAK; /* only corroborates (s_select) */
        if (strchr("IEP", kind))
            flags |= s_CONTACT;
        for (size_t j = before; j < c->n; j++)
            c->ids[j].id |= flags;
    }
    s_select(c, qsketch);
    return 0;
}

/* ---- term frequencies --------------------------------------------------- */

static void s_freq_key(char tag, const char *name, unsigned char out[KEY_LEN])
{
    out[0] = 'f';
    linkage_hash(s_key, tag, name, strlen(name), out + 1);
}

static int s_u64_get(store_txn_t *t, const void *key, size_t klen, uint64_t *out)
{
    return store_u64_get(t, STORE_LINKAGE, key, klen, out);
}

/* Adds DELTA to counter KEY; at zero the key goes (no trace of a name
 * nobody carries any more). */
static int s_u64_count(store_txn_t *t, const void *key, size_t klen, int64_t delta)
{
    uint64_t n;
    int rc = store_u64_add(t, STORE_LINKAGE, key, klen, delta, &n);
    if (rc == 0 && n == 0 && (rc = store_del(t, STORE_LINKAGE, key, klen, NULL, 0)) == MDB_NOTFOUND)
        rc = 0;
    return rc;
}

/* Share of persons carrying the query's surname / first given name, or 0
 * (use the model's u) while too few persons are counted. */
static int s_tf(store_txn_t *t, const linkage_profile_t *q, uint64_t persons,
                double tf_u[LINKAGE_NFIELDS])
{
    uint64_t count;
    unsigned char k[KEY_LEN];
    int rc;
    memset(tf_u, 0, sizeof(double) * LINKAGE_NFIELDS);
    if (persons < linkage_model_tf_min_persons(s_model))
        return 0;
    s_freq_key('s', q->surnames[0], k);
    if ((rc = s_u64_get(t, k, KEY_LEN, &count)) != 0)
        return rc;
    tf_u[LINKAGE_SURNAME] = (double)(count ? count : 1) / (double)persons;
    if (q->n_given) {
        s_freq_key('g', q->given[0], k);
        if ((rc = s_u64_get(t, k, KEY_LEN, &count)) != 0)
            return rc;
        tf_u[LINKAGE_GIVEN] = (double)(count ? count : 1) / (double)persons;
    }
    return 0;
}

/* Whether the first given names of Q and C, which differ, are two names
 * rather than one misspelt: both carried by at least IDENTITY_ATTESTED
 * known persons.  "Noé" / "Noémie", "Louis" / "Louise", "Lina" / "Line"
 * are as alike (Jaro-Winkler 0.70 to 0.92) as a name and its typo, and
 * twins and siblings carry such pairs; a typo is rarely a name many
 * others carry.  Never while too few persons are counted for the counts
 * to say anything (the model's tf_min_persons).  *NQ: the count of Q's
 * name, read on the first call of a referral (UINT64_MAX before). */
static int s_distinct_given(store_txn_t *t, const linkage_profile_t *q, const linkage_profile_t *c,
                            uint64_t persons, uint64_t *nq, bool *out)
{
    unsigned char k[KEY_LEN];
    uint64_t nc;
    int rc;
    *out = false;
    if (!q->n_given || !c->n_given || persons < linkage_model_tf_min_persons(s_model) ||
        strcmp(q->given[0], c->given[0]) == 0)
        return 0;
    if (*nq == UINT64_MAX) {
        s_freq_key('g', q->given[0], k);
        if ((rc = s_u64_get(t, k, KEY_LEN, nq)) != 0)
            return rc;
    }
    if (*nq < IDENTITY_ATTESTED)
        return 0;
    s_freq_key('g', c->given[0], k);
    if ((rc = s_u64_get(t, k, KEY_LEN, &nc)) != 0)
        return rc;
    *out = nc >= IDENTITY_ATTESTED;
    return 0;
}

/* ---- match -------------------------------------------------------------- */

static int s_profile_get(store_txn_t *t, uint64_t id, linkage_profile_t *out)
{
    unsigned char key[9] = {'p'};
    Relais__Store__MatchProfile *msg;
    MDB_val v;
    /* Profiles open into this scratch space (no allocation): the matcher
     * opens one per candidate. */
    _Alignas(8) unsigned char scratch[8192];
    bool scratch_used = true;
    store_u64_encode(id, key + 1);
    int rc = store_get(t, STORE_LINKAGE, key, sizeof key, &v);
    if (rc != 0)
        return rc;
    /* Sealed (seal.h); a value that does not open is a profile written
     * before the data key, in clear. */
    rc = seal_open_msg_in(key, sizeof key, v.mv_data, v.mv_size,
                          &relais__store__match_profile__descriptor, scratch, sizeof scratch,
                          (ProtobufCMessage **)&msg);
    if (rc == ENOSPC) {
        scratch_used = false;
        rc = seal_open_msg(key, sizeof key, v.mv_data, v.mv_size,
                           &relais__store__match_profile__descriptor, (ProtobufCMessage **)&msg);
    }
    if (rc == EBADMSG) {
        scratch_used = false;
        msg = relais__store__match_profile__unpack(NULL, v.mv_size, v.mv_data);
        rc = msg ? 0 : EBADMSG;
    }
    if (rc != 0)
        return rc;
    linkage_profile_from_msg(msg, out);
    if (!scratch_used)
        relais__store__match_profile__free_unpacked(msg, NULL);
    return 0;
}

/* Name agreement strong enough to link automatically.  Given names need
 * more than surnames: twins and siblings share the surname, and their
 * given names are often alike ("Noé" / "Noémie", "Louis" / "Louise",
 * Jaro-Winkler 0.88 to 0.92); that much similarity goes to review. */
static bool s_surname_ok(int level)
{
    return level <= LINKAGE_NAME_PHONETIC || level == LINKAGE_NAME_SWAPPED;
}

static bool s_given_ok(int level)
{
    return level <= LINKAGE_NAME_JW92 || level == LINKAGE_NAME_SWAPPED;
}

static bool s_date_ok(int level)
{
    return level >= LINKAGE_DATE_EXACT && level <= LINKAGE_DATE_MONTH1;
}

static void s_explain(identity_result_t *out, uint64_t id, double score,
                      const linkage_evidence_t ev[LINKAGE_NFIELDS])
{
    out->candidate_id = id;
    out->score = score;
    memcpy(out->evidence, ev, sizeof out->evidence);
}

static void s_possible(identity_result_t *out, uint64_t id, const char *code)
{
    out->verdict = IDENTITY_POSSIBLE;
    out->person_id = id;
    snprintf(out->code, sizeof out->code, "%s", code);
}

int identity_match(store_txn_t *t, const Relais__V1__Person *p, identity_result_t *out)
{
    linkage_profile_t q, c;
    s_keys_t ks = {.n = 0};
    s_cands_t cands = {0};
    uint64_t *linkable_ids = NULL;
    double tf_u[LINKAGE_NFIELDS];
    int rc;
    memset(out, 0, sizeof *out);
    for (int f = 0; f < LINKAGE_NFIELDS; f++)
        out->evidence[f].level = LINKAGE_MISSING;
    if (!s_key_set || !s_model)
        return EINVAL;
    if (s_profile_build(p, &q) != 0)
        return ENOMEM;
    uint64_t persons = 0;
    if ((rc = s_u64_get(t, "npersons", 8, &persons)) != 0)
        goto done;
    s_keys(&q, true, persons, &ks);
    if ((rc = s_candidates(t, &ks, sketch_of(&q), &cands)) != 0)
        goto done;
    /* Name frequencies count only for an exact name agreement: read them
     * (two look-ups, at a million persons two cold pages) on the first
     * candidate that has one. */
    bool tf_read = false;
    uint64_t q_given_count = UINT64_MAX; /* s_distinct_given */
    memset(tf_u, 0, sizeof tf_u);

    /* Thresholds on the posterior odds (linkage.h), as raw-score bounds. */
    const double prior = linkage_model_prior(s_model, (unsigned long)persons);
    const double upper = linkage_model_upper(s_model) - prior;
    const double lower = linkage_model_lower(s_model) - prior;
    out->prior = prior;
    size_t linkable = 0;
    uint64_t link_id = 0, ine_id = 0, best_id = 0;
    double link_score = 0, best_score = -1e9;
    bool best_ine_conflict = false;
    linkage_evidence_t ev[LINKAGE_NFIELDS], link_ev[LINKAGE_NFIELDS], best_ev[LINKAGE_NFIELDS];
    /* The best candidate set aside as another person (twins, siblings),
     * and why: a NEW verdict is explained by it when it scored highest. */
    uint64_t aside_id = 0;
    double aside_score = -1e9;
    const char *aside_why = NULL;
    linkage_evidence_t aside_ev[LINKAGE_NFIELDS];
    /* The linkable candidates, for the remembered review decisions. */
    linkable_ids = cands.n ? malloc(cands.n * sizeof *linkable_ids) : NULL;
    if (cands.n && !linkable_ids) {
        rc = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < cands.n; i++) {
        int level[LINKAGE_NFIELDS];
        rc = s_profile_get(t, cands.ids[i].id, &c);
        if (rc == MDB_NOTFOUND)
            continue; /* indexed without a profile: cannot happen; skip */
        if (rc != 0)
            goto done;
        linkage_compare(&q, &c, level);
        if (!tf_read && (level[LINKAGE_SURNAME] == LINKAGE_NAME_EXACT ||
                         level[LINKAGE_GIVEN] == LINKAGE_NAME_EXACT)) {
            if ((rc = s_tf(t, &q, persons, tf_u)) != 0)
                goto done;
            tf_read = true;
        }
        double score = linkage_score(s_model, level, tf_u, ev);
        out->candidates++;
        bool ine_agree = level[LINKAGE_INE] == LINKAGE_AGREE;
        bool ine_conflict = level[LINKAGE_INE] == LINKAGE_DISAGREE;
        if (ine_agree && !ine_id)
            ine_id = cands.ids[i].id;
        /* Twins and siblings: plainly different given names, or alike
         * ones that are two names. */
        bool distinct = false;
        if ((level[LINKAGE_GIVEN] == LINKAGE_NAME_JW88 ||
             level[LINKAGE_GIVEN] == LINKAGE_NAME_JW70) &&
            !ine_agree && (rc = s_distinct_given(t, &q, &c, persons, &q_given_count, &distinct)) != 0)
            goto done;
        if ((level[LINKAGE_GIVEN] == LINKAGE_NAME_OTHER || distinct) && !ine_agree) {
            if (score > aside_score) {
                aside_id = cands.ids[i].id;
                aside_score = score;
                aside_why = distinct ? "distinct_given_names" : "given_names_differ";
                memcpy(aside_ev, ev, sizeof ev);
            }
            continue;
        }
        if (score >= upper && s_surname_ok(level[LINKAGE_SURNAME]) &&
            s_given_ok(level[LINKAGE_GIVEN]) && s_date_ok(level[LINKAGE_BIRTH_DATE]) &&
            !ine_conflict) {
            linkable_ids[linkable] = cands.ids[i].id;
            if (!linkable || score > link_score) {
                link_id = cands.ids[i].id;
                link_score = score;
                memcpy(link_ev, ev, sizeof ev);
            }
            linkable++;
        }
        if (score > best_score) {
            best_score = score;
            best_id = cands.ids[i].id;
            best_ine_conflict = ine_conflict;
            memcpy(best_ev, ev, sizeof ev);
        }
    }

    /* Several could link: those the programme team said are not the best
     * one's person (identity_remember) no longer make it ambiguous. */
    if (linkable > 1) {
        size_t still = 1;
        for (size_t i = 0; rc == 0 && i < linkable; i++) {
            int same = 0;
            if (linkable_ids[i] == link_id)
                continue;
            rc = identity_pair(t, link_id, linkable_ids[i], &same);
            still += same >= 0;
        }
        if (rc != 0)
            goto done;
        if (still == 1)
            linkable = 1;
    }
    if (linkable == 1) {
        out->verdict = IDENTITY_SAME;
        out->person_id = link_id;
        s_explain(out, link_id, link_score, link_ev);
    } else if (linkable > 1) {
        s_possible(out, link_id, "possible_match");
        s_explain(out, link_id, link_score, link_ev);
    } else {
        if (best_id)
            s_explain(out, best_id, best_score, best_ev);
        if (ine_id && ine_id != best_id) {
            s_possible(out, ine_id, "same_ine");
        } else if (best_id && best_score >= lower) {
            s_possible(out, best_id,
                       best_ine_conflict ? "ine_conflict"
                       : ine_id          ? "same_ine"
                                         : "possible_match");
        } else if (ine_id) {
            s_possible(out, ine_id, "same_ine");
        }
        if (out->verdict == IDENTITY_NEW && aside_id && aside_score > best_score) {
            s_explain(out, aside_id, aside_score, aside_ev);
            snprintf(out->aside, sizeof out->aside, "%s", aside_why);
        }
    }
done:
    free(linkable_ids);
    free(cands.ids);
    return rc;
}

/* ---- remembered decisions ----------------------------------------------- */

/* 'x' + the two person ids, smaller first. */
static void s_pair_key(uint64_t a, uint64_t b, unsigned char out[17])
{
    out[0] = 'x';
    store_u64_encode(a < b ? a : b, out + 1);
    store_u64_encode(a < b ? b : a, out + 9);
}

int identity_remember(store_txn_t *t, uint64_t a, uint64_t b, bool same)
{
    unsigned char key[17];
    const char *v = same ? "same" : "different";
    s_pair_key(a, b, key);
    return store_put(t, STORE_LINKAGE, key, sizeof key, v, strlen(v), 0);
}

int identity_pair(store_txn_t *t, uint64_t a, uint64_t b, int *out)
{
    unsigned char key[17];
    MDB_val v;
    *out = 0;
    s_pair_key(a, b, key);
    int rc = store_get(t, STORE_LINKAGE, key, sizeof key, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0)
        *out = v.mv_size == 4 && memcmp(v.mv_data, "same", 4) == 0 ? 1 : -1;
    return rc;
}

/* ---- index -------------------------------------------------------------- */

/* An index entry: the person id, then its names' sketch (identity.h). */
static void s_entry(uint64_t person_id, const linkage_profile_t *prof,
                    unsigned char out[IDENTITY_ENTRY_LEN])
{
    store_u64_encode(person_id, out);
    store_u64_encode(sketch_seal(sketch_of(prof), person_id), out + 8);
}

int identity_index(store_txn_t *t, uint64_t person_id, const Relais__V1__Person *p)
{
    linkage_profile_t prof;
    s_keys_t ks = {.n = 0};
    unsigned char id[8], entry[IDENTITY_ENTRY_LEN], k[KEY_LEN];
    int rc;
    if (!s_key_set)
        return EINVAL;
    if (s_profile_build(p, &prof) != 0)
        return ENOMEM;
    store_u64_encode(person_id, id);
    s_entry(person_id, &prof, entry);
    s_keys(&prof, false, 0, &ks);
    for (size_t i = 0; i < ks.n; i++)
        if ((rc = store_put(t, STORE_IDENTITY, ks.k[i], KEY_LEN, entry, sizeof entry, 0)) != 0 &&
            rc != MDB_KEYEXIST)
            return rc;

    linkage_msg_hold_t hold;
    Relais__Store__MatchProfile msg;
    unsigned char pkey[9] = {'p'};
    memcpy(pkey + 1, id, 8);
    linkage_profile_to_msg(&prof, &hold, &msg);
    ProtobufCBinaryData sealed = {0, NULL};
    if ((rc = seal_msg(pkey, sizeof pkey, &msg.base, &sealed)) == 0)
        rc = store_put(t, STORE_LINKAGE, pkey, sizeof pkey, sealed.data, sealed.len, 0);
    free(sealed.data);
    if (rc != 0)
        return rc;

    /* Term frequencies: the surname as written, each given name. */
    s_freq_key('s', prof.surnames[0], k);
    if ((rc = s_u64_count(t, k, KEY_LEN, 1)) != 0)
        return rc;
    for (size_t i = 0; i < prof.n_given; i++) {
        s_freq_key('g', prof.given[i], k);
        if ((rc = s_u64_count(t, k, KEY_LEN, 1)) != 0)
            return rc;
    }
    return s_u64_count(t, "npersons", 8, 1);
}

int identity_forget(store_txn_t *t, uint64_t person_id)
{
    linkage_profile_t prof;
    s_keys_t ks = {.n = 0};
    unsigned char id[8], pkey[9] = {'p'};
    store_u64_encode(person_id, id);
    memcpy(pkey + 1, id, 8);
    int rc = s_profile_get(t, person_id, &prof);
    if (rc == MDB_NOTFOUND)
        return 0; /* forgotten already */
    if (rc != 0)
        return rc;
    unsigned char entry[IDENTITY_ENTRY_LEN];
    s_entry(person_id, &prof, entry);
    s_keys(&prof, false, 0, &ks);
    /* Entries written before sketches hold the id alone. */
    for (size_t i = 0; i < ks.n; i++)
        if (((rc = store_del(t, STORE_IDENTITY, ks.k[i], KEY_LEN, entry, sizeof entry)) != 0 &&
             rc != MDB_NOTFOUND) ||
            ((rc = store_del(t, STORE_IDENTITY, ks.k[i], KEY_LEN, id, 8)) != 0 &&
             rc != MDB_NOTFOUND))
            return rc;
    /* The name counts identity_index added. */
    unsigned char k[KEY_LEN];
    s_freq_key('s', prof.surnames[0], k);
    if ((rc = s_u64_count(t, k, KEY_LEN, -1)) != 0)
        return rc;
    for (size_t i = 0; i < prof.n_given; i++) {
        s_freq_key('g', prof.given[i], k);
        if ((rc = s_u64_count(t, k, KEY_LEN, -1)) != 0)
            return rc;
    }
    if ((rc = s_u64_count(t, "npersons", 8, -1)) != 0)
        return rc;
    return store_del(t, STORE_LINKAGE, pkey, sizeof pkey, NULL, 0);
}

/* ---- explanation record ------------------------------------------------- */

void identity_decision_msg(const identity_result_t *r, Relais__Store__MatchEvidence ev_hold[],
                           Relais__Store__MatchEvidence *ev_ptrs[],
                           Relais__Store__MatchDecision *out)
{
    static const char *const verdicts[] = {"new", "same", "possible"};
    relais__store__match_decision__init(out);
    out->verdict = (char *)verdicts[r->verdict];
    out->code = (char *)r->code;
    out->candidate_person_id = r->candidate_id;
    out->score = r->score;
    out->prior = r->prior;
    out->candidates = r->candidates;
    out->set_aside = (char *)r->aside;
    if (s_model) {
        out->upper = linkage_model_upper(s_model);
        out->lower = linkage_model_lower(s_model);
        out->model_version = (char *)linkage_model_version(s_model);
    }
    for (int f = 0; f < LINKAGE_NFIELDS; f++) {
        relais__store__match_evidence__init(&ev_hold[f]);
        ev_hold[f].field = (char *)linkage_field_name(f);
        ev_hold[f].level = (char *)linkage_level_name(f, r->evidence[f].level);
        ev_hold[f].weight = r->evidence[f].weight;
        ev_ptrs[f] = &ev_hold[f];
    }
    if (r->candidate_id) {
        out->n_evidence = LINKAGE_NFIELDS;
        out->evidence = ev_ptrs;
    }
}
