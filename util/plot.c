/*
 * plot: self-contained SVG charts (see util/plot.h).
 *
 * Layout: a title (and notes) on top, then the panels, each with a left
 * margin for its y ticks and rotated label and a right margin wide enough
 * for the direct series labels; the x ticks and label are under the last
 * panel.  Scales come from the data (y from 0 unless log or negative) and
 * ticks are 1-2-5 "nice" steps.
 */
#include "util/plot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PL_MAXPANELS 8
#define PL_LABELED_BANDS 8

struct pl_ser {
	char *label;
	double *x, *y;
	size_t n;
	enum pl_style style;
};

struct pl_panel {
	char *ylabel;
	int ylog;
	struct pl_ser *ser;
	size_t nser;
};

struct pl_bandrec {
	double x0, x1;
	char *label;
};

struct pl_chart {
	char *title;
	char *notes[4];
	int nnotes;
	char *xlabel;
	int xlog;
	int width, ph;
	int npanels;
	struct pl_panel panel[PL_MAXPANELS];
	struct pl_bandrec *bands;
	size_t nbands, capbands;
};

/* Series colours: distinguishable, dark enough for text on white. */
static const char *const colours[] = {
	"#1f5fa8", "#c0392b", "#2e7d32", "#8e44ad", "#b9770e", "#117a8b", "#6d4c41", "#555555"
};

/* strdup that tolerates NULL. */
static char *
dupstr(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Creates a chart. */
struct pl_chart *
pl_chart_new(const char *title, int npanels, struct fs_err *err)
{
	struct pl_chart *c;

	if (npanels < 1 || npanels > PL_MAXPANELS) {
		fs_err_set(err, EINVAL, "plot: %d panels (1..%d)", npanels, PL_MAXPANELS);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		return NULL;
	}
	c->title = dupstr(title);
	c->npanels = npanels;
	c->width = 960;
	c->ph = 260;
	return c;
}

/* Sets the chart size. */
void
pl_chart_size(struct pl_chart *c, int width, int panel_height)
{
	if (width >= 300)
		c->width = width;
	if (panel_height >= 100)
		c->ph = panel_height;
}

/* Sets the x axis. */
void
pl_chart_xaxis(struct pl_chart *c, const char *label, int log_scale)
{
	free(c->xlabel);
	c->xlabel = dupstr(label);
	c->xlog = log_scale != 0;
}

/* Sets a panel's y axis. */
void
pl_panel_yaxis(struct pl_chart *c, int panel, const char *label, int log_scale)
{
	if (panel < 0 || panel >= c->npanels)
		return;
	free(c->panel[panel].ylabel);
	c->panel[panel].ylabel = dupstr(label);
	c->panel[panel].ylog = log_scale != 0;
}

/* Adds a series. */
int
pl_series(struct pl_chart *c, int panel, const char *label, const double *x,
    const double *y, size_t n, enum pl_style style)
{
	struct pl_panel *p;
	struct pl_ser *ns, *s;

	if (panel < 0 || panel >= c->npanels)
		return -1;
	p = &c->panel[panel];
	if ((ns = realloc(p->ser, (p->nser + 1) * sizeof(*ns))) == NULL)
		return -1;
	p->ser = ns;
	s = &p->ser[p->nser];
	memset(s, 0, sizeof(*s));
	s->label = dupstr(label);
	s->style = style;
	if (n > 0) {
		s->x = malloc(n * sizeof(double));
		s->y = malloc(n * sizeof(double));
		if (s->x == NULL || s->y == NULL) {
			free(s->x);
			free(s->y);
			free(s->label);
			return -1;
		}
		memcpy(s->x, x, n * sizeof(double));
		memcpy(s->y, y, n * sizeof(double));
	}
	s->n = n;
	p->nser++;
	return 0;
}

/* Adds a band. */
int
pl_band(struct pl_chart *c, double x0, double x1, const char *label)
{
	if (c->nbands == c->capbands) {
		size_t nc = c->capbands ? c->capbands * 2 : 16;
		struct pl_bandrec *nb = realloc(c->bands, nc * sizeof(*nb));

		if (nb == NULL)
			return -1;
		c->bands = nb;
		c->capbands = nc;
	}
	c->bands[c->nbands].x0 = x0 < x1 ? x0 : x1;
	c->bands[c->nbands].x1 = x0 < x1 ? x1 : x0;
	c->bands[c->nbands].label = dupstr(label);
	c->nbands++;
	return 0;
}

/* Adds a note line under the title. */
int
pl_note(struct pl_chart *c, const char *text)
{
	if (c->nnotes >= 4)
		return -1;
	c->notes[c->nnotes++] = dupstr(text);
	return 0;
}

/* Frees the chart. */
void
pl_chart_free(struct pl_chart *c)
{
	size_t i, k;
	int p;

	if (c == NULL)
		return;
	free(c->title);
	free(c->xlabel);
	for (p = 0; p < c->nnotes; p++)
		free(c->notes[p]);
	for (p = 0; p < c->npanels; p++) {
		free(c->panel[p].ylabel);
		for (k = 0; k < c->panel[p].nser; k++) {
			free(c->panel[p].ser[k].label);
			free(c->panel[p].ser[k].x);
			free(c->panel[p].ser[k].y);
		}
		free(c->panel[p].ser);
	}
	for (i = 0; i < c->nbands; i++)
		free(c->bands[i].label);
	free(c->bands);
	free(c);
}

/* Writes s with XML escapes. */
static void
xml_text(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
		}
	}
}

