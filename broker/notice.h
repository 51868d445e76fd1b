/*  notice — the decision notice for a refusal, in plain French.
 *
 *  When relais does not give a young person a place, the programme team
 *  must be able to tell them so in writing, with the reasons and the means
 *  of appeal (an administrative decision of the CCAS).  A notice is
 *  printed by the programme team and read or handed to the young person;
 *  it is not a log, so it may name them -- only when the case holds their
 *  person record.
 *
 *  Which decisions:
 *    notice_case      a case DECLINED (handed back by every structure:
 *                     each structure's hand-back with its date and the
 *                     reason its coordinator gave, as the broker sent it
 *                     to the referrer's feed), WAITLISTED (the budget is
 *                     fully committed: the Ack's reasons and today's
 *                     position in the waitlist) or REVIEW (held while the
 *                     programme team checks a possible match: the Ack's
 *                     reasons).  Any other state is not a refusal: -1.
 *    notice_referral  a referral answered INELIGIBLE: no case and no
 *                     person exist, only the idempotency record (key
 *                     partner \0 partner_ref) holding the Ack and its
 *                     reasons' French messages; the notice names the
 *                     referral, not the person.  A referral that joined
 *                     a case gives that case's notice; an INVALID one is
 *                     not a decision (the partner corrects and resends):
 *                     -1.
 *  Every notice ends with the means of appeal: recours gracieux to the
 *  president of the CCAS, then the administrative court of Besançon,
 *  within two months of notification.
 *
 *  Output: plain UTF-8 text on OUT.  Reasons are printed as stored (the
 *  broker's messages are written to be read to the young person).
 *
 *  Like admin.h: the store is opened read-only beside the broker, one read
 *  transaction; returns 0, or -1 with the reason in ERR (store unreadable,
 *  unknown case or referral, nothing to notify).
 */
#ifndef RELAIS_NOTICE_H
#define RELAIS_NOTICE_H

#include "config.h"

#include <stddef.h>
#include <stdio.h>

int notice_case(const char *store_dir, const config_t *cfg, const char *case_id, FILE *out,
                char *err, size_t errlen);
int notice_referral(const char *store_dir, const config_t *cfg, const char *partner,
                    const char *partner_ref, FILE *out, char *err, size_t errlen);

#endif
