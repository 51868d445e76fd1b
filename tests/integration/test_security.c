/*  Who is who, against the real broker over CurveZMQ: unknown keys,
 *  roles, sender spoofing, cross-structure actions, revocation by SIGHUP,
 *  the audit log and the access report, and --insecure-dev.
 */
#include "audit.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_broker_t B;

static void s_teardown(void)
{
    harness_cleanup(&B);
}

TestSuite(security, .fini = s_teardown, .timeout = 120);

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)

/* The audit log as relais-admin audit prints it (text), malloc'd. */
static char *s_audit(const char *case_id)
{
    char *buf = NULL, err[256];
    size_t len = 0, count = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    cr_assert_eq(audit_print(B.data, f, false, case_id, NULL, &count, err, sizeof err), 0, "%s",
                 err);
    fclose(f);
    return buf;
}

static char *s_access_report(const char *case_id)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    cr_assert_eq(audit_access_report(B.data, f, false, case_id, NULL, err, sizeof err), 0, "%s",
                 err);
    fclose(f);
    return buf;
}

/* Asserts some line of TEXT holds every one of the NULL-terminated
 * words. */
static bool s_line_with(const char *text, ...)
{
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char *one = strndup(line, n);
        va_list ap;
        va_start(ap, text);
        bool all = true;
        for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
            all = all && strstr(one, w) != NULL;
        va_end(ap);
        free(one);
        if (all)
            return true;
        line = end ? end + 1 : NULL;
    }
    return false;
}

static char *s_submit(relais_client_t *c, const char *ref, const char *last, const char *first,
                      const char *quartier)
{
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, ref, last, first, "2004-06-15", quartier);
    Relais__V1__Ack *ack = harness_submit(c, &h, &e);
    cr_assert(*ack->case_id, "%s: no case", ref);
    char *id = strdup(ack->case_id);
    ENV_FREE(e);
    return id;
}

/* The Error code of the reply *EP to a call that returned RC.  (EP, not
 * the envelope: the call's result must be read after the call.) */
static const char *s_error_code(int rc, Relais__V1__Envelope **ep)
{
    cr_assert_eq(rc, RELAIS_EBROKER, "rc %d, expected a broker Error", rc);
    cr_assert_eq((*ep)->body_case, RELAIS__V1__ENVELOPE__BODY_ERROR);
    return (*ep)->error->code;
}

Test(security, unknown_key_gets_no_answer_and_the_broker_serves_others)
{
    harness_start(&B, NULL);
    char pub[41], key[400];
    harness_new_key(&B, "stranger", pub);
    snprintf(key, sizeof key, "%s/stranger.key", B.keys);
    relais_client_t *stranger =
        harness_client_keyed(&B, B.partner_ep, "mission-locale", key, true);
    Relais__V1__Envelope *e = NULL;
    cr_assert_eq(relais_client_fetch_events(stranger, 0, 10, &e), RELAIS_ETIMEOUT);
    cr_assert_null(e);
    relais_client_destroy(&stranger);

    /* No Curve at all: no answer either. */
    relais_client_t *plain = harness_client_keyed(&B, B.partner_ep, "mission-locale", NULL, true);
    cr_assert_eq(relais_client_fetch_events(plain, 0, 10, &e), RELAIS_ETIMEOUT);
    relais_client_destroy(&plain);

    /* The refusal is logged with the key's fingerprint only. */
    char fp[9];
    memcpy(fp, pub, 8);
    fp[8] = '\0';
    char *log = harness_log(&B);
    cr_assert(strstr(log, "unknown key") && strstr(log, fp), "no refusal logged:\n%s", log);
    cr_assert_null(strstr(log, pub), "the whole key is in the log");
    free(log);

    relais_client_t *ml = harness_partner(&B, "mission-locale");
    free(s_submit(ml, "S-1", "Martin", "Léo", "Planoise"));
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(security, a_partner_key_fetching_cases_is_forbidden_and_audited)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    char *id = s_submit(ml, "S-2", "Haddad", "Samir", "Planoise");
    relais_client_destroy(&ml);

    char key[400];
    harness_key_path(&B, "partner", "mission-locale", key, sizeof key);
    relais_client_t *c = harness_client_keyed(&B, B.coordinator_ep, "mission-locale", key, false);
    Relais__V1__Envelope *e = NULL;
    cr_assert_str_eq(s_error_code(relais_client_fetch_cases(c, "asq-planoise", 10, 0, &e), &e),
                     "forbidden");
    ENV_FREE(e);
    /* Posing as the structure changes nothing: the key decides. */
    relais_client_destroy(&c);
    c = harness_client_keyed(&B, B.coordinator_ep, "asq-planoise", key, false);
    cr_assert_str_eq(s_error_code(relais_client_fetch_cases(c, "asq-planoise", 10, 0, &e), &e),
                     "forbidden");
    ENV_FREE(e);
    relais_client_destroy(&c);

    char *audit = s_audit(NULL);
    cr_assert(s_line_with(audit, "partner:mission-locale", "coordinator", "fetch_cases", "refused",
                          "forbidden", NULL),
              "%s", audit);
    /* Nobody read the case: no "read" record. */
    cr_assert(!s_line_with(audit, "fetch_cases", id, "read", NULL), "%s", audit);
    free(audit);
    free(id);
    harness_stop(&B);
}

