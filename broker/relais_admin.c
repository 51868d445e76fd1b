/*  relais-admin — the programme team's tool: backup, verify, budget, cases.
 *
 *  Every command only reads the store (admin.h): the broker stays its one
 *  writer and may keep running.  This file is the command line around
 *  admin.c: options, the configuration (for the envelope and the price of
 *  a place), exit codes, and the --help a programme officer reads.
 *
 *  Exit codes: 0 done; 1 usage error, bad configuration, store that
 *  cannot be opened or read, backup not made; 2 verify (or the backup's
 *  verification) found problems.
 */
#include "admin.h"
#include "audit.h"
#include "config.h"
#include "vocab.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_EXIT_OK = 0, S_EXIT_FAIL = 1, S_EXIT_PROBLEMS = 2 };

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: relais-admin [--data DIR] [--config FILE] [--json] COMMAND [ARGS]\n"
        "\n"
        "The programme team's tool.  It only reads the broker's data: the broker can\n"
        "keep running, and nothing you do here changes a case.  No command shows a\n"
        "young person's name, birth date, contact details or notes: only ids.\n"
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
        "  audit [--case ID] [--since DATE]\n"
        "                  the audit log, oldest first: who (the key's identity),\n"
        "                  when, what (request, case, partner_ref), done or refused\n"
        "                  and why.  DATE: YYYY-MM-DD.\n"
        "  access-report --person CASE_ID\n"
        "                  everything the audit log holds about the young person of\n"
        "                  that case (all their cases): who saw or changed their\n"
        "                  record, and when (GDPR art. 15).\n"
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
        "  relais-admin --data /var/lib/relais cases --state routed --structure asq-planoise\n");
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

int main(int argc, char **argv)
{
    const char *data_dir = "var/data", *config_path = NULL;
    const char *state_word = NULL, *structure = NULL;
    const char *audit_case = NULL, *audit_since = NULL, *person = NULL;
    bool json = false;
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"state", required_argument, NULL, 's'},
        {"structure", required_argument, NULL, 't'},
        {"case", required_argument, NULL, 'C'},
        {"since", required_argument, NULL, 'S'},
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
            state_word = optarg;
            break;
        case 't':
            structure = optarg;
            break;
        case 'C':
            audit_case = optarg;
            break;
        case 'S':
            audit_since = optarg;
            break;
        case 'P':
            person = optarg;
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
        return s_usage_error("%s", "a command is needed: backup, verify, budget or cases");
    const char *command = argv[optind++];
    int n_args = argc - optind;
    bool is_cases = strcmp(command, "cases") == 0;
    if (!is_cases && (state_word || structure))
        return s_usage_error("--state and --structure go with the cases command, not %s", command);
    bool is_audit = strcmp(command, "audit") == 0;
    bool is_access = strcmp(command, "access-report") == 0;
    if (!is_audit && (audit_case || audit_since))
        return s_usage_error("--case and --since go with the audit command, not %s", command);
    if (!is_access && person)
        return s_usage_error("--person goes with the access-report command, not %s", command);
    if (is_access && !person)
        return s_usage_error("%s", "access-report needs --person CASE_ID");

    admin_case_filter_t filter = {0, structure};
    if (state_word && (filter.state = vocab_case_state_parse(state_word)) <= 0)
        return s_usage_error("unknown state '%s' (see relais-admin --help)", state_word);

    if (strcmp(command, "backup") == 0) {
        if (n_args != 1)
            return s_usage_error("%s", "backup takes one argument: the destination directory");
    } else if (strcmp(command, "verify") != 0 && strcmp(command, "budget") != 0 && !is_cases &&
               !is_audit && !is_access) {
        return s_usage_error("unknown command '%s' (backup, verify, budget or cases)", command);
    } else if (n_args != 0) {
        return s_usage_error("unexpected argument '%s'", argv[optind]);
    }

    char err[512];
    config_t *cfg = config_path ? config_load_file(config_path, err, sizeof err)
                                : config_load_default(err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "relais-admin: bad configuration: %s\n", err);
        return S_EXIT_FAIL;
    }
    size_t problems = 0;
    int rc;
    if (strcmp(command, "backup") == 0)
        rc = admin_backup(data_dir, argv[optind], cfg, stdout, json, &problems, err, sizeof err);
    else if (strcmp(command, "verify") == 0)
        rc = admin_verify(data_dir, cfg, stdout, json, &problems, err, sizeof err);
    else if (is_audit)
        rc = audit_print(data_dir, stdout, json, audit_case, audit_since, NULL, err, sizeof err);
    else if (is_access)
        rc = audit_access_report(data_dir, stdout, json, person, NULL, err, sizeof err);
    else if (strcmp(command, "budget") == 0)
        rc = admin_budget(data_dir, cfg, stdout, json, NULL, err, sizeof err);
    else
        rc = admin_cases(data_dir, stdout, json, &filter, NULL, err, sizeof err);
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
