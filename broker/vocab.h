/*  vocab — the words of the contract, as text.
 *
 *  Every place that turns an enum of proto/relais.proto into a word or back
 *  (the CSV reader, the configuration, the command-line programs, the logs)
 *  goes through here, so "garantie_jeunes" is spelled in exactly one place.
 *  Names are lower-case ASCII, as in PROTOCOL.md's CSV columns.
 *
 *  Thread-safety: stateless, pure functions.
 */
#ifndef RELAIS_VOCAB_H
#define RELAIS_VOCAB_H

#include "relais.pb-c.h"

/* One past the highest value of each enum, for tables indexed by it. */
#define VOCAB_BENEFIT_COUNT 7
#define VOCAB_NEED_COUNT 11
#define VOCAB_CASE_STATE_COUNT 10
#define VOCAB_OUTCOME_COUNT 10
#define VOCAB_ACK_STATUS_COUNT 7

/* Each *_parse returns the enum value for NAME (case-insensitive ASCII), or
 * -1 when NAME is not a word of that list.  Each *_name returns a static
 * string, "unknown" for a value outside the enum. */
int vocab_benefit_parse(const char *name);   /* none rsa cej garantie_jeunes are aah */
const char *vocab_benefit_name(int value);
int vocab_need_parse(const char *name);      /* health housing ... other */
const char *vocab_need_name(int value);
int vocab_case_state_parse(const char *name); /* routed accepted diagnosis_done ... */
const char *vocab_case_state_name(int value);
int vocab_outcome_parse(const char *name);   /* training employment ... other */
const char *vocab_outcome_name(int value);
const char *vocab_ack_status_name(int value); /* accepted merged ineligible ... */
const char *vocab_action_name(int value);    /* accept decline milestone close */

#endif