Test(security, a_coordinator_acting_on_another_structures_case_is_forbidden_and_audited)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    char *id = s_submit(ml, "S-3", "Haddad", "Samir", "Planoise");
    relais_client_destroy(&ml);

    relais_client_t *centre = harness_coordinator(&B, "asq-centre");
    Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
    a.case_id = id;
    a.kind = RELAIS__V1__ACTION_KIND__ACTION_ACCEPT;
    Relais__V1__Envelope *e = NULL;
    cr_assert_str_eq(s_error_code(relais_client_act(centre, &a, &e), &e), "forbidden");
    ENV_FREE(e);
    /* Nor read them: asking for Planoise's cases. */
    cr_assert_str_eq(s_error_code(relais_client_fetch_cases(centre, "asq-planoise", 10, 0, &e), &e),
                     "forbidden");
    ENV_FREE(e);
    relais_client_destroy(&centre);

    /* Nothing changed: Planoise still has it to answer, and accepts it. */
    relais_client_t *planoise = harness_coordinator(&B, "asq-planoise");
    Relais__V1__ActionResult *r = harness_act(planoise, id, RELAIS__V1__ACTION_KIND__ACTION_ACCEPT,
                                              0, 0, NULL, &e);
    cr_assert(r->ok);
    ENV_FREE(e);
    relais_client_destroy(&planoise);

    char *audit = s_audit(id);
    cr_assert(s_line_with(audit, "coordinator:asq-centre", "case_action", id, "refused",
                          "forbidden", NULL),
              "%s", audit);
    cr_assert(s_line_with(audit, "coordinator:asq-planoise", "case_action", id, "done", "accept",
                          NULL),
              "%s", audit);
    free(audit);
    audit = s_audit(NULL);
    cr_assert(s_line_with(audit, "coordinator:asq-centre", "fetch_cases", "refused", "forbidden",
                          "structure=asq-planoise", NULL),
              "%s", audit);
    free(audit);
    free(id);
    harness_stop(&B);
}

Test(security, a_sender_that_is_not_the_key_is_forbidden_and_audited)
{
    harness_start(&B, NULL);
    char key[400];
    harness_key_path(&B, "partner", "ccas", key, sizeof key);
    relais_client_t *spoof = harness_client_keyed(&B, B.partner_ep, "mission-locale", key, false);
    harness_ref_t h;
    harness_ref(&h, "SPOOF-1", "Martin", "Léo", "2004-02-02", "Centre");
    Relais__V1__Envelope *e = NULL;
    cr_assert_str_eq(s_error_code(relais_client_submit(spoof, &h.r, &e), &e), "forbidden");
    ENV_FREE(e);
    cr_assert_str_eq(s_error_code(relais_client_fetch_events(spoof, 0, 10, &e), &e), "forbidden");
    ENV_FREE(e);
    relais_client_destroy(&spoof);

    /* Nothing was stored under either partner. */
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    cr_assert_eq(relais_client_fetch_events(ml, 0, 10, &e), RELAIS_OK);
    cr_assert_eq(e->events->n_events, 0);
    ENV_FREE(e);
    relais_client_destroy(&ml);

    /* An empty sender is the key's own identity. */
    relais_client_t *ccas = harness_client_keyed(&B, B.partner_ep, "", key, false);
    cr_assert_eq(relais_client_fetch_events(ccas, 0, 10, &e), RELAIS_OK);
    ENV_FREE(e);
    relais_client_destroy(&ccas);

    char *audit = s_audit(NULL);
    cr_assert(s_line_with(audit, "partner:ccas", "referral", "ref=SPOOF-1", "refused",
                          "forbidden", NULL),
              "%s", audit);
    cr_assert(s_line_with(audit, "partner:ccas", "fetch_events", "refused", "forbidden", NULL),
              "%s", audit);
    free(audit);
    harness_stop(&B);
}

