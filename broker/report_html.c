/*  report_html — the evaluation report as a self-contained HTML page with
 *  inline SVG charts.  See report_html.h.
 *
 *  The page reads the JSON document of report.c and nothing else, so the
 *  HTML can never show a figure the JSON (which the tests check) does not
 *  have.  Charts are drawn by two small routines: s_bars (grouped into
 *  stacks, one series or several) and s_area (stacked areas over months).
 *  Both compute a "nice" axis maximum (1, 2 or 5 x 10^k) and write plain
 *  SVG 1.1 elements with absolute coordinates: any browser renders them
 *  without script, and a screen reader gets each chart's <title> and
 *  <desc> (role="img", aria-labelledby) and the table beside it.
 *
 *  Colours: the Okabe-Ito palette, distinguishable with the common colour
 *  vision deficiencies; labels carry the meaning, colours only help.
 */
#include "report_html.h"

#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_W  760.0 /* chart width */
#define S_H  320.0 /* chart height */
#define S_ML 80.0  /* margins: left (y labels), right, top, bottom */
#define S_MR 200.0 /* legend */
#define S_MT 20.0
#define S_MB 60.0

static const char *const s_colours[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                        "#56B4E9", "#F0E442", "#000000", "#999999"};
#define S_N_COLOURS (sizeof s_colours / sizeof s_colours[0])

/* ---- French words -------------------------------------------------------- */

typedef struct {
    const char *code, *label;
} s_word_t;

static const s_word_t s_kind_words[] = {{"mission_locale", "Mission locale"},
                                        {"ccas", "CCAS"},
                                        {"asq", "Antenne sociale de quartier"},
                                        {"departement", "Département"},
                                        {"rectorat", "Rectorat"},
                                        {"association", "Association"},
                                        {"insertion", "Insertion"},
                                        {"maison_de_quartier", "Maison de quartier"},
                                        {"programme", "Équipe du programme"},
                                        {"other", "Autre"},
                                        {NULL, NULL}};
static const s_word_t s_status_words[] = {{"accepted", "Orientées vers une structure"},
                                          {"merged", "Rattachées à un dossier existant"},
                                          {"ineligible", "Non éligibles"},
                                          {"invalid", "Incomplètes ou invalides"},
                                          {"waitlisted", "En liste d'attente"},
                                          {"review", "En vérification (doublon possible)"},
                                          {NULL, NULL}};
static const s_word_t s_outcome_words[] = {{"training", "Formation"},
                                           {"employment", "Emploi"},
                                           {"civic_service", "Service civique"},
                                           {"cej", "Contrat d'engagement jeune"},
                                           {"micro_lycee", "Micro-lycée"},
                                           {"care_pathway", "Parcours de soins"},
                                           {"moved_away", "Déménagement"},
                                           {"no_contact", "Perte de contact"},
                                           {"other", "Autre"},
                                           {NULL, NULL}};
static const s_word_t s_delay_words[] = {
    {"referral_to_routing", "Orientation → attribution à une structure"},
    {"routing_to_acceptance", "Attribution → acceptation par la structure"},
    {"referral_to_acceptance", "Orientation → acceptation"},
    {"acceptance_to_contract", "Acceptation → signature du contrat"},
    {"referral_to_contract", "Orientation → signature du contrat"},
    {NULL, NULL}};

static const char *s_word(const s_word_t *words, const char *code)
{
    for (size_t i = 0; code && words[i].code; i++)
        if (strcmp(words[i].code, code) == 0)
            return words[i].label;
    return code ? code : "";
}

/* ---- output helpers ------------------------------------------------------- */

