/*  notice — decision notices for refusals.  See notice.h for which
 *  decisions and what a notice says.
 *
 *  Everything comes from the store as the broker wrote it, in one read
 *  transaction: the case record (state, dates, the structures that
 *  declined it), the referral record of the case's first referral (its
 *  Ack: the reasons' French messages given at the time), that referral's
 *  partner feed (the DECLINED events, one per hand-back, whose detail is
 *  the reason the coordinator gave), the waitlist (today's position) and,
 *  for the name at the top, the person record.  Nothing is recomputed:
 *  the notice says what was decided and why, as it was said then.
 *
 *  The first referral's feed is enough: cases.c sends every state change
 *  to every referral attached, and the first one is attached from the
 *  start.  Cost: one scan of that partner's feed (O(events)).
 */
#include "notice.h"
#include "errbuf.h"

#include "clock.h"
#include "date.h"
#include "persons.h"
#include "relais_store.pb-c.h"
#include "store.h"
#include "vocab.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef Relais__Store__CaseRecord case_rec_t;
typedef Relais__Store__ReferralRecord referral_rec_t;

/* The means of appeal against a decision of the CCAS (wording agreed with
 * the programme team; keep it verbatim). */
#define NOTICE_APPEAL                                                                              \
    "recours gracieux auprès du président du CCAS, puis recours contentieux devant le "          \
    "tribunal administratif de Besançon, dans un délai de deux mois à compter de la "           \
    "notification"

/* The detail cases.c writes on an automatic re-route; shown without its
 * code. */
#define NOTICE_NO_ANSWER "no_answer : "

/* "2 mars 2026"; "1er" for the first of the month, as French letters do. */
static const char *s_french_day(date_t d, char out[32])
{
    static const char *const months[] = {"janvier",   "février", "mars",     "avril",
                                         "mai",       "juin",    "juillet",  "août",
                                         "septembre", "octobre", "novembre", "décembre"};
    if (d.month < 1 || d.month > 12)
        snprintf(out, 32, "?");
    else
        snprintf(out, 32, "%d%s %s %d", d.day, d.day == 1 ? "er" : "", months[d.month - 1], d.year);
    return out;
}

static const char *s_french_secs(int64_t secs, char out[32])
{
    if (secs <= 0)
        return snprintf(out, 32, "(date inconnue)"), out;
    return s_french_day(date_from_unix(secs), out);
}

/* The letterhead: who decides, about whom, on what. */
static void s_head(FILE *out, const config_t *cfg, const char *about, const char *addressee,
                   const char *partner, int64_t received_at)
{
    char today[32], when[32];
    s_french_secs(clock_now(), today);
    fprintf(out, "CCAS de Besançon — %s\n\n", cfg->programme_name);
    fprintf(out, "AVIS DE DÉCISION\n\n");
    fprintf(out, "Besançon, le %s\n", today);
    fprintf(out, "%s\n", about);
    fprintf(out, "Destinataire : %s\n", addressee);
    fprintf(out, "Orientation reçue le %s, de la part de : %s\n\n",
            s_french_secs(received_at, when), config_partner_name(cfg, partner));
}

static void s_appeal(FILE *out)
{
    fprintf(out, "\nVoies de recours\n"
                 "Si vous contestez cette décision, vous pouvez former un " NOTICE_APPEAL
                 " du présent avis.\n"
                 "Pour toute question, l'équipe du programme au CCAS peut vous recevoir et vous "
                 "aider dans ces démarches.\n");
}

/* The Ack's reasons as a list, skipping the bare waitlist position (a
 * number, said in words elsewhere). */
static size_t s_ack_reasons(FILE *out, const Relais__V1__Ack *ack)
{
    size_t n = 0;
    for (size_t i = 0; ack && i < ack->n_reasons; i++) {
        const Relais__V1__Reason *r = ack->reasons[i];
        if (strcmp(r->code, "waitlist_position") == 0)
            continue;
        fprintf(out, "  - %s\n", *r->message ? r->message : r->code);
        n++;
    }
    return n;
}

static int s_referral_load(store_txn_t *t, const char *partner, const char *ref,
                           referral_rec_t **out)
{
    char key[512];
    size_t klen = store_key2(key, sizeof key, partner, ref);
    if (!klen)
        return MDB_NOTFOUND;
    return store_get_msg(t, STORE_REFERRALS, key, klen, &relais__store__referral_record__descriptor,
                         (ProtobufCMessage **)out);
}

/* ---- declined by every structure -------------------------------------- */

typedef struct {
    const config_t *cfg;
    const case_rec_t *c;
    const char *partner_ref;
    FILE *out;
    size_t printed;
} s_declines_t;

