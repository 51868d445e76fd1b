/*  relais-broker — the multi-partner referral broker.
 *
 *  Reads the configuration (a file, or the built-in Besançon default),
 *  the broker's secret key and the authorized-keys file (auth.h), opens
 *  the store, binds the partner and coordinator endpoints (CurveZMQ, ZAP:
 *  server.h) and serves until SIGINT or SIGTERM, after which the current
 *  batch is finished, committed and answered, and everything is closed
 *  cleanly.  SIGHUP re-reads the authorized-keys file.
 *
 *  The secret key is only ever read from a file (--secret-key, or the
 *  configuration's broker.secret_key_file), never from the command line,
 *  where any local user could read it in the process list.  Plain,
 *  unauthenticated TCP exists only behind --insecure-dev, loudly.
 */
#include "auth.h"
#include "config.h"
#include "datakey.h"
#include "identity.h"
#include "keyfile.h"
#include "log.h"
#include "server.h"
#include "service.h"
#include "store.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop = 0;
static volatile sig_atomic_t s_reload = 0;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: relais-broker [OPTIONS]\n"
            "\n"
            "The relais referral broker: partners push referrals, the broker acknowledges,\n"
            "deduplicates, checks eligibility and budget, and routes each case to an\n"
            "accompanying structure whose coordinators accept it and record its milestones.\n"
            "\n"
            "Options:\n"
            "  --config FILE                configuration file (default: the built-in\n"
            "                               Besançon configuration, as deploy/relais.conf)\n"
            "  --data DIR                   data directory, created if missing (default: var/data)\n"
            "  --partner-endpoint EP        partner ROUTER endpoint (default from the\n"
            "                               configuration: tcp://127.0.0.1:7410)\n"
            "  --coordinator-endpoint EP    coordinator ROUTER endpoint (default:\n"
            "                               tcp://127.0.0.1:7411)\n"
            "  --secret-key FILE            the broker's key pair, as written by relais-keygen\n"
            "                               (mode 0600; default: broker.secret_key_file of the\n"
            "                               configuration)\n"
            "  --keys FILE                  the authorized-keys file: one line per client key,\n"
            "                               'partner ID KEY', 'coordinator STRUCTURE KEY' or\n"
            "                               'staff ID KEY' (default: broker.authorized_keys_file);\n"
            "                               SIGHUP re-reads it\n"
            "  --insecure-dev               NO encryption, NO authentication: anyone who can\n"
            "                               reach the ports may claim any identity.  For\n"
            "                               development only; warned at start and per connection\n"
            "  --check-config               load the configuration (and keys), report, and exit\n"
            "  --verbose                    also log debug lines\n"
            "  --help                       this help\n"
            "  --version                    print the version\n"
            "\n"
            "Logs go to standard error, one line per event, ids only (never personal data).\n"
            "Stop with Ctrl-C or SIGTERM: the batch in progress is committed and answered.\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *data_dir = "var/data";
    const char *partner_ep = NULL, *coordinator_ep = NULL;
    const char *secret_path = NULL, *keys_path = NULL;
    int check_only = 0, insecure = 0;
    static const struct option opts[] = {
        {"secret-key", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'K'},
        {"insecure-dev", no_argument, NULL, 'I'},
        {"config", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, 'd'},
        {"partner-endpoint", required_argument, NULL, 'p'},
        {"coordinator-endpoint", required_argument, NULL, 'o'},
        {"check-config", no_argument, NULL, 'k'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'p': partner_ep = optarg; break;
        case 'o': coordinator_ep = optarg; break;
        case 'k': check_only = 1; break;
        case 's': secret_path = optarg; break;
        case 'K': keys_path = optarg; break;
        case 'I': insecure = 1; break;
        case 'v': log_set_level(LOG_DEBUG); break;
        case 'h': s_usage(stdout); return 0;
        case 'V': printf("relais-broker %s\n", RELAIS_VERSION); return 0;
        default: s_usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "relais-broker: unexpected argument '%s'\n", argv[optind]);
        s_usage(stderr);
        return 1;
    }
    log_set_program("relais-broker");

    char err[512];
    int status = 1;
    config_t *cfg = config_path ? config_load_file(config_path, err, sizeof err)
                                : config_load_default(err, sizeof err);
    store_t *store = NULL;
    service_t *service = NULL;
    server_t *server = NULL;
    auth_t *auth = NULL;
    keyfile_pair_t broker_key;
    memset(&broker_key, 0, sizeof broker_key);
    if (!cfg) {
        fprintf(stderr, "relais-broker: bad configuration: %s\n", err);
        return 1;
    }
    if (!secret_path && *cfg->secret_key_file)
        secret_path = cfg->secret_key_file;
    if (!keys_path && *cfg->authorized_keys_file)
        keys_path = cfg->authorized_keys_file;
    if (insecure && (secret_path || keys_path)) {
        fprintf(stderr, "relais-broker: --insecure-dev goes with no key at all (drop "
                        "--secret-key/--keys, or the configuration's key files)\n");
        goto done;
    }
    /* --check-config alone checks the configuration alone. */
    if (!insecure && !(check_only && !secret_path && !keys_path)) {
        if (!secret_path || !keys_path) {
            fprintf(stderr,
                    "relais-broker: no %s: the broker only serves authenticated clients.\n"
                    "  Make a key pair with 'relais-keygen broker.key', list the clients' keys\n"
                    "  in an authorized-keys file, and start with --secret-key broker.key\n"
                    "  --keys authorized_keys (or set them in the configuration's broker\n"
                    "  section).  For development only: --insecure-dev.\n",
                    !secret_path ? "secret key (--secret-key FILE)"
                                 : "authorized-keys file (--keys FILE)");
            goto done;
        }
        if (keyfile_read_secret(secret_path, &broker_key, err, sizeof err) != 0 ||
            !(auth = auth_load(keys_path, cfg, err, sizeof err))) {
            fprintf(stderr, "relais-broker: %s\n", err);
            goto done;
        }
    }
    if (check_only) {
        printf("configuration %s: OK (%zu partners, %zu structures)\n",
               config_path ? config_path : "built-in", cfg->n_partners, cfg->n_structures);
        if (auth)
            printf("keys: OK (broker key %.8s..., %zu authorized key(s) in %s)\n",
                   broker_key.public_z85, auth_count(auth), keys_path);
        status = 0;
        goto done;
    }
    if (!partner_ep)
        partner_ep = cfg->partner_endpoint;
    if (!coordinator_ep)
        coordinator_ep = cfg->coordinator_endpoint;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: zmq_poll must return EINTR so the loop sees s_stop. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* identity_init after store_open: the store creates the data
     * directory that holds identity.key. */
    if (!(store = store_open(data_dir, cfg->map_size_mib << 20, false, err, sizeof err)) ||
        (datakey_set_path(cfg->data_key_file), identity_init(data_dir, err, sizeof err) != 0) ||
        !(service = service_new(cfg, err, sizeof err)) ||
        !(server = server_new(cfg, store, service, auth, auth ? broker_key.secret_z85 : NULL,
                              partner_ep, coordinator_ep, err, sizeof err))) {
        log_error("cannot start: %s", err);
        goto done;
    }
    /* ZeroMQ has its copy of the secret now. */
    memset(broker_key.secret_z85, 0, sizeof broker_key.secret_z85);
    service_set_auth(service, auth);
    if (auth) {
        log_info("CurveZMQ on both endpoints: broker key %.8s..., %zu authorized key(s) from %s",
                 broker_key.public_z85, auth_count(auth), keys_path);
        if (auth_count(auth) == 0)
            log_warn("the authorized-keys file %s lists no key: nobody can connect", keys_path);
    } else {
        log_warn("INSECURE (--insecure-dev): no encryption, no authentication; any client "
                 "that reaches the ports may claim any identity. Never use with real data.");
    }
    log_info("relais-broker %s serving: partners on %s, coordinators on %s, data in %s, "
             "configuration %s",
             RELAIS_VERSION, partner_ep, coordinator_ep, data_dir,
             config_path ? config_path : "built-in (Besançon)");
    if (server_run(server, &s_stop, &s_reload) == 0) {
        log_info("stopping on signal: every acknowledged request is committed");
        status = 0;
    }
done:
    memset(&broker_key, 0, sizeof broker_key);
    server_destroy(&server);
    service_destroy(&service);
    auth_destroy(&auth);
    store_close(&store);
    identity_shutdown();
    config_free(&cfg);
    return status;
}