static void s_esc(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static const json_t *s_get(const json_t *o, const char *path)
{
    /* "a.b.c" */
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static long long s_int(const json_t *o, const char *path)
{
    return (long long)json_integer_value(s_get(o, path));
}

static const char *s_str(const json_t *o, const char *path)
{
    const char *s = json_string_value(s_get(o, path));
    return s ? s : "";
}

/* 1234567 -> "1 234 567" (a narrow no-break space, as French prints). */
static const char *s_thousands(long long v, char buf[48])
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t n = strlen(digits), o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) {
            memcpy(buf + o, "\u202f", 3);
            o += 3;
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static void s_money(FILE *out, long long cents)
{
    char b[48];
    fprintf(out, "%s,%02lld&#160;€", s_thousands(cents / 100, b), llabs(cents % 100));
}

/* A rate as "66,7 %", "—" when there is none. */
static void s_rate(FILE *out, const json_t *v)
{
    if (!json_is_number(v)) {
        fputs("—", out);
        return;
    }
    char b[32];
    snprintf(b, sizeof b, "%.1f", json_number_value(v) * 100.0);
    for (char *c = b; *c; c++)
        if (*c == '.')
            *c = ',';
    fprintf(out, "%s&#160;%%", b);
}

static void s_days(FILE *out, const json_t *v)
{
    if (!json_is_number(v)) {
        fputs("—", out);
        return;
    }
    char b[32];
    snprintf(b, sizeof b, "%g", json_number_value(v));
    for (char *c = b; *c; c++)
        if (*c == '.')
            *c = ',';
    fprintf(out, "%s&#160;j", b);
}

/* The smallest 1, 2 or 5 x 10^k at or above V, at least 5: the axis has 5
 * steps, so counts get whole-number ticks. */
static double s_nice(double v)
{
    if (v <= 5)
        return 5;
    double p = pow(10, floor(log10(v)));
    for (int i = 0; i < 3; i++) {
        double m = (double[]){1, 2, 5}[i] * p;
        if (m >= v)
            return m;
    }
    return 10 * p;
}

/* ---- charts ---------------------------------------------------------------- */

typedef struct {
    const char *id, *title, *desc, *y_label;
    size_t n_cat, n_ser;
    const char **cats, **sers;
    const double *v; /* [ser * n_cat + cat] */
    bool money;      /* values in euros */
} s_chart_t;

static void s_svg_open(FILE *out, const s_chart_t *c)
{
    fprintf(
        out,
        "<figure id=\"%s\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
        "aria-labelledby=\"%s-t %s-d\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<title id=\"%s-t\">",
        c->id, c->id, c->id, S_W, S_H, S_W, S_H, c->id);
    s_esc(out, c->title);
    fprintf(out, "</title>\n<desc id=\"%s-d\">", c->id);
    s_esc(out, c->desc);
    fprintf(out, "</desc>\n<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", S_W, S_H);
}

static void s_svg_close(FILE *out, const s_chart_t *c)
{
    fprintf(out, "</svg>\n<figcaption>");
    s_esc(out, c->title);
    fprintf(out, "</figcaption>\n</figure>\n");
}

/* Y axis with 5 ticks up to MAX, its label, and the X axis line. */
static void s_axes(FILE *out, const s_chart_t *c, double max)
{
    double plot_h = S_H - S_MT - S_MB, x1 = S_W - S_MR;
    for (int i = 0; i <= 5; i++) {
        double v = max * i / 5, y = S_H - S_MB - plot_h * i / 5;
        char b[48];
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s%s</text>\n",
                S_ML, y, x1, y, S_ML - 6, y + 4, s_thousands((long long)llround(v), b),
                c->money ? " €" : "");
    }
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
            S_ML, S_H - S_MB, x1, S_H - S_MB, S_ML, S_MT, S_ML, S_H - S_MB);
    fprintf(out, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">",
            S_MT + plot_h / 2);
    s_esc(out, c->y_label);
    fprintf(out, "</text>\n");
}

static void s_legend(FILE *out, const s_chart_t *c)
{
    if (c->n_ser < 2)
        return;
    double x = S_W - S_MR + 16;
    fprintf(out, "<g aria-hidden=\"true\">\n");
    for (size_t s = 0; s < c->n_ser; s++) {
        double y = S_MT + 8 + 20.0 * (double)s;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">",
                x, y, s_colours[s % S_N_COLOURS], x + 20, y + 11);
        s_esc(out, c->sers[s]);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "</g>\n");
}

/* X labels under categories at their centres; rotated when many. */
static void s_x_labels(FILE *out, const s_chart_t *c, double step)
{
    bool rotate = c->n_cat > 8;
    for (size_t k = 0; k < c->n_cat; k++) {
        double x = S_ML + step * ((double)k + 0.5), y = S_H - S_MB + 16;
        if (rotate)
            fprintf(out,
                    "<text transform=\"translate(%.1f %.1f) rotate(-45)\" text-anchor=\"end\">",
                    x + 4, y);
        else
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y);
        s_esc(out, c->cats[k]);
        fprintf(out, "</text>\n");
    }
}

