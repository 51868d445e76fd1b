/*  relais-bench — how fast does relais do the whole job, and against what?
 *
 *  A benchmark program, not a test: it prints figures, it asserts nothing
 *  and it is not run by ctest.  It answers issue 7's questions:
 *
 *    - Durable throughput: N client threads, each with its own DEALER
 *      socket and partner identity (bench-001 ...), each keeping W
 *      referrals in flight (send W, then one new request per reply; replies
 *      are matched by request_id).  Latency is measured from send to Ack
 *      (with --rate, from the moment the request was DUE, so a client that
 *      falls behind its schedule cannot hide the delay: no coordinated
 *      omission).
 *    - A realistic mix: ~70 % new young people, ~20 % a person already
 *      acknowledged, referred again by another partner with the spelling
 *      variations identity matching must see through (case, accents
 *      dropped, hyphen <-> space), ~10 % ineligible (too old, or on RSA).
 *      Each referral is ~400 bytes encoded: names, phone, email, address,
 *      referrer, notes.
 *    - --preload P: P new persons submitted first (64 clients x 16 in
 *      flight), timed separately, so matching runs against a big index.
 *    - The broker's cost: peak resident memory (VmHWM) and peak anonymous
 *      memory (RssAnon, sampled every 50 ms: LMDB's file-backed map pages
 *      are not in it), CPU seconds per 1,000 referrals (utime + stime from
 *      /proc/PID/stat over the measured phase), LMDB file size per person.
 *    - --compare-jetstream: the same count of 400-byte messages, same N and
 *      W, through Debian's nats-server (JetStream, file storage, its
 *      defaults) with the libnats C client: async publish with ack, at most
 *      W pending per client connection (jsOptions.PublishAsync.MaxPending),
 *      Nats-Msg-Id set on every message (dedup on).  NOT equivalent
 *      durability: JetStream acknowledges once the message is written to
 *      its file, before fsync (the file store syncs on an interval, 2 min
 *      by default), while relais acknowledges after LMDB's fsync'd commit.
 *    - --fsync-baseline: the machine's fsync-bound commit rate, a bare
 *      LMDB loop (one small put + commit, default sync) in the same
 *      directory tree as the broker's data: the ceiling for one client
 *      with W = 1, which cannot share a commit with anybody.
 *
 *  By default it starts the relais-broker built alongside
 *  (RELAIS_BROKER_BIN) on a temporary directory under --tmpdir (default
 *  /var/tmp: a real disk, where /tmp may be tmpfs and fsync free), on free
 *  127.0.0.1 ports, with a configuration generated from deploy/relais.conf:
 *  bench-001 ... partners added, an envelope and capacities large enough
 *  that no referral is waitlisted or overflows to the default structure,
 *  and a larger LMDB map (a million persons do not fit in 1 GiB).  With
 *  --partner-endpoint it drives a running broker instead, which must know
 *  the bench-NNN partners (and --broker-pid lets it read its memory/CPU).
 *
 *  Everything runs on this machine: the clients compete with the broker
 *  for the same cores, as they do for JetStream in comparison mode.
 */
#include "relais.pb-c.h"
#include "relais_client.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#ifdef RELAIS_BENCH_NATS
#include <nats/nats.h>
#endif

#define S_PRELOAD_CLIENTS 64
#define S_PRELOAD_WINDOW  16
#define S_STALL_MS        30000 /* no reply for this long: the run is broken */
#define S_MSG_BYTES       400   /* JetStream message size */
#define S_MAX_CLIENTS     999

/* --------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

typedef struct {
    int clients, window;
    uint64_t count, preload;
    double rate; /* total sends per second; 0: as fast as replies come */
    bool compare_jetstream, fsync_baseline, json, keep_data;
    const char *broker_bin, *partner_endpoint, *tmpdir, *nats_bin;
    pid_t broker_pid; /* a running broker's pid, for its memory and CPU */
    unsigned map_mib; /* LMDB map of the started broker */
} s_opts_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: relais-bench [options]\n"
            "  --clients N            concurrent clients, each its own DEALER and partner (64)\n"
            "  --window W             requests in flight per client (16)\n"
            "  --count M              referrals in the measured phase (20000)\n"
            "  --preload P            new persons submitted before measuring (0)\n"
            "  --rate R               cap total sends at R per second (0: no cap)\n"
            "  --compare-jetstream    also run M 400-byte messages through NATS JetStream\n"
            "  --fsync-baseline       also measure a bare LMDB put+commit loop\n"
            "  --json                 print one JSON object instead of the text report\n"
            "  --broker-bin PATH      relais-broker to start (default: the one built)\n"
            "  --partner-endpoint EP  drive a running broker instead of starting one\n"
            "  --broker-pid PID       with --partner-endpoint: its pid, for memory and CPU\n"
            "  --tmpdir DIR           where temporary data goes (/var/tmp: must be a disk)\n"
            "  --nats-server PATH     nats-server binary (/usr/sbin/nats-server)\n"
            "  --map-mib N            LMDB map size of the started broker (65536; valgrind\n"
            "                         cannot map that much: use 2048 under it)\n"
            "  --keep-data            keep the temporary directory\n");
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){.clients = 64,
                    .window = 16,
                    .count = 20000,
                    .broker_bin = RELAIS_BROKER_BIN,
                    .tmpdir = "/var/tmp",
                    .map_mib = 65536,
                    .nats_bin = "/usr/sbin/nats-server"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define S_VALUE()                                                                                  \
    do {                                                                                           \
        if (!v) {                                                                                  \
            fprintf(stderr, "relais-bench: %s needs a value\n", a);                                \
            return -1;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(a, "--clients")) {
            S_VALUE();
            o->clients = atoi(v);
        } else if (!strcmp(a, "--window")) {
            S_VALUE();
            o->window = atoi(v);
        } else if (!strcmp(a, "--count")) {
            S_VALUE();
            o->count = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--preload")) {
            S_VALUE();
            o->preload = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--rate")) {
            S_VALUE();
            o->rate = atof(v);
        } else if (!strcmp(a, "--map-mib")) {
            S_VALUE();
            o->map_mib = (unsigned)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--broker-bin")) {
            S_VALUE();
            o->broker_bin = v;
        } else if (!strcmp(a, "--partner-endpoint")) {
            S_VALUE();
            o->partner_endpoint = v;
        } else if (!strcmp(a, "--broker-pid")) {
            S_VALUE();
            o->broker_pid = (pid_t)atoi(v);
        } else if (!strcmp(a, "--tmpdir")) {
            S_VALUE();
            o->tmpdir = v;
        } else if (!strcmp(a, "--nats-server")) {
            S_VALUE();
            o->nats_bin = v;
        } else if (!strcmp(a, "--compare-jetstream")) {
            o->compare_jetstream = true;
        } else if (!strcmp(a, "--fsync-baseline")) {
            o->fsync_baseline = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--keep-data")) {
            o->keep_data = true;
        } else if (!strcmp(a, "--help")) {
            s_usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "relais-bench: unknown option %s\n", a);
            s_usage(stderr);
            return -1;
        }
#undef S_VALUE
    }
    if (o->clients < 1 || o->clients > S_MAX_CLIENTS || o->window < 1 || o->window > 1000 ||
        o->count < 1 || o->rate < 0) {
        fprintf(stderr,
                "relais-bench: need 1 <= clients <= %d, 1 <= window <= 1000, "
                "count >= 1, rate >= 0\n",
                S_MAX_CLIENTS);
        return -1;
    }
