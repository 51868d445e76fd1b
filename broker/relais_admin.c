/*  relais-admin — the programme team's tool: backup, verify, budget, cases,
 *  payments, notice, report.
 *
 *  Every command only reads the store (admin.h, payments.h, notice.h,
 *  report.h): the broker stays its one writer and may keep running.  This
 *  file is the command line around those modules: options, the
 *  configuration (for the envelope, the price of a place, the partners'
 *  kinds and the structures' quartiers), exit codes, and the --help a
 *  programme officer reads.
 *
 *  Exit codes: 0 done; 1 usage error, bad configuration, store that
 *  cannot be opened or read, backup not made; 2 verify (or the backup's
 *  verification) found problems.
 */
#include "admin.h"
#include "cli.h"
#include "staff_client.h"
#include "audit.h"
#include "config.h"
#include "datakey.h"
#include "notice.h"
#include "payments.h"
#include "report.h"
#include "vocab.h"

#include <getopt.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_EXIT_OK = 0, S_EXIT_FAIL = 1, S_EXIT_PROBLEMS = 2 };

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: relais-admin [--data DIR] [--config FILE] [--json] COMMAND [ARGS]\n"
            "\n"
            "The programme team's tool.  The commands below only read the broker's data\n"
            "(the broker can keep running); the decisions further down are sent to the\n"
            "broker, which alone changes cases.  No command shows a young person's name,\n"
            "birth date, contact details or notes: only ids.\n"
            "\n"
            "Commands:\n"
            "  backup DEST     copy the data into DEST, a new (or empty) directory, then\n"
            "                  check the copy; safe while the broker runs (the copy is\n"
            "                  one consistent moment).  The copy is readable by you only:\n"
            "                  it holds personal data: keep it safe.  To restore,\n"
            "                  stop the broker and start it with --data DEST.\n"
            "  verify          check that the records agree with one another (cases,\n"
            "                  young people, structure queues and loads, partner event\n"
            "                  feeds, waitlist, budget); prints one line per problem,\n"
            "                  \"problem: ...\", then a summary line.\n"
            "  budget          the envelope, the places committed (contract signed) and\n"
            "                  reserved (routed, no contract yet), what is free, and the\n"
            "                  waitlist.\n"
            "  cases [--state STATE] [--structure ID]\n"
            "                  list the cases, oldest first: case, state, structure,\n"
            "                  created and routed days, outcome, referring partners.\n"
            "                  STATE: routed accepted diagnosis_done plan_agreed\n"
            "                  contract_signed closed waitlisted review declined.\n"
            "  payments --month YYYY-MM [--csv]\n"
            "                  the allowances due that month: one line per contract active\n"
            "                  in the month (case id = payment reference, structure,\n"
            "                  contract dates, amount prorated by days), then the total.\n"
            "                  --csv: case_id,structure_id,contract_start,contract_end,due_eur\n"
            "  notice --case ID | --referral PARTNER:REF\n"
            "                  the decision notice, in French, to read or hand to the young\n"
            "                  person, for a case declined by every structure, waitlisted\n"
            "                  or held for review, or for an ineligible referral: the\n"
            "                  decision, its reasons and the means of appeal.\n"
            "  report [--from DATE] [--to DATE] [--format text|csv|json|html]\n"
            "                  the evaluation report on the referrals received and cases\n"
            "                  opened in the period (DATE: YYYY-MM-DD, inclusive): referrals\n"
            "                  by partner, duplicates, eligibility, routing and acceptance,\n"
            "                  delays, declines, waitlist, outcomes, budget.  html: one\n"
            "                  self-contained page with charts (redirect it to a file).\n"
            "  audit [--case ID] [--since DATE]\n"
            "                  the audit log, oldest first: who (the key's identity),\n"
            "                  when, what (request, case, partner_ref), done or refused\n"
            "                  and why.  DATE: YYYY-MM-DD.\n"
            "  access-report --person CASE_ID\n"
            "                  everything the audit log holds about the young person of\n"
            "                  that case (all their cases): who saw or changed their\n"
            "                  record, and when (GDPR art. 15).\n"
            "  explain CASE    why each referral of the case was, or was not, taken for a\n"
            "                  known young person: the decision, its score and the\n"
            "                  contribution of each field (read from the store).\n"
            "\n"
            "Decisions on possible matches go through the broker (it stays the only\n"
            "writer), with a staff key:\n"
            "  review list     the referrals held as possible matches, each with the known\n"
            "                  person it may be and the per-field evidence\n"
            "  review link CASE --to CASE\n"
            "                  the same young person: the held referral joins that case\n"
            "  review separate CASE\n"
            "                  different young people: the held case is routed as new\n"
            "  erase --case ID --reason TEXT\n"
            "                  erase the personal data of that case's young person on\n"
            "                  request (GDPR art. 17): every case of theirs must be closed;\n"
            "                  statistics and the audit record stay, referrers are told\n"
            "  unlink CASE --referral PARTNER:REF\n"
            "                  repair a wrong link: the referral leaves CASE and becomes a\n"
            "                  case of its own\n"
            "  Options for these: --broker EP (default tcp://127.0.0.1:7411), --as STAFF_ID,\n"
            "  --key FILE (or RELAIS_KEY), --broker-key KEY (or RELAIS_BROKER_KEY),\n"
            "  --timeout MS.\n"
            "\n"
            "Options:\n"
            "  --data DIR      the broker's data directory (default: var/data)\n"
            "  --config FILE   the broker's configuration, for the envelope and the\n"
            "                  allowance (default: the built-in Besançon configuration)\n"
            "  --json          print one JSON document instead of text\n"
            "  --help          this help\n"
            "  --version       print the version\n"
            "\n"
            "Exit status: 0 done; 1 wrong usage, or the data or configuration cannot be\n"
            "read, or no backup was made; 2 verify (or the check of a backup) found\n"
            "problems: keep the broker's logs and contact the technical team.\n"
            "\n"
            "Examples:\n"
            "  relais-admin --data /var/lib/relais backup /srv/backup/relais-2026-11-30\n"
            "  relais-admin --data /var/lib/relais verify\n"
            "  relais-admin --data /var/lib/relais --json budget\n"
            "  relais-admin --data /var/lib/relais cases --state routed --structure asq-planoise\n"
            "  relais-admin --data /var/lib/relais payments --month 2026-12 --csv > paiements.csv\n"
            "  relais-admin --data /var/lib/relais notice --case C0000042\n"
            "  relais-admin --data /var/lib/relais notice --referral mission-locale:ML-2026-0007\n"
            "  relais-admin --data /var/lib/relais report --from 2026-01-01 --format html > "
            "rapport.html\n");
}

