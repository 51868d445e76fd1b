/*  relais-keygen — makes a CurveZMQ key pair for the broker or a client.
 *
 *  relais-keygen FILE writes the secret to FILE (mode 0600) and the public
 *  key to FILE.pub (keyfile.h), and prints the public key, ready to be
 *  pasted into the broker's authorized-keys file ("partner ID KEY") or
 *  given to clients as --broker-key.  An existing file is never
 *  overwritten: losing a key by accident locks its owner out.
 */
#include "keyfile.h"

#include <stdio.h>
#include <string.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: relais-keygen FILE\n"
            "\n"
            "Makes a key pair for relais (CurveZMQ): the SECRET key in FILE (readable by\n"
            "you only: keep it there), the public key in FILE.pub, also printed.\n"
            "\n"
            "  a partner or a coordinator: send FILE.pub to the programme team, and run\n"
            "      relais-agent --key FILE --broker-key BROKER.pub ...\n"
            "  the programme team adds it to the broker's authorized-keys file, e.g.\n"
            "      partner mission-locale <the public key>\n"
            "  and sends the broker SIGHUP (kill -HUP PID): no restart needed.\n"
            "  the broker: relais-broker --secret-key FILE --keys authorized_keys\n"
            "\n"
            "An existing FILE is never overwritten.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        s_usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("relais-keygen %s\n", RELAIS_VERSION);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        s_usage(stderr);
        return 1;
    }
    char err[512];
    keyfile_pair_t pair;
    int rc = keyfile_generate(&pair, err, sizeof err);
    if (rc == 0)
        rc = keyfile_write(argv[1], &pair, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "relais-keygen: %s\n", err);
        memset(&pair, 0, sizeof pair);
        return 1;
    }
    printf("%s\n", pair.public_z85);
    fprintf(stderr, "relais-keygen: secret key in %s (mode 0600), public key in %s.pub\n",
            argv[1], argv[1]);
    memset(&pair, 0, sizeof pair);
    return 0;
}