#ifndef RELAIS_BENCH_NATS
    if (o->compare_jetstream) {
        fprintf(stderr, "relais-bench: built without libnats: no --compare-jetstream\n");
        return -1;
    }
#endif
    return 0;
}

/* --------------------------------------------------------------------------
 * Small helpers: time, hashing, percentiles, /proc
 * ------------------------------------------------------------------------ */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t s_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL; /* splitmix64: cheap, deterministic, well spread */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the SORTED array V. */
static double s_pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

typedef struct {
    pid_t pid;
    pthread_t thread;
    atomic_bool stop;
    atomic_ullong anon_kib_peak; /* RssAnon, sampled */
} s_monitor_t;

/* Reads "KEY:  N kB" from /proc/PID/status; -1 when absent. */
static long long s_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    long long value = -1;
    size_t klen = strlen(key);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            value = atoll(line + klen + 1);
            break;
        }
    fclose(f);
    return value;
}

/* utime + stime of PID, in seconds; -1 when unreadable. */
static double s_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name (field 2) may hold spaces: count from its ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The 1-minute load average: the machine may be shared, and a figure
 * measured under load says so next to it. */
static double s_loadavg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

/* CPU seconds of this process (the clients), to read next to the broker's. */
static double s_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void *s_monitor_run(void *arg)
{
    s_monitor_t *m = arg;
    while (!atomic_load(&m->stop)) {
        long long anon = s_status_kib(m->pid, "RssAnon");
        if (anon > (long long)atomic_load(&m->anon_kib_peak))
            atomic_store(&m->anon_kib_peak, (unsigned long long)anon);
        usleep(50000);
    }
    return NULL;
}

static void s_monitor_start(s_monitor_t *m, pid_t pid)
{
    m->pid = pid;
    atomic_store(&m->stop, false);
    atomic_store(&m->anon_kib_peak, 0);
    if (pid > 0 && pthread_create(&m->thread, NULL, s_monitor_run, m) != 0)
        m->pid = 0;
}

static void s_monitor_stop(s_monitor_t *m)
{
    if (m->pid <= 0)
        return;
    atomic_store(&m->stop, true);
    pthread_join(m->thread, NULL);
    m->pid = 0; /* stopping twice is harmless */
}

/* A port the kernel says is free now (bind to port 0).  Another process
 * may take it before the broker binds: the caller retries on failure. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int s_rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* --------------------------------------------------------------------------
 * The people: deterministic, realistic, ~400 bytes encoded
 * ------------------------------------------------------------------------ */

static const char *s_last[] = {
    "Martin",    "Bernard",     "Da Silva-Costa", "Lefèvre", "Moreau",       "N'Diaye",
    "Girard",    "Rousseau",    "Benoît",         "Mercier", "Perrin-Roche", "Faure",
    "André",     "Chevalier",   "Lambert",        "Bonnet",  "François",     "Müller",
    "Legrand",   "Garnier",     "Fontaine-Écu",   "Roussel", "Henry",        "Bouchard",
    "Ben Ahmed", "Perret",      "Gauthier",       "Brunet",  "Blanchard",    "Guérin",
    "Boyer",     "Renaud",      "Le Gall",        "Barbier", "Arnaud",       "Giraud",
    "Roche",     "Dupré",       "Colin",          "Vidal",   "Caron",        "Picard",
    "Roger",     "Fabre",       "Aubert-Lemoine", "Lemoine", "Rey",          "Dumont",
    "Huet",      "Marchand",    "Noël",           "Jacquet", "Cordier",      "Sánchez",
    "Traoré",    "Hoarau",      "Collet",         "Prévost", "Carré",        "Moulin",
    "Lebrun",    "Charpentier", "Bégué",          "Tessier"};
static const char *s_first[] = {
    "Léa",     "Hélène",  "Jean-Baptiste", "Chloé",    "Inès",        "Mathéo",     "Zoé",
    "Noémie",  "Anaïs",   "Théo",          "Maëlys",   "Jérémy",      "Marie-Ange", "Yasmine",
    "Kévin",   "Océane",  "Mohamed",       "Amélie",   "Lucas",       "Emma",       "Nathan",
    "Sarah",   "Hugo",    "Manon",         "Enzo",     "Camille",     "Rayan",      "Clémence",
    "Bastien", "Aïcha",   "Loïc",          "Élodie",   "Adrien",      "Sofiane",    "Célia",
    "Benoît",  "Mélanie", "Jules",         "Justine",  "Aurélien",    "Maëva",      "Quentin",
    "Mélissa", "Dylan",   "Fatoumata",     "Grégoire", "Lina",        "Valentin",   "Éloïse",
    "Romain",  "Louna",   "Axel",          "Ambre",    "Gaëtan",      "Nour",       "Timothée",
    "Salomé",  "Ilyès",   "Capucine",      "Jérôme",   "Anne-Sophie", "Mathis",     "Héloïse",
    "Ethan"};
static const char *s_second[] = {"Marie",  "Pierre", "Claire", "Louis",
                                 "Sophie", "Paul",   "Anne",   "Joseph"};
static const char *s_quartier[] = {"Planoise", "Montrapon",  "Clairs-Soleils", "Battant",
                                   "Palente",  "Centre",     "Chaprais",       "Saint-Claude",
                                   "Orchamps", "Tilleroyes", "Bregille",       "Fontaine-Écu"};
static const Relais__V1__Need s_needs[] = {
    RELAIS__V1__NEED__NEED_HOUSING,    RELAIS__V1__NEED__NEED_HEALTH,
    RELAIS__V1__NEED__NEED_TRAINING,   RELAIS__V1__NEED__NEED_MOBILITY,
    RELAIS__V1__NEED__NEED_EMPLOYMENT, RELAIS__V1__NEED__NEED_CONFIDENCE};
#define S_N(a) (sizeof(a) / sizeof((a)[0]))

/* 64 x 64 last/first names x 2,550 birth days = 10,444,800 eligible
 * identities.  Person K maps to one of them through a multiplication by
 * a prime that divides none of the radix factors: a bijection, so two
 * persons never collide while K < that total. */
#define S_BIRTH_DAYS 2550u
#define S_IDENTITIES ((uint64_t)S_N(s_last) * S_N(s_first) * S_BIRTH_DAYS)

typedef enum { S_NEW = 0, S_REPEAT, S_INELIGIBLE } s_kind_t;

/* One referral with all of its storage (nothing on the heap). */
typedef struct {
    Relais__V1__Envelope env;
    Relais__V1__Referral r;
    Relais__V1__Person p;
    Relais__V1__Benefit benefits[1];
    Relais__V1__Need needs[3];
    char request_id[24], partner_ref[64], last[64], first[96], birth[11], phone[20], email[256],
        referrer_email[64], notes[400];
} s_ref_t;

static time_t s_today; /* fixed at start: a run that crosses midnight keeps its birth dates */