/* An axis: data range, scale and pixel range. */
struct axis {
	double lo, hi;		/* in data units (log10 of them for log axes) */
	int log;
	double p0, p1;		/* pixel positions of lo and hi */
};

/* Maps a data value to a pixel position; NAN if it cannot be shown. */
static double
ax_map(const struct axis *a, double v)
{
	if (isnan(v))
		return NAN;
	if (a->log) {
		if (v <= 0)
			return NAN;
		v = log10(v);
	}
	return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* Extends [lo,hi] with v (log: with log10 v, positive only). */
static void
range_add(double *lo, double *hi, double v, int log_scale)
{
	if (isnan(v) || isinf(v))
		return;
	if (log_scale) {
		if (v <= 0)
			return;
		v = log10(v);
	}
	if (v < *lo)
		*lo = v;
	if (v > *hi)
		*hi = v;
}

/* A 1-2-5 tick step giving about n ticks over range. */
static double
nice_step(double range, int n)
{
	double raw = range / n, mag, f;

	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	if (f <= 1)
		return mag;
	if (f <= 2)
		return 2 * mag;
	if (f <= 5)
		return 5 * mag;
	return 10 * mag;
}

/* Finishes an axis range: empty or flat ranges widened, linear from 0 if all >= 0. */
static void
axis_finish(struct axis *a, double lo, double hi, int from_zero)
{
	if (lo > hi) {
		lo = 0;
		hi = 1;
	}
	if (!a->log && from_zero && lo > 0)
		lo = 0;
	if (hi - lo < 1e-12) {
		if (a->log) {
			lo -= 0.5;
			hi += 0.5;
		} else {
			hi = lo + (lo == 0 ? 1 : fabs(lo) * 0.1);
		}
	}
	if (!a->log) {
		double st = nice_step(hi - lo, 5);

		if (from_zero)
			hi = ceil(hi / st - 1e-9) * st;
	} else {
		lo = floor(lo);
		hi = ceil(hi);
	}
	a->lo = lo;
	a->hi = hi;
}

/* Formats a tick value compactly. */
static void
fmt_tick(char *buf, size_t n, double v, double step)
{
	if (fabs(v) < step * 1e-6)
		v = 0;
	if (fabs(v) >= 1e6 || (fabs(v) < 1e-3 && v != 0))
		snprintf(buf, n, "%.3g", v);
	else if (step >= 1)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.*f", (int)ceil(-log10(step)), v);
}

/* Draws one grid line at pixel p across [other0, other1], and its label if any. */
static void
draw_tick(FILE *f, int vertical, double p, double other0, double other1, const char *label)
{
	if (vertical)
		fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>\n",
		    other0, p, other1, p);
	else
		fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>\n",
		    p, other0, p, other1);
	if (label == NULL)
		return;
	if (vertical)
		fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='end'>%s</text>\n",
		    other0 - 6, p + 4, label);
	else
		fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>%s</text>\n",
		    p, other1 + 16, label);
}

/* Draws the ticks, grid and tick labels of an axis (vertical: y axis). */
static void
draw_ticks(FILE *f, const struct axis *a, int vertical, double other0, double other1, int labels)
{
	char buf[64];
	double st, v;
	int k = 0;

	if (a->log) {
		for (v = a->lo; v <= a->hi + 1e-9 && k < 40; v += 1, k++) {
			double p = a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);

			snprintf(buf, sizeof(buf), "%g", pow(10, v));
			draw_tick(f, vertical, p, other0, other1, labels ? buf : NULL);
		}
		return;
	}
	st = nice_step(a->hi - a->lo, vertical ? 4 : 8);
	for (v = ceil(a->lo / st - 1e-9) * st; v <= a->hi + st * 1e-9 && k < 60; v += st, k++) {
		double p = ax_map(a, v);

		fmt_tick(buf, sizeof(buf), v, st);
		draw_tick(f, vertical, p, other0, other1, labels ? buf : NULL);
	}
}