/* Stacked bars: one bar per category, one segment per series. */
static void s_bars(FILE *out, const s_chart_t *c)
{
    double max = 0, plot_h = S_H - S_MT - S_MB;
    double step = (S_W - S_MR - S_ML) / (double)(c->n_cat ? c->n_cat : 1);
    for (size_t k = 0; k < c->n_cat; k++) {
        double sum = 0;
        for (size_t s = 0; s < c->n_ser; s++)
            sum += c->v[s * c->n_cat + k];
        if (sum > max)
            max = sum;
    }
    max = s_nice(max);
    s_svg_open(out, c);
    s_axes(out, c, max);
    for (size_t k = 0; k < c->n_cat; k++) {
        /* At most 64 px wide: a single month would otherwise fill the chart. */
        double w = step * 0.7 > 64 ? 64 : step * 0.7;
        double y = S_H - S_MB, x = S_ML + step * ((double)k + 0.5) - w / 2;
        double total = 0;
        for (size_t s = 0; s < c->n_ser; s++) {
            double v = c->v[s * c->n_cat + k], h = plot_h * v / max;
            total += v;
            if (v <= 0)
                continue;
            y -= h;
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                    "<title>",
                    x, y, w, h, s_colours[(c->n_ser > 1 ? s : 0) % S_N_COLOURS]);
            s_esc(out, c->cats[k]);
            if (c->n_ser > 1) {
                fputs(", ", out);
                s_esc(out, c->sers[s]);
            }
            fprintf(out, " : %g</title></rect>\n", v);
        }
        if (total > 0)
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                    x + w / 2, y - 4, total);
    }
    s_x_labels(out, c, step);
    s_legend(out, c);
    s_svg_close(out, c);
}

/* X of month K of N in an area chart: first and last at the plot's edges;
 * a single month spans the whole width (a flat band, not a line). */
static double s_area_x(size_t k, size_t n, bool right)
{
    double w = S_W - S_MR - S_ML;
    if (n < 2)
        return S_ML + (right ? w : 0);
    return S_ML + w * (double)k / (double)(n - 1);
}

/* Horizontal bars, one series: long category names (outcomes) read on
 * the left instead of slanting under the axis. */
static void s_hbars(FILE *out, const s_chart_t *c)
{
    const double left = 230, right = S_W - 60, top = S_MT, bottom = S_H - 40;
    double max = 0, band = (bottom - top) / (double)(c->n_cat ? c->n_cat : 1);
    for (size_t k = 0; k < c->n_cat; k++)
        if (c->v[k] > max)
            max = c->v[k];
    max = s_nice(max);
    s_svg_open(out, c);
    for (int i = 0; i <= 5; i++) {
        double x = left + (right - left) * i / 5;
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                x, top, x, bottom, x, bottom + 16, max * i / 5);
    }
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            left, top, left, bottom, (left + right) / 2, S_H - 6);
    s_esc(out, c->y_label);
    fprintf(out, "</text>\n");
    for (size_t k = 0; k < c->n_cat; k++) {
        double y = top + band * (double)k, h = band * 0.7, w = (right - left) * c->v[k] / max;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 8,
                y + band / 2 + 4);
        s_esc(out, c->cats[k]);
        fprintf(out, "</text>\n");
        if (c->v[k] > 0)
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"%s\"><title>%g</title></rect>\n",
                    left, y + band * 0.15, w, h, s_colours[0], c->v[k]);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%g</text>\n", left + w + 6, y + band / 2 + 4,
                c->v[k]);
    }
    s_svg_close(out, c);
}

