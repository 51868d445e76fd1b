/*  eligibility — the programme's entry rules.  See eligibility.h.
 *
 *  The "decide" step for a new person: age on the referral date, no
 *  common-law benefit (RSA, CEJ, Garantie jeunes, ARE: DOMAIN.md), no
 *  resources above the ceiling, consent, and a referral dated while the
 *  programme runs.  The rules' numbers all come from the configuration;
 *  this file only knows their shape.
 *
 *  Every failing rule is reported, so a referrer learns at once everything
 *  that keeps a young person out.  Messages are meant to be read aloud to
 *  that young person: plain French, the rule and its threshold, never the
 *  person's own data (not even the declared resources).
 */
#include "eligibility.h"

#include <stdio.h>
#include <string.h>

/* How each benefit reads in a sentence "… qui perçoivent %s."; NULL for
 * values that are not a benefit one perceives (the message then falls
 * back to the contract's word). */
static const char *const s_benefit_label[VOCAB_BENEFIT_COUNT] = {
    [RELAIS__V1__BENEFIT__BENEFIT_RSA] = "le RSA",
    [RELAIS__V1__BENEFIT__BENEFIT_CEJ] = "l'allocation du contrat d'engagement jeune (CEJ)",
    [RELAIS__V1__BENEFIT__BENEFIT_GARANTIE_JEUNES] = "l'allocation de la Garantie jeunes",
    [RELAIS__V1__BENEFIT__BENEFIT_ARE] = "l'allocation chômage (ARE)",
    [RELAIS__V1__BENEFIT__BENEFIT_AAH] = "l'allocation aux adultes handicapés (AAH)",
};

static bool s_has_benefit(const Relais__V1__Referral *r, int value)
{
    for (size_t i = 0; i < r->n_benefits; i++)
        if ((int)r->benefits[i] == value)
            return true;
    return false;
}

/* "JJ/MM/AAAA", the way dates are written to French readers. */
static void s_french_date(date_t d, char out[static 11])
{
    char iso[11];
    date_format(d, iso); /* fixed width, so the pieces are at fixed places */
    const char fr[11] = {iso[8], iso[9], '/',    iso[5], iso[6], '/',
                         iso[0], iso[1], iso[2], iso[3], '\0'};
    memcpy(out, fr, sizeof fr);
}

bool eligibility_check(const config_t *cfg, const Relais__V1__Referral *r, date_t referred_on,
                       reasons_t *out)
{
    size_t failed = 0;

    /* The precondition says the birth date parses; if it does not, fail
     * closed rather than let an unchecked person through. */
    date_t born;
    if (!r->person || !date_parse_iso(r->person->birth_date, &born)) {
        reasons_add(out, "bad_date", "La date de naissance est absente ou illisible.");
        failed++;
    } else {
        /* Ages compare as long: the age is negative when the birth date
         * follows the referral date, and the bounds are unsigned. */
        long age = date_age_on(born, referred_on);
        if (age < (long)cfg->min_age) {
            reasons_add(out, "too_young",
                        "La personne doit avoir au moins %u ans à la date d'orientation.",
                        cfg->min_age);
            failed++;
        } else if (age > (long)cfg->max_age) {
            reasons_add(out, "too_old",
                        "La personne doit avoir au plus %u ans à la date d'orientation "
                        "(jusqu'à la veille de ses %u ans).",
                        cfg->max_age, cfg->max_age + 1);
            failed++;
        }
    }

    /* In the enum's order, not the partner's, and once per benefit even if
     * it is listed twice: the answer does not depend on how the list was
     * typed. */
    for (int b = 0; b < VOCAB_BENEFIT_COUNT; b++) {
        if (!cfg->excluded_benefit[b] || !s_has_benefit(r, b))
            continue;
        char code[REASON_CODE_MAX];
        snprintf(code, sizeof code, "benefit_%s", vocab_benefit_name(b));
        if (s_benefit_label[b])
            reasons_add(out, code, "Le programme ne s'adresse pas aux personnes qui perçoivent %s.",
                        s_benefit_label[b]);
        else
            reasons_add(out, code, "Le programme exclut la situation déclarée « %s ».",
                        vocab_benefit_name(b));
        failed++;
    }

    if (r->resources_eur_month > cfg->resources_ceiling_eur) {
        reasons_add(out, "resources_above_ceiling",
                    "Les ressources déclarées dépassent le plafond du programme (%u euros par "
                    "mois).",
                    (unsigned)cfg->resources_ceiling_eur);
        failed++;
    }

    if (!r->consent) {
        reasons_add(out, "no_consent",
                    "La personne n'a pas donné son accord pour être orientée vers le programme.");
        failed++;
    }

    char when[11];
    if (cfg->has_start && date_compare(referred_on, cfg->start_date) < 0) {
        s_french_date(cfg->start_date, when);
        reasons_add(out, "programme_closed",
                    "Le programme n'a pas encore commencé à la date d'orientation (il débute le "
                    "%s).",
                    when);
        failed++;
    } else if (cfg->has_end && date_compare(referred_on, cfg->end_date) > 0) {
        s_french_date(cfg->end_date, when);
        reasons_add(out, "programme_closed",
                    "Le programme est terminé à la date d'orientation (il a pris fin le %s).",
                    when);
        failed++;
    }

    return failed == 0;
}
