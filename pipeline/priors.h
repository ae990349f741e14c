/* Event-type priors of the suspect scoring, shifted by engineers' feedback in an explainable way:
 * prior(type) = (base * K + right) / (K + right + wrong), where right/wrong count labelled incidents
 * whose first suspect was of that type and whose named cause was marked right or wrong, and K = 4 is
 * the weight of the base prior (four labels move it halfway). */
#ifndef PS_PRIORS_H
#define PS_PRIORS_H

#include "suspects.h"

#include <libpq-fe.h>

#define PRIORS_BASE_WEIGHT 4.0

/* Updates o->prior from the feedback table; `explain` (may be NULL) gets one line per changed type.
 * Returns 0, or -1 (priors left as they were) on a database error. */
int priors_load(PGconn *c, suspect_opts_t *o, char *explain, size_t explain_len);
/* The pure part: the shifted prior. */
double priors_shift(double base, long right, long wrong);

#endif