/*
 * Draws one series.  When it has more points than there are pixel columns,
 * each column is drawn as a vertical stroke from its minimum to its maximum
 * (joined to the next column), which keeps spikes.
 */
static void
draw_series(FILE *f, const struct pl_ser *s, const struct axis *ax, const struct axis *ay,
    const char *colour, double *lastx, double *lasty)
{
	size_t i;
	int pen = 0;
	double px = NAN, py = NAN;
	size_t cols = (size_t)fabs(ax->p1 - ax->p0) + 1;

	*lastx = *lasty = NAN;
	if (s->style == PL_POINTS) {
		for (i = 0; i < s->n; i++) {
			double x = ax_map(ax, s->x[i]), y = ax_map(ay, s->y[i]);

			if (isnan(x) || isnan(y))
				continue;
			fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n", x, y, colour);
			*lastx = x;
			*lasty = y;
		}
		return;
	}
	fprintf(f, "<path fill='none' stroke='%s' stroke-width='1.6' stroke-linejoin='round' d='",
	    colour);
	if (s->n > 2 * cols) {
		/* reduce to min/max per pixel column */
		long col = -1;
		double cmin = 0, cmax = 0, clast = 0;

		for (i = 0; i <= s->n; i++) {
			double x = i < s->n ? ax_map(ax, s->x[i]) : NAN;
			double y = i < s->n ? ax_map(ay, s->y[i]) : NAN;
			long c = isnan(x) ? -2 : (long)floor(x);

			if (i < s->n && (isnan(x) || isnan(y)))
				continue;
			if (c != col && col >= 0) {
				fprintf(f, "%s%ld,%.1f L%ld,%.1f L%ld,%.1f ", pen ? "L" : "M", col,
				    cmax, col, cmin, col, clast);
				pen = 1;
				*lastx = (double)col;
				*lasty = clast;
			}
			if (i == s->n)
				break;
			if (c != col) {
				col = c;
				cmin = cmax = y;
			}
			if (y < cmin)
				cmin = y;
			if (y > cmax)
				cmax = y;
			clast = y;
		}
		fputs("'/>\n", f);
		return;
	}
	for (i = 0; i < s->n; i++) {
		double x = ax_map(ax, s->x[i]), y = ax_map(ay, s->y[i]);

		if (isnan(x) || isnan(y)) {
			pen = 0;
			continue;
		}
		if (!pen)
			fprintf(f, "M%.1f,%.1f ", x, y);
		else if (s->style == PL_STEP)
			fprintf(f, "L%.1f,%.1f L%.1f,%.1f ", x, py, x, y);
		else
			fprintf(f, "L%.1f,%.1f ", x, y);
		pen = 1;
		px = x;
		py = y;
	}
	/* a step series holds its last value to the next x it would have had */
	if (pen && s->style == PL_STEP && s->n >= 2) {
		double w = ax_map(ax, s->x[s->n - 1]) - ax_map(ax, s->x[s->n - 2]);

		if (!isnan(w) && w > 0) {
			px += w;
			if (px > ax->p1)
				px = ax->p1;
			fprintf(f, "L%.1f,%.1f ", px, py);
		}
	}
	fputs("'/>\n", f);
	*lastx = px;
	*lasty = py;
}

/* A band's pixel extent. */
struct span {
	double a, b;
};

/* Orders spans by their left edge. */
static int
span_cmp(const void *x, const void *y)
{
	double a = ((const struct span *)x)->a, b = ((const struct span *)y)->a;

	return a < b ? -1 : a > b;
}

/* Compares bands by width, widest first. */
static int
band_cmp(const void *a, const void *b)
{
	const struct pl_bandrec *x = *(const struct pl_bandrec *const *)a;
	const struct pl_bandrec *y = *(const struct pl_bandrec *const *)b;
	double wx = x->x1 - x->x0, wy = y->x1 - y->x0;

	return wx < wy ? 1 : wx > wy ? -1 : 0;
}

