/*  auth — who may talk to the broker: the authorized-keys file.
 *
 *  Like ssh's authorized_keys, one line per key, '#' comments and blank
 *  lines allowed:
 *
 *    partner      mission-locale  <Z85 public key>  [comment]
 *    coordinator  asq-planoise    <Z85 public key>  [comment]
 *    staff        ccas-team       <Z85 public key>  [comment]
 *
 *  Each key is bound to exactly one identity and role:
 *    partner ID       ID is a configured partner: submits referrals and
 *                     reads its own event feed (partner endpoint);
 *    coordinator ID   ID is a configured structure (several coordinators
 *                     per structure may be listed): fetches and acts on
 *                     that structure's cases only (coordinator endpoint);
 *    staff ID         the programme team, any id: may fetch any
 *                     structure's cases (coordinator endpoint).
 *  The identity is written "ROLE:ID" ("partner:mission-locale"): the ZAP
 *  User-Id the broker gives a connection, and what the audit records.
 *
 *  Errors name the line, "FILE:LINE: reason": an unknown role, an id that
 *  is not configured, a malformed key, a key listed twice.  A file with an
 *  error is refused as a whole (at start: the broker does not start; on a
 *  reload: the keys in force stay in force), so a typo never opens or
 *  closes a door by accident.
 *
 *  Cost: lookups are linear in the number of keys (a few dozen here), once
 *  per handshake and once per request.
 *  Ownership: an auth_t borrows CFG, which must outlive it.  One thread
 *  (the broker's loop) uses it; auth_reload swaps its content in place.
 */
#ifndef RELAIS_AUTH_H
#define RELAIS_AUTH_H

#include "config.h"
#include "keyfile.h"

#include <stddef.h>

typedef enum { AUTH_PARTNER = 1, AUTH_COORDINATOR, AUTH_STAFF } auth_role_t;

#define AUTH_ID_MAX 64
#define AUTH_USER_ID_MAX (AUTH_ID_MAX + 16)

typedef struct {
    auth_role_t role;
    char id[AUTH_ID_MAX];
    char key[KEYFILE_Z85_LEN + 1];   /* Z85 public key */
    char user_id[AUTH_USER_ID_MAX];  /* "ROLE:ID" */
    int line;
} auth_entry_t;

typedef struct auth_t auth_t;

/* Loads PATH, checking ids against CFG.  NULL on error (ERR as above). */
auth_t *auth_load(const char *path, const config_t *cfg, char *err, size_t errlen);
void auth_destroy(auth_t **self_p);
/* Reads the same file again.  On success the new keys replace the old
 * ones (0); on error nothing changes (-1, ERR). */
int auth_reload(auth_t *self, char *err, size_t errlen);
/* The entry for public key KEY_Z85, or NULL when it is not listed. */
const auth_entry_t *auth_lookup(const auth_t *self, const char *key_z85);
size_t auth_count(const auth_t *self);
const char *auth_path(const auth_t *self);
/* "partner", "coordinator", "staff". */
const char *auth_role_name(auth_role_t role);
/* Splits "ROLE:ID": the role (0 when unknown) and a pointer to ID inside
 * USER_ID. */
auth_role_t auth_parse_user_id(const char *user_id, const char **id);

#endif
