/*  cli — options, exit statuses, interrupts and rendering shared by
 *  relais-agent and relais-intake.  The contract is in cli.h.
 *
 *  Text layouts are meant to be read by people and grepped by scripts:
 *  one line per item, "key=value" for the optional fields, "-" where a
 *  value is empty, columns padded to fixed minimum widths (a longer value
 *  pushes the rest of its line to the right rather than being cut).  The
 *  widths count bytes, so a value with accents is one column short per
 *  accent: acceptable for ids, which are ASCII in practice.
 */
#include "cli.h"

#include "keyfile.h"
#include "vocab.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Minimum column widths of the one-line layouts. */
#define S_W_LINE      4
#define S_W_REF       16
#define S_W_STATUS    10
#define S_W_CASE      10
#define S_W_STRUCTURE 16
#define S_W_SEQ       6
#define S_W_STATE     15 /* "contract_signed" */

/* ---- options ----------------------------------------------------------- */

void cli_global_init(cli_global_t *g, const char *program, const char *default_endpoint,
                     const char *as_env)
{
    memset(g, 0, sizeof *g);
    g->program = program;
    g->broker = default_endpoint;
    const char *as = as_env ? getenv(as_env) : NULL;
    g->as = as && *as ? as : NULL;
    const char *key = getenv("RELAIS_KEY");
    const char *broker_key = getenv("RELAIS_BROKER_KEY");
    g->key = key && *key ? key : NULL;
    g->broker_key = broker_key && *broker_key ? broker_key : NULL;
}

bool cli_parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false; /* strtoull would accept blanks, signs and "" */
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (uint64_t)v;
    return true;
}

int cli_global_option(cli_global_t *g, int opt, const char *arg, char *err, size_t errlen)
{
    uint64_t ms = 0;
    switch (opt) {
    case CLI_OPT_BROKER:
        if (!arg || !*arg) {
            snprintf(err, errlen, "--broker needs an endpoint, such as tcp://host:7410");
            return -1;
        }
        g->broker = arg;
        return 1;
    case CLI_OPT_AS:
        if (!arg || !*arg) {
            snprintf(err, errlen, "--as needs an id");
            return -1;
        }
        g->as = arg;
        return 1;
    case CLI_OPT_JSON:
        g->json = true;
        return 1;
    case CLI_OPT_KEY:
    case CLI_OPT_BROKER_KEY:
        if (!arg || !*arg) {
            snprintf(err, errlen, "%s needs a value",
                     opt == CLI_OPT_KEY ? "--key FILE" : "--broker-key KEY|FILE");
            return -1;
        }
        if (opt == CLI_OPT_KEY)
            g->key = arg;
        else
            g->broker_key = arg;
        return 1;
    case CLI_OPT_TIMEOUT:
        /* Upper bound: one hour per attempt is already absurd, and it keeps
         * the value an int. */
        if (!cli_parse_number(arg, 1, 3600000, &ms)) {
            snprintf(err, errlen,
                     "--timeout takes milliseconds per attempt, from 1 to 3600000 (got '%s')",
                     arg ? arg : "");
            return -1;
        }
        g->timeout_ms = (int)ms;
        return 1;
    default:
        return 0;
    }
}

int cli_usage_error(const cli_global_t *g, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", g->program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", g->program);
    return CLI_EXIT_USAGE;
}

void cli_print_version(const cli_global_t *g)
{
    printf("%s %s\n", g->program, RELAIS_VERSION);
}

/* ---- interrupts and exit statuses -------------------------------------- */

static volatile sig_atomic_t s_interrupted = 0;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: the blocking zmq_poll must return EINTR so the call
     * ends.  SA_RESETHAND: a second Ctrl-C kills the program outright. */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_interrupted(void)
{
    return s_interrupted != 0;
}

int cli_exit_status(int relais_rc)
{
    switch (relais_rc) {
    case RELAIS_OK:
        return CLI_EXIT_OK;
    case RELAIS_ETIMEOUT:
    case RELAIS_EPROTO:
        return CLI_EXIT_UNREACHABLE;
    case RELAIS_EBROKER:
        return CLI_EXIT_REFUSED;
    default:
        return cli_interrupted() ? CLI_EXIT_INTERRUPTED : CLI_EXIT_USAGE;
    }
}

