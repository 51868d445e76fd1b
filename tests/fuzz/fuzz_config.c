/*  fuzz_config — libFuzzer target: config_load_string on arbitrary text.
 *
 *  The configuration is trusted input (an administrator writes it), but a
 *  typo must give "FILE:LINE: reason", never a crash or a leak: the broker
 *  reads it before anything else, and `relais-broker --check-config` is
 *  how an administrator tries an edit.  Each input is copied and
 *  NUL-terminated (config_load_string takes C text; an embedded NUL just
 *  ends it early, as it would in a file read by libconfig).  Whatever
 *  loads is freed again, so LeakSanitizer checks both the success and the
 *  failure cleanup paths (config.h: one cleanup path).
 *
 *  Seeds: tests/fuzz/corpus/config/ (deploy/relais.conf and variants).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[512];
    config_t *cfg = config_load_string(text, "fuzz", err, sizeof err);
    if (cfg) {
        /* A loaded configuration must honour config.h's checks: the
         * broker relies on them without checking again. */
        if (cfg->n_partners == 0 || cfg->n_structures == 0 || cfg->min_age == 0 ||
            cfg->min_age > cfg->max_age || !config_structure(cfg, cfg->default_structure) ||
            !config_structure(cfg, cfg->programme_structure))
            abort();
    } else if (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0') {
        abort(); /* a refusal must say why */
    }
    config_free(&cfg);
    free(text);
    return 0;
}