static void s_date_days_ago(unsigned days, char out[11])
{
    time_t t = s_today - (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Drops the accents of the Latin letters used above (UTF-8 2-byte forms),
 * optionally upper-cases and swaps hyphens and spaces: the variations a
 * second partner's software writes. */
static void s_vary(const char *in, char *out, size_t outlen, bool upper, bool swap_hyphen)
{
    static const char *from[] = {"é", "è", "ê", "ë", "à", "â", "ä", "î", "ï", "ô",
                                 "ö", "û", "ü", "ù", "ç", "É", "È", "Ê", "Ë", "À",
                                 "Â", "Î", "Ï", "Ô", "Û", "Ü", "Ç", "á"};
    static const char to[] = "eeeeaaaiioouuucEEEEAAIIOUUCa"; /* from[i] -> to[i] */
    _Static_assert(sizeof to - 1 == S_N(from), "one plain letter per accented one");
    size_t o = 0;
    while (*in && o + 1 < outlen) {
        char c = *in;
        size_t used = 1;
        for (size_t i = 0; i < S_N(from); i++)
            if (!strncmp(in, from[i], 2)) {
                c = to[i];
                used = 2;
                break;
            }
        if (swap_hyphen && (c == '-' || c == ' '))
            c = c == '-' ? ' ' : '-';
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        out[o++] = c;
        in += used;
    }
    out[o] = 0;
}

/* Fills REF for person K (KIND), as partner SENDER, request SEQ.  VARIANT
 * (repeats only: 1..3) picks the spelling variation. */
static void s_ref_fill(s_ref_t *ref, uint64_t run_id, char phase, const char *sender, int client,
                       uint64_t seq, uint64_t k, s_kind_t kind, int variant)
{
    uint64_t id = (k * 1000003ULL) % S_IDENTITIES;
    unsigned li = (unsigned)(id % S_N(s_last)), fi = (unsigned)(id / S_N(s_last) % S_N(s_first));
    unsigned day = (unsigned)(id / (S_N(s_last) * S_N(s_first)));
    uint64_t h = s_mix64(k);
    memset(ref, 0, sizeof *ref);
    relais__v1__envelope__init(&ref->env);
    relais__v1__referral__init(&ref->r);
    relais__v1__person__init(&ref->p);

    /* Eligible: 18 years and 10 days to 25 years and ~360 days old. */
    unsigned age_days = 6585 + day;
    if (kind == S_INELIGIBLE && h % 2 == 0)
        age_days = 30 * 365 + day; /* too old (and never equal to an eligible identity) */
    s_date_days_ago(age_days, ref->birth);

    const char *last = s_last[li], *first = s_first[fi];
    const char *second = s_second[h % S_N(s_second)];
    char first_full[96];
    snprintf(first_full, sizeof first_full, "%s %s", first, second);
    if (kind == S_REPEAT) {
        s_vary(last, ref->last, sizeof ref->last, variant == 1, variant == 3);
        s_vary(first_full, ref->first, sizeof ref->first, variant == 1, variant == 3);
    } else {
        snprintf(ref->last, sizeof ref->last, "%s", last);
        snprintf(ref->first, sizeof ref->first, "%s", first_full);
    }
    char ascii_last[64], ascii_first[64];
    s_vary(last, ascii_last, sizeof ascii_last, false, false);
    s_vary(first, ascii_first, sizeof ascii_first, false, false);
    for (char *c = ascii_last; *c; c++)
        if (*c == ' ' || *c == '\'')
            *c = '-';
    for (char *c = ascii_first; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    for (char *c = ascii_last; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');

    snprintf(ref->request_id, sizeof ref->request_id, "%llu", (unsigned long long)seq);
    /* Unique per run, phase (preload / measure), client and request: a
     * clash would be answered as a replay, which is not what is measured. */
    snprintf(ref->partner_ref, sizeof ref->partner_ref, "B%llx-%c%03d-%llu",
             (unsigned long long)run_id, phase, client + 1, (unsigned long long)seq);
    snprintf(ref->phone, sizeof ref->phone, "06 %02u %02u %02u %02u", (unsigned)(h % 100),
             (unsigned)(h / 100 % 100), (unsigned)(h / 10000 % 100), (unsigned)(h / 1000000 % 100));
    snprintf(ref->email, sizeof ref->email, "%s.%s%u@exemple.fr", ascii_first, ascii_last,
             (unsigned)(h % 97));
    snprintf(ref->referrer_email, sizeof ref->referrer_email, "referente.%s@partenaire.fr", sender);
    snprintf(ref->notes, sizeof ref->notes,
             "Jeune rencontré(e) lors d'une permanence : hébergé(e) chez un tiers depuis %u "
             "mois, sans ressources, souhaite reprendre une formation. Premier contact le %u.",
             (unsigned)(h % 11 + 1), (unsigned)(h % 28 + 1));

    ref->p.last_name = ref->last;
    ref->p.first_names = ref->first;
    ref->p.birth_date = ref->birth;
    ref->p.sex = (h >> 8) % 2 ? "F" : "M";
    ref->p.phone = ref->phone;
    ref->p.email = ref->email;
    ref->p.postcode = "25000";
    ref->p.city = "Besançon";
    ref->p.quartier = (char *)s_quartier[(h >> 16) % S_N(s_quartier)];

    ref->r.partner_ref = ref->partner_ref;
    ref->r.person = &ref->p;
    ref->benefits[0] = kind == S_INELIGIBLE && h % 2 == 1 ? RELAIS__V1__BENEFIT__BENEFIT_RSA
                                                          : RELAIS__V1__BENEFIT__BENEFIT_NONE;
    ref->r.n_benefits = 1;
    ref->r.benefits = ref->benefits;
    ref->r.resources_eur_month = (uint32_t)((h >> 24) % 250);
    for (unsigned i = 0; i < 3; i++)
        ref->needs[i] = s_needs[(h >> (32 + 4 * i)) % S_N(s_needs)];
    ref->r.n_needs = 2 + (h >> 48) % 2;
    ref->r.needs = ref->needs;
    ref->r.consent = true;
    ref->r.referrer_name = "Camille Martin, conseillère insertion";
    ref->r.referrer_email = ref->referrer_email;
    ref->r.notes = ref->notes;
    ref->r.referred_on = ""; /* the day the broker receives it */

    ref->env.version = 1;
    ref->env.request_id = ref->request_id;
    ref->env.sender = (char *)sender;
    ref->env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    ref->env.referral = &ref->r;
}

/* --------------------------------------------------------------------------
 * Persons already acknowledged: what repeats are drawn from
 * ------------------------------------------------------------------------ */

typedef struct {
    uint64_t k;
    int owner; /* the client that created it */
} s_known_t;

typedef struct {
    pthread_mutex_t lock;
    s_known_t *items;
    size_t n, cap;
} s_registry_t;

static void s_registry_add(s_registry_t *reg, uint64_t k, int owner)
{
    pthread_mutex_lock(&reg->lock);
    if (reg->n < reg->cap)
        reg->items[reg->n++] = (s_known_t){k, owner};
    pthread_mutex_unlock(&reg->lock);
}

static bool s_registry_pick(s_registry_t *reg, uint64_t r, s_known_t *out)
{
    bool found = false;
    pthread_mutex_lock(&reg->lock);
    if (reg->n) {
        *out = reg->items[r % reg->n];
        found = true;
    }
    pthread_mutex_unlock(&reg->lock);
    return found;
}

/* --------------------------------------------------------------------------
 * One phase against relais: N client threads
 * ------------------------------------------------------------------------ */

typedef struct {
    /* set by the caller */
    void *zctx;
    const char *endpoint;
    int clients, window;
    uint64_t count;
    double rate;
    bool preload; /* only new, eligible persons */
    uint64_t run_id;
    s_registry_t *registry;
    atomic_ullong *next_person;
    /* results */
    double elapsed;
    double *lat_ms; /* one per answered request */
    atomic_ullong n_lat;
    atomic_ullong acks, errors, accepted, merged, ineligible, review, other, replays, unexpected;
    atomic_ullong bytes_sent;
    atomic_int failed;
    double t0;
} s_phase_t;

typedef struct {
    double due;      /* send time, or the scheduled time with --rate */
    uint64_t person; /* for the registry on ACCEPTED */
    uint8_t kind;
    bool answered;
} s_sent_t;

typedef struct {
    s_phase_t *ph;
    int client;
    uint64_t quota;
    char sender[24];
} s_client_t;

static void s_client_reply(s_client_t *cl, s_sent_t *sent, uint64_t quota, const void *data,
                           size_t len, double now)
{
    s_phase_t *ph = cl->ph;
    Relais__V1__Envelope *e = relais__v1__envelope__unpack(NULL, len, data);
    if (!e) {
        atomic_fetch_add(&ph->errors, 1);
        return;
    }
    char *end = NULL;
    uint64_t seq = strtoull(e->request_id, &end, 10);
    if (!end || *end || seq >= quota || sent[seq].answered) {
        atomic_fetch_add(&ph->errors, 1);
        goto done;
    }
    s_sent_t *s = &sent[seq];
    s->answered = true;
    ph->lat_ms[atomic_fetch_add(&ph->n_lat, 1)] = (now - s->due) * 1000.0;
    if (e->body_case != RELAIS__V1__ENVELOPE__BODY_ACK) {
        if (atomic_fetch_add(&ph->errors, 1) < 5)
            fprintf(stderr, "relais-bench: %s answered %s\n", cl->sender,
                    e->body_case == RELAIS__V1__ENVELOPE__BODY_ERROR ? e->error->code : "?");
        goto done;
    }
    atomic_fetch_add(&ph->acks, 1);
    Relais__V1__Ack *ack = e->ack;
    if (ack->replay)
        atomic_fetch_add(&ph->replays, 1);
    s_kind_t expect_kind = (s_kind_t)s->kind;
    switch (ack->status) {
    case RELAIS__V1__ACK_STATUS__ACK_ACCEPTED:
        atomic_fetch_add(&ph->accepted, 1);
        if (expect_kind == S_NEW)
            s_registry_add(ph->registry, s->person, cl->client);
        else
            atomic_fetch_add(&ph->unexpected, 1);
        break;
    case RELAIS__V1__ACK_STATUS__ACK_MERGED:
        atomic_fetch_add(&ph->merged, 1);
        if (expect_kind != S_REPEAT)
            atomic_fetch_add(&ph->unexpected, 1);
        break;
    case RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE:
        atomic_fetch_add(&ph->ineligible, 1);
        if (expect_kind != S_INELIGIBLE)
            atomic_fetch_add(&ph->unexpected, 1);
        break;
    case RELAIS__V1__ACK_STATUS__ACK_REVIEW:
        /* Two generated people alike enough for the matcher to ask the
         * programme team (a random name and date can nearly repeat): the
         * right answer when it is unsure, not a wrong one. */
        atomic_fetch_add(&ph->review, 1);
        if (expect_kind == S_INELIGIBLE)
            atomic_fetch_add(&ph->unexpected, 1);
        break;
    default:
        atomic_fetch_add(&ph->other, 1);
        if (atomic_fetch_add(&ph->unexpected, 1) < 5)
            fprintf(stderr, "relais-bench: unexpected ack status %d (%s)\n", (int)ack->status,
                    ack->n_reasons ? ack->reasons[0]->code : "");
        break;
    }
done:
    relais__v1__envelope__free_unpacked(e, NULL);
}

static void *s_client_run(void *arg)
{
    s_client_t *cl = arg;
    s_phase_t *ph = cl->ph;
    s_sent_t *sent = calloc(cl->quota ? cl->quota : 1, sizeof *sent);
    void *sock = zmq_socket(ph->zctx, ZMQ_DEALER);
    s_ref_t *ref = malloc(sizeof *ref);
    uint8_t buf[4096];
    int linger = 0, hwm = 100000;
    if (!sent || !sock || !ref) {
        fprintf(stderr, "relais-bench: client %d: out of memory or sockets\n", cl->client);
        atomic_store(&ph->failed, 1);
        goto cleanup;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(sock, ph->endpoint) != 0) {
        fprintf(stderr, "relais-bench: connect %s: %s\n", ph->endpoint, zmq_strerror(errno));
        atomic_store(&ph->failed, 1);
        goto cleanup;
    }
    /* Per-client share of --rate: request I is due at t0 + I / share. */
    double share = ph->rate > 0 ? ph->rate / ph->clients : 0;
    uint64_t next = 0, done = 0, inflight = 0;
    double last_progress = s_now();
    while (done < cl->quota && !atomic_load(&ph->failed)) {
        double now = s_now();
        while (inflight < (uint64_t)ph->window && next < cl->quota) {
            double due = share > 0 ? ph->t0 + (double)next / share : now;
            if (due > now)
                break;
            /* What to send: the mix, drawn from a hash so a run is
             * reproducible whatever the thread scheduling. */
            uint64_t h = s_mix64(((uint64_t)cl->client << 40) ^ next ^ (ph->run_id << 20));
            unsigned pick = (unsigned)(h % 100);
            s_kind_t kind = ph->preload || pick < 70 ? S_NEW : pick < 90 ? S_REPEAT : S_INELIGIBLE;
            const char *sender = cl->sender;
            uint64_t k = 0;
            s_known_t known;
            if (kind == S_REPEAT && s_registry_pick(ph->registry, h >> 8, &known)) {
                k = known.k;
                /* Another partner than the one who first referred: this
                 * client when it was not the first; else its neighbour;
                 * with one client, a partner of the stock configuration. */
                if (known.owner == cl->client)
                    sender = ph->clients > 1 ? NULL : "mission-locale";
                if (!sender) {
                    static _Thread_local char other[24];
                    snprintf(other, sizeof other, "bench-%03d", (cl->client + 1) % ph->clients + 1);
                    sender = other;
                }
            } else if (kind == S_REPEAT) {
                kind = S_NEW; /* nobody known yet */
            }
            if (kind != S_REPEAT)
                k = atomic_fetch_add(ph->next_person, 1);
            s_ref_fill(ref, ph->run_id, ph->preload ? 'P' : 'M', sender, cl->client, next, k, kind,
                       (int)(h >> 60) % 3 + 1);
            size_t len = relais__v1__envelope__get_packed_size(&ref->env);
            if (len > sizeof buf) {
                fprintf(stderr, "relais-bench: referral of %zu bytes\n", len);
                atomic_store(&ph->failed, 1);
                break;
            }
            relais__v1__envelope__pack(&ref->env, buf);
            sent[next] =
                (s_sent_t){.due = share > 0 ? due : s_now(), .person = k, .kind = (uint8_t)kind};
            if (zmq_send(sock, buf, len, 0) < 0) {
                fprintf(stderr, "relais-bench: send: %s\n", zmq_strerror(errno));
                atomic_store(&ph->failed, 1);
                break;
            }
            atomic_fetch_add(&ph->bytes_sent, len);
            next++;
            inflight++;
        }
        /* Wait for replies; with --rate, no longer than the next due time. */
        long timeout_ms = 1000;
        if (share > 0 && next < cl->quota && inflight < (uint64_t)ph->window) {
            double wait = ph->t0 + (double)next / share - s_now();
            timeout_ms = wait <= 0 ? 0 : (long)(wait * 1000.0) + 1;
            if (timeout_ms > 1000)
                timeout_ms = 1000;
        }
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, timeout_ms);
        if (rc < 0 && errno != EINTR) {
            atomic_store(&ph->failed, 1);
            break;
        }
        for (;;) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            now = s_now();
            s_client_reply(cl, sent, cl->quota, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
            zmq_msg_close(&msg);
            done++;
            inflight--;
            last_progress = now;
        }
        if (inflight && s_now() - last_progress > S_STALL_MS / 1000.0) {
            fprintf(stderr, "relais-bench: %s: no reply for %d s, %llu in flight: giving up\n",
                    cl->sender, S_STALL_MS / 1000, (unsigned long long)inflight);
            atomic_store(&ph->failed, 1);
        }
    }
cleanup:
    if (sock)
        zmq_close(sock);
    free(ref);
    free(sent);
    return NULL;
}

/* Runs one phase: PH->count requests over PH->clients threads.  Returns 0,
 * or -1 when a client failed (the figures are then meaningless). */
static int s_phase_run(s_phase_t *ph)
{
    int rc = -1;
    s_client_t *cls = calloc((size_t)ph->clients, sizeof *cls);
    pthread_t *threads = calloc((size_t)ph->clients, sizeof *threads);
    ph->lat_ms = malloc(ph->count * sizeof *ph->lat_ms);
    int started = 0;
    if (!cls || !threads || !ph->lat_ms)
        goto cleanup;
    ph->t0 = s_now();
    for (int c = 0; c < ph->clients; c++) {
        cls[c].ph = ph;
        cls[c].client = c;
        cls[c].quota =
            ph->count / (uint64_t)ph->clients + ((uint64_t)c < ph->count % (uint64_t)ph->clients);
        snprintf(cls[c].sender, sizeof cls[c].sender, "bench-%03d", c + 1);
        if (pthread_create(&threads[c], NULL, s_client_run, &cls[c]) != 0) {
            atomic_store(&ph->failed, 1);
            break;
        }
        started++;
    }
    for (int c = 0; c < started; c++)
        pthread_join(threads[c], NULL);
    ph->elapsed = s_now() - ph->t0;
    rc = atomic_load(&ph->failed) ? -1 : 0;
cleanup:
    free(cls);
    free(threads);
    return rc;
}

/* --------------------------------------------------------------------------
 * The broker under test
 * ------------------------------------------------------------------------ */

typedef struct {
    char dir[512], data[600], log[600], config[600];
    char partner_ep[64], coordinator_ep[64];
    pid_t pid;
} s_broker_t;

static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto done;
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = 0;
done:
    fclose(f);
    return buf;
}

/* Writes the bench configuration: deploy/relais.conf with PARTNERS extra
 * partners bench-001..., an envelope no run can spend (5,000 EUR... x
 * 16 million young people), every capacity at 10 million (routing always
 * finds room in the quartier's structure) and a 64 GiB LMDB map (sparse:
 * the file grows only as written; a million persons need more than the
 * stock 1 GiB).  Everything else as shipped. */
static int s_write_config(const char *path, int partners, unsigned map_mib)
{
    int rc = -1;
    char *text = s_read_file(RELAIS_SOURCE_DIR "/deploy/relais.conf");
    FILE *f = NULL;
    if (!text) {
        fprintf(stderr, "relais-bench: cannot read %s/deploy/relais.conf\n", RELAIS_SOURCE_DIR);
        return -1;
    }
    const char *anchors[] = {"envelope_eur = ", "map_size_mib = ", "partners = (\n"};
    for (size_t i = 0; i < S_N(anchors); i++)
        if (!strstr(text, anchors[i])) {
            fprintf(stderr, "relais-bench: relais.conf has no \"%s\": update s_write_config\n",
                    anchors[i]);
            goto cleanup;
        }
    f = fopen(path, "w");
    if (!f)
        goto cleanup;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        const char *ind = p;
        while (*ind == ' ')
            ind++;
        int indent = (int)(ind - p);
        if (!strncmp(ind, "envelope_eur = ", 15))
            fprintf(f, "%*senvelope_eur = 100000000000L;\n", indent, "");
        else if (!strncmp(ind, "map_size_mib = ", 15))
            fprintf(f, "%*smap_size_mib = %u;\n", indent, "", map_mib);
        else if (!strncmp(ind, "capacity = ", 11))
            fprintf(f, "%*scapacity = 10000000; }%s\n", indent, "", strstr(ind, "},") ? "," : "");
        else {
            fwrite(p, 1, len, f);
            if (!strncmp(p, "partners = (\n", 13))
                for (int i = 1; i <= partners; i++)
                    fprintf(f,
                            "  { id = \"bench-%03d\"; kind = \"other\"; "
                            "name = \"relais-bench client %d\"; },\n",
                            i, i);
        }
        p += len;
    }
    rc = ferror(f) ? -1 : 0;
cleanup:
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

/* True once the broker answers a FetchEvents as a stock partner. */
static bool s_broker_answers(const char *endpoint)
{
    char err[128];
    relais_client_t *c = relais_client_new(endpoint, "mission-locale", err, sizeof err);
    if (!c)
        return false;
    relais_client_set_timeout(c, 200, 1);
    Relais__V1__Envelope *reply = NULL;
    int rc = relais_client_fetch_events(c, UINT64_MAX - 1, 1, &reply);
    if (reply)
        relais__v1__envelope__free_unpacked(reply, NULL);
    relais_client_destroy(&c);
    return rc == RELAIS_OK || rc == RELAIS_EBROKER;
}

static int s_broker_start(s_broker_t *b, const s_opts_t *o)
{
    snprintf(b->dir, sizeof b->dir, "%s/relais-bench-XXXXXX", o->tmpdir);
    if (!mkdtemp(b->dir)) {
        fprintf(stderr, "relais-bench: mkdtemp in %s: %s\n", o->tmpdir, strerror(errno));
        return -1;
    }
    snprintf(b->data, sizeof b->data, "%s/data", b->dir);
    snprintf(b->log, sizeof b->log, "%s/broker.log", b->dir);
    snprintf(b->config, sizeof b->config, "%s/relais.conf", b->dir);
    int partners = o->clients > S_PRELOAD_CLIENTS ? o->clients : S_PRELOAD_CLIENTS;
    if (s_write_config(b->config, partners, o->map_mib) != 0)
        return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        snprintf(b->partner_ep, sizeof b->partner_ep, "tcp://127.0.0.1:%d", s_free_port());
        snprintf(b->coordinator_ep, sizeof b->coordinator_ep, "tcp://127.0.0.1:%d", s_free_port());
        b->pid = fork();
        if (b->pid < 0)
            return -1;
        if (b->pid == 0) {
            int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, 2);
                close(fd);
            }
            execl(o->broker_bin, "relais-broker", "--config", b->config, "--data", b->data,
                  "--partner-endpoint", b->partner_ep, "--coordinator-endpoint", b->coordinator_ep,
                  /* Plain transport: this measures the broker's work, not
                   * CurveZMQ's encryption (README, Performance). */
                  "--insecure-dev", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 100; i++) {
            int status;
            if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
                b->pid = 0;
                break; /* died: port taken, bad config...: try again */
            }
            if (s_broker_answers(b->partner_ep))
                return 0;
        }
        if (b->pid) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
            b->pid = 0;
        }
    }
    fprintf(stderr, "relais-bench: the broker would not start (log: %s)\n", b->log);
    return -1;
}

