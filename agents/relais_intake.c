/*  relais-intake — the coordinator side: the intake coordinator of an
 *  accompanying structure lists the cases routed to it, accepts or
 *  declines them, and records the accompaniment's milestones until the
 *  case is closed with its outcome.
 *
 *  Each command is one request and one answer.  The broker decides whether
 *  an action is allowed (a case can only move forward, only the structure
 *  it is routed to may act on it...); a refusal is an answer, printed as
 *  "refused: CODE: MESSAGE" with exit status 3, so a script can tell it
 *  from an unreachable broker (2) and from a mistyped command (1).
 *
 *  `list` prints the young people's personal data: this is the
 *  coordinator's own screen, the one place relais shows it.  Nothing here
 *  logs; errors on stderr name cases and codes only.
 */
#include "cli.h"
#include "date.h"
#include "vocab.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_PROGRAM "relais-intake"

enum { S_OPT_ALL = CLI_OPT_FIRST_FREE, S_OPT_REASON, S_OPT_DATE, S_OPT_OUTCOME };

static const char s_help[] =
    "Usage: relais-intake [OPTIONS] COMMAND [CASE] [...]\n"
    "\n"
    "For the intake coordinators of an accompanying structure (ASQ, maison de\n"
    "quartier, association): see the young people referred to you, answer, and\n"
    "record how the accompaniment goes.\n"
    "\n"
    "Commands:\n"
    "  list [--all]                 the cases waiting for your answer; with --all,\n"
    "                               also your accepted cases still open\n"
    "  accept CASE                  you take the case\n"
    "  decline CASE --reason TEXT   you hand it back (the reason is required and\n"
    "                               is passed on to the programme team)\n"
    "  milestone CASE STEP [--date DATE]\n"
    "                               record a step: diagnosis (entry diagnosis\n"
    "                               done), plan (action plan agreed) or contract\n"
    "                               (contract signed)\n"
    "  close CASE --outcome OUTCOME [--date DATE]\n"
    "                               end the accompaniment; OUTCOME is one of\n"
    "                               training employment civic_service cej\n"
    "                               micro_lycee care_pathway moved_away no_contact\n"
    "                               other\n"
    "  DATE is YYYY-MM-DD or DD/MM/YYYY; without --date, the broker uses today.\n"
    "\n"
    "Options:\n"
    "  --as STRUCTURE_ID   your structure's id, given by the programme team\n"
    "                      (or set RELAIS_STRUCTURE in the environment); required\n"
    "  --broker ENDPOINT   the broker's address (default " RELAIS_DEFAULT_COORDINATOR_ENDPOINT ")\n"
    "  --timeout MS        wait at most MS milliseconds for each answer (default\n"
    "                      3000); a request is tried 3 times before giving up\n"
    CLI_KEY_HELP
    "  --json              print JSON (one object per line) instead of text\n"
    "  --help              print this help\n"
    "  --version           print the version\n"
    "\n"
    "Exit status:\n"
    "  0    done (\"CASE now STATE\")\n"
    "  1    bad command line\n"
    "  2    the broker could not be reached\n"
    "  3    the broker refused (\"refused: CODE: MESSAGE\" says why)\n"
    "  130  interrupted (Ctrl-C)\n"
    "\n"
    "Examples:\n"
    "  relais-intake --as asq-planoise list\n"
    "  relais-intake --as asq-planoise accept C-000123\n"
    "  relais-intake --as asq-planoise milestone C-000123 diagnosis --date 2026-03-14\n"
    "  relais-intake --as asq-planoise close C-000123 --outcome training\n";

/* The options of one run, checked against the command in main. */
typedef struct {
    bool all;
    const char *reason;
    const char *date;
    const char *outcome;
} s_opts_t;

static int s_milestone_parse(const char *word)
{
    static const struct {
        const char *word;
        int state;
    } words[] = {
        {"diagnosis", RELAIS__V1__CASE_STATE__CASE_DIAGNOSIS_DONE},
        {"plan", RELAIS__V1__CASE_STATE__CASE_PLAN_AGREED},
        {"contract", RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(word, words[i].word) == 0)
            return words[i].state;
    /* The state names themselves, as the events print them. */
    int state = vocab_case_state_parse(word);
    if (state == RELAIS__V1__CASE_STATE__CASE_DIAGNOSIS_DONE ||
        state == RELAIS__V1__CASE_STATE__CASE_PLAN_AGREED ||
        state == RELAIS__V1__CASE_STATE__CASE_CONTRACT_SIGNED)
        return state;
    return -1;
}

/* " training employment ..." for messages: the words vocab accepts. */
static void s_outcome_words(char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 1; i < VOCAB_OUTCOME_COUNT && len < outlen; i++)
        len += (size_t)snprintf(out + len, outlen - len, " %s", vocab_outcome_name(i));
}

