/*  record — editing decoded protobuf records in place.
 *
 *  Records read from the store (store_get_msg) are freed with
 *  protobuf_c_message_free_unpacked, which frees every string and array
 *  with the system allocator, except the shared empty string.  Whoever
 *  edits such a record must therefore put only heap copies in it: these
 *  helpers are the one way to do so.  Each returns 0 or ENOMEM.
 */
#ifndef RELAIS_RECORD_H
#define RELAIS_RECORD_H

#include <stddef.h>

/* Replaces *FIELD (freeing the old value) by a copy of VALUE ("" or NULL:
 * the shared empty string). */
int record_set_str(char **field, const char *value);
/* Appends a copy of VALUE to the string array *ARR of *N elements. */
int record_push_str(size_t *n, char ***arr, const char *value);
/* Appends VALUE to the enum/int array *ARR of *N elements unless it is
 * already there. */
int record_add_enum(size_t *n, int **arr, int value);
/* True when the string array holds VALUE. */
int record_has_str(size_t n, char *const *arr, const char *value);

#endif
