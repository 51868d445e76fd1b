/*  relais-broker — the multi-partner referral broker.
 *
 *  Reads the configuration (a file, or the built-in Besançon default),
 *  opens the store, binds the partner and coordinator endpoints and serves
 *  until SIGINT or SIGTERM, after which the current batch is finished,
 *  committed and answered, and everything is closed cleanly.
 */
#include "config.h"
#include "identity.h"
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

static void s_on_signal(int sig)
{
    (void)sig;
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
            "  --check-config               load the configuration, report, and exit\n"
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
    int check_only = 0;
    static const struct option opts[] = {
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
    if (!cfg) {
        fprintf(stderr, "relais-broker: bad configuration: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("configuration %s: OK (%zu partners, %zu structures)\n",
               config_path ? config_path : "built-in", cfg->n_partners, cfg->n_structures);
        config_free(&cfg);
        return 0;
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
    signal(SIGPIPE, SIG_IGN);

    /* identity_init after store_open: the store creates the data
     * directory that holds identity.key. */
    if (!(store = store_open(data_dir, cfg->map_size_mib << 20, false, err, sizeof err)) ||
        identity_init(data_dir, err, sizeof err) != 0 ||
        !(service = service_new(cfg, err, sizeof err)) ||
        !(server = server_new(cfg, store, service, partner_ep, coordinator_ep, err, sizeof err))) {
        log_error("cannot start: %s", err);
        goto done;
    }
    log_info("relais-broker %s serving: partners on %s, coordinators on %s, data in %s, "
             "configuration %s",
             RELAIS_VERSION, partner_ep, coordinator_ep, data_dir,
             config_path ? config_path : "built-in (Besançon)");
    if (server_run(server, &s_stop) == 0) {
        log_info("stopping on signal: every acknowledged request is committed");
        status = 0;
    }
done:
    server_destroy(&server);
    service_destroy(&service);
    store_close(&store);
    identity_shutdown();
    config_free(&cfg);
    return status;
}
