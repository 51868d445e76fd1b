/*  report_html — the evaluation report as one self-contained HTML page.
 *
 *  Renders a document made by report_compute (report.h) as one HTML5 file
 *  in French: no external asset, no script, no web font; the charts are
 *  inline SVG written here (referrals per month by partner kind as stacked
 *  bars, the referral -> acceptance delay histogram, outcomes at exit as
 *  bars, budget use over time as a stacked area), each with a <title>, a
 *  <desc>, axis labels and a legend, and every figure also in a table.
 *  Text from the document (ids, the broker's reason messages, configured
 *  names) is HTML-escaped.
 *
 *  Returns 0, or -1 with the reason in ERR (a write failed).
 */
#ifndef RELAIS_REPORT_HTML_H
#define RELAIS_REPORT_HTML_H

#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

int report_html_write(const json_t *report, const config_t *cfg, FILE *out, char *err,
                      size_t errlen);

#endif
