/*  test_escalation — reminders and no-answer re-routing count calendar
 *  days from the routing day, not 24-hour periods: routed late on the
 *  20th, a case is reminded on the 30th however early, and not on the
 *  29th however late.  (Counted in seconds, a broker started at noon on
 *  the 30th missed a case routed a few seconds after noon on the 20th.)
 */
#include "cases.h"
#include "clock.h"
#include "config.h"
#include "identity.h"
#include "persons.h"
#include "route.h"
#include "store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char s_dir[64];
static store_t *s_store;
static config_t *s_cfg;
static route_t *s_route;
static cases_t *s_cases;

/* 2026-11-DD at HH:MM:SS UTC. */
static int64_t s_nov(int day, int h, int m, int sec)
{
    return INT64_C(1793491200) + (int64_t)(day - 1) * 86400 + h * 3600 + m * 60 + sec;
}

static void setup(void)
{
    char err[256];
    strcpy(s_dir, "/tmp/relais-escalation-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    s_store = store_open(s_dir, 16 << 20, false, err, sizeof err);
    cr_assert_not_null(s_store, "%s", err);
    s_cfg = config_load_default(err, sizeof err);
    cr_assert_not_null(s_cfg, "%s", err);
    s_route = route_new(s_cfg, err, sizeof err);
    cr_assert_not_null(s_route, "%s", err);
    s_cases = cases_new(s_cfg, s_route, err, sizeof err);
    cr_assert_not_null(s_cases, "%s", err);
    cr_assert_eq(identity_init(s_dir, err, sizeof err), 0, "%s", err); /* the sealing key */
}

static void teardown(void)
{
    char cmd[128];
    identity_shutdown();
    cases_destroy(&s_cases);
    route_destroy(&s_route);
    config_free(&s_cfg);
    store_close(&s_store);
    clock_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    cr_assert_eq(system(cmd), 0);
}

static void s_escalate_at(int64_t now, size_t *reminded, size_t *rerouted)
{
    store_txn_t t;
    clock_set(now);
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(cases_escalate(s_cases, &t, now, reminded, rerouted), 0);
    cr_assert_eq(store_commit(&t), 0);
}

Test(escalation, counts_calendar_days_from_the_routing_day, .init = setup, .fini = teardown)
{
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
    p.last_name = "Attente";
    p.first_names = "Sans";
    p.birth_date = "2004-06-15";
    p.quartier = "Montrapon";
    r.partner_ref = "E-1";
    r.person = &p;
    store_txn_t t;
    cases_placement_t placed;
    uint64_t person;
    clock_set(s_nov(20, 23, 59, 50));
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(persons_create(&t, &p, &person), 0);
    cr_assert_eq(cases_open(s_cases, &t, person, "mission-locale", "E-1", &r, NULL, &placed), 0);
    cr_assert_eq(store_commit(&t), 0);
    cr_assert_str_not_empty(placed.structure_id);

    size_t reminded, rerouted;
    s_escalate_at(s_nov(29, 23, 59, 59), &reminded, &rerouted); /* day 9 */
    cr_expect_eq(reminded, 0);
    s_escalate_at(s_nov(30, 0, 0, 1), &reminded, &rerouted); /* day 10, 24 h not yet */
    cr_expect_eq(reminded, 1);
    cr_expect_eq(rerouted, 0);
    s_escalate_at(s_nov(30, 18, 0, 0), &reminded, &rerouted); /* once only */
    cr_expect_eq(reminded, 0);
    /* Day 30 (2026-12-20), minutes after midnight: re-routed. */
    s_escalate_at(s_nov(20, 0, 5, 0) + INT64_C(30) * 86400, &reminded, &rerouted);
    cr_expect_eq(rerouted, 1);
}
