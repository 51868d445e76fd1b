/*  csv_reader — the partner CSV file of PROTOCOL.md, row by row, as
 *  Referral messages.
 *
 *  UTF-8 (a leading BOM skipped), a header row naming the columns in any
 *  order (unknown columns: one warning each, then ignored; a required
 *  column missing from the header: the whole file is refused), RFC 4180
 *  quoting (libcsv), delimiter ',' or ';' recognised from the header row
 *  (the one that occurs more often outside quotes).  Dates are accepted as
 *  YYYY-MM-DD or DD/MM/YYYY and handed on as YYYY-MM-DD.
 *
 *  A row that cannot be read (a required cell empty, a bad date, an
 *  unknown benefit or need word, a bad consent word, a non-numeric
 *  resources cell, invalid UTF-8, more cells than the header) is reported
 *  to the callback with its line number and reason, and the next rows go
 *  on.  Blank lines are skipped, and so are rows whose cells are all empty
 *  (";;;;" rows of spreadsheet exports); empty cells beyond the header's
 *  last column are tolerated for the same reason.  The line number is the
 *  physical line on which the record starts (1 = the header), counting
 *  newlines inside quoted cells.
 *
 *  Cells are trimmed of surrounding blanks.  Limits, so that memory stays
 *  bounded per row whatever the file size: a cell of more than
 *  CSV_READER_CELL_MAX bytes or a row of more than CSV_READER_CELLS_MAX
 *  cells is a row error (after a cell too long, the rest of its record
 *  is skipped, quotes followed; an unterminated quote thus ends the file
 *  with one row error).
 *
 *  The reader checks only what it must to build the message; the broker
 *  validates the referral fully (lengths, future dates...).
 *
 *  Ownership: the Referral passed to the row callback, and every string in
 *  it, belong to the reader and are valid only during the callback.
 *  Thread-safety: no shared state; one reader per thread.
 */
#ifndef RELAIS_CSV_READER_H
#define RELAIS_CSV_READER_H

#include "relais.pb-c.h"

#include <stddef.h>
#include <stdio.h>

#define CSV_READER_CELL_MAX  (64 * 1024)
#define CSV_READER_CELLS_MAX 256

/* Called once per data row.  Exactly one of REFERRAL and ERROR is non-NULL.
 * PARTNER_REF is the row's partner_ref cell when one could be read, else
 * "".  Return 0 to go on, non-zero to stop reading (csv_reader_* then
 * returns 1). */
typedef int (*csv_row_fn)(void *arg, size_t line, const char *partner_ref,
                          const Relais__V1__Referral *referral, const char *error);
/* Called for file-level warnings (unknown column...); may be NULL. */
typedef void (*csv_warn_fn)(void *arg, const char *warning);

/* Reads the CSV in PATH / in the stream IN.  Returns 0 when the whole file
 * was read (bad rows included: they went to the callback), 1 when the
 * callback stopped it, -1 when the file as a whole cannot be read (cannot
 * open, not UTF-8 header, no header, a required column missing), with the
 * reason in ERR. */
int csv_reader_read_file(const char *path, csv_row_fn on_row, csv_warn_fn on_warn, void *arg,
                         char *err, size_t errlen);
int csv_reader_read_stream(FILE *in, csv_row_fn on_row, csv_warn_fn on_warn, void *arg,
                           char *err, size_t errlen);
/* The same on the LEN bytes at BUF (no stdio; what a fuzzer calls).  BUF
 * need not be NUL-terminated. */
int csv_reader_read_buffer(const char *buf, size_t len, csv_row_fn on_row, csv_warn_fn on_warn,
                           void *arg, char *err, size_t errlen);

#endif
