/*
 * plot: small self-contained SVG charts (no external tools, no scripts,
 * no external fonts or styles).
 *
 * A chart is one or more panels stacked vertically that share the x axis.
 * Each panel has its own y axis and any number of series; every series is
 * labelled directly at its right end in its own colour, so the chart reads
 * without a legend.  Bands (x intervals, e.g. spin episodes) are shaded
 * across all panels, and the widest few carry a label at the top.
 *
 *   struct pl_chart *c = pl_chart_new("title", 2, &err);
 *   pl_chart_xaxis(c, "time (s)", 0);
 *   pl_panel_yaxis(c, 0, "wasted examinations per second", 0);
 *   pl_series(c, 0, "wasted/s", x, y, n, PL_STEP);
 *   pl_band(c, x0, x1, "b:1");
 *   pl_chart_svg(c, stdout, &err);
 *   pl_chart_free(c);
 *
 * Data is copied by pl_series; NaN values are skipped.  A series with more
 * points than the plot is wide in pixels is reduced to the minimum and
 * maximum of each pixel column, so spikes stay visible.
 */
#ifndef FS_ANALYSIS_PLOT_H
#define FS_ANALYSIS_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

enum pl_style {
	PL_LINE = 0,	/* straight segments between points */
	PL_STEP,	/* value held until the next point (counts per interval) */
	PL_POINTS	/* markers only */
};

struct pl_chart;

/* Creates a chart with npanels (1..8) stacked panels; NULL with err set on failure. */
struct pl_chart *pl_chart_new(const char *title, int npanels, struct fs_err *err);

/* Sets the overall size in pixels (default 960 wide, 260 per panel). */
void pl_chart_size(struct pl_chart *c, int width, int panel_height);

/* Sets the x-axis label; log_scale != 0 for a base-10 logarithmic axis. */
void pl_chart_xaxis(struct pl_chart *c, const char *label, int log_scale);

/* Sets a panel's y-axis label and scale (log_scale as above). */
void pl_panel_yaxis(struct pl_chart *c, int panel, const char *label, int log_scale);

/* Adds a series to a panel (copies x and y); returns -1 on no memory or a bad panel. */
int pl_series(struct pl_chart *c, int panel, const char *label, const double *x,
    const double *y, size_t n, enum pl_style style);

/* Adds a shaded x interval across all panels; label may be NULL. */
int pl_band(struct pl_chart *c, double x0, double x1, const char *label);

/* Adds a line of text under the title (e.g. what the bands are). */
int pl_note(struct pl_chart *c, const char *text);

/* Writes the chart as SVG; returns -1 with err set on a write error. */
int pl_chart_svg(const struct pl_chart *c, FILE *f, struct fs_err *err);

/* Frees the chart. */
void pl_chart_free(struct pl_chart *c);

#endif