static void s_broker_stop(s_broker_t *b)
{
    if (b->pid > 0) {
        int status;
        kill(b->pid, SIGTERM);
        waitpid(b->pid, &status, 0);
        b->pid = 0;
    }
}

/* --------------------------------------------------------------------------
 * The fsync baseline: one put + one commit per iteration, default sync
 * ------------------------------------------------------------------------ */

static int s_fsync_baseline(const char *parent, const char *name, double seconds,
                            double *commits_per_s)
{
    char dir[600];
    int rc = -1;
    MDB_env *env = NULL;
    snprintf(dir, sizeof dir, "%s/%s", parent, name);
    if (mkdir(dir, 0700) != 0 || mdb_env_create(&env) != 0 ||
        mdb_env_set_mapsize(env, 64u << 20) != 0 || mdb_env_open(env, dir, 0, 0600) != 0)
        goto cleanup;
    uint64_t n = 0;
    char value[100] = {0};
    double t0 = s_now(), elapsed = 0;
    while (elapsed < seconds) {
        MDB_txn *txn;
        MDB_dbi dbi;
        MDB_val k = {sizeof n, &n}, v = {sizeof value, value};
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            goto cleanup;
        if (mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_put(txn, dbi, &k, &v, 0) != 0) {
            mdb_txn_abort(txn);
            goto cleanup;
        }
        if (mdb_txn_commit(txn) != 0)
            goto cleanup;
        n++;
        elapsed = s_now() - t0;
    }
    *commits_per_s = (double)n / elapsed;
    rc = 0;
cleanup:
    if (env)
        mdb_env_close(env);
    return rc;
}

