/*  dirs — the agents' state directories, created as needed.
 *
 *  The partner agent keeps its outbox and its news cursor under
 *  --state-dir, which may not exist yet: like `mkdir -p`, with mode 0700
 *  for what it creates (an outbox holds young people's data).
 */
#ifndef RELAIS_DIRS_H
#define RELAIS_DIRS_H

#include <stddef.h>

/* Creates DIR and any missing parent.  0, or -1 with the reason in ERR. */
int dirs_make(const char *dir, char *err, size_t errlen);

#endif