relais_client_t *cli_connect(const cli_global_t *g)
{
    char err[512];
    keyfile_pair_t mine;
    char broker_public[KEYFILE_Z85_LEN + 1];
    if ((g->key != NULL) != (g->broker_key != NULL)) {
        fprintf(stderr, "%s: %s goes with %s\n", g->program,
                g->key ? "--key" : "--broker-key", g->key ? "--broker-key" : "--key");
        return NULL;
    }
    if (g->key && (keyfile_read_secret(g->key, &mine, err, sizeof err) != 0 ||
                   keyfile_read_public(g->broker_key, broker_public, err, sizeof err) != 0)) {
        fprintf(stderr, "%s: %s\n", g->program, err);
        return NULL;
    }
    relais_client_t *client = relais_client_new(g->broker, g->as, err, sizeof err);
    if (!client) {
        fprintf(stderr, "%s: %s\n", g->program, err);
        goto done;
    }
    if (g->key && relais_client_set_curve(client, mine.secret_z85, broker_public) != RELAIS_OK) {
        fprintf(stderr, "%s: %s\n", g->program, relais_client_last_error(client));
        relais_client_destroy(&client);
        goto done;
    }
    relais_client_set_timeout(client, g->timeout_ms, 0);
done:
    if (g->key)
        memset(&mine, 0, sizeof mine);
    return client;
}

/* ---- text helpers ------------------------------------------------------ */

static bool s_empty(const char *s)
{
    return !s || !*s;
}

/* Writes S with control characters as '?' ("-" when empty); returns the
 * number of bytes written. */
static int s_put(FILE *out, const char *s)
{
    if (s_empty(s)) {
        fputc('-', out);
        return 1;
    }
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
    return n;
}

static void s_put_padded(FILE *out, const char *s, int width)
{
    for (int n = s_put(out, s); n < width; n++)
        fputc(' ', out);
}

static json_t *s_json_string_or_null(const char *s)
{
    return s_empty(s) ? json_null() : json_string(s);
}

/* A JSON string that jansson refuses (not UTF-8) becomes null rather than
 * failing the whole object: the broker is the one that checks UTF-8. */
static void s_set(json_t *obj, const char *key, json_t *value)
{
    json_object_set_new(obj, key, value ? value : json_null());
}

static json_t *s_json_reasons(Relais__V1__Reason *const *reasons, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *r = json_object();
        if (!r)
            break;
        s_set(r, "code", json_string(reasons[i]->code ? reasons[i]->code : ""));
        s_set(r, "message", json_string(reasons[i]->message ? reasons[i]->message : ""));
        json_array_append_new(arr, r);
    }
    return arr;
}

int cli_emit_json(FILE *out, json_t *obj)
{
    if (!obj)
        return -1;
    int rc = json_dumpf(obj, out, JSON_COMPACT) == 0 && fputc('\n', out) != EOF ? 0 : -1;
    json_decref(obj);
    return rc;
}

/* ---- acks --------------------------------------------------------------- */

static void s_put_line_ref(FILE *out, size_t line, const char *partner_ref)
{
    if (line == 0) /* not from a file (the outbox, relais-agent run) */
        fprintf(out, "line %-*s  ", S_W_LINE, "-");
    else
        fprintf(out, "line %-*zu  ", S_W_LINE, line);
    s_put_padded(out, partner_ref, S_W_REF);
    fputs("  ", out);
}

void cli_print_ack(FILE *out, size_t line, const Relais__V1__Ack *ack)
{
    s_put_line_ref(out, line, ack->partner_ref);
    s_put_padded(out, vocab_ack_status_name((int)ack->status), S_W_STATUS);
    fputs("  case=", out);
    s_put_padded(out, ack->case_id, S_W_CASE);
    fputs("  structure=", out);
    s_put_padded(out, ack->structure_id, S_W_STRUCTURE);
    fputs("  reasons=", out);
    if (ack->n_reasons == 0)
        fputc('-', out);
    for (size_t i = 0; i < ack->n_reasons; i++) {
        if (i)
            fputc(',', out);
        s_put(out, ack->reasons[i]->code);
    }
    if (ack->replay)
        fputs("  replay", out);
    fputc('\n', out);
}

json_t *cli_json_ack(size_t line, const Relais__V1__Ack *ack)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    s_set(obj, "line", line ? json_integer((json_int_t)line) : json_null());
    s_set(obj, "partner_ref", s_json_string_or_null(ack->partner_ref));
    s_set(obj, "status", json_string(vocab_ack_status_name((int)ack->status)));
    s_set(obj, "case_id", s_json_string_or_null(ack->case_id));
    s_set(obj, "structure_id", s_json_string_or_null(ack->structure_id));
    s_set(obj, "reasons", s_json_reasons(ack->reasons, ack->n_reasons));
    s_set(obj, "replay", json_boolean(ack->replay));
    return obj;
}

