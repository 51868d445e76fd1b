/*  test_eligibility — the programme's entry rules (broker/eligibility.c).
 *
 *  The configuration is built by hand (config_t is a plain struct) with
 *  the Besançon rules: 18 to 25 years old on the referral date, none of
 *  RSA, CEJ, Garantie jeunes, ARE, resources at most 300 EUR a month.
 *  Ages are tested on their exact edges, since one day decides.
 */
#include "eligibility.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    config_t cfg;
    Relais__V1__Referral r;
    Relais__V1__Person p;
    Relais__V1__Benefit benefits[8];
    reasons_t out;
} fixture_t;

static fixture_t F;

/* 2026-03-10: the person below turns 20 on 2026-05-12. */
static const date_t ON = {2026, 3, 10};

static void setup(void)
{
    memset(&F, 0, sizeof F);
    F.cfg.programme_name = "Urgence Solidarités";
    F.cfg.min_age = 18;
    F.cfg.max_age = 25;
    F.cfg.resources_ceiling_eur = 300;
    F.cfg.excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_RSA] = true;
    F.cfg.excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_CEJ] = true;
    F.cfg.excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES] = true;
    F.cfg.excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_ARE] = true;
    F.cfg.envelope_eur = 1000000;
    F.cfg.allowance_eur = 500;
    F.cfg.max_months = 12;
    F.cfg.default_structure = "asq-centre";
    F.cfg.programme_structure = "ccas-programme";

    Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    F.r = r;
    F.p = p;
    F.p.last_name = "Martin";
    F.p.first_names = "Élodie";
    F.p.birth_date = "2006-05-12";
    F.r.partner_ref = "ML-1";
    F.r.person = &F.p;
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_NONE;
    F.r.benefits = F.benefits;
    F.r.n_benefits = 1;
    F.r.resources_eur_month = 0;
    F.r.consent = 1;
    reasons_init(&F.out);
}

TestSuite(eligibility, .init = setup);

static bool check_on(const char *birth, date_t on)
{
    F.p.birth_date = (char *)birth;
    reasons_init(&F.out);
    return eligibility_check(&F.cfg, &F.r, on, &F.out);
}

static bool check(void)
{
    return eligibility_check(&F.cfg, &F.r, ON, &F.out);
}

static void expect_codes(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    cr_assert_eq(F.out.count, n, "expected %zu reasons, got %zu (first: %s)", n, F.out.count,
                 F.out.count ? F.out.items[0].code : "-");
    for (size_t i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        cr_assert_str_eq(F.out.items[i].code, want, "reason %zu", i);
    }
    va_end(ap);
}

/* ---- baseline ------------------------------------------------------------- */

Test(eligibility, typical_young_person_is_eligible)
{
    cr_assert(check());
    expect_codes(0);
}

Test(eligibility, no_benefit_listed_is_fine)
{
    F.r.n_benefits = 0;
    cr_assert(check());
}

/* ---- age ------------------------------------------------------------------- */

Test(eligibility, day_before_18th_birthday_too_young)
{
    /* 17 years and 364 days. */
    cr_assert_not(check_on("2008-03-11", ON));
    expect_codes(1, "too_young");
    cr_assert_str_eq(F.out.items[0].message,
                     "La personne doit avoir au moins 18 ans à la date d'orientation.");
}

Test(eligibility, 18th_birthday_eligible)
{
    cr_assert(check_on("2008-03-10", ON));
    expect_codes(0);
}

Test(eligibility, day_before_26th_birthday_eligible)
{
    cr_assert(check_on("2000-03-11", ON));
    expect_codes(0);
}

Test(eligibility, 26th_birthday_too_old)
{
    cr_assert_not(check_on("2000-03-10", ON));
    expect_codes(1, "too_old");
    cr_assert_not_null(strstr(F.out.items[0].message, "25 ans"), "%s", F.out.items[0].message);
}

