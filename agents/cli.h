/*  cli — what the two command-line programs share: relais-agent (partner
 *  side) and relais-intake (coordinator side).
 *
 *  - the global options (--broker, --as, --json, --timeout, --key,
 *    --broker-key) and their parsing, so both programs spell and check
 *    them the same way;
 *  - the exit statuses, and the mapping from a relais_client failure to one;
 *  - Ctrl-C handling: the first SIGINT/SIGTERM interrupts the call in
 *    progress (the client returns RELAIS_ESYS "interrupted") so a program
 *    can report what it did and exit 130; a second one kills as usual;
 *  - the rendering of each broker answer, as one text line (or block) for
 *    people and as one JSON object per line (--json) for scripts.
 *
 *  Text output replaces control characters in values with '?', so a
 *  partner_ref or note cannot break the one-line-per-item layout or send
 *  escape sequences to a terminal.  JSON output carries values as sent.
 *
 *  Thread-safety: the interrupt flag is process-wide; everything else is
 *  stateless.  Renderers never write personal data anywhere but OUT.
 */
#ifndef RELAIS_CLI_H
#define RELAIS_CLI_H

#include "relais_client.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of both programs. */
#define CLI_EXIT_OK          0
#define CLI_EXIT_USAGE       1 /* bad command line, unreadable file, local failure */
#define CLI_EXIT_UNREACHABLE 2 /* no (readable) answer from the broker */
#define CLI_EXIT_REFUSED     3 /* the broker answered no (refused action, Error) */
#define CLI_EXIT_INTERRUPTED 130

typedef struct {
    const char *program; /* "relais-agent", for messages */
    const char *broker;  /* endpoint */
    const char *as;      /* partner or structure id; NULL until given */
    bool json;
    int timeout_ms; /* per attempt; 0 = the client library's default */
    const char *key;        /* --key / RELAIS_KEY: our secret key file; NULL: none */
    const char *broker_key; /* --broker-key / RELAIS_BROKER_KEY: Z85 or a file */
} cli_global_t;

/* getopt_long values of the global options: above every character, so a
 * program's own options can use letters. */
enum {
    CLI_OPT_BROKER = 0x100,
    CLI_OPT_AS,
    CLI_OPT_JSON,
    CLI_OPT_TIMEOUT,
    CLI_OPT_HELP,
    CLI_OPT_VERSION,
    CLI_OPT_KEY,
    CLI_OPT_BROKER_KEY,
    CLI_OPT_FIRST_FREE /* a program's own long-only options start here */
};

/* The global options, to start a program's struct option table. */
/* clang-format off */
#define CLI_GLOBAL_OPTIONS                                  \
    {"broker", required_argument, NULL, CLI_OPT_BROKER},    \
    {"as", required_argument, NULL, CLI_OPT_AS},            \
    {"json", no_argument, NULL, CLI_OPT_JSON},              \
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},  \
    {"help", no_argument, NULL, CLI_OPT_HELP},              \
    {"version", no_argument, NULL, CLI_OPT_VERSION},        \
    {"key", required_argument, NULL, CLI_OPT_KEY},          \
    {"broker-key", required_argument, NULL, CLI_OPT_BROKER_KEY}

/* Their --help lines, for the programs' usage text. */
#define CLI_KEY_HELP                                                                   \
    "  --key FILE          your secret key, as written by relais-keygen (or set\n"     \
    "                      RELAIS_KEY); the broker knows you by its public key\n"     \
    "  --broker-key KEY    the broker's public key: 40 characters, or a file holding\n" \
    "                      them such as broker.key.pub (or set RELAIS_BROKER_KEY)\n"
/* clang-format on */

/* Defaults: BROKER = DEFAULT_ENDPOINT, AS = getenv(AS_ENV) when set and
 * not empty, KEY and BROKER_KEY from RELAIS_KEY and RELAIS_BROKER_KEY. */
void cli_global_init(cli_global_t *g, const char *program, const char *default_endpoint,
                     const char *as_env);
/* Applies one of --broker --as --json --timeout --key --broker-key.  1: applied; 0: OPT is
 * not one of them; -1: bad argument, reason in ERR. */
int cli_global_option(cli_global_t *g, int opt, const char *arg, char *err, size_t errlen);
/* A whole decimal number in [MIN, MAX], nothing else (no sign, no
 * blanks).  False when S is anything else. */
bool cli_parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "PROG: message" and "Try 'PROG --help'." on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const cli_global_t *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "PROG VERSION" on stdout. */
void cli_print_version(const cli_global_t *g);

/* Installs the SIGINT/SIGTERM handler described above. */
void cli_catch_interrupts(void);
bool cli_interrupted(void);
/* The exit status for a relais_client return code (RELAIS_OK: 0). */
int cli_exit_status(int relais_rc);
/* Opens the client for G (endpoint, --as, --timeout, and the CurveZMQ
 * keys when --key is given: --broker-key is then required, and the other
 * way round); prints why and returns NULL on failure. */
relais_client_t *cli_connect(const cli_global_t *g);

/* --- rendering ---------------------------------------------------------
 * cli_print_* write text for people; cli_json_* return a new JSON object
 * (the caller owns it) that cli_emit_json writes as one line. */

/* "line N  REF  STATUS  case=C  structure=S  reasons=c1,c2[  replay]".
 * LINE 0 means "not from a file" (an outbox delivery): "line -" in text,
 * "line": null in JSON; the same for cli_*_row_problem. */
void cli_print_ack(FILE *out, size_t line, const Relais__V1__Ack *ack);
json_t *cli_json_ack(size_t line, const Relais__V1__Ack *ack);
/* "line N  REF  WHAT" for a row without an Ack (unreadable, not sent...). */
void cli_print_row_problem(FILE *out, size_t line, const char *partner_ref, const char *what);
/* {"line":N,"partner_ref":REF|null,"error":KIND,"message":MESSAGE} */
json_t *cli_json_row_problem(size_t line, const char *partner_ref, const char *kind,
                             const char *message);

/* "seq N  REF  CASE  STATE  structure=S  at=T  outcome=O  detail" */
void cli_print_event(FILE *out, const Relais__V1__StatusEvent *ev);
json_t *cli_json_event(const Relais__V1__StatusEvent *ev);

/* A block of lines per case, personal data included (the coordinator's
 * own screen). */
void cli_print_case(FILE *out, const Relais__V1__CaseView *c);
json_t *cli_json_case(const Relais__V1__CaseView *c);

/* "CASE now STATE" or "refused: CODE: MESSAGE" */
void cli_print_action_result(FILE *out, const Relais__V1__ActionResult *r);
json_t *cli_json_action_result(const Relais__V1__ActionResult *r);

/* Writes OBJ compactly on one line and releases it (NULL: out of memory).
 * 0, or -1 when it could not be written. */
int cli_emit_json(FILE *out, json_t *obj);

#endif