Test(security, staff_read_any_structure_but_do_not_act)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    char *id = s_submit(ml, "S-4", "Haddad", "Samir", "Planoise");
    relais_client_destroy(&ml);
    relais_client_t *staff = harness_staff(&B, HARNESS_STAFF_ID);
    Relais__V1__Envelope *e = NULL;
    cr_assert_eq(relais_client_fetch_cases(staff, "asq-planoise", 10, 0, &e), RELAIS_OK,
                 "%s", relais_client_last_error(staff));
    cr_assert_eq(e->cases->n_cases, 1);
    ENV_FREE(e);
    Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
    a.case_id = id;
    a.kind = RELAIS__V1__ACTION_KIND__ACTION_ACCEPT;
    cr_assert_str_eq(s_error_code(relais_client_act(staff, &a, &e), &e), "forbidden");
    ENV_FREE(e);
    relais_client_destroy(&staff);
    char *audit = s_audit(id);
    cr_assert(s_line_with(audit, "staff:" HARNESS_STAFF_ID, "fetch_cases", id, "read", NULL),
              "%s", audit);
    free(audit);
    free(id);
    harness_stop(&B);
}

Test(security, sighup_revokes_a_removed_key_and_admits_an_added_one)
{
    harness_start(&B, NULL);
    relais_client_t *planoise = harness_coordinator(&B, "asq-planoise");
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    Relais__V1__Envelope *e = NULL;
    cr_assert_eq(relais_client_fetch_cases(planoise, "", 10, 0, &e), RELAIS_OK);
    ENV_FREE(e);

    /* Remove Planoise's coordinator, add a second one for Centre. */
    char *keys = harness_authorized_keys(&B);
    char *line = strstr(keys, "coordinator asq-planoise ");
    cr_assert(line);
    char *eol = strchr(line, '\n');
    memmove(line, eol + 1, strlen(eol + 1) + 1);
    char pub[41], added[400];
    harness_new_key(&B, "centre-2", pub);
    snprintf(added, sizeof added, "%s/centre-2.key", B.keys);
    char *text = malloc(strlen(keys) + 200);
    sprintf(text, "%scoordinator asq-centre %s second coordinator\n", keys, pub);
    harness_reload_keys(&B, text);
    free(text);
    free(keys);

    /* The open connection of the removed key: refused at its next request. */
    const char *code = s_error_code(relais_client_fetch_cases(planoise, "", 10, 0, &e), &e);
    cr_assert_str_eq(code, "forbidden");
    ENV_FREE(e);
    relais_client_destroy(&planoise);
    /* A new connection with it: no handshake, no answer. */
    char removed[400];
    harness_key_path(&B, "coordinator", "asq-planoise", removed, sizeof removed);
    planoise = harness_client_keyed(&B, B.coordinator_ep, "asq-planoise", removed, true);
    cr_assert_eq(relais_client_fetch_cases(planoise, "", 10, 0, &e), RELAIS_ETIMEOUT);
    relais_client_destroy(&planoise);

    /* Others keep working, on their existing connection and new ones. */
    free(s_submit(ml, "S-5", "Martin", "Léo", "Centre"));
    relais_client_destroy(&ml);
    relais_client_t *centre2 = harness_client_keyed(&B, B.coordinator_ep, "asq-centre", added,
                                                    false);
    cr_assert_eq(relais_client_fetch_cases(centre2, "", 10, 0, &e), RELAIS_OK, "%s",
                 relais_client_last_error(centre2));
    cr_assert_eq(e->cases->n_cases, 1);
    ENV_FREE(e);
    relais_client_destroy(&centre2);

    /* A broken file is refused whole; the keys in force stay. */
    keys = harness_authorized_keys(&B);
    text = malloc(strlen(keys) + 100);
    sprintf(text, "%spartner not-a-partner %s\n", keys, pub);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.new", B.authorized_keys);
    FILE *f = fopen(tmp, "w");
    fputs(text, f);
    fclose(f);
    rename(tmp, B.authorized_keys);
    kill(B.pid, SIGHUP);
    char *log = NULL;
    for (int i = 0; i < 200; i++) { /* up to 10 s: slow under valgrind */
        free(log);
        log = harness_log(&B);
        if (strstr(log, "NOT reloaded"))
            break;
        usleep(50 * 1000);
    }
    cr_assert(strstr(log, "NOT reloaded") && strstr(log, "'not-a-partner' is not a configured "
                                                         "partner"),
              "%s", log);
    free(log);
    free(text);
    free(keys);
    centre2 = harness_client_keyed(&B, B.coordinator_ep, "asq-centre", added, false);
    cr_assert_eq(relais_client_fetch_cases(centre2, "", 10, 0, &e), RELAIS_OK);
    ENV_FREE(e);
    relais_client_destroy(&centre2);
    harness_stop(&B);
}