static int s_decline_event(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_declines_t *d = arg;
    Relais__V1__StatusEvent *ev =
        relais__v1__status_event__unpack(NULL, val->mv_size, val->mv_data);
    if (!ev)
        return 0; /* verify reports it; the notice says what it can read */
    /* A hand-back names the structure; the final "declined by all" event
     * does not. */
    if (ev->state == RELAIS__V1__CASE_STATE__CASE_DECLINED && *ev->structure_id &&
        strcmp(ev->case_id, d->c->case_id) == 0 && strcmp(ev->partner_ref, d->partner_ref) == 0) {
        int64_t at = 0;
        char when[32];
        const char *why = ev->detail;
        if (strncmp(why, NOTICE_NO_ANSWER, strlen(NOTICE_NO_ANSWER)) == 0)
            why += strlen(NOTICE_NO_ANSWER);
        clock_parse(ev->at, &at);
        fprintf(d->out, "  - %s, le %s : %s\n", config_structure_name(d->cfg, ev->structure_id),
                s_french_secs(at, when), *why ? why : "motif non précisé");
        d->printed++;
    }
    relais__v1__status_event__free_unpacked(ev, NULL);
    return 0;
}

static int s_declined(store_txn_t *t, const config_t *cfg, const case_rec_t *c, FILE *out)
{
    char when[32];
    fprintf(out,
            "Décision\n"
            "Votre orientation vers le programme n'a pas pu aboutir : aucune structure "
            "d'accompagnement n'a pu vous accueillir (décision du %s).\n\n"
            "Motifs\n",
            s_french_secs(c->closed_at, when));
    s_declines_t d = {cfg, c, c->referrers[0]->partner_ref, out, 0};
    char prefix[256];
    size_t plen = store_key2(prefix, sizeof prefix, c->referrers[0]->partner, "");
    int rc = plen ? store_scan(t, STORE_FEEDS, prefix, plen, NULL, 0, s_decline_event, &d) : 0;
    if (rc != 0)
        return rc;
    if (!d.printed) /* no event left: the structures, from the case record */
        for (size_t i = 0; i < c->n_declined_by; i++)
            fprintf(out, "  - %s : a refusé l'accompagnement\n",
                    config_structure_name(cfg, c->declined_by[i]));
    fprintf(out, "  - Toutes les structures d'accompagnement du programme, y compris l'équipe "
                 "du programme au CCAS, ont été sollicitées.\n");
    return 0;
}

/* ---- waitlisted, held for review --------------------------------------- */

typedef struct {
    uint64_t upto;
    uint64_t count;
} s_rank_t;

static int s_rank_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)val;
    s_rank_t *r = arg;
    if (key->mv_size == 8 && store_u64_decode(key->mv_data) <= r->upto)
        r->count++;
    return 0;
}

static int s_waitlisted(store_txn_t *t, const config_t *cfg, const case_rec_t *c,
                        const Relais__V1__Ack *ack, FILE *out)
{
    s_rank_t rank = {c->waitlist_seq, 0};
    int rc = store_scan(t, STORE_WAITLIST, "", 0, NULL, 0, s_rank_one, &rank);
    if (rc != 0)
        return rc;
    fprintf(out,
            "Décision\n"
            "Vous remplissez les conditions du programme, mais son budget est aujourd'hui "
            "entièrement engagé : votre demande est inscrite sur la liste d'attente. Elle sera "
            "orientée vers une structure d'accompagnement dès qu'une place se libère, %s.\n\n",
            cfg->waitlist_housing_first
                ? "en priorité pour les personnes sans logement, puis dans l'ordre d'arrivée"
                : "dans l'ordre d'arrivée des demandes");
    fprintf(out, "Motifs\n");
    if (!s_ack_reasons(out, ack))
        fprintf(out, "  - Le budget du programme est entièrement engagé.\n");
    fprintf(out,
            "\nÀ la date du présent avis, votre demande est en position %llu sur la liste "
            "d'attente.\n",
            (unsigned long long)rank.count);
    return 0;
}

static void s_review(const case_rec_t *c, const Relais__V1__Ack *ack, FILE *out)
{
    (void)c;
    fprintf(out,
            "Décision\n"
            "Votre demande est en attente : avant de l'orienter, l'équipe du programme vérifie "
            "qu'elle ne concerne pas une personne déjà orientée. Vous serez informé(e) de la "
            "suite dès la fin de cette vérification.\n\n"
            "Motifs\n");
    if (!s_ack_reasons(out, ack))
        fprintf(out, "  - Rapprochement possible avec une personne déjà orientée.\n");
}

/* ---- entry points ------------------------------------------------------ */

