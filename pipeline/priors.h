/* Event-type priors of the suspect model (anomaly/suspects.h), shifted by engineers' labels in an
 * explainable way:
 *
 *   prior(type) = (base(type) x K + right) / (K + right + wrong),   K = PRIORS_BASE_WEIGHT = 4
 *
 * right / wrong count labelled incidents (each incident's latest feedback) whose judged suspect was of
 * that type (aliases folded: "deployment" counts as deploy) and was / was not the cause. The judged
 * suspect is the one the feedback names ("suspect": "suspect:<n>", "suspect_was_cause"), else the
 * analysis's top-confidence suspect, judged by the true service when one is given (the cause iff it is
 * that suspect's service), else by the verdict on the root cause: migration 011's suspect_labels view
 * is the one definition. Four labels move a prior halfway; many labels dominate the base. */
#ifndef PS_PRIORS_H
#define PS_PRIORS_H

#include "suspects.h"

#include <libpq-fe.h>

#define PRIORS_BASE_WEIGHT 4.0

/* Updates o->prior from the labels; `explain` (may be NULL) gets one clause per shifted type ("prior
 * deploy 0.62 (base 0.50, 2 right / 0 wrong)"). Returns 0, or -1 (priors left as they were) on a
 * database error. */
int priors_load(PGconn *c, suspect_opts_t *o, char *explain, size_t explain_len);
/* The pure part: the shifted prior. */
double priors_shift(double base, long right, long wrong);

#endif