/* Stacked areas over the categories (months), series bottom up. */
static void s_area(FILE *out, const s_chart_t *c, double envelope)
{
    double max = 0, plot_h = S_H - S_MT - S_MB;
    double step = (S_W - S_MR - S_ML) / (double)(c->n_cat ? c->n_cat : 1);
    size_t n = c->n_cat;
    double *base = calloc(c->n_cat + 1, sizeof *base);
    if (!base)
        return;
    for (size_t k = 0; k < c->n_cat; k++) {
        double sum = 0;
        for (size_t s = 0; s < c->n_ser; s++)
            sum += c->v[s * c->n_cat + k];
        if (sum > max)
            max = sum;
    }
    /* The envelope line only when the use is within sight of it: a line
     * far above would flatten the areas to nothing. */
    bool show_envelope = envelope > 0 && max >= envelope / 3;
    max = s_nice(show_envelope && envelope > max ? envelope : max);
    s_svg_open(out, c);
    s_axes(out, c, max);
    for (size_t s = 0; s < c->n_ser; s++) {
        fprintf(out, "<polygon fill=\"%s\" fill-opacity=\"0.85\" stroke=\"%s\" points=\"",
                s_colours[s % S_N_COLOURS], s_colours[s % S_N_COLOURS]);
        for (size_t k = 0; k < n; k++) {
            double top = base[k] + c->v[s * n + k], y = S_H - S_MB - plot_h * top / max;
            fprintf(out, "%.1f,%.1f ", s_area_x(k, n, false), y);
            if (n == 1)
                fprintf(out, "%.1f,%.1f ", s_area_x(k, n, true), y);
        }
        for (size_t k = n; k-- > 0;) {
            double y = S_H - S_MB - plot_h * base[k] / max;
            if (n == 1)
                fprintf(out, "%.1f,%.1f ", s_area_x(k, n, true), y);
            fprintf(out, "%.1f,%.1f ", s_area_x(k, n, false), y);
        }
        fprintf(out, "\"><title>");
        s_esc(out, c->sers[s]);
        fprintf(out, "</title></polygon>\n");
        for (size_t k = 0; k < c->n_cat; k++)
            base[k] += c->v[s * c->n_cat + k];
    }
    if (show_envelope) {
        double y = S_H - S_MB - plot_h * envelope / max;
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#D55E00\" "
                "stroke-dasharray=\"6 4\" stroke-width=\"2\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" fill=\"#A03000\">enveloppe du programme</text>\n",
                S_ML, y, S_W - S_MR, y, S_ML + 6, y - 6);
    }
    free(base);
    /* Month labels under their points (the centre, for a single month). */
    for (size_t k = 0; k < n; k++) {
        double x =
            n < 2 ? (s_area_x(0, n, false) + s_area_x(0, n, true)) / 2 : s_area_x(k, n, false);
        if (n > 8)
            fprintf(out,
                    "<text transform=\"translate(%.1f %.1f) rotate(-45)\" text-anchor=\"end\">",
                    x + 4, S_H - S_MB + 16);
        else
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, S_H - S_MB + 16);
        s_esc(out, c->cats[k]);
        fprintf(out, "</text>\n");
    }
    (void)step;
    s_legend(out, c);
    s_svg_close(out, c);
}

/* ---- sections ---------------------------------------------------------------- */

