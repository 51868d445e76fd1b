/*  eligibility — does a (valid) referral meet the programme's rules?
 *
 *  The "decide" step for a new person (DOMAIN.md, rules in config.h's
 *  programme section).  Every failing rule is reported, one reason each:
 *    too_young         under min_age on the referral date
 *    too_old           max_age + 1 reached on the referral date
 *    benefit_rsa, benefit_cej, benefit_garantie_jeunes, benefit_are, ...
 *                      receives an excluded benefit (code "benefit_" + the
 *                      vocab word)
 *    resources_above_ceiling   declared resources above the ceiling
 *    no_consent        the young person did not agree to be referred
 *    programme_closed  referral dated outside the programme's period
 *  Messages are plain French, fit to be read to the young person, and
 *  carry no personal data (an age in years at most).
 *
 *  Thread-safety: pure.
 */
#ifndef RELAIS_ELIGIBILITY_H
#define RELAIS_ELIGIBILITY_H

#include "config.h"
#include "date.h"
#include "reasons.h"
#include "relais.pb-c.h"

#include <stdbool.h>

/* R must have passed validate_referral (its birth date parses).
 * REFERRED_ON is the effective referral date.  Returns true when eligible;
 * otherwise false with the reasons appended to OUT. */
bool eligibility_check(const config_t *cfg, const Relais__V1__Referral *r, date_t referred_on,
                       reasons_t *out);

#endif