void cli_print_row_problem(FILE *out, size_t line, const char *partner_ref, const char *what)
{
    s_put_line_ref(out, line, partner_ref);
    s_put(out, what);
    fputc('\n', out);
}

json_t *cli_json_row_problem(size_t line, const char *partner_ref, const char *kind,
                             const char *message)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    s_set(obj, "line", line ? json_integer((json_int_t)line) : json_null());
    s_set(obj, "partner_ref", s_json_string_or_null(partner_ref));
    s_set(obj, "error", json_string(kind));
    s_set(obj, "message", json_string(message ? message : ""));
    return obj;
}

/* ---- events ------------------------------------------------------------- */

static const char *s_outcome_or_empty(int outcome)
{
    return outcome == RELAIS__V1__OUTCOME__OUTCOME_UNSPECIFIED ? "" : vocab_outcome_name(outcome);
}

void cli_print_event(FILE *out, const Relais__V1__StatusEvent *ev)
{
    fprintf(out, "seq %-*llu  ", S_W_SEQ, (unsigned long long)ev->seq);
    s_put_padded(out, ev->partner_ref, S_W_REF);
    fputs("  ", out);
    s_put_padded(out, ev->case_id, S_W_CASE);
    fputs("  ", out);
    s_put_padded(out, vocab_case_state_name((int)ev->state), S_W_STATE);
    fputs("  structure=", out);
    s_put_padded(out, ev->structure_id, S_W_STRUCTURE);
    fputs("  at=", out);
    s_put(out, ev->at);
    fputs("  outcome=", out);
    s_put(out, s_outcome_or_empty((int)ev->outcome));
    if (!s_empty(ev->detail)) {
        fputs("  ", out);
        s_put(out, ev->detail);
    }
    fputc('\n', out);
}

json_t *cli_json_event(const Relais__V1__StatusEvent *ev)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    s_set(obj, "seq", json_integer((json_int_t)ev->seq));
    s_set(obj, "partner_ref", s_json_string_or_null(ev->partner_ref));
    s_set(obj, "case_id", s_json_string_or_null(ev->case_id));
    s_set(obj, "state", json_string(vocab_case_state_name((int)ev->state)));
    s_set(obj, "structure_id", s_json_string_or_null(ev->structure_id));
    s_set(obj, "at", s_json_string_or_null(ev->at));
    s_set(obj, "outcome", s_json_string_or_null(s_outcome_or_empty((int)ev->outcome)));
    s_set(obj, "detail", s_json_string_or_null(ev->detail));
    return obj;
}

/* ---- cases -------------------------------------------------------------- */

/* "  label       " then the caller writes the value. */
static void s_put_label(FILE *out, const char *label)
{
    fprintf(out, "  %-12s", label);
}

void cli_print_case(FILE *out, const Relais__V1__CaseView *c)
{
    static const Relais__V1__Person no_person = RELAIS__V1__PERSON__INIT;
    const Relais__V1__Person *p = c->person ? c->person : &no_person;

    fputs("case ", out);
    s_put(out, c->case_id);
    fputs("  ", out);
    s_put(out, vocab_case_state_name((int)c->state));
    fputs("  routed_at=", out);
    s_put(out, c->routed_at);
    if (!s_empty(c->structure_id)) {
        fputs("  structure=", out);
        s_put(out, c->structure_id);
    }
    fputc('\n', out);

    s_put_label(out, "name");
    s_put(out, p->last_name);
    fputc(' ', out);
    s_put(out, p->first_names);
    fputc('\n', out);
    s_put_label(out, "born");
    s_put(out, p->birth_date);
    if (!s_empty(p->sex)) {
        fputs("  sex ", out);
        s_put(out, p->sex);
    }
    fputc('\n', out);
    s_put_label(out, "lives");
    s_put(out, p->quartier);
    fputs(", ", out);
    s_put(out, p->postcode);
    if (!s_empty(p->city)) {
        fputc(' ', out);
        s_put(out, p->city);
    }
    fputc('\n', out);
    if (!s_empty(p->phone)) {
        s_put_label(out, "phone");
        s_put(out, p->phone);
        fputc('\n', out);
    }
    if (!s_empty(p->email)) {
        s_put_label(out, "email");
        s_put(out, p->email);
        fputc('\n', out);
    }
    s_put_label(out, "referred_by");
    if (c->n_referred_by == 0)
        fputc('-', out);
    for (size_t i = 0; i < c->n_referred_by; i++) {
        fputs(i ? ", " : "", out);
        s_put(out, c->referred_by[i]);
    }
    fputc('\n', out);
    s_put_label(out, "needs");
    if (c->n_needs == 0)
        fputc('-', out);
    for (size_t i = 0; i < c->n_needs; i++) {
        fputs(i ? ", " : "", out);
        fputs(vocab_need_name((int)c->needs[i]), out);
    }
    fputc('\n', out);
    s_put_label(out, "benefits");
    if (c->n_benefits == 0)
        fputc('-', out);
    for (size_t i = 0; i < c->n_benefits; i++) {
        fputs(i ? ", " : "", out);
        fputs(vocab_benefit_name((int)c->benefits[i]), out);
    }
    fputc('\n', out);
    if (!s_empty(c->notes)) {
        /* The broker joins the notes of several referrals with newlines:
         * one note per line, aligned under the first. */
        s_put_label(out, "notes");
        const char *line = c->notes;
        for (const char *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
            char *one = strndup(line, (size_t)(nl - line));
            if (one) {
                s_put(out, one);
                free(one);
            }
            fputc('\n', out);
            s_put_label(out, "");
        }
        s_put(out, line);
        fputc('\n', out);
    }
}

