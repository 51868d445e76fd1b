/*  route — which accompanying structure takes a case.  (The "route" step.)
 *
 *  Rule (DOMAIN.md, configuration in config.h): among the structures not
 *  excluded (those that already declined the case) and with room (open
 *  cases < capacity):
 *    1. those serving the young person's quartier (compared after name
 *       folding: "Fontaine-Écu" = "fontaine ecu"), else
 *    2. those serving the postcode, else
 *    3. the configured default structure;
 *  the least loaded first (open cases / capacity; ties: fewer open cases,
 *  then configuration order).  When none is left, route_pick returns NULL
 *  and the caller hands the case to the programme team's structure.
 *  Structures of kind "programme" are never picked by rules 1-3.
 *
 *  A structure's load is the count of its open cases, kept as a counter in
 *  the store (route_load_add) so picking costs O(structures), no scan.
 *
 *  Ownership: a route_t borrows its config_t (which must outlive it).
 */
#ifndef RELAIS_ROUTE_H
#define RELAIS_ROUTE_H

#include "config.h"
#include "relais.pb-c.h"
#include "store.h"

typedef struct route_t route_t;

/* Precomputes folded quartier names.  NULL on failure (ERR says why). */
route_t *route_new(const config_t *cfg, char *err, size_t errlen);
void route_destroy(route_t **self_p);

/* Picks a structure for a young person living at P's quartier/postcode,
 * skipping the N_EXCLUDE ids in EXCLUDE.  *OUT is NULL when none fits.
 * Returns 0 or a store error. */
int route_pick(route_t *self, store_txn_t *t, const Relais__V1__Person *p,
               char *const *exclude, size_t n_exclude, const config_structure_t **out);
/* Open cases of STRUCTURE_ID: read, and change by DELTA. */
int route_load(store_txn_t *t, const char *structure_id, uint64_t *out);
int route_load_add(store_txn_t *t, const char *structure_id, int64_t delta);

#endif