Test(eligibility, born_29_february)
{
    cr_assert_not(check_on("2004-02-29", (date_t){2022, 2, 28}));
    expect_codes(1, "too_young");
    cr_assert(check_on("2004-02-29", (date_t){2022, 3, 1}));
    expect_codes(0);
    /* Leap year: the real birthday. */
    cr_assert(check_on("2004-02-29", (date_t){2024, 2, 29}));
    cr_assert(check_on("2004-02-29", (date_t){2030, 2, 28}), "25 until the 26th birthday");
    cr_assert_not(check_on("2004-02-29", (date_t){2030, 3, 1}));
    expect_codes(1, "too_old");
}

Test(eligibility, age_is_on_referral_date_not_today)
{
    /* 17 on the referral date, though 18 by now: still too young. */
    cr_assert_not(check_on("2008-03-11", ON));
    expect_codes(1, "too_young");
    cr_assert(check_on("2008-03-11", (date_t){2026, 3, 11}));
}

Test(eligibility, birth_after_referral_too_young)
{
    cr_assert_not(check_on("2026-04-01", ON));
    expect_codes(1, "too_young");
}

Test(eligibility, bounds_come_from_config)
{
    F.cfg.min_age = 16;
    F.cfg.max_age = 29;
    cr_assert(check_on("2010-03-10", ON));
    cr_assert(check_on("1996-03-11", ON));
    cr_assert_not(check_on("1996-03-10", ON));
    expect_codes(1, "too_old");
    cr_assert_not(check_on("2010-03-11", ON));
    expect_codes(1, "too_young");
    cr_assert_str_eq(F.out.items[0].message,
                     "La personne doit avoir au moins 16 ans à la date d'orientation.");
}

Test(eligibility, unreadable_birth_date_fails_closed)
{
    cr_assert_not(check_on("2006-02-30", ON));
    cr_assert_eq(F.out.count, 1);
    F.r.person = NULL;
    reasons_init(&F.out);
    cr_assert_not(check());
    cr_assert_eq(F.out.count, 1);
}

/* ---- benefits ---------------------------------------------------------------- */

Test(eligibility, each_excluded_benefit)
{
    struct {
        Relais__V1__Benefit b;
        const char *code;
    } cases[] = {
        {RELAIS__V1__BENEFIT__BENEFIT_RSA, "benefit_rsa"},
        {RELAIS__V1__BENEFIT__BENEFIT_CEJ, "benefit_cej"},
        {RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES, "benefit_garantie_jeunes"},
        {RELAIS__V1__BENEFIT__BENEFIT_ARE, "benefit_are"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        reasons_init(&F.out);
        F.benefits[0] = cases[i].b;
        cr_assert_not(check(), "%s", cases[i].code);
        expect_codes(1, cases[i].code);
        cr_assert(F.out.items[0].message[0] != '\0');
    }
}

Test(eligibility, aah_and_none_not_excluded)
{
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_AAH;
    cr_assert(check());
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_NONE;
    cr_assert(check());
    expect_codes(0);
}

Test(eligibility, exclusions_come_from_config)
{
    F.cfg.excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_RSA] = false;
    F.cfg.excluded_benefit[RELAIS__V1__BENEFIT__BENEFIT_AAH] = true;
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_RSA;
    cr_assert(check());
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_AAH;
    cr_assert_not(check());
    expect_codes(1, "benefit_aah");
}

Test(eligibility, several_benefits_in_enum_order_once_each)
{
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_ARE;
    F.benefits[1] = RELAIS__V1__BENEFIT__BENEFIT_AAH;
    F.benefits[2] = RELAIS__V1__BENEFIT__BENEFIT_RSA;
    F.benefits[3] = RELAIS__V1__BENEFIT__BENEFIT_ARE;
    F.r.n_benefits = 4;
    cr_assert_not(check());
    expect_codes(2, "benefit_rsa", "benefit_are");
}

/* ---- resources ---------------------------------------------------------------- */