static bool s_blank(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static int s_print_failure(relais_client_t *client, int rc)
{
    fprintf(stderr, "%s: %s\n", S_PROGRAM, relais_client_last_error(client));
    return cli_exit_status(rc);
}

static int s_cmd_list(const cli_global_t *g, relais_client_t *client, bool all)
{
    Relais__V1__Envelope *reply = NULL;
    /* max 0: the broker's default page. */
    int rc = relais_client_fetch_cases(client, g->as, 0, all, &reply);
    if (rc != RELAIS_OK) {
        if (reply)
            relais__v1__envelope__free_unpacked(reply, NULL);
        return s_print_failure(client, rc);
    }
    int status = CLI_EXIT_OK;
    const Relais__V1__Cases *cases = reply->cases;
    size_t n = cases ? cases->n_cases : 0;
    for (size_t i = 0; i < n; i++) {
        if (g->json) {
            if (cli_emit_json(stdout, cli_json_case(cases->cases[i])) != 0)
                status = CLI_EXIT_USAGE;
        } else {
            if (i)
                fputc('\n', stdout);
            cli_print_case(stdout, cases->cases[i]);
        }
    }
    if (!g->json) {
        const char *what = all ? "open or waiting for an answer" : "waiting for an answer";
        if (n == 0)
            printf("no case %s for %s\n", what, g->as);
        else
            printf("\n%zu case%s %s\n", n, n > 1 ? "s" : "", what);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write to standard output\n", S_PROGRAM);
        status = CLI_EXIT_USAGE;
    }
    relais__v1__envelope__free_unpacked(reply, NULL);
    return status;
}

static int s_cmd_act(const cli_global_t *g, relais_client_t *client,
                     const Relais__V1__CaseAction *action)
{
    Relais__V1__Envelope *reply = NULL;
    int rc = relais_client_act(client, action, &reply);
    if (rc != RELAIS_OK) {
        if (reply)
            relais__v1__envelope__free_unpacked(reply, NULL);
        return s_print_failure(client, rc);
    }
    const Relais__V1__ActionResult *r = reply->action_result;
    int status = r->ok ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
    if (g->json) {
        if (cli_emit_json(stdout, cli_json_action_result(r)) != 0)
            status = CLI_EXIT_USAGE;
    } else {
        cli_print_action_result(stdout, r);
    }
    if (fflush(stdout) != 0)
        status = CLI_EXIT_USAGE;
    relais__v1__envelope__free_unpacked(reply, NULL);
    return status;
}

/* Builds the CaseAction of COMMAND from the words after it (ARGS) and the
 * options; prints a usage error and returns CLI_EXIT_USAGE when they do
 * not fit.  DATE_BUF holds the normalised --date. */
static int s_build_action(const cli_global_t *g, const char *command, char **args, int nargs,
                          const s_opts_t *o, Relais__V1__CaseAction *a, char date_buf[11])
{
    bool is_milestone = strcmp(command, "milestone") == 0;
    bool is_close = strcmp(command, "close") == 0;
    bool is_decline = strcmp(command, "decline") == 0;
    bool is_accept = strcmp(command, "accept") == 0;
    int want_args = is_milestone ? 2 : 1;

    if (!is_milestone && !is_close && !is_decline && !is_accept)
        return cli_usage_error(g, "unknown command '%s' (list accept decline milestone close)",
                               command);

    if (nargs < 1 || s_blank(args[0]))
        return cli_usage_error(g, "%s needs the case id: %s CASE%s", command, command,
                               is_milestone ? " diagnosis|plan|contract" : "");
    if (is_milestone && nargs < 2)
        return cli_usage_error(g, "milestone needs the step: milestone %s diagnosis|plan|contract",
                               args[0]);
    if (nargs > want_args)
        return cli_usage_error(g, "unexpected argument '%s'", args[want_args]);
    if (o->all)
        return cli_usage_error(g, "--all goes with list, not %s", command);
    if (o->reason && !is_decline)
        return cli_usage_error(g, "--reason goes with decline, not %s", command);
    if (o->outcome && !is_close)
        return cli_usage_error(g, "--outcome goes with close, not %s", command);
    if (o->date && !is_milestone && !is_close)
        return cli_usage_error(g, "--date goes with milestone or close, not %s", command);

    a->case_id = args[0];
    if (is_accept) {
        a->kind = RELAIS__V1__ACTION_KIND__ACTION_ACCEPT;
    } else if (is_decline) {
        if (s_blank(o->reason))
            return cli_usage_error(g, "decline needs a reason: decline %s --reason \"TEXT\"",
                                   args[0]);
        a->kind = RELAIS__V1__ACTION_KIND__ACTION_DECLINE;
        a->reason = (char *)o->reason;
    } else if (is_milestone) {
        int state = s_milestone_parse(args[1]);
        if (state < 0)
            return cli_usage_error(g, "unknown step '%s'; one of: diagnosis plan contract",
                                   args[1]);
        a->kind = RELAIS__V1__ACTION_KIND__ACTION_MILESTONE;
        a->milestone = (Relais__V1__CaseState)state;
    } else { /* close */
        if (!o->outcome) {
            char words[256];
            s_outcome_words(words, sizeof words);
            return cli_usage_error(g, "close needs the outcome: --outcome OUTCOME, one of:%s",
                                   words);
        }
        int outcome = vocab_outcome_parse(o->outcome);
        if (outcome < 0) {
            char words[256];
            s_outcome_words(words, sizeof words);
            return cli_usage_error(g, "unknown outcome '%s'; one of:%s", o->outcome, words);
        }
        a->kind = RELAIS__V1__ACTION_KIND__ACTION_CLOSE;
        a->outcome = (Relais__V1__Outcome)outcome;
    }
    if (o->date) {
        date_t d;
        if (!date_parse_any(o->date, &d))
            return cli_usage_error(g, "--date '%s' is not a real day (YYYY-MM-DD or DD/MM/YYYY)",
                                   o->date);
        date_format(d, date_buf);
        a->on_date = date_buf;
    }
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"all", no_argument, NULL, S_OPT_ALL},
        {"reason", required_argument, NULL, S_OPT_REASON},
        {"date", required_argument, NULL, S_OPT_DATE},
        {"outcome", required_argument, NULL, S_OPT_OUTCOME},
        {NULL, 0, NULL, 0},
    };
    cli_global_t g;
    s_opts_t o = {0};
    char err[256];
    relais_client_t *client = NULL;
    int status;

    cli_global_init(&g, S_PROGRAM, RELAIS_DEFAULT_COORDINATOR_ENDPOINT, "RELAIS_STRUCTURE");
    opterr = 0; /* our messages, not getopt's */
    int opt;
    /* Options may come anywhere (GNU argument permutation): "decline C-1
     * --reason ..." and "--reason ... decline C-1" both work. */
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int handled = cli_global_option(&g, opt, optarg, err, sizeof err);
        if (handled < 0)
            return cli_usage_error(&g, "%s", err);
        if (handled > 0)
            continue;
        switch (opt) {
        case 'h':
        case CLI_OPT_HELP:
            fputs(s_help, stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_VERSION:
            cli_print_version(&g);
            return CLI_EXIT_OK;
        case S_OPT_ALL:
            o.all = true;
            break;
        case S_OPT_REASON:
            o.reason = optarg;
            break;
        case S_OPT_DATE:
            o.date = optarg;
            break;
        case S_OPT_OUTCOME:
            o.outcome = optarg;
            break;
        case ':':
            return cli_usage_error(&g, "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(&g, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(&g, "no command given (list accept decline milestone close)");
    const char *command = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    bool is_list = strcmp(command, "list") == 0;

    Relais__V1__CaseAction action = RELAIS__V1__CASE_ACTION__INIT;
    char date_buf[11];
    if (is_list) {
        if (nargs > 0)
            return cli_usage_error(&g, "unexpected argument '%s' after list", args[0]);
        if (o.reason || o.date || o.outcome)
            return cli_usage_error(&g, "list takes only --all");
    } else if ((status = s_build_action(&g, command, args, nargs, &o, &action, date_buf)) !=
               CLI_EXIT_OK) {
        return status;
    }
    if (!g.as)
        return cli_usage_error(&g,
                               "%s needs your structure id: --as STRUCTURE_ID (or set "
                               "RELAIS_STRUCTURE)",
                               command);

    cli_catch_interrupts();
    client = cli_connect(&g);
    if (!client)
        return CLI_EXIT_USAGE;
    status = is_list ? s_cmd_list(&g, client, o.all) : s_cmd_act(&g, client, &action);
    relais_client_destroy(&client);
    return status;
}