static int s_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "relais-admin: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'relais-admin --help'.\n");
    va_end(ap);
    return S_EXIT_FAIL;
}

/* Options that belong to one command only. */
typedef struct {
    const char *state_word, *structure; /* cases */
    const char *month;                  /* payments */
    bool csv;                           /* payments */
    const char *case_id, *referral;     /* notice */
    const char *from, *to, *format;     /* report */
    const char *since;                  /* audit (and --case) */
    const char *person;                 /* access-report */
    const char *reason;                 /* erase */
} s_opts_t;

/* Refuses an option given to a command it does not belong to. */
static int s_check_opts(const char *command, const s_opts_t *o)
{
    static const struct {
        const char *command, *name;
        size_t offset;
    } owned[] = {
        {"cases", "--state", offsetof(s_opts_t, state_word)},
        {"cases", "--structure", offsetof(s_opts_t, structure)},
        {"payments", "--month", offsetof(s_opts_t, month)},
        {"notice", "--case", offsetof(s_opts_t, case_id)}, /* audit too: below */
        {"notice", "--referral", offsetof(s_opts_t, referral)},
        {"report", "--from", offsetof(s_opts_t, from)},
        {"report", "--to", offsetof(s_opts_t, to)},
        {"report", "--format", offsetof(s_opts_t, format)},
        {"audit", "--since", offsetof(s_opts_t, since)},
        {"access-report", "--person", offsetof(s_opts_t, person)},
        {"erase", "--reason", offsetof(s_opts_t, reason)},
    };
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        const char *v = *(const char *const *)((const char *)o + owned[i].offset);
        bool audit_case = owned[i].offset == offsetof(s_opts_t, case_id) &&
                          (strcmp(command, "audit") == 0 || strcmp(command, "erase") == 0);
        bool unlink_ref = owned[i].offset == offsetof(s_opts_t, referral) &&
                          strcmp(command, "unlink") == 0;
        /* --to: report's last day, or review link's existing case. */
        bool review_to = owned[i].offset == offsetof(s_opts_t, to) &&
                         strcmp(command, "review") == 0;
        if (v && strcmp(command, owned[i].command) != 0 && !audit_case && !unlink_ref &&
            !review_to)
            return s_usage_error("%s goes with the %s command, not %s", owned[i].name,
                                 owned[i].command, command);
    }
    if (o->csv && strcmp(command, "payments") != 0)
        return s_usage_error("--csv goes with the payments command, not %s", command);
    return 0;
}

