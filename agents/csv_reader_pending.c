/*  csv_reader_pending — a stand-in for csv_reader.c while that file is
 *  still a placeholder (it is written on another branch).
 *
 *  agents/CMakeLists.txt compiles this file only when csv_reader.c does not
 *  define csv_reader_read_file, so relais-agent links and its other
 *  commands work; once the real reader lands this file is no longer built
 *  and can be deleted.  Every file is refused with a message saying so:
 *  a stand-in must never look like a reader that found nothing.
 */
#include "csv_reader.h"

int csv_reader_read_file(const char *path, csv_row_fn on_row, csv_warn_fn on_warn, void *arg,
                         char *err, size_t errlen)
{
    (void)on_row;
    (void)on_warn;
    (void)arg;
    snprintf(err, errlen, "%s: this build has no CSV reader yet (agents/csv_reader.c)", path);
    return -1;
}

int csv_reader_read_stream(FILE *in, csv_row_fn on_row, csv_warn_fn on_warn, void *arg, char *err,
                           size_t errlen)
{
    (void)in;
    return csv_reader_read_file("-", on_row, on_warn, arg, err, errlen);
}
