/*  event_cursor — where a partner is in its feed of status events: the
 *  seq of the last event relais-agent printed, kept in a small file so the
 *  next `relais-agent events` shows only what is new.
 *
 *  The file holds one decimal number and a newline.  It is replaced
 *  atomically (a temporary file in the same directory, fsync, rename, then
 *  fsync of the directory), so a crash or a full disk leaves either the old
 *  value or the new one, never a torn file.  A file that holds anything
 *  else is refused with a message naming it, rather than read as 0: reading
 *  it as 0 would print every event again, silently.
 *
 *  Default place: $XDG_STATE_HOME/relais/events-PARTNER.seq, or
 *  ~/.local/state/relais/events-PARTNER.seq when XDG_STATE_HOME is unset
 *  (the XDG base directory rules).
 *
 *  Thread-safety: no shared state.  Two processes saving the same file at
 *  once: the last rename wins, and each value is a whole one.
 */
#ifndef RELAIS_EVENT_CURSOR_H
#define RELAIS_EVENT_CURSOR_H

#include <stddef.h>
#include <stdint.h>

/* The agent's state directory (where the event cursor and the outbox
 * live by default): $XDG_STATE_HOME/relais, else ~/.local/state/relais.
 * 0, or -1 with the reason in ERR (no HOME, too long). */
int event_cursor_default_dir(char *out, size_t outlen, char *err, size_t errlen);
/* DIR/events-PARTNER.seq into OUT.  0, or -1 with the reason in ERR (an
 * id that cannot be a file name, too long). */
int event_cursor_path_in(const char *dir, const char *partner, char *out, size_t outlen, char *err,
                         size_t errlen);
/* Writes the default path for PARTNER into OUT (event_cursor_path_in of
 * event_cursor_default_dir).  0, or -1 with the reason
 * in ERR (no HOME, an id that cannot be a file name, too long). */
int event_cursor_default_path(const char *partner, char *out, size_t outlen, char *err,
                              size_t errlen);
/* Reads the seq saved in PATH into *SEQ; a missing file is seq 0.  0, or
 * -1 with the reason in ERR (unreadable, not a number). */
int event_cursor_load(const char *path, uint64_t *seq, char *err, size_t errlen);
/* Saves SEQ in PATH atomically, creating missing parent directories
 * (mode 0700: the feed names cases).  0, or -1 with the reason in ERR. */
int event_cursor_save(const char *path, uint64_t seq, char *err, size_t errlen);

#endif