/* --------------------------------------------------------------------------
 * JetStream comparison
 * ------------------------------------------------------------------------ */

#ifdef RELAIS_BENCH_NATS
typedef struct {
    double *t_sent;
    double *lat_ms;
    atomic_ullong *n_lat;
    atomic_ullong acked, errors, dups;
} s_js_client_t;

typedef struct {
    const char *url;
    int clients, window;
    uint64_t count;
    const uint8_t *payload;
    s_js_client_t *cl;
    double *lat_ms;
    atomic_ullong n_lat;
    atomic_int failed;
} s_js_phase_t;

typedef struct {
    s_js_phase_t *ph;
    int client;
    uint64_t quota;
} s_js_arg_t;

/* Runs on libnats's own thread: one call per PubAck (or error). */
static void s_js_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    s_js_client_t *cl = closure;
    double now = s_now();
    const char *id = NULL;
    if (pa && natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) {
        const char *dash = strrchr(id, '-');
        uint64_t seq = strtoull(dash ? dash + 1 : id, NULL, 10);
        cl->lat_ms[atomic_fetch_add(cl->n_lat, 1)] = (now - cl->t_sent[seq]) * 1000.0;
        atomic_fetch_add(&cl->acked, 1);
        if (pa->Duplicate)
            atomic_fetch_add(&cl->dups, 1);
    } else {
        if (atomic_fetch_add(&cl->errors, 1) < 3)
            fprintf(stderr, "relais-bench: JetStream publish error: %s\n",
                    pae && pae->ErrText ? pae->ErrText : "?");
    }
    natsMsg_Destroy(msg);
}