/* Merges the bands into pixel spans (overlapping ones joined); *n spans, NULL on no memory. */
static struct span *
band_spans(const struct pl_chart *c, const struct axis *ax, size_t *n)
{
	struct span *spans;
	size_t i, k, ns = 0;

	*n = 0;
	if (c->nbands == 0 || (spans = malloc(c->nbands * sizeof(*spans))) == NULL)
		return NULL;
	for (i = 0; i < c->nbands; i++) {
		double a = ax_map(ax, c->bands[i].x0), b = ax_map(ax, c->bands[i].x1);

		if (isnan(a) || isnan(b))
			continue;
		if (b - a < 2) {
			a -= 1;
			b = a + 2;
		}
		spans[ns].a = a;
		spans[ns].b = b;
		ns++;
	}
	qsort(spans, ns, sizeof(*spans), span_cmp);
	for (i = k = 0; i < ns; i++) {
		if (k > 0 && spans[i].a <= spans[k - 1].b + 0.5) {
			if (spans[i].b > spans[k - 1].b)
				spans[k - 1].b = spans[i].b;
		} else {
			spans[k++] = spans[i];
		}
	}
	*n = k;
	return spans;
}

/* Labels the widest bands (order: widest first) on the first of 3 rows where each fits. */
static void
band_labels(FILE *f, const struct pl_chart *c, const struct axis *ax,
    const struct pl_bandrec **order, double x0, double x1, double ytop)
{
	double used[3][PL_LABELED_BANDS][2];
	int nused[3] = { 0, 0, 0 }, row, j, placed = 0;
	int nlab = c->nbands < PL_LABELED_BANDS ? (int)c->nbands : PL_LABELED_BANDS;
	size_t i;

	for (i = 0; i < c->nbands && placed < nlab; i++) {
		double bx = ax_map(ax, (order[i]->x0 + order[i]->x1) / 2), w, lo, hi;

		if (order[i]->label == NULL || isnan(bx))
			continue;
		w = 6.0 * (double)strlen(order[i]->label);
		lo = bx - w / 2 - 4;
		hi = bx + w / 2 + 4;
		if (lo < x0) {
			hi += x0 - lo;
			lo = x0;
		}
		if (hi > x1) {
			lo -= hi - x1;
			hi = x1;
		}
		for (row = 0; row < 3; row++) {
			for (j = 0; j < nused[row]; j++)
				if (lo < used[row][j][1] && hi > used[row][j][0])
					break;
			if (j == nused[row])
				break;
		}
		if (row == 3)
			continue;
		used[row][nused[row]][0] = lo;
		used[row][nused[row]][1] = hi;
		nused[row]++;
		placed++;
		fprintf(f, "<text x='%.1f' y='%.1f' class='bandl' text-anchor='middle'>",
		    (lo + hi) / 2, ytop + 12 + 11.0 * row);
		xml_text(f, order[i]->label);
		fputs("</text>\n", f);
	}
}

/* Where the panels go on the page. */
struct frame {
	double left, top, gap, x0, x1;
};

/* Draws panel p: bands, grid, frame, axis label, series with direct labels. */
static void
draw_panel(FILE *f, const struct pl_chart *c, int p, const struct frame *fr,
    const struct axis *ax, const struct span *spans, size_t nspans, int *ci)
{
	const struct pl_panel *pn = &c->panel[p];
	double ytop = fr->top + p * (c->ph + fr->gap), ybot = ytop + c->ph;
	double ylo = INFINITY, yhi = -INFINITY, labely[16];
	struct axis ay;
	size_t i, k;
	int nl = 0;

	for (k = 0; k < pn->nser; k++)
		for (i = 0; i < pn->ser[k].n; i++)
			range_add(&ylo, &yhi, pn->ser[k].y[i], pn->ylog);
	memset(&ay, 0, sizeof(ay));
	ay.log = pn->ylog;
	axis_finish(&ay, ylo, yhi, 1);
	ay.p0 = ybot;
	ay.p1 = ytop;

	for (i = 0; i < nspans; i++)
		fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' class='band'/>\n",
		    spans[i].a, ytop, spans[i].b - spans[i].a, (double)c->ph);
	draw_ticks(f, &ay, 1, fr->x0, fr->x1, 1);
	draw_ticks(f, ax, 0, ytop, ybot, p == c->npanels - 1);
	fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%d' fill='none' stroke='#888'/>\n",
	    fr->x0, ytop, fr->x1 - fr->x0, c->ph);
	fprintf(f, "<text transform='translate(%.1f,%.1f) rotate(-90)' class='axl' "
	    "text-anchor='middle'>", fr->left - 52, (ytop + ybot) / 2);
	xml_text(f, pn->ylabel);
	fputs("</text>\n", f);
	for (k = 0; k < pn->nser; k++, (*ci)++) {
		const char *col = colours[*ci % (int)(sizeof(colours) / sizeof(colours[0]))];
		double lx, ly;
		int j;

		draw_series(f, &pn->ser[k], ax, &ay, col, &lx, &ly);
		if (isnan(ly))
			ly = (ytop + ybot) / 2;
		/* direct label right of the plot, nudged apart from earlier ones */
		for (j = 0; j < nl; j++)
			if (fabs(labely[j] - ly) < 14)
				ly = labely[j] + 14;
		if (ly > ybot)
			ly = ybot;
		if (nl < 16)
			labely[nl++] = ly;
		fprintf(f, "<text x='%.1f' y='%.1f' class='lab' fill='%s'>", fr->x1 + 8, ly + 4, col);
		xml_text(f, pn->ser[k].label);
		fputs("</text>\n", f);
	}
}

