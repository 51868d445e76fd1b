/*  The whole referral flow against the real broker: real process, real
 *  ZeroMQ TCP sockets, real LMDB directory.  Each test starts its own
 *  broker on a fresh directory.  The broker's clock is pinned to
 *  HARNESS_NOW (2026-11-20); referrals are dated 2026-11-16.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_broker_t B;

static void s_teardown(void)
{
    harness_cleanup(&B);
}

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)

/* Fetches every event of PARTNER after AFTER; caller frees *hold. */
static Relais__V1__Events *s_events(const char *partner, uint64_t after, Relais__V1__Envelope **hold)
{
    relais_client_t *c = harness_partner(&B, partner);
    int rc = relais_client_fetch_events(c, after, 0, hold);
    cr_assert_eq(rc, RELAIS_OK, "fetch events: %s", relais_client_last_error(c));
    cr_assert_eq((*hold)->body_case, RELAIS__V1__ENVELOPE__BODY_EVENTS);
    relais_client_destroy(&c);
    return (*hold)->events;
}

static Relais__V1__Cases *s_cases(const char *structure, int include_open,
                                  Relais__V1__Envelope **hold)
{
    relais_client_t *c = harness_coordinator(&B, structure);
    int rc = relais_client_fetch_cases(c, structure, 0, include_open, hold);
    cr_assert_eq(rc, RELAIS_OK, "fetch cases: %s", relais_client_last_error(c));
    cr_assert_eq((*hold)->body_case, RELAIS__V1__ENVELOPE__BODY_CASES);
    relais_client_destroy(&c);
    return (*hold)->cases;
}

static int s_has_reason(const Relais__V1__Ack *ack, const char *code)
{
    for (size_t i = 0; i < ack->n_reasons; i++)
        if (strcmp(ack->reasons[i]->code, code) == 0)
            return 1;
    return 0;
}

TestSuite(flow, .init = NULL, .fini = s_teardown, .timeout = 120);