Test(security, audit_and_access_report_list_who_saw_or_changed_a_person)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *ccas = harness_partner(&B, "ccas");
    char *id = s_submit(ml, "A-1", "Haddad", "Samir", "Planoise");
    char *again = s_submit(ccas, "C-1", "HADDAD", "Samir", "Planoise");
    cr_assert_str_eq(id, again, "not merged");
    char *other = s_submit(ml, "A-2", "Martin", "Léo", "Planoise");
    relais_client_t *planoise = harness_coordinator(&B, "asq-planoise");
    Relais__V1__Envelope *e;
    cr_assert_eq(relais_client_fetch_cases(planoise, "", 10, 0, &e), RELAIS_OK);
    ENV_FREE(e);
    harness_act(planoise, id, RELAIS__V1__ACTION_KIND__ACTION_ACCEPT, 0, 0, NULL, &e);
    ENV_FREE(e);

    char *report = s_access_report(id);
    cr_assert(s_line_with(report, "partner:mission-locale", "referral", id, "ref=A-1", "done",
                          "accepted", NULL),
              "%s", report);
    cr_assert(s_line_with(report, "partner:ccas", "referral", id, "ref=C-1", "merged", NULL),
              "%s", report);
    cr_assert(s_line_with(report, "coordinator:asq-planoise", "fetch_cases", id, "read", NULL),
              "%s", report);
    cr_assert(s_line_with(report, "coordinator:asq-planoise", "case_action", id, "accept", NULL),
              "%s", report);
    /* Only this person. */
    cr_assert_null(strstr(report, other), "%s", report);
    cr_assert_null(strstr(report, "Haddad"), "personal data in the report");
    free(report);

    free(id);
    free(again);
    free(other);
    relais_client_destroy(&planoise);
    relais_client_destroy(&ccas);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(security, insecure_dev_trusts_the_sender_and_says_so)
{
    harness_start_insecure(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    free(s_submit(ml, "I-1", "Martin", "Léo", "Centre"));
    relais_client_destroy(&ml);
    relais_client_t *nobody = harness_client_keyed(&B, B.partner_ep, "not-a-partner", NULL, false);
    Relais__V1__Envelope *e;
    cr_assert_str_eq(s_error_code(relais_client_fetch_events(nobody, 0, 1, &e), &e),
                     "unknown_sender");
    ENV_FREE(e);
    relais_client_destroy(&nobody);
    char *log = harness_log(&B);
    cr_assert(strstr(log, "INSECURE (--insecure-dev): no encryption"), "%s", log);
    cr_assert(strstr(log, "unauthenticated NULL connection on the partner endpoint"), "%s", log);
    free(log);
    char *audit = s_audit(NULL);
    cr_assert(s_line_with(audit, "unauthenticated:mission-locale", "referral", "done", NULL), "%s",
              audit);
    free(audit);
    harness_stop(&B);
}

/* Runs the broker binary with ARGS and returns its exit status and
 * stderr in OUT (size OUTLEN). */
static int s_broker_fails(const char *args, char *out, size_t outlen)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' --check-config %s 2>&1", RELAIS_BROKER_BIN, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(security, bad_keys_stop_the_broker_with_the_reason)
{
    harness_start(&B, NULL);
    char out[4096], args[1024], secret[400];
    snprintf(secret, sizeof secret, "%s/broker.key", B.keys);

    snprintf(args, sizeof args, "--secret-key '%s' --keys '%s'", secret, B.authorized_keys);
    cr_assert_eq(s_broker_fails(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "keys: OK"), "%s", out);

    /* No key at all, and no --insecure-dev. */
    snprintf(args, sizeof args, "--keys '%s'", B.authorized_keys);
    cr_assert_neq(s_broker_fails(args, out, sizeof out), 0);
    cr_assert(strstr(out, "--insecure-dev"), "%s", out);

    /* A line with a bad key: FILE:LINE. */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad_keys", B.dir);
    FILE *f = fopen(bad, "w");
    fprintf(f, "# comment\n\npartner mission-locale not-a-key\n");
    fclose(f);
    snprintf(args, sizeof args, "--secret-key '%s' --keys '%s'", secret, bad);
    cr_assert_neq(s_broker_fails(args, out, sizeof out), 0);
    char where[450];
    snprintf(where, sizeof where, "%s:3: bad key", bad);
    cr_assert(strstr(out, where), "%s", out);

    /* A secret key others can read. */
    chmod(secret, 0644);
    snprintf(args, sizeof args, "--secret-key '%s' --keys '%s'", secret, B.authorized_keys);
    cr_assert_neq(s_broker_fails(args, out, sizeof out), 0);
    cr_assert(strstr(out, "readable by others"), "%s", out);
    chmod(secret, 0600);
    harness_stop(&B);
}
