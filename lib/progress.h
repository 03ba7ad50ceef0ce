/* The one-line progress of a sending run, on a terminal only.
 *
 * Shown when stderr is a terminal (and TERM is not "dumb") and the run is
 * not --quiet; never otherwise, so cron mails and logs stay clean. It is
 * redrawn in place at most ten times a second. pca_warn() and friends take
 * it off the screen before their message and it comes back with the next
 * update, so messages never end up glued to it. stdout is never touched.
 */
#ifndef PCA_PROGRESS_H
#define PCA_PROGRESS_H

#include <stdbool.h>

struct pca_progress_counts {
	unsigned long read;      /* records read (rejected ones too) */
	unsigned long done;      /* records finished and written */
	unsigned long sent, failed, spooled;   /* deliveries */
};

typedef void pca_progress_fn(void *ud, struct pca_progress_counts *c);

/* Decide once whether progress is shown (quiet, or stderr not a terminal,
 * turn it off for the run); counts(ud, c) tells the numbers when asked. */
void pca_progress_start(bool quiet, pca_progress_fn *counts, void *ud);
bool pca_progress_shown(void);
/* Redraw, unless drawn less than 100 ms ago. Cheap when off: call often. */
void pca_progress_tick(void);
/* Take the line off the screen (before another message). */
void pca_progress_hide(void);
/* Draw the final counts and end the line, so they stay on the screen. */
void pca_progress_finish(void);

#endif
