/*  record — heap-safe edits of decoded protobuf records.  See record.h. */
#include "record.h"

#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

int record_set_str(char **field, const char *value)
{
    char *copy = (char *)protobuf_c_empty_string;
    if (value && *value && !(copy = strdup(value)))
        return ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

int record_push_str(size_t *n, char ***arr, const char *value)
{
    char *copy = strdup(value ? value : "");
    char **grown = copy ? realloc(*arr, (*n + 1) * sizeof **arr) : NULL;
    if (!grown) {
        free(copy);
        return ENOMEM;
    }
    grown[(*n)++] = copy;
    *arr = grown;
    return 0;
}

int record_add_enum(size_t *n, int **arr, int value)
{
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i] == value)
            return 0;
    int *grown = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!grown)
        return ENOMEM;
    grown[(*n)++] = value;
    *arr = grown;
    return 0;
}

int record_has_str(size_t n, char *const *arr, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i], value) == 0)
            return 1;
    return 0;
}