Test(eligibility, resources_at_ceiling_ok_above_not)
{
    F.r.resources_eur_month = 300;
    cr_assert(check());
    F.r.resources_eur_month = 301;
    cr_assert_not(check());
    expect_codes(1, "resources_above_ceiling");
    /* The ceiling may be said; the declared amount may not. */
    cr_assert_null(strstr(F.out.items[0].message, "301"), "%s", F.out.items[0].message);
    cr_assert_not_null(strstr(F.out.items[0].message, "300"), "%s", F.out.items[0].message);
}

/* ---- consent -------------------------------------------------------------------- */

Test(eligibility, no_consent)
{
    F.r.consent = 0;
    cr_assert_not(check());
    expect_codes(1, "no_consent");
}

/* ---- programme period ------------------------------------------------------------- */

Test(eligibility, programme_period)
{
    F.cfg.has_start = true;
    F.cfg.start_date = (date_t){2026, 3, 10};
    F.cfg.has_end = true;
    F.cfg.end_date = (date_t){2027, 3, 9};

    cr_assert(check_on("2006-05-12", (date_t){2026, 3, 10}), "first day");
    cr_assert(check_on("2006-05-12", (date_t){2027, 3, 9}), "last day");

    cr_assert_not(check_on("2006-05-12", (date_t){2026, 3, 9}));
    expect_codes(1, "programme_closed");
    cr_assert_not_null(strstr(F.out.items[0].message, "10/03/2026"), "%s", F.out.items[0].message);

    cr_assert_not(check_on("2006-05-12", (date_t){2027, 3, 10}));
    expect_codes(1, "programme_closed");
    cr_assert_not_null(strstr(F.out.items[0].message, "09/03/2027"), "%s", F.out.items[0].message);
}

Test(eligibility, open_ended_programme)
{
    F.cfg.has_start = false;
    F.cfg.start_date = (date_t){2030, 1, 1}; /* ignored: has_start is false */
    F.cfg.has_end = true;
    F.cfg.end_date = (date_t){2026, 12, 31};
    cr_assert(check_on("2000-01-01", (date_t){2020, 1, 1}), "no start: any early date");
    F.cfg.has_end = false;
    cr_assert(check_on("2000-01-01", (date_t){2025, 12, 31}));
}

/* ---- everything together ------------------------------------------------------------- */

Test(eligibility, several_failures_reported_together)
{
    F.cfg.has_end = true;
    F.cfg.end_date = (date_t){2025, 12, 31};
    F.p.birth_date = "2000-01-01"; /* 26 on 2026-03-10 */
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_CEJ;
    F.benefits[1] = RELAIS__V1__BENEFIT__BENEFIT_RSA;
    F.r.n_benefits = 2;
    F.r.resources_eur_month = 1200;
    F.r.consent = 0;
    cr_assert_not(check());
    expect_codes(6, "too_old", "benefit_rsa", "benefit_cej", "resources_above_ceiling",
                 "no_consent", "programme_closed");
}

Test(eligibility, messages_carry_no_personal_data)
{
    F.p.birth_date = "2009-07-04";
    F.r.resources_eur_month = 777;
    F.r.consent = 0;
    F.benefits[0] = RELAIS__V1__BENEFIT__BENEFIT_RSA;
    cr_assert_not(check());
    cr_assert_eq(F.out.count, 4);
    for (size_t i = 0; i < F.out.count; i++) {
        const char *m = F.out.items[i].message;
        cr_assert_null(strstr(m, "2009"), "%s", m);
        cr_assert_null(strstr(m, "777"), "%s", m);
        cr_assert_null(strstr(m, "Martin"), "%s", m);
        cr_assert_null(strstr(m, "lodie"), "%s", m);
    }
}

Test(eligibility, appends_to_existing_reasons)
{
    reasons_add(&F.out, "earlier", "Avant.");
    F.r.consent = 0;
    cr_assert_not(check());
    expect_codes(2, "earlier", "no_consent");
}
