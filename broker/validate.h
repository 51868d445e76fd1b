/*  validate — is a referral well-formed?  (PROTOCOL.md, Referral.)
 *
 *  First step of the referral path: decode -> VALIDATE -> match -> decide
 *  -> route -> commit -> reply.  Checks, reporting EVERY problem found, one
 *  reason each (stable codes):
 *    missing_field  partner_ref, person, last_name, first_names, birth_date
 *    bad_utf8       any string field not valid UTF-8 (or with control chars)
 *    too_long       a field over its bound (VALIDATE_MAX_* below)
 *    bad_date       birth_date / referred_on not a real YYYY-MM-DD day, a
 *                   birth date in the future, a referral date in the future
 *    bad_value      sex not F/M/X/"", an unknown Benefit or Need value,
 *                   postcode not 5 digits, INE not 11 letters/digits,
 *                   email without "@", phone with letters
 *    too_many       more than VALIDATE_MAX_LIST benefits or needs
 *  A reason names the field, never echoes its value (no personal data in
 *  answers that travel or get logged).  Consent is NOT checked here: a
 *  well-formed referral without consent is ineligible (eligibility.h).
 *
 *  Thread-safety: pure.
 */
#ifndef RELAIS_VALIDATE_H
#define RELAIS_VALIDATE_H

#include "date.h"
#include "reasons.h"
#include "relais.pb-c.h"

#include <stdbool.h>

#define VALIDATE_MAX_REF 64      /* partner_ref */
#define VALIDATE_MAX_NAME 100    /* last_name, first_names, city, quartier */
#define VALIDATE_MAX_SHORT 64    /* phone, postcode, ine, referrer_name */
#define VALIDATE_MAX_EMAIL 254   /* email, referrer_email */
#define VALIDATE_MAX_NOTES 2000  /* notes */
#define VALIDATE_MAX_LIST 16     /* benefits, needs */

/* TODAY is the day the referral is received (clock.h), used to refuse
 * dates in the future.  Returns true when valid; otherwise false with the
 * reasons appended to OUT. */
bool validate_referral(const Relais__V1__Referral *r, date_t today, reasons_t *out);

#endif