static json_t *s_json_person(const Relais__V1__Person *p)
{
    if (!p)
        return json_null();
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    s_set(obj, "last_name", s_json_string_or_null(p->last_name));
    s_set(obj, "first_names", s_json_string_or_null(p->first_names));
    s_set(obj, "birth_date", s_json_string_or_null(p->birth_date));
    s_set(obj, "sex", s_json_string_or_null(p->sex));
    s_set(obj, "phone", s_json_string_or_null(p->phone));
    s_set(obj, "email", s_json_string_or_null(p->email));
    s_set(obj, "postcode", s_json_string_or_null(p->postcode));
    s_set(obj, "city", s_json_string_or_null(p->city));
    s_set(obj, "quartier", s_json_string_or_null(p->quartier));
    s_set(obj, "ine", s_json_string_or_null(p->ine));
    return obj;
}

json_t *cli_json_case(const Relais__V1__CaseView *c)
{
    json_t *obj = json_object();
    json_t *referred_by = json_array();
    json_t *needs = json_array();
    json_t *benefits = json_array();
    if (!obj || !referred_by || !needs || !benefits)
        goto err;
    for (size_t i = 0; i < c->n_referred_by; i++)
        json_array_append_new(referred_by, json_string(c->referred_by[i]));
    for (size_t i = 0; i < c->n_needs; i++)
        json_array_append_new(needs, json_string(vocab_need_name((int)c->needs[i])));
    for (size_t i = 0; i < c->n_benefits; i++)
        json_array_append_new(benefits, json_string(vocab_benefit_name((int)c->benefits[i])));
    s_set(obj, "case_id", s_json_string_or_null(c->case_id));
    s_set(obj, "state", json_string(vocab_case_state_name((int)c->state)));
    s_set(obj, "structure_id", s_json_string_or_null(c->structure_id));
    s_set(obj, "routed_at", s_json_string_or_null(c->routed_at));
    s_set(obj, "referred_by", referred_by);
    s_set(obj, "needs", needs);
    s_set(obj, "benefits", benefits);
    s_set(obj, "notes", s_json_string_or_null(c->notes));
    s_set(obj, "person", s_json_person(c->person));
    return obj;
err:
    json_decref(obj);
    json_decref(referred_by);
    json_decref(needs);
    json_decref(benefits);
    return NULL;
}

/* ---- action results ----------------------------------------------------- */

void cli_print_action_result(FILE *out, const Relais__V1__ActionResult *r)
{
    if (r->ok) {
        s_put(out, r->case_id);
        fputs(" now ", out);
        fputs(vocab_case_state_name((int)r->state), out);
    } else {
        fputs("refused: ", out);
        s_put(out, r->error ? r->error->code : "");
        fputs(": ", out);
        s_put(out, r->error ? r->error->message : "");
    }
    fputc('\n', out);
}

json_t *cli_json_action_result(const Relais__V1__ActionResult *r)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    s_set(obj, "case_id", s_json_string_or_null(r->case_id));
    s_set(obj, "ok", json_boolean(r->ok));
    s_set(obj, "state", json_string(vocab_case_state_name((int)r->state)));
    if (!r->ok) {
        json_t *e = json_object();
        if (e) {
            s_set(e, "code", json_string(r->error && r->error->code ? r->error->code : ""));
            s_set(e, "message",
                  json_string(r->error && r->error->message ? r->error->message : ""));
        }
        s_set(obj, "error", e);
    }
    return obj;
}