static int s_date_opt(const char *name, const char *value, bool *has, date_t *out)
{
    if (!value)
        return 0;
    if (!date_parse_iso(value, out))
        return s_usage_error("%s %s: a day as YYYY-MM-DD is expected", name, value);
    *has = true;
    return 0;
}

int main(int argc, char **argv)
{
    const char *data_dir = "var/data", *config_path = NULL;
    s_opts_t o = {0};
    bool json = false;
    cli_global_t staff; /* review / unlink: the broker connection */
    cli_global_init(&staff, "relais-admin", RELAIS_DEFAULT_COORDINATOR_ENDPOINT, "RELAIS_STAFF");
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"state", required_argument, NULL, 's'},
        {"structure", required_argument, NULL, 't'},
        {"month", required_argument, NULL, 'm'},
        {"csv", no_argument, NULL, 'C'},
        {"case", required_argument, NULL, 'k'},
        {"referral", required_argument, NULL, 'r'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'F'},
        {"since", required_argument, NULL, 'S'},
        {"reason", required_argument, NULL, 'R'},
        {"broker", required_argument, NULL, CLI_OPT_BROKER},
        {"as", required_argument, NULL, CLI_OPT_AS},
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
        {"key", required_argument, NULL, CLI_OPT_KEY},
        {"broker-key", required_argument, NULL, CLI_OPT_BROKER_KEY},
        {"person", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    /* GNU getopt permutes: options may come before or after the command
     * ("cases --state routed --json"). */
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            data_dir = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 's':
            o.state_word = optarg;
            break;
        case 't':
            o.structure = optarg;
            break;
        case 'm':
            o.month = optarg;
            break;
        case 'C':
            o.csv = true;
            break;
        case 'k':
            o.case_id = optarg;
            break;
        case 'r':
            o.referral = optarg;
            break;
        case 'f':
            o.from = optarg;
            break;
        case 'T':
            o.to = optarg;
            break;
        case 'F':
            o.format = optarg;
            break;
        case 'S':
            o.since = optarg;
            break;
        case 'R':
            o.reason = optarg;
            break;
        case CLI_OPT_BROKER:
        case CLI_OPT_AS:
        case CLI_OPT_TIMEOUT:
        case CLI_OPT_KEY:
        case CLI_OPT_BROKER_KEY: {
            char why[256];
            if (cli_global_option(&staff, opt, optarg, why, sizeof why) < 0)
                return s_usage_error("%s", why);
            break;
        }
        case 'P':
            o.person = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return S_EXIT_OK;
        case 'V':
            printf("relais-admin %s\n", RELAIS_VERSION);
            return S_EXIT_OK;
        default:
            fprintf(stderr, "Try 'relais-admin --help'.\n");
            return S_EXIT_FAIL;
        }
    }
    if (optind >= argc)
        return s_usage_error("%s", "a command is needed: backup, verify, budget, cases, "
                                   "payments, notice, report, audit or access-report");
    const char *command = argv[optind++];
    int n_args = argc - optind;
    if (s_check_opts(command, &o) != 0)
        return S_EXIT_FAIL;
    if (strcmp(command, "explain") == 0) {
        if (n_args != 1)
            return s_usage_error("%s", "explain takes one argument: the case id");
        return staff_explain(data_dir, argv[optind], stdout, json);
    }
    if (strcmp(command, "erase") == 0) {
        if (n_args != 0 || !o.case_id || !o.reason)
            return s_usage_error("%s", "erase needs --case ID and --reason TEXT");
        if (!staff.as)
            return s_usage_error("%s", "a staff identity is needed: --as STAFF_ID (or RELAIS_STAFF)");
        relais_client_t *client = cli_connect(&staff);
        if (!client)
            return S_EXIT_FAIL;
        int status = staff_erase(client, o.case_id, o.reason, stdout, json);
        relais_client_destroy(&client);
        return status;
    }
    if (strcmp(command, "review") == 0 || strcmp(command, "unlink") == 0) {
        const char *what = strcmp(command, "unlink") == 0 ? "unlink"
                           : n_args > 0               ? argv[optind]
                                                      : "";
        int args_left = strcmp(command, "unlink") == 0 ? n_args : n_args - 1;
        const char *case_id = strcmp(command, "unlink") == 0 ? (n_args ? argv[optind] : NULL)
                              : n_args > 1                   ? argv[optind + 1]
                                                             : NULL;
        char partner[128] = "";
        const char *ref = NULL;
        if (strcmp(what, "list") == 0) {
            if (args_left != 0)
                return s_usage_error("%s", "review list takes no argument");
        } else if (strcmp(what, "link") == 0 || strcmp(what, "separate") == 0 ||
                   strcmp(what, "unlink") == 0) {
            if (args_left != 1 || !case_id)
                return s_usage_error("%s %s takes one argument: the case id", command, what);
            if (strcmp(what, "link") == 0 && !o.to)
                return s_usage_error("%s", "review link needs --to CASE, the existing case");
            if (strcmp(what, "unlink") == 0) {
                const char *colon = o.referral ? strchr(o.referral, ':') : NULL;
                if (!colon || colon == o.referral || !colon[1] ||
                    (size_t)(colon - o.referral) >= sizeof partner)
                    return s_usage_error("%s", "unlink needs --referral PARTNER:REF");
                memcpy(partner, o.referral, (size_t)(colon - o.referral));
                ref = colon + 1;
            }
        } else {
            return s_usage_error("%s", "review takes list, link CASE --to CASE or separate CASE");
        }
        if (!staff.as)
            return s_usage_error("%s", "a staff identity is needed: --as STAFF_ID (or RELAIS_STAFF)");
        relais_client_t *client = cli_connect(&staff);
        if (!client)
            return S_EXIT_FAIL;
        int status = strcmp(what, "list") == 0
                         ? staff_review_list(client, stdout, json)
                         : staff_review_decide(client, what, case_id, o.to, partner, ref, stdout,
                                               json);
        relais_client_destroy(&client);
        return status;
    }

    admin_case_filter_t filter = {0, o.structure};
    if (o.state_word && (filter.state = vocab_case_state_parse(o.state_word)) <= 0)
        return s_usage_error("unknown state '%s' (see relais-admin --help)", o.state_word);

    int year = 0, month = 0;
    payments_format_t pay_format = o.csv ? PAYMENTS_CSV : json ? PAYMENTS_JSON : PAYMENTS_TEXT;
    report_period_t period = {0};
    int report_format = json ? REPORT_JSON : REPORT_TEXT;
    char partner[128] = "";
    const char *ref = NULL;
    if (strcmp(command, "backup") == 0) {
        if (n_args != 1)
            return s_usage_error("%s", "backup takes one argument: the destination directory");
    } else if (strcmp(command, "verify") != 0 && strcmp(command, "budget") != 0 &&
               strcmp(command, "cases") != 0 && strcmp(command, "payments") != 0 &&
               strcmp(command, "notice") != 0 && strcmp(command, "report") != 0 &&
               strcmp(command, "audit") != 0 && strcmp(command, "access-report") != 0) {
        return s_usage_error("unknown command '%s' (backup, verify, budget, cases, payments, "
                             "notice, report, audit or access-report)",
                             command);
    } else if (n_args != 0) {
        return s_usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (strcmp(command, "access-report") == 0 && !o.person)
        return s_usage_error("%s", "access-report needs --person CASE_ID");
    if (strcmp(command, "payments") == 0) {
        if (!o.month)
            return s_usage_error("%s", "payments needs --month YYYY-MM");
        if (payments_parse_month(o.month, &year, &month) != 0)
            return s_usage_error("--month %s: a month as YYYY-MM is expected", o.month);
        if (o.csv && json)
            return s_usage_error("%s", "--csv and --json: choose one");
    } else if (strcmp(command, "notice") == 0) {
        if (!o.case_id == !o.referral)
            return s_usage_error("%s", "notice needs --case ID or --referral PARTNER:REF");
        if (o.referral) {
            const char *colon = strchr(o.referral, ':');
            if (!colon || colon == o.referral || !colon[1] ||
                (size_t)(colon - o.referral) >= sizeof partner)
                return s_usage_error("--referral %s: PARTNER:REF is expected "
                                     "(e.g. mission-locale:ML-2026-0007)",
                                     o.referral);
            memcpy(partner, o.referral, (size_t)(colon - o.referral));
            partner[colon - o.referral] = '\0';
            ref = colon + 1;
        }
    } else if (strcmp(command, "report") == 0) {
        if (o.format && (report_format = report_format_parse(o.format)) < 0)
            return s_usage_error("--format %s: text, csv, json or html", o.format);
        if (s_date_opt("--from", o.from, &period.has_from, &period.from) != 0 ||
            s_date_opt("--to", o.to, &period.has_to, &period.to) != 0)
            return S_EXIT_FAIL;
        if (period.has_from && period.has_to && date_compare(period.from, period.to) > 0)
            return s_usage_error("--from %s is after --to %s", o.from, o.to);
    }

    char err[512];
    config_t *cfg = config_path ? config_load_file(config_path, err, sizeof err)
                                : config_load_default(err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "relais-admin: bad configuration: %s\n", err);
        return S_EXIT_FAIL;
    }
    /* notice (the young person's name) and report (quartiers) open sealed
     * person data: they need the data key, never created here. */
    datakey_set_path(cfg->data_key_file); /* the broker's configuration says where */
    if ((strcmp(command, "notice") == 0 || strcmp(command, "report") == 0) &&
        datakey_init(data_dir, false, err, sizeof err) != 0) {
        fprintf(stderr, "relais-admin: cannot read the data key: %s\n", err);
        config_free(&cfg);
        return S_EXIT_FAIL;
    }
    size_t problems = 0;
    int rc;
    if (strcmp(command, "backup") == 0) {
        rc = admin_backup(data_dir, argv[optind], cfg, stdout, json, &problems, err, sizeof err);
    } else if (strcmp(command, "verify") == 0) {
        rc = admin_verify(data_dir, cfg, stdout, json, &problems, err, sizeof err);
    } else if (strcmp(command, "budget") == 0) {
        rc = admin_budget(data_dir, cfg, stdout, json, NULL, err, sizeof err);
    } else if (strcmp(command, "cases") == 0) {
        rc = admin_cases(data_dir, stdout, json, &filter, NULL, err, sizeof err);
    } else if (strcmp(command, "payments") == 0) {
        rc = payments_month(data_dir, cfg, year, month, stdout, pay_format, NULL, err, sizeof err);
    } else if (strcmp(command, "audit") == 0) {
        rc = audit_print(data_dir, stdout, json, o.case_id, o.since, NULL, err, sizeof err);
    } else if (strcmp(command, "access-report") == 0) {
        rc = audit_access_report(data_dir, stdout, json, o.person, NULL, err, sizeof err);
    } else if (strcmp(command, "notice") == 0) {
        rc = o.case_id ? notice_case(data_dir, cfg, o.case_id, stdout, err, sizeof err)
                       : notice_referral(data_dir, cfg, partner, ref, stdout, err, sizeof err);
    } else {
        json_t *doc = NULL;
        rc = report_compute(data_dir, cfg, &period, &doc, err, sizeof err);
        if (rc == 0)
            rc = report_write(doc, cfg, (report_format_t)report_format, stdout, err, sizeof err);
        json_decref(doc);
    }
    config_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "relais-admin: %s\n", err);
        return S_EXIT_FAIL;
    }
    if (fflush(stdout) != 0) {
        perror("relais-admin: standard output");
        return S_EXIT_FAIL;
    }
    return problems ? S_EXIT_PROBLEMS : S_EXIT_OK;
}
