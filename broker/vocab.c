/*  vocab — enum <-> word tables for the contract's enums.  See vocab.h. */
#include "vocab.h"

#include <strings.h>

static const char *const s_benefits[VOCAB_BENEFIT_COUNT] = {
    "unspecified", "none", "rsa", "cej", "garantie_jeunes", "are", "aah"};
static const char *const s_needs[VOCAB_NEED_COUNT] = {
    "unspecified", "health",     "housing",    "mobility",    "digital",   "training",
    "employment",  "culture_sport", "confidence", "citizenship", "other"};
static const char *const s_states[VOCAB_CASE_STATE_COUNT] = {
    "unspecified",  "routed", "accepted",   "diagnosis_done", "plan_agreed",
    "contract_signed", "closed", "waitlisted", "review",         "declined"};
static const char *const s_outcomes[VOCAB_OUTCOME_COUNT] = {
    "unspecified", "training",      "employment", "civic_service", "cej",
    "micro_lycee", "care_pathway", "moved_away", "no_contact",    "other"};
static const char *const s_acks[VOCAB_ACK_STATUS_COUNT] = {
    "unspecified", "accepted", "merged", "ineligible", "invalid", "waitlisted", "review"};
static const char *const s_actions[] = {"unspecified", "accept", "decline", "milestone", "close"};

/* Index 0 ("unspecified") is never accepted as input: a word must name a
 * real value. */
static int s_parse(const char *const *table, int count, const char *name)
{
    if (!name)
        return -1;
    for (int i = 1; i < count; i++)
        if (strcasecmp(table[i], name) == 0)
            return i;
    return -1;
}

static const char *s_name(const char *const *table, int count, int value)
{
    return value >= 0 && value < count ? table[value] : "unknown";
}

int vocab_benefit_parse(const char *name)
{
    return s_parse(s_benefits, VOCAB_BENEFIT_COUNT, name);
}
const char *vocab_benefit_name(int value)
{
    return s_name(s_benefits, VOCAB_BENEFIT_COUNT, value);
}
int vocab_need_parse(const char *name)
{
    return s_parse(s_needs, VOCAB_NEED_COUNT, name);
}
const char *vocab_need_name(int value)
{
    return s_name(s_needs, VOCAB_NEED_COUNT, value);
}
int vocab_case_state_parse(const char *name)
{
    return s_parse(s_states, VOCAB_CASE_STATE_COUNT, name);
}
const char *vocab_case_state_name(int value)
{
    return s_name(s_states, VOCAB_CASE_STATE_COUNT, value);
}
int vocab_outcome_parse(const char *name)
{
    return s_parse(s_outcomes, VOCAB_OUTCOME_COUNT, name);
}
const char *vocab_outcome_name(int value)
{
    return s_name(s_outcomes, VOCAB_OUTCOME_COUNT, value);
}
const char *vocab_ack_status_name(int value)
{
    return s_name(s_acks, VOCAB_ACK_STATUS_COUNT, value);
}
const char *vocab_action_name(int value)
{
    return s_name(s_actions, (int)(sizeof s_actions / sizeof *s_actions), value);
}