static void *s_js_client_run(void *arg)
{
    s_js_arg_t *a = arg;
    s_js_phase_t *ph = a->ph;
    s_js_client_t *cl = &ph->cl[a->client];
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    char subj[32], id[48];
    cl->t_sent = calloc(a->quota ? a->quota : 1, sizeof *cl->t_sent);
    if (!cl->t_sent || natsConnection_ConnectTo(&nc, ph->url) != NATS_OK)
        goto fail;
    jsOptions_Init(&jo);
    /* W in flight per client: the library blocks the next publish while W
     * are unacknowledged (MaxPending), for up to StallWait. */
    jo.PublishAsync.MaxPending = ph->window;
    jo.PublishAsync.StallWait = S_STALL_MS;
    jo.PublishAsync.AckHandler = s_js_ack;
    jo.PublishAsync.AckHandlerClosure = cl;
    if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK)
        goto fail;
    snprintf(subj, sizeof subj, "bench.%03d", a->client + 1);
    for (uint64_t i = 0; i < a->quota && !atomic_load(&ph->failed); i++) {
        natsMsg *msg = NULL;
        snprintf(id, sizeof id, "%03d-%llu", a->client + 1, (unsigned long long)i);
        if (natsMsg_Create(&msg, subj, NULL, (const char *)ph->payload, S_MSG_BYTES) != NATS_OK ||
            natsMsgHeader_Set(msg, "Nats-Msg-Id", id) != NATS_OK)
            goto fail;
        cl->t_sent[i] = s_now();
        natsStatus s = js_PublishMsgAsync(js, &msg, NULL);
        if (s != NATS_OK) {
            natsMsg_Destroy(msg);
            fprintf(stderr, "relais-bench: js_PublishMsgAsync: %s\n", natsStatus_GetText(s));
            goto fail;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = S_STALL_MS;
    if (js_PublishAsyncComplete(js, &po) != NATS_OK)
        goto fail;
    goto done;
fail:
    atomic_store(&ph->failed, 1);
done:
    if (js)
        jsCtx_Destroy(js);
    if (nc) {
        natsConnection_Close(nc);
        natsConnection_Destroy(nc);
    }
    return NULL;
}

typedef struct {
    double acks_per_s, p50, p99, p999, rss_mib, cpu_per_1000;
    uint64_t acked, errors, dups;
} s_js_result_t;

static int s_jetstream(const s_opts_t *o, const char *parent, const uint8_t *payload,
                       s_js_result_t *res)
{
    int rc = -1, port = s_free_port();
    char dir[600], log[600], portstr[16], url[64];
    pid_t pid = -1;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    s_js_phase_t ph = {.clients = o->clients,
                       .window = o->window,
                       .count = o->count,
                       .payload = payload,
                       .url = url};
    s_js_arg_t *args = NULL;
    pthread_t *threads = NULL;
    int started = 0;
    s_monitor_t mon = {0};
    snprintf(dir, sizeof dir, "%s/jetstream", parent);
    snprintf(log, sizeof log, "%s/nats-server.log", parent);
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    if (nats_Open(-1) != NATS_OK)
        return -1;
    pid = fork();
    if (pid < 0)
        goto cleanup;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        /* JetStream with file storage in our directory; every other
         * setting (sync interval included) is nats-server's default. */
        execl(o->nats_bin, "nats-server", "-js", "-sd", dir, "-a", "127.0.0.1", "-p", portstr,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && natsConnection_ConnectTo(&nc, url) != NATS_OK; i++)
        usleep(100000);
    if (!nc) {
        fprintf(stderr, "relais-bench: nats-server did not start (log: %s)\n", log);
        goto cleanup;
    }
    jsStreamConfig sc;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    const char *subjects[] = {"bench.>"};
    jsStreamConfig_Init(&sc);
    sc.Name = "BENCH";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage; /* Duplicates window: the default (2 min) */
    if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
        js_AddStream(&si, js, &sc, NULL, &jerr) != NATS_OK) {
        fprintf(stderr, "relais-bench: cannot create the JetStream stream (%d)\n", (int)jerr);
        goto cleanup;
    }
    jsStreamInfo_Destroy(si);

    ph.cl = calloc((size_t)o->clients, sizeof *ph.cl);
    ph.lat_ms = malloc(o->count * sizeof *ph.lat_ms);
    args = calloc((size_t)o->clients, sizeof *args);
    threads = calloc((size_t)o->clients, sizeof *threads);
    if (!ph.cl || !ph.lat_ms || !args || !threads)
        goto cleanup;
    s_monitor_start(&mon, pid);
    double cpu0 = s_cpu_seconds(pid), t0 = s_now();
    for (int c = 0; c < o->clients; c++) {
        ph.cl[c].lat_ms = ph.lat_ms;
        ph.cl[c].n_lat = &ph.n_lat;
        args[c] = (s_js_arg_t){&ph, c,
                               o->count / (uint64_t)o->clients +
                                   ((uint64_t)c < o->count % (uint64_t)o->clients)};
        if (pthread_create(&threads[c], NULL, s_js_client_run, &args[c]) != 0)
            break;
        started++;
    }
    for (int c = 0; c < started; c++)
        pthread_join(threads[c], NULL);
    double elapsed = s_now() - t0, cpu1 = s_cpu_seconds(pid);
    s_monitor_stop(&mon);
    if (started < o->clients || atomic_load(&ph.failed))
        goto cleanup;
    memset(res, 0, sizeof *res);
    for (int c = 0; c < o->clients; c++) {
        res->acked += atomic_load(&ph.cl[c].acked);
        res->errors += atomic_load(&ph.cl[c].errors);
        res->dups += atomic_load(&ph.cl[c].dups);
    }
    size_t n = (size_t)atomic_load(&ph.n_lat);
    qsort(ph.lat_ms, n, sizeof *ph.lat_ms, s_cmp_double);
    res->acks_per_s = (double)res->acked / elapsed;
    res->p50 = s_pct(ph.lat_ms, n, 50);
    res->p99 = s_pct(ph.lat_ms, n, 99);
    res->p999 = s_pct(ph.lat_ms, n, 99.9);
    res->rss_mib = (double)s_status_kib(pid, "VmHWM") / 1024.0;
    res->cpu_per_1000 = (cpu1 - cpu0) / (double)res->acked * 1000.0;
    rc = 0;
cleanup:
    if (js)
        jsCtx_Destroy(js);
    if (nc) {
        natsConnection_Close(nc);
        natsConnection_Destroy(nc);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    if (ph.cl)
        for (int c = 0; c < o->clients; c++)
            free(ph.cl[c].t_sent);
    free(ph.cl);
    free(ph.lat_ms);
    free(args);
    free(threads);
    nats_Close();
    return rc;
}
#endif

/* --------------------------------------------------------------------------
 * main: preload, measure, compare, report
 * ------------------------------------------------------------------------ */

static void s_phase_init(s_phase_t *ph, void *zctx, const char *ep, uint64_t run_id,
                         s_registry_t *reg, atomic_ullong *next_person)
{
    memset(ph, 0, sizeof *ph);
    ph->zctx = zctx;
    ph->endpoint = ep;
    ph->run_id = run_id;
    ph->registry = reg;
    ph->next_person = next_person;
}

int main(int argc, char **argv)
{
    s_opts_t o;
    s_broker_t b = {0};
    s_registry_t reg = {.lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_ullong next_person = 0;
    s_phase_t pre, ph;
    s_monitor_t mon = {0};
    void *zctx = NULL;
    int rc = 1;
    char workdir[512] = "";
    memset(&pre, 0, sizeof pre);
    memset(&ph, 0, sizeof ph);
    if (s_parse(argc, argv, &o) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    s_today = time(NULL);
    uint64_t run_id = (uint64_t)s_today ^ ((uint64_t)getpid() << 32);

    const char *endpoint = o.partner_endpoint;
    pid_t broker_pid = o.broker_pid;
    if (!endpoint) {
        if (s_broker_start(&b, &o) != 0)
            goto cleanup;
        endpoint = b.partner_ep;
        broker_pid = b.pid;
        snprintf(workdir, sizeof workdir, "%s", b.dir);
    } else if (o.fsync_baseline || o.compare_jetstream) {
        snprintf(workdir, sizeof workdir, "%s/relais-bench-XXXXXX", o.tmpdir);
        if (!mkdtemp(workdir)) {
            fprintf(stderr, "relais-bench: mkdtemp: %s\n", strerror(errno));
            workdir[0] = 0;
            goto cleanup;
        }
    }
    reg.cap = o.preload + o.count + 1;
    reg.items = malloc(reg.cap * sizeof *reg.items);
    zctx = zmq_ctx_new();
    if (!reg.items || !zctx)
        goto cleanup;
    s_monitor_start(&mon, broker_pid);
    double load_before = s_loadavg();

    /* The fsync baseline runs before AND after the measured phase: on a
     * shared virtual disk the rate drifts, and the mean of the two is the
     * fairest figure to hold a W = 1 run against. */
    double fsync_before = NAN, fsync_after = NAN, fsync_rate = NAN;
    if (o.fsync_baseline && s_fsync_baseline(workdir, "fsync-before", 3.0, &fsync_before) != 0) {
        fprintf(stderr, "relais-bench: the LMDB fsync baseline failed in %s\n", workdir);
        goto cleanup;
    }

    if (o.preload) {
        s_phase_init(&pre, zctx, endpoint, run_id, &reg, &next_person);
        pre.clients = S_PRELOAD_CLIENTS;
        pre.window = S_PRELOAD_WINDOW;
        pre.count = o.preload;
        pre.preload = true;
        if (!o.json)
            fprintf(stderr, "relais-bench: preloading %llu persons...\n",
                    (unsigned long long)o.preload);
        if (s_phase_run(&pre) != 0)
            goto cleanup;
    }

    s_phase_init(&ph, zctx, endpoint, run_id, &reg, &next_person);
    ph.clients = o.clients;
    ph.window = o.window;
    ph.count = o.count;
    ph.rate = o.rate;
    double cpu0 = broker_pid > 0 ? s_cpu_seconds(broker_pid) : -1, self0 = s_self_cpu();
    if (s_phase_run(&ph) != 0)
        goto cleanup;
    double cpu1 = broker_pid > 0 ? s_cpu_seconds(broker_pid) : -1, self1 = s_self_cpu();
    double load_after = s_loadavg();
    s_monitor_stop(&mon);

    /* Figures of the measured phase. */
    size_t n = (size_t)atomic_load(&ph.n_lat);
    qsort(ph.lat_ms, n, sizeof *ph.lat_ms, s_cmp_double);
    uint64_t acks = atomic_load(&ph.acks);
    double acks_per_s = (double)acks / ph.elapsed;
    double p50 = s_pct(ph.lat_ms, n, 50), p99 = s_pct(ph.lat_ms, n, 99),
           p999 = s_pct(ph.lat_ms, n, 99.9);
    double hwm_mib = broker_pid > 0 ? (double)s_status_kib(broker_pid, "VmHWM") / 1024.0 : NAN;
    double anon_mib = broker_pid > 0 ? (double)atomic_load(&mon.anon_kib_peak) / 1024.0 : NAN;
    double cpu_per_1000 = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / (double)acks * 1000.0 : NAN;
    uint64_t persons = atomic_load(&pre.accepted) + atomic_load(&ph.accepted);
    double mdb_bytes = NAN;
    if (!o.partner_endpoint) {
        char path[700];
        struct stat st;
        snprintf(path, sizeof path, "%s/data.mdb", b.data);
        if (stat(path, &st) == 0)
            mdb_bytes = (double)st.st_size;
    }
    double bytes_per_person = persons ? mdb_bytes / (double)persons : NAN;
    double mean_size = (double)atomic_load(&ph.bytes_sent) / (double)ph.count;

    /* The broker has done its part: the baseline and JetStream get the
     * machine to themselves. */
    s_broker_stop(&b);
    if (o.fsync_baseline) {
        if (s_fsync_baseline(workdir, "fsync-after", 3.0, &fsync_after) != 0) {
            fprintf(stderr, "relais-bench: the LMDB fsync baseline failed in %s\n", workdir);
            goto cleanup;
        }
        fsync_rate = (fsync_before + fsync_after) / 2;
    }
    double client_cpu_per_1000 = (self1 - self0) / (double)acks * 1000.0;

#ifdef RELAIS_BENCH_NATS
    double js_rate = NAN, ratio = NAN;
    s_js_result_t js = {0};
    if (o.compare_jetstream) {
        /* The same kind of bytes: a referral as relais receives it, padded
         * (or cut) to exactly 400 bytes. */
        s_ref_t ref;
        uint8_t payload[S_MSG_BYTES + 4096] = {0};
        s_ref_fill(&ref, run_id, 'J', "bench-001", 0, 0, 0, S_NEW, 0);
        relais__v1__envelope__pack(&ref.env, payload);
        if (s_jetstream(&o, workdir, payload, &js) != 0) {
            fprintf(stderr, "relais-bench: the JetStream comparison failed\n");
            goto cleanup;
        }
        js_rate = js.acks_per_s;
        ratio = acks_per_s / js_rate;
    }
#endif

    if (o.json) {
        printf("{\"clients\": %d, \"window\": %d, \"count\": %llu, \"preload\": %llu, "
               "\"rate\": %.0f, \"preload_s\": %.3f, \"preload_acks_per_s\": %.1f, "
               "\"acks\": %llu, \"errors\": %llu, \"unexpected\": %llu, \"review\": %llu, "
               "\"elapsed_s\": %.3f, "
               "\"acks_per_s\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
               "\"rss_mib\": %.1f, \"anon_rss_mib\": %.1f, \"cpu_s_per_1000\": %.4f, "
               "\"lmdb_bytes_per_person\": %.0f, \"persons\": %llu, "
               "\"mean_request_bytes\": %.0f, \"client_cpu_s_per_1000\": %.4f, "
               "\"loadavg_before\": %.2f, \"loadavg_after\": %.2f",
               o.clients, o.window, (unsigned long long)o.count, (unsigned long long)o.preload,
               o.rate, pre.elapsed, o.preload ? (double)atomic_load(&pre.acks) / pre.elapsed : 0.0,
               (unsigned long long)acks, (unsigned long long)atomic_load(&ph.errors),
               (unsigned long long)atomic_load(&ph.unexpected),
               (unsigned long long)atomic_load(&ph.review), ph.elapsed, acks_per_s, p50, p99,
               p999, hwm_mib, anon_mib, cpu_per_1000, bytes_per_person, (unsigned long long)persons,
               mean_size, client_cpu_per_1000, load_before, load_after);
        if (o.fsync_baseline)
            printf(", \"fsync_commits_per_s\": %.1f, \"fsync_before\": %.1f, "
                   "\"fsync_after\": %.1f, \"vs_fsync\": %.3f",
                   fsync_rate, fsync_before, fsync_after, acks_per_s / fsync_rate);
#ifdef RELAIS_BENCH_NATS
        if (o.compare_jetstream)
            printf(", \"jetstream_acks_per_s\": %.1f, \"jetstream_p50_ms\": %.3f, "
                   "\"jetstream_p99_ms\": %.3f, \"jetstream_p999_ms\": %.3f, "
                   "\"jetstream_rss_mib\": %.1f, \"jetstream_cpu_s_per_1000\": %.4f, "
                   "\"ratio\": %.3f, \"jetstream_acks_before_fsync\": true",
                   js_rate, js.p50, js.p99, js.p999, js.rss_mib, js.cpu_per_1000, ratio);
#endif
        printf("}\n");
    } else {
        printf("relais-bench: N=%d clients, W=%d in flight each, M=%llu referrals, P=%llu "
               "preloaded%s\n",
               o.clients, o.window, (unsigned long long)o.count, (unsigned long long)o.preload,
               o.rate > 0 ? " (rate-capped)" : "");
        if (o.rate > 0)
            printf("  rate cap                   %.0f sends/s (latency from the due time)\n",
                   o.rate);
        if (o.preload)
            printf("  preload                    %llu acks in %.1f s (%.0f/s, 64 clients x 16)\n",
                   (unsigned long long)atomic_load(&pre.acks), pre.elapsed,
                   (double)atomic_load(&pre.acks) / pre.elapsed);
        printf("  answers                    %llu acks (%llu accepted, %llu merged, %llu "
               "ineligible, %llu held for review, %llu other), %llu errors, %llu unexpected\n",
               (unsigned long long)acks, (unsigned long long)atomic_load(&ph.accepted),
               (unsigned long long)atomic_load(&ph.merged),
               (unsigned long long)atomic_load(&ph.ineligible),
               (unsigned long long)atomic_load(&ph.review),
               (unsigned long long)atomic_load(&ph.other),
               (unsigned long long)atomic_load(&ph.errors),
               (unsigned long long)atomic_load(&ph.unexpected));
        printf("  mean request size          %.0f bytes\n", mean_size);
        printf("  acknowledged referrals/s   %.0f  (acked after fsync'd commit)\n", acks_per_s);
        printf("  ack latency p50/p99/p99.9  %.2f / %.2f / %.2f ms\n", p50, p99, p999);
        printf("  broker peak RSS (VmHWM)    %.1f MiB (includes LMDB's file-backed map pages)\n",
               hwm_mib);
        printf("  broker peak RssAnon        %.1f MiB (sampled every 50 ms)\n", anon_mib);
        printf("  broker CPU per 1,000       %.3f s\n", cpu_per_1000);
        printf("  bench clients CPU / 1,000  %.3f s (same machine)\n", client_cpu_per_1000);
        printf("  load average before/after  %.2f / %.2f\n", load_before, load_after);
        printf("  LMDB size per person       %.0f bytes (data.mdb / %llu persons)\n",
               bytes_per_person, (unsigned long long)persons);
        if (o.fsync_baseline)
            printf("  fsync baseline             %.0f LMDB commits/s (bare put+commit loop); "
                   "relais = %.0f %% of it\n",
                   fsync_rate, 100.0 * acks_per_s / fsync_rate);
        if (o.fsync_baseline)
            printf("                             (%.0f before the run, %.0f after)\n", fsync_before,
                   fsync_after);
#ifdef RELAIS_BENCH_NATS
        if (o.compare_jetstream) {
            printf("  JetStream acks/s           %.0f  (%llu acked, %llu errors, %llu dup)\n",
                   js_rate, (unsigned long long)js.acked, (unsigned long long)js.errors,
                   (unsigned long long)js.dups);
            printf("  JetStream p50/p99/p99.9    %.2f / %.2f / %.2f ms\n", js.p50, js.p99, js.p999);
            printf("  nats-server VmHWM, CPU     %.1f MiB, %.3f s per 1,000\n", js.rss_mib,
                   js.cpu_per_1000);
            printf("  ratio relais / JetStream   %.2f\n", ratio);
            printf("  NOTE: JetStream acknowledges BEFORE fsync (file store synced on its "
                   "default interval);\n        relais acknowledges AFTER the fsync'd "
                   "LMDB commit.  Not the same promise.\n");
        }
#endif
    }
    /* Errors or answers other than the mix expects make the figures suspect. */
    rc = atomic_load(&ph.errors) || atomic_load(&ph.unexpected) ? 1 : 0;
cleanup:
    s_monitor_stop(&mon);
    s_broker_stop(&b);
    if (zctx)
        zmq_ctx_term(zctx);
    free(pre.lat_ms);
    free(ph.lat_ms);
    free(reg.items);
    if (*workdir) {
        if (o.keep_data)
            fprintf(stderr, "relais-bench: kept %s\n", workdir);
        else if (s_rm_rf(workdir) != 0)
            fprintf(stderr, "relais-bench: could not remove %s\n", workdir);
    }
    return rc;
}