/* Writes the chart as a self-contained SVG document. */
int
pl_chart_svg(const struct pl_chart *c, FILE *f, struct fs_err *err)
{
	struct frame fr;
	double xlo = INFINITY, xhi = -INFINITY, height;
	struct axis ax;
	const struct pl_bandrec **order = NULL;
	struct span *spans;
	size_t i, k, nspans;
	int p, ci = 0;

	fr.left = 78;
	fr.gap = 34;
	fr.top = 44 + 16.0 * c->nnotes;
	fr.x0 = fr.left;
	fr.x1 = c->width - 150;
	height = fr.top + c->npanels * (c->ph + fr.gap) + 40;
	for (p = 0; p < c->npanels; p++)
		for (k = 0; k < c->panel[p].nser; k++)
			for (i = 0; i < c->panel[p].ser[k].n; i++)
				range_add(&xlo, &xhi, c->panel[p].ser[k].x[i], c->xlog);
	for (i = 0; i < c->nbands; i++) {
		range_add(&xlo, &xhi, c->bands[i].x0, c->xlog);
		range_add(&xlo, &xhi, c->bands[i].x1, c->xlog);
	}
	memset(&ax, 0, sizeof(ax));
	ax.log = c->xlog;
	axis_finish(&ax, xlo, xhi, 0);
	ax.p0 = fr.x0;
	ax.p1 = fr.x1;

	fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%.0f' "
	    "viewBox='0 0 %d %.0f' font-family='DejaVu Sans, Helvetica, Arial, sans-serif'>\n",
	    c->width, height, c->width, height);
	fputs("<style>.grid{stroke:#e3e3e3;stroke-width:1}.tick{font-size:11px;fill:#444}"
	    ".axl{font-size:12px;fill:#222}.ttl{font-size:15px;font-weight:bold;fill:#111}"
	    ".note{font-size:11px;fill:#555}.lab{font-size:12px;font-weight:bold}"
	    ".band{fill:#f39c12;fill-opacity:0.18}.bandl{font-size:10px;fill:#a35f00}</style>\n", f);
	fputs("<rect x='0' y='0' width='100%' height='100%' fill='white'/>\n", f);
	fprintf(f, "<text x='%.1f' y='22' class='ttl'>", fr.left);
	xml_text(f, c->title);
	fputs("</text>\n", f);
	for (p = 0; p < c->nnotes; p++) {
		fprintf(f, "<text x='%.1f' y='%d' class='note'>", fr.left, 40 + 16 * p);
		xml_text(f, c->notes[p]);
		fputs("</text>\n", f);
	}
	/* the widest bands get labels */
	if (c->nbands > 0 && (order = malloc(c->nbands * sizeof(*order))) != NULL) {
		for (i = 0; i < c->nbands; i++)
			order[i] = &c->bands[i];
		qsort(order, c->nbands, sizeof(*order), band_cmp);
	}
	/* bands as pixel spans, overlapping ones merged (thousands stay small) */
	spans = band_spans(c, &ax, &nspans);
	for (p = 0; p < c->npanels; p++) {
		draw_panel(f, c, p, &fr, &ax, spans, nspans, &ci);
		if (p == 0 && order != NULL)
			band_labels(f, c, &ax, order, fr.x0, fr.x1, fr.top);
	}
	fprintf(f, "<text x='%.1f' y='%.1f' class='axl' text-anchor='middle'>",
	    (fr.x0 + fr.x1) / 2, height - 8);
	xml_text(f, c->xlabel);
	fputs("</text>\n</svg>\n", f);
	free(order);
	free(spans);
	if (fflush(f) != 0 || ferror(f))
		return fs_err_set(err, errno ? errno : EIO, "plot: write error: %s", strerror(errno));
	return 0;
}