Test(flow, accepted_and_routed_by_quartier_then_least_loaded)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;

    harness_ref(&h, "ML-1", "Benali", "Yasmine", "2004-03-12", "Planoise");
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_eq(ack->partner_ref, "ML-1");
    cr_assert_str_eq(ack->structure_id, "asq-planoise");
    cr_assert_str_eq(ack->case_id, "C0000001");
    cr_assert_not(ack->replay);
    ENV_FREE(e);

    /* asq-planoise now holds 1/40, assoc-insertion (also Planoise) 0/30. */
    harness_ref(&h, "ML-2", "Kaya", "Emre", "2003-07-01", "PLANOISE");
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_eq(ack->structure_id, "assoc-insertion");
    ENV_FREE(e);

    harness_ref(&h, "ML-3", "Pereira", "Inês", "2002-01-30", "Fontaine-Ecu");
    ack = harness_submit(ml, &h, &e);
    cr_assert_str_eq(ack->structure_id, "asq-montrapon", "accent-insensitive quartier match");
    ENV_FREE(e);

    /* No quartier served: by postcode (a Grand Besançon suburb)... */
    harness_ref(&h, "ML-4", "Nowak", "Kacper", "2005-05-05", "");
    h.p.postcode = "25220";
    h.p.city = "Thise";
    ack = harness_submit(ml, &h, &e);
    cr_assert_str_eq(ack->structure_id, "assoc-insertion");
    ENV_FREE(e);

    /* ...else the default structure. */
    harness_ref(&h, "ML-5", "Diallo", "Aminata", "2001-12-24", "Quelque part");
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_eq(ack->structure_id, "asq-centre");
    ENV_FREE(e);

    Relais__V1__Cases *cases = s_cases("asq-planoise", 0, &e);
    cr_assert_eq(cases->n_cases, 1);
    cr_assert_str_eq(cases->cases[0]->case_id, "C0000001");
    cr_assert_eq(cases->cases[0]->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    cr_assert_str_eq(cases->cases[0]->person->last_name, "Benali");
    cr_assert_eq(cases->cases[0]->n_referred_by, 1);
    cr_assert_str_eq(cases->cases[0]->referred_by[0], "mission-locale");
    ENV_FREE(e);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(flow, same_person_from_second_partner_is_merged)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *asq = harness_partner(&B, "ccas");
    harness_ref_t h;
    Relais__V1__Envelope *e1, *e2;

    harness_ref(&h, "ML-10", "Da Silva-Costa", "Hélène Marie", "2003-04-09", "Battant");
    Relais__V1__Ack *first = harness_submit(ml, &h, &e1);
    cr_assert_eq(first->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);

    harness_ref(&h, "ASQ-77", "DA SILVA COSTA", "helene", "2003-04-09", "Battant");
    Relais__V1__Ack *second = harness_submit(asq, &h, &e2);
    cr_assert_eq(second->status, RELAIS__V1__ACK_STATUS__ACK_MERGED);
    cr_assert_str_eq(second->case_id, first->case_id);
    cr_assert_str_eq(second->structure_id, first->structure_id);
    cr_assert_str_eq(second->partner_ref, "ASQ-77");

    /* One case, referred by both. */
    Relais__V1__Envelope *e3;
    Relais__V1__Cases *cases = s_cases(first->structure_id, 0, &e3);
    cr_assert_eq(cases->n_cases, 1);
    cr_assert_eq(cases->cases[0]->n_referred_by, 2);
    cr_assert_str_eq(cases->cases[0]->referred_by[1], "ccas");
    ENV_FREE(e3);

    /* The new referrer is subscribed: its feed starts with the case's state. */
    Relais__V1__Events *ev = s_events("ccas", 0, &e3);
    cr_assert_eq(ev->n_events, 1);
    cr_assert_str_eq(ev->events[0]->partner_ref, "ASQ-77");
    cr_assert_str_eq(ev->events[0]->case_id, first->case_id);
    cr_assert_eq(ev->events[0]->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    ENV_FREE(e3);

    /* Twins: same surname and birth date, another given name: not merged. */
    harness_ref(&h, "ML-11", "Da Silva-Costa", "Paulo", "2003-04-09", "Battant");
    Relais__V1__Envelope *e4;
    Relais__V1__Ack *twin = harness_submit(ml, &h, &e4);
    cr_assert_eq(twin->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_neq(twin->case_id, first->case_id);
    ENV_FREE(e4);
    ENV_FREE(e1);
    ENV_FREE(e2);
    relais_client_destroy(&ml);
    relais_client_destroy(&asq);
    harness_stop(&B);
}

Test(flow, resubmission_is_a_replay_with_the_same_answer)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e1, *e2;
    harness_ref(&h, "ML-20", "Yilmaz", "Zeynep", "2004-10-10", "Palente");
    Relais__V1__Ack *a1 = harness_submit(ml, &h, &e1);
    /* Even with other content, the same partner_ref gets the first answer. */
    h.p.first_names = "Autre";
    Relais__V1__Ack *a2 = harness_submit(ml, &h, &e2);
    cr_assert(a2->replay);
    cr_assert_eq(a2->status, a1->status);
    cr_assert_str_eq(a2->case_id, a1->case_id);
    cr_assert_str_eq(a2->structure_id, a1->structure_id);
    cr_assert_str_eq(a2->partner_ref, "ML-20");
    ENV_FREE(e1);
    ENV_FREE(e2);

    /* The same partner_ref from ANOTHER partner is another referral. */
    relais_client_t *rect = harness_partner(&B, "rectorat");
    harness_ref(&h, "ML-20", "Yilmaz", "Zeynep", "2004-10-10", "Palente");
    a2 = harness_submit(rect, &h, &e2);
    cr_assert_not(a2->replay);
    cr_assert_eq(a2->status, RELAIS__V1__ACK_STATUS__ACK_MERGED);
    ENV_FREE(e2);

    /* Still one case; the replay added no event. */
    Relais__V1__Cases *cases = s_cases("mdq-palente", 0, &e1);
    cr_assert_eq(cases->n_cases, 1);
    ENV_FREE(e1);
    Relais__V1__Events *ev = s_events("mission-locale", 0, &e1);
    cr_assert_eq(ev->n_events, 1);
    ENV_FREE(e1);

    /* An invalid referral replays its INVALID answer too. */
    harness_ref(&h, "ML-21", "", "Zeynep", "2004-10-10", "Palente");
    a1 = harness_submit(ml, &h, &e1);
    a2 = harness_submit(ml, &h, &e2);
    cr_assert_eq(a1->status, RELAIS__V1__ACK_STATUS__ACK_INVALID);
    cr_assert_eq(a2->status, RELAIS__V1__ACK_STATUS__ACK_INVALID);
    cr_assert(a2->replay);
    cr_assert_eq(a2->n_reasons, a1->n_reasons);
    ENV_FREE(e1);
    ENV_FREE(e2);
    relais_client_destroy(&ml);
    relais_client_destroy(&rect);
    harness_stop(&B);
}

Test(flow, each_ineligibility_reason)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    Relais__V1__Ack *ack;

    /* Referred on 2026-11-16. */
    harness_ref(&h, "I-1", "Jeune", "Trop", "2008-11-17", "Planoise"); /* 17, 18 tomorrow */
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE);
    cr_assert(s_has_reason(ack, "too_young"));
    cr_assert_str_empty(ack->case_id);
    ENV_FREE(e);

    harness_ref(&h, "I-2", "Vieux", "Trop", "2000-11-16", "Planoise"); /* 26 today */
    ack = harness_submit(ml, &h, &e);
    cr_assert(s_has_reason(ack, "too_old"));
    ENV_FREE(e);

    harness_ref(&h, "I-3", "Limite", "Juste", "2000-11-17", "Planoise"); /* 26 tomorrow */
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    ENV_FREE(e);

    static const struct {
        Relais__V1__Benefit b;
        const char *code;
    } benefits[] = {
        {RELAIS__V1__BENEFIT__BENEFIT_RSA, "benefit_rsa"},
        {RELAIS__V1__BENEFIT__BENEFIT_CEJ, "benefit_cej"},
        {RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES, "benefit_garantie_jeunes"},
        {RELAIS__V1__BENEFIT__BENEFIT_ARE, "benefit_are"},
    };
    for (size_t i = 0; i < 4; i++) {
        char ref[16];
        snprintf(ref, sizeof ref, "I-B%zu", i);
        harness_ref(&h, ref, "Allocataire", "Un", "2004-01-01", "Planoise");
        h.benefits[0] = benefits[i].b;
        h.r.n_benefits = 1;
        ack = harness_submit(ml, &h, &e);
        cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE, "%s", benefits[i].code);
        cr_assert(s_has_reason(ack, benefits[i].code), "%s", benefits[i].code);
        ENV_FREE(e);
    }

    harness_ref(&h, "I-4", "Ressources", "Avec", "2004-01-01", "Planoise");
    h.r.resources_eur_month = 301;
    ack = harness_submit(ml, &h, &e);
    cr_assert(s_has_reason(ack, "resources_above_ceiling"));
    ENV_FREE(e);

    /* Every failing rule is reported, consent included. */
    harness_ref(&h, "I-5", "Tout", "Faux", "1990-01-01", "Planoise");
    h.r.consent = false;
    h.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_RSA;
    h.r.n_benefits = 1;
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE);
    cr_assert(s_has_reason(ack, "no_consent"));
    cr_assert(s_has_reason(ack, "too_old"));
    cr_assert(s_has_reason(ack, "benefit_rsa"));
    for (size_t i = 0; i < ack->n_reasons; i++)
        cr_assert_str_not_empty(ack->reasons[i]->message);
    ENV_FREE(e);

    /* Only the eligible one became a case. */
    Relais__V1__Events *ev = s_events("mission-locale", 0, &e);
    cr_assert_eq(ev->n_events, 1);
    cr_assert_str_eq(ev->events[0]->partner_ref, "I-3");
    ENV_FREE(e);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(flow, invalid_fields_each_reported)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, "V-1", "", "", "2003-02-30", "Planoise");
    h.p.sex = "Z";
    h.p.email = "\xff\xfe";
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_INVALID);
    cr_assert(s_has_reason(ack, "missing_field"));
    cr_assert(s_has_reason(ack, "bad_date"));
    cr_assert(s_has_reason(ack, "bad_value"));
    cr_assert(s_has_reason(ack, "bad_utf8"));
    cr_assert_str_empty(ack->case_id);
    ENV_FREE(e);

    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    harness_ref(&h, "V-2", longname, "Ok", "2004-01-01", "Planoise");
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_INVALID);
    cr_assert(s_has_reason(ack, "too_long"));
    ENV_FREE(e);

    harness_ref(&h, "V-3", "Futur", "Né", "2030-01-01", "Planoise");
    ack = harness_submit(ml, &h, &e);
    cr_assert(s_has_reason(ack, "bad_date"));
    ENV_FREE(e);

    /* No partner_ref: INVALID, and nothing stored (a later one is fresh). */
    harness_ref(&h, "", "Sans", "Référence", "2004-01-01", "Planoise");
    ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_INVALID);
    cr_assert(s_has_reason(ack, "missing_field"));
    ENV_FREE(e);

    Relais__V1__Events *ev = s_events("mission-locale", 0, &e);
    cr_assert_eq(ev->n_events, 0);
    ENV_FREE(e);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(flow, garbage_oversized_and_multiframe_get_errors_and_broker_keeps_serving)
{
    harness_start(&B, NULL);
    Relais__V1__Envelope *e = harness_raw(B.partner_ep, "\xff\xff\xff garbage", 12, 1, 5000);
    cr_assert(e, "no reply to garbage");
    cr_assert_eq(e->body_case, RELAIS__V1__ENVELOPE__BODY_ERROR);
    cr_assert_str_eq(e->error->code, "bad_envelope");
    ENV_FREE(e);

    size_t big = 262144 + 1;
    char *blob = calloc(1, big);
    e = harness_raw(B.partner_ep, blob, big, 1, 5000);
    cr_assert(e, "no reply to an oversized frame");
    cr_assert_str_eq(e->error->code, "too_large");
    ENV_FREE(e);
    free(blob);

    /* Over the hard limit: the connection is dropped, no reply. */
    big = 262144 * 4 + 16;
    blob = calloc(1, big);
    e = harness_raw(B.partner_ep, blob, big, 1, 1000);
    cr_assert_null(e);
    free(blob);

    /* A valid Envelope split over two frames. */
    Relais__V1__Envelope req = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__FetchEvents fe = RELAIS__V1__FETCH_EVENTS__INIT;
    req.sender = "mission-locale";
    req.request_id = "r1";
    req.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    req.fetch_events = &fe;
    uint8_t buf[256];
    size_t n = relais__v1__envelope__pack(&req, buf);
    e = harness_raw(B.partner_ep, buf, n, 2, 5000);
    cr_assert(e);
    cr_assert_str_eq(e->error->code, "bad_frame");
    ENV_FREE(e);

    /* An empty envelope: no body. */
    e = harness_raw(B.partner_ep, "", 0, 1, 5000);
    cr_assert(e);
    cr_assert_str_eq(e->error->code, "bad_request");
    ENV_FREE(e);

    /* A sender that is not the key's (harness_raw speaks with the
     * mission-locale partner key), and a coordinator request from a
     * partner key. */
    req.sender = "not-a-partner";
    n = relais__v1__envelope__pack(&req, buf);
    e = harness_raw(B.partner_ep, buf, n, 1, 5000);
    cr_assert_str_eq(e->error->code, "forbidden");
    cr_assert_str_eq(e->request_id, "r1");
    ENV_FREE(e);
    Relais__V1__FetchCases fc = RELAIS__V1__FETCH_CASES__INIT;
    req.sender = "mission-locale";
    req.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_CASES;
    req.fetch_cases = &fc;
    n = relais__v1__envelope__pack(&req, buf);
    e = harness_raw(B.partner_ep, buf, n, 1, 5000);
    cr_assert_str_eq(e->error->code, "forbidden");
    ENV_FREE(e);
    /* A partner's request on the coordinator endpoint, with a coordinator
     * key: the endpoint does not take it. */
    Relais__V1__FetchEvents fe2 = RELAIS__V1__FETCH_EVENTS__INIT;
    req.sender = "asq-planoise";
    req.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    req.fetch_events = &fe2;
    n = relais__v1__envelope__pack(&req, buf);
    e = harness_raw(B.coordinator_ep, buf, n, 1, 5000);
    cr_assert_str_eq(e->error->code, "forbidden");
    ENV_FREE(e);
    req.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_CASES;
    req.fetch_cases = &fc;
    /* A coordinator asking for another structure's cases. */
    fc.structure_id = "asq-centre";
    n = relais__v1__envelope__pack(&req, buf);
    e = harness_raw(B.coordinator_ep, buf, n, 1, 5000);
    cr_assert_str_eq(e->error->code, "forbidden");
    ENV_FREE(e);

    /* Still serving. */
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    harness_ref(&h, "OK-1", "Martin", "Léo", "2004-02-02", "Centre");
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    ENV_FREE(e);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(flow, full_map_grows_then_answers_unavailable_keeps_state_and_recovers)
{
    /* Start at 1 MiB, allowed to grow to 2 MiB only. */
    char *cfg = harness_config_with("map_max_mib = 65536;", "map_max_mib = 2;");
    char *small = cfg;
    cfg = NULL;
    {
        char *at = strstr(small, "map_size_mib = 1024;");
        cr_assert(at);
        memcpy(at, "map_size_mib = 1;   ", strlen("map_size_mib = 1024;"));
    }
    harness_start(&B, small);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e = NULL;
    char ref[32], last[48], first[24], birth[11];
    int accepted = 0, refused_at = -1;
    for (int i = 0; i < 5000 && refused_at < 0; i++) {
        snprintf(ref, sizeof ref, "MAP-%d", i);
        harness_person((unsigned)i, last, first, birth);
        harness_ref(&h, ref, last, first, birth, "Centre");
        h.r.notes = "Une note assez longue pour remplir la carte plus vite, encore et encore.";
        int rc = relais_client_submit(ml, &h.r, &e);
        if (rc == RELAIS_EBROKER) {
            cr_assert_str_eq(e->error->code, "unavailable");
            refused_at = i;
        } else {
            cr_assert_eq(rc, RELAIS_OK, "%s", relais_client_last_error(ml));
            cr_assert_neq(e->ack->status, RELAIS__V1__ACK_STATUS__ACK_UNSPECIFIED);
            accepted++;
        }
        relais__v1__envelope__free_unpacked(e, NULL);
    }
    cr_assert_gt(refused_at, 10, "the map should hold some referrals first");
    char *log = harness_log(&B);
    cr_assert(strstr(log, "grown from 1 MiB to 2 MiB"), "the map grew before refusing");
    free(log);

    /* Everything acknowledged is still there, and reads still work. */
    harness_person(0, last, first, birth);
    harness_ref(&h, "MAP-0", last, first, birth, "Centre");
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert(ack->replay);
    relais__v1__envelope__free_unpacked(e, NULL);
    cr_assert_eq(relais_client_fetch_events(ml, 0, 1, &e), RELAIS_OK);
    relais__v1__envelope__free_unpacked(e, NULL);
    relais_client_destroy(&ml);
    harness_stop(&B);

    /* Space returns (a higher ceiling): the refused referral is accepted,
     * as new: nothing of it had been kept. */
    char *at = strstr(small, "map_max_mib = 2;");
    cr_assert(at);
    memcpy(at, "map_max_mib = 64", strlen("map_max_mib = 64"));
    FILE *f = fopen(B.config, "w");
    fputs(small, f);
    fclose(f);
    harness_restart(&B);
    ml = harness_partner(&B, "mission-locale");
    snprintf(ref, sizeof ref, "MAP-%d", refused_at);
    harness_person((unsigned)refused_at, last, first, birth);
    harness_ref(&h, ref, last, first, birth, "Centre");
    ack = harness_submit(ml, &h, &e);
    cr_assert_not(ack->replay);
    /* Long past the 166 budget places: a new case, waitlisted. */
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_WAITLISTED);
    cr_assert_str_not_empty(ack->case_id);
    relais__v1__envelope__free_unpacked(e, NULL);
    relais_client_destroy(&ml);
    harness_stop(&B);
    free(small);
}

Test(flow, the_data_key_can_live_outside_the_data_directory)
{
    char keydir[] = "/tmp/relais-key-XXXXXX";
    cr_assert(mkdtemp(keydir));
    char line[400], path[300];
    snprintf(path, sizeof path, "%s/data.key", keydir);
    snprintf(line, sizeof line, "data_key_file = \"%s\";", path);
    char *cfg = harness_config_with("# data_key_file = \"/etc/relais/data.key\";", line);
    harness_start(&B, cfg);
    free(cfg);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, "KEY-1", "Clef", "Ailleurs", "2004-05-05", "Centre");
    cr_assert_eq(harness_submit(ml, &h, &e)->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    relais__v1__envelope__free_unpacked(e, NULL);
    relais_client_destroy(&ml);
    harness_stop(&B);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "no data key at %s", path);
    cr_assert_eq(st.st_mode & 0777, 0600);
    char in_data[400];
    snprintf(in_data, sizeof in_data, "%s/data.key", B.data);
    cr_assert_neq(stat(in_data, &st), 0, "a data key was written in the data directory");
    unlink(path);
    rmdir(keydir);
}