/* The notice of case C, in transaction T. */
static int s_case_notice(store_txn_t *t, const config_t *cfg, const case_rec_t *c, FILE *out,
                         char *err, size_t errlen)
{
    referral_rec_t *r = NULL;
    Relais__Store__PersonRecord *p = NULL;
    char about[64], name[512];
    int status = -1, rc = 0;
    bool declined = c->state == RELAIS__V1__CASE_STATE__CASE_DECLINED;
    bool waitlisted = c->state == RELAIS__V1__CASE_STATE__CASE_WAITLISTED;
    bool review = c->state == RELAIS__V1__CASE_STATE__CASE_REVIEW;
    if (!declined && !waitlisted && !review)
        return errbuf_set(err, errlen,
                      "case %s is not a refusal (state: %s): a notice is for a case declined "
                      "by every structure, waitlisted or held for review",
                      c->case_id, vocab_case_state_name(c->state));
    if (c->n_referrers == 0)
        return errbuf_set(err, errlen, "case %s has no referral (check with: relais-admin verify)",
                      c->case_id);
    const Relais__Store__Referrer *first = c->referrers[0];
    rc = s_referral_load(t, first->partner, first->partner_ref, &r);
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto store_error;
    rc = persons_get(t, c->person_id, &p);
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto store_error;
    /* Named only from the person record, which exists for every case. */
    if (p && p->person && (*p->person->first_names || *p->person->last_name))
        snprintf(name, sizeof name, "%s %s", p->person->first_names, p->person->last_name);
    else
        snprintf(name, sizeof name, "la personne orientée (référence %s)", first->partner_ref);
    snprintf(about, sizeof about, "Dossier : %s", c->case_id);
    s_head(out, cfg, about, name, first->partner, r ? r->received_at : c->created_at);
    const Relais__V1__Ack *ack = r ? r->ack : NULL;
    rc = 0;
    if (declined)
        rc = s_declined(t, cfg, c, out);
    else if (waitlisted)
        rc = s_waitlisted(t, cfg, c, ack, out);
    else
        s_review(c, ack, out);
    if (rc != 0)
        goto store_error;
    s_appeal(out);
    status = 0;
    goto cleanup;
store_error:
    errbuf_set(err, errlen, "cannot read the store: %s", store_strerror(rc));
cleanup:
    if (r)
        relais__store__referral_record__free_unpacked(r, NULL);
    if (p)
        relais__store__person_record__free_unpacked(p, NULL);
    return status;
}

static int s_case_by_id(store_txn_t *t, const config_t *cfg, const char *case_id, FILE *out,
                        char *err, size_t errlen)
{
    case_rec_t *c = NULL;
    int rc = store_get_msg(t, STORE_CASES, case_id, strlen(case_id),
                           &relais__store__case_record__descriptor, (ProtobufCMessage **)&c);
    if (rc == MDB_NOTFOUND)
        return errbuf_set(err, errlen, "no case %s", case_id);
    if (rc != 0)
        return errbuf_set(err, errlen, "cannot read case %s: %s", case_id, store_strerror(rc));
    int status = s_case_notice(t, cfg, c, out, err, errlen);
    relais__store__case_record__free_unpacked(c, NULL);
    return status;
}

int notice_case(const char *store_dir, const config_t *cfg, const char *case_id, FILE *out,
                char *err, size_t errlen)
{
    store_txn_t t = {0};
    if (!case_id || !*case_id)
        return errbuf_set(err, errlen, "a case id is needed");
    store_t *store = store_open_reader(store_dir, &t, err, errlen);
    if (!store)
        return -1;
    int status = s_case_by_id(&t, cfg, case_id, out, err, errlen);
    store_abort(&t);
    store_close(&store);
    return status;
}

int notice_referral(const char *store_dir, const config_t *cfg, const char *partner,
                    const char *partner_ref, FILE *out, char *err, size_t errlen)
{
    store_txn_t t = {0};
    referral_rec_t *r = NULL;
    int status = -1;
    store_t *store = store_open_reader(store_dir, &t, err, errlen);
    if (!store)
        return -1;
    int rc = s_referral_load(&t, partner, partner_ref, &r);
    if (rc == MDB_NOTFOUND) {
        errbuf_set(err, errlen, "no referral %s:%s", partner, partner_ref);
        goto cleanup;
    }
    if (rc != 0 || !r->ack) {
        errbuf_set(err, errlen, "cannot read referral %s:%s: %s", partner, partner_ref,
               rc ? store_strerror(rc) : "no answer recorded");
        goto cleanup;
    }
    if (*r->case_id) {
        /* It joined a case: the decision is the case's. */
        status = s_case_by_id(&t, cfg, r->case_id, out, err, errlen);
        goto cleanup;
    }
    if (r->ack->status != RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE) {
        errbuf_set(err, errlen,
               "referral %s:%s was answered %s: not a decision about the young person (the "
               "partner corrects the referral and sends it again)",
               partner, partner_ref, vocab_ack_status_name(r->ack->status));
        goto cleanup;
    }
    char about[600], who[600];
    snprintf(about, sizeof about, "Orientation : %s (référence %s)", config_partner_name(cfg, partner),
             partner_ref);
    /* No person record is kept for an ineligible referral: no name. */
    snprintf(who, sizeof who, "la personne orientée par %s (référence %s)",
             config_partner_name(cfg, partner), partner_ref);
    s_head(out, cfg, about, who, partner, r->received_at);
    fprintf(out, "Décision\n"
                 "Votre orientation vers le programme ne peut pas être retenue : les conditions "
                 "pour y entrer ne sont pas remplies.\n\n"
                 "Motifs\n");
    if (!s_ack_reasons(out, r->ack))
        fprintf(out, "  - Les conditions du programme ne sont pas remplies.\n");
    s_appeal(out);
    status = 0;
cleanup:
    if (r)
        relais__store__referral_record__free_unpacked(r, NULL);
    store_abort(&t);
    store_close(&store);
    return status;
}