static void s_th(FILE *out, const char *const *heads)
{
    fputs("<thead><tr>", out);
    for (size_t i = 0; heads[i]; i++) {
        fprintf(out, "<th scope=\"col\">");
        s_esc(out, heads[i]);
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
}

static void s_table_open(FILE *out, const char *caption, const char *const *heads)
{
    fputs("<table>\n<caption>", out);
    s_esc(out, caption);
    fputs("</caption>\n", out);
    s_th(out, heads);
}

static void s_table_close(FILE *out)
{
    fputs("</tbody>\n</table>\n", out);
}

/* A row: first cell a header cell, the others already formatted. */
static void s_row(FILE *out, const char *head, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_row(FILE *out, const char *head, const char *fmt, ...)
{
    va_list ap;
    fputs("<tr><th scope=\"row\">", out);
    s_esc(out, head);
    fputs("</th>", out);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputs("</tr>\n", out);
}

/* "s" after a count above one, as French writes "1 dossier", "2 dossiers". */
static const char *s_s(long long n)
{
    return n > 1 ? "s" : "";
}

static void s_referrals(FILE *out, const json_t *r, const config_t *cfg)
{
    const json_t *ref = s_get(r, "referrals"), *months = s_get(r, "months");
    const json_t *kinds = s_get(ref, "by_kind"), *by_month = s_get(ref, "by_month");
    size_t n_cat = json_array_size(months), n_ser = json_array_size(kinds);
    const char **cats = calloc(n_cat + 1, sizeof *cats), **sers = calloc(n_ser + 1, sizeof *sers);
    double *v = calloc(n_cat * n_ser + 1, sizeof *v);
    long long total = s_int(ref, "total");
    fprintf(out,
            "<section id=\"orientations\">\n<h2>Orientations reçues</h2>\n"
            "<p>%lld orientation%s reçue%s sur la période.</p>\n",
            total, s_s(total), s_s(total));
    if (cats && sers && v) {
        for (size_t k = 0; k < n_cat; k++)
            cats[k] = json_string_value(json_array_get(months, k));
        for (size_t s = 0; s < n_ser; s++) {
            const char *kind = s_str(json_array_get(kinds, s), "kind");
            sers[s] = s_word(s_kind_words, kind);
            for (size_t k = 0; k < n_cat; k++)
                v[s * n_cat + k] = (double)json_integer_value(
                    json_object_get(s_get(json_array_get(by_month, k), "by_kind"), kind));
        }
        s_chart_t c = {"chart-referrals",
                       "Orientations reçues par mois et par type de partenaire",
                       "Histogramme empilé : pour chaque mois, le nombre d'orientations reçues, "
                       "réparti par type de partenaire. Les chiffres sont dans les tableaux "
                       "ci-dessous.",
                       "Orientations",
                       n_cat,
                       n_ser,
                       cats,
                       sers,
                       v,
                       false};
        s_bars(out, &c);
    }
    free(cats);
    free(sers);
    free(v);

    size_t i;
    const json_t *e;
    s_table_open(out, "Orientations par mois", (const char *const[]){"Mois", "Orientations", NULL});
    json_array_foreach(by_month, i, e)
        s_row(out, s_str(e, "month"), "<td>%lld</td>", s_int(e, "total"));
    s_table_close(out);
    s_table_open(out, "Orientations par partenaire",
                 (const char *const[]){"Partenaire", "Type", "Orientations", NULL});
    json_array_foreach(s_get(ref, "by_partner"), i, e)
    {
        fputs("<tr><th scope=\"row\">", out);
        s_esc(out, config_partner_name(cfg, s_str(e, "partner")));
        fputs("</th><td class=\"t\">", out);
        s_esc(out, s_word(s_kind_words, s_str(e, "kind")));
        fprintf(out, "</td><td>%lld</td></tr>\n", s_int(e, "count"));
    }
    s_table_close(out);
    s_table_open(out, "Orientations par type de partenaire",
                 (const char *const[]){"Type de partenaire", "Orientations", NULL});
    json_array_foreach(kinds, i, e)
        s_row(out, s_word(s_kind_words, s_str(e, "kind")), "<td>%lld</td>", s_int(e, "count"));
    s_table_close(out);
    s_table_open(out, "Réponse donnée à chaque orientation",
                 (const char *const[]){"Réponse", "Orientations", NULL});
    const char *k;
    const json_t *n;
    json_object_foreach((json_t *)s_get(ref, "by_status"), k, n)
        s_row(out, s_word(s_status_words, k), "<td>%lld</td>", (long long)json_integer_value(n));
    s_table_close(out);
    fputs("</section>\n", out);
}

static void s_persons_eligibility(FILE *out, const json_t *r)
{
    const json_t *p = s_get(r, "persons"), *el = s_get(r, "eligibility");
    fputs("<section id=\"personnes\">\n<h2>Personnes et doublons</h2>\n", out);
    s_table_open(out, "Jeunes orientés et doublons",
                 (const char *const[]){"Indicateur", "Valeur", NULL});
    s_row(out, "Jeunes ayant un dossier", "<td>%lld</td>", s_int(p, "persons"));
    s_row(out, "Orientations rattachées à un dossier", "<td>%lld</td>",
          s_int(p, "referrals_with_case"));
    s_row(out, "dont rattachées à un dossier existant (doublons)", "<td>%lld</td>",
          s_int(p, "merged"));
    const json_t *rpp = s_get(p, "referrals_per_person");
    if (json_is_number(rpp)) {
        char b[32];
        snprintf(b, sizeof b, "%.2f", json_number_value(rpp));
        for (char *c = b; *c; c++)
            if (*c == '.')
                *c = ','; /* French decimal comma */
        s_row(out, "Orientations par jeune", "<td>%s</td>", b);
    } else
        s_row(out, "Orientations par jeune", "<td>—</td>");
    s_table_close(out);
    fputs("</section>\n<section id=\"eligibilite\">\n<h2>Éligibilité</h2>\n<p>Taux "
          "d'éligibilité : <strong>",
          out);
    s_rate(out, s_get(el, "rate"));
    fprintf(out,
            "</strong> (%lld éligibles sur %lld orientations examinées ; les orientations "
            "rattachées à un dossier existant ne sont pas réexaminées, et %lld orientations "
            "incomplètes n'ont pas pu l'être).</p>\n",
            s_int(el, "eligible"), s_int(el, "checked"), s_int(el, "invalid"));
    s_table_open(out, "Motifs de non-éligibilité (une orientation peut en avoir plusieurs)",
                 (const char *const[]){"Motif", "Code", "Orientations", NULL});
    size_t i;
    const json_t *e;
    json_array_foreach(s_get(el, "reasons"), i, e)
    {
        fputs("<tr><th scope=\"row\">", out);
        s_esc(out, s_str(e, "message"));
        fputs("</th><td class=\"t\"><code>", out);
        s_esc(out, s_str(e, "code"));
        fprintf(out, "</code></td><td>%lld</td></tr>\n", s_int(e, "count"));
    }
    s_table_close(out);
    fputs("</section>\n", out);
}

static void s_routing(FILE *out, const json_t *r, const config_t *cfg)
{
    const json_t *ro = s_get(r, "routing");
    size_t i;
    const json_t *e;
    long long cases = s_int(ro, "cases");
    fprintf(out,
            "<section id=\"orientation\">\n<h2>Attribution et acceptation</h2>\n"
            "<p>%lld dossier%s ouvert%s sur la période.</p>\n",
            cases, s_s(cases), s_s(cases));
    s_table_open(out, "Par structure d'accompagnement",
                 (const char *const[]){"Structure", "Dossiers reçus", "Acceptés", "Refusés",
                                       "En attente de réponse", "Taux d'acceptation", NULL});
    json_array_foreach(s_get(ro, "by_structure"), i, e)
    {
        fputs("<tr><th scope=\"row\">", out);
        s_esc(out, config_structure_name(cfg, s_str(e, "structure")));
        fprintf(out, "</th><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>",
                s_int(e, "routed"), s_int(e, "accepted"), s_int(e, "declined"),
                s_int(e, "pending"));
        s_rate(out, s_get(e, "acceptance_rate"));
        fputs("</td></tr>\n", out);
    }
    s_table_close(out);
    s_table_open(out, "Par quartier de résidence",
                 (const char *const[]){"Quartier", "Dossiers", "Attribués", "Acceptés", NULL});
    json_array_foreach(s_get(ro, "by_quartier"), i, e)
    {
        const char *q = s_str(e, "quartier");
        s_row(out, strcmp(q, "other") == 0 ? "Autre ou non renseigné" : q,
              "<td>%lld</td><td>%lld</td><td>%lld</td>", s_int(e, "cases"), s_int(e, "routed"),
              s_int(e, "accepted"));
    }
    s_table_close(out);
    fputs("</section>\n", out);
}

static void s_delays(FILE *out, const json_t *r)
{
    const json_t *d = s_get(r, "delays"), *bins = s_get(d, "histogram.bins");
    fputs("<section id=\"delais\">\n<h2>Délais</h2>\n", out);
    s_table_open(out, "Délais en jours (médiane et 90e centile)",
                 (const char *const[]){"Étape", "Dossiers", "Médiane", "90e centile", NULL});
    for (size_t i = 0; s_delay_words[i].code; i++) {
        const json_t *e = s_get(d, s_delay_words[i].code);
        fputs("<tr><th scope=\"row\">", out);
        s_esc(out, s_delay_words[i].label);
        fprintf(out, "</th><td>%lld</td><td>", s_int(e, "n"));
        s_days(out, s_get(e, "median_days"));
        fputs("</td><td>", out);
        s_days(out, s_get(e, "p90_days"));
        fputs("</td></tr>\n", out);
    }
    s_table_close(out);
    size_t n = json_array_size(bins);
    const char **cats = calloc(n + 1, sizeof *cats);
    double *v = calloc(n + 1, sizeof *v);
    char(*labels)[32] = calloc(n + 1, sizeof *labels);
    if (cats && v && labels) {
        for (size_t i = 0; i < n; i++) {
            const json_t *b = json_array_get(bins, i);
            snprintf(labels[i], sizeof labels[i], "%s j", s_str(b, "label"));
            cats[i] = labels[i];
            v[i] = (double)s_int(b, "count");
        }
        const char *ser[] = {"Dossiers"};
        s_chart_t c = {"chart-delays",
                       "Répartition du délai entre l'orientation et l'acceptation",
                       "Histogramme : nombre de dossiers acceptés selon le nombre de jours "
                       "écoulés entre la réception de l'orientation et l'acceptation par une "
                       "structure.",
                       "Dossiers acceptés",
                       n,
                       1,
                       cats,
                       ser,
                       v,
                       false};
        s_bars(out, &c);
    }
    free(cats);
    free(v);
    free(labels);
    fputs("</section>\n", out);
}

static void s_declines_waitlist(FILE *out, const json_t *r, const config_t *cfg)
{
    const json_t *d = s_get(r, "declines"), *w = s_get(r, "waitlist");
    size_t i;
    const json_t *e;
    fputs("<section id=\"refus\">\n<h2>Refus et relances</h2>\n", out);
    s_table_open(out, "Refus et relances", (const char *const[]){"Indicateur", "Nombre", NULL});
    s_row(out, "Dossiers rendus par une structure", "<td>%lld</td>", s_int(d, "handbacks"));
    s_row(out, "dont réorientations automatiques faute de réponse", "<td>%lld</td>",
          s_int(d, "no_answer"));
    s_row(out, "Relances envoyées aux structures", "<td>%lld</td>", s_int(d, "reminders"));
    s_row(out, "Dossiers refusés par toutes les structures", "<td>%lld</td>",
          s_int(d, "declined_by_all"));
    s_table_close(out);
    s_table_open(out, "Dossiers rendus, par structure",
                 (const char *const[]){"Structure", "Dossiers rendus", NULL});
    json_array_foreach(s_get(d, "by_structure"), i, e) s_row(
        out, config_structure_name(cfg, s_str(e, "structure")), "<td>%lld</td>", s_int(e, "count"));
    s_table_close(out);
    long long now = s_int(w, "waiting_now");
    fprintf(out,
            "</section>\n<section id=\"attente\">\n<h2>Liste d'attente</h2>\n<p>%lld dossier%s "
            "en liste d'attente aujourd'hui.</p>\n",
            now, s_s(now));
    s_table_open(out, "Liste d'attente par mois",
                 (const char *const[]){"Mois", "Inscrits", "Sortis (orientés)",
                                       "En attente en fin de mois", NULL});
    json_array_foreach(s_get(w, "by_month"), i, e)
        s_row(out, s_str(e, "month"), "<td>%lld</td><td>%lld</td><td>%lld</td>",
              s_int(e, "entered"), s_int(e, "left"), s_int(e, "waiting_at_end"));
    s_table_close(out);
    fputs("</section>\n", out);
}

static void s_outcomes(FILE *out, const json_t *r)
{
    const json_t *o = s_get(r, "outcomes"), *by = s_get(o, "by_outcome");
    size_t n = json_array_size(by), i;
    const json_t *e;
    long long closed = s_int(o, "closed");
    fprintf(out,
            "<section id=\"sorties\">\n<h2>Sorties du programme</h2>\n"
            "<p>%lld dossier%s clos sur la période.</p>\n",
            closed, s_s(closed));
    const char **cats = calloc(n + 1, sizeof *cats);
    double *v = calloc(n + 1, sizeof *v);
    if (cats && v) {
        for (i = 0; i < n; i++) {
            cats[i] = s_word(s_outcome_words, s_str(json_array_get(by, i), "outcome"));
            v[i] = (double)s_int(json_array_get(by, i), "count");
        }
        const char *ser[] = {"Dossiers clos"};
        s_chart_t c = {"chart-outcomes",
                       "Situation à la sortie du programme",
                       "Diagramme en barres : nombre de dossiers clos pour chaque situation de "
                       "sortie.",
                       "Nombre de dossiers clos",
                       n,
                       1,
                       cats,
                       ser,
                       v,
                       false};
        s_hbars(out, &c);
    }
    free(cats);
    free(v);
    s_table_open(out, "Sorties", (const char *const[]){"Situation à la sortie", "Dossiers", NULL});
    json_array_foreach(by, i, e) s_row(out, s_word(s_outcome_words, s_str(e, "outcome")),
                                       "<td>%lld</td>", s_int(e, "count"));
    s_table_close(out);
    fputs("</section>\n", out);
}

static void s_budget(FILE *out, const json_t *r)
{
    const json_t *b = s_get(r, "budget"), *by = s_get(b, "by_month");
    size_t n = json_array_size(by), i;
    const json_t *e;
    fputs("<section id=\"budget\">\n<h2>Budget</h2>\n", out);
    s_table_open(out, "Budget à ce jour", (const char *const[]){"Poste", "Montant", NULL});
    fputs("<tr><th scope=\"row\">Enveloppe du programme</th><td>", out);
    s_money(out, s_int(b, "envelope_eur") * 100);
    fprintf(out,
            "</td></tr>\n<tr><th scope=\"row\">Réservé (%lld dossier%s attribué%s, sans "
            "contrat)</th><td>",
            s_int(b, "reserved_places"), s_int(b, "reserved_places") > 1 ? "s" : "",
            s_int(b, "reserved_places") > 1 ? "s" : "");
    s_money(out, s_int(b, "reserved_eur") * 100);
    fprintf(out, "</td></tr>\n<tr><th scope=\"row\">Engagé (%lld contrat%s signé%s)</th><td>",
            s_int(b, "contracts"), s_int(b, "contracts") > 1 ? "s" : "",
            s_int(b, "contracts") > 1 ? "s" : "");
    s_money(out, s_int(b, "committed_cents"));
    fputs("</td></tr>\n<tr><th scope=\"row\">dont versé à ce jour</th><td>", out);
    s_money(out, s_int(b, "paid_cents"));
    fputs("</td></tr>\n<tr><th scope=\"row\">Disponible</th><td>", out);
    s_money(out, s_int(b, "free_cents"));
    s_table_close(out);

    const char **cats = calloc(n + 1, sizeof *cats);
    double *v = calloc(3 * n + 1, sizeof *v);
    if (cats && v) {
        for (i = 0; i < n; i++) {
            e = json_array_get(by, i);
            cats[i] = s_str(e, "month");
            double paid = (double)s_int(e, "paid_cents") / 100;
            v[i] = paid;
            v[n + i] = (double)s_int(e, "committed_cents") / 100 - paid;
            v[2 * n + i] = (double)s_int(e, "reserved_cents") / 100;
        }
        const char *ser[] = {"Versé", "Engagé, à verser", "Réservé"};
        s_chart_t c = {"chart-budget",
                       "Utilisation du budget en fin de mois",
                       "Aires empilées : pour chaque fin de mois, le montant déjà versé, le "
                       "montant engagé par les contrats et restant à verser, et le montant "
                       "réservé pour les dossiers attribués sans contrat.",
                       "Euros",
                       n,
                       3,
                       cats,
                       ser,
                       v,
                       true};
        s_area(out, &c, (double)s_int(b, "envelope_eur"));
    }
    free(cats);
    free(v);
    s_table_open(out, "Budget en fin de mois",
                 (const char *const[]){"Mois", "Versé", "Engagé", "Réservé", NULL});
    json_array_foreach(by, i, e)
    {
        fputs("<tr><th scope=\"row\">", out);
        s_esc(out, s_str(e, "month"));
        fputs("</th><td>", out);
        s_money(out, s_int(e, "paid_cents"));
        fputs("</td><td>", out);
        s_money(out, s_int(e, "committed_cents"));
        fputs("</td><td>", out);
        s_money(out, s_int(e, "reserved_cents"));
        fputs("</td></tr>\n", out);
    }
    s_table_close(out);
    fputs("</section>\n", out);
}

static const char s_style[] =
    "body{font-family:sans-serif;color:#1a1a1a;background:#fff;max-width:1000px;margin:0 auto;"
    "padding:1em 1.5em;line-height:1.45}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:2px solid #0072B2;"
    "padding-bottom:.2em;margin-top:2em}\n"
    "table{border-collapse:collapse;margin:1em 0;min-width:50%}caption{text-align:left;"
    "font-weight:bold;padding:.3em 0}\n"
    "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left}td{text-align:right}"
    "td.t{text-align:left}"
    "thead th{background:#eef3f8}tbody th{font-weight:normal}\n"
    "figure{margin:1em 0}figcaption{font-size:.9em;color:#444}svg{max-width:100%;height:auto}\n"
    "nav ul{columns:2}.meta{color:#444}\n";

int report_html_write(const json_t *r, const config_t *cfg, FILE *out, char *err, size_t errlen)
{
    const char *from = s_str(r, "period.from"), *to = s_str(r, "period.to");
    fputs("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>Rapport d'évaluation — ",
          out);
    s_esc(out, cfg->programme_name);
    fprintf(out,
            "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n"
            "<h1>Rapport d'évaluation</h1>\n<p class=\"meta\">",
            s_style);
    s_esc(out, cfg->programme_name);
    fputs("<br>Période : ", out);
    if (*from || *to) {
        fputs(*from ? "du " : "jusqu'au ", out);
        s_esc(out, *from ? from : to);
        if (*from && *to) {
            fputs(" au ", out);
            s_esc(out, to);
        }
    } else {
        fputs("depuis le début du programme", out);
    }
    fputs(" — établi le ", out);
    s_esc(out, s_str(r, "generated_on"));
    fputs(". Chiffres calculés par relais à partir de ses enregistrements, sans aucune donnée "
          "nominative.</p>\n</header>\n"
          "<nav aria-label=\"Sommaire\"><ul>"
          "<li><a href=\"#orientations\">Orientations reçues</a></li>"
          "<li><a href=\"#personnes\">Personnes et doublons</a></li>"
          "<li><a href=\"#eligibilite\">Éligibilité</a></li>"
          "<li><a href=\"#orientation\">Attribution et acceptation</a></li>"
          "<li><a href=\"#delais\">Délais</a></li>"
          "<li><a href=\"#refus\">Refus et relances</a></li>"
          "<li><a href=\"#attente\">Liste d'attente</a></li>"
          "<li><a href=\"#sorties\">Sorties</a></li>"
          "<li><a href=\"#budget\">Budget</a></li></ul></nav>\n<main>\n",
          out);
    s_referrals(out, r, cfg);
    s_persons_eligibility(out, r);
    s_routing(out, r, cfg);
    s_delays(out, r);
    s_declines_waitlist(out, r, cfg);
    s_outcomes(out, r);
    s_budget(out, r);
    fputs("</main>\n</body>\n</html>\n", out);
    if (ferror(out)) {
        snprintf(err, errlen, "cannot write the report");
        return -1;
    }
    return 0;
}
