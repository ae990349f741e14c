/* Small statistics used by the evidence files: a rate comparison, a relative change, quantiles. */
#include "rank_int.h"

#include <math.h>

static double xlogx_ratio(double o, double e)
{
    return o > 0 && e > 0 ? o * log(o / e) : 0.0;
}

double rk_g_rates(double kb, double nb, double kt, double nt)
{
    /* Given k = kb + kt events, under "same rate" kt ~ Binomial(k, nt / (nb + nt)); G = 2 sum O ln(O/E). */
    if (nb <= 0 || nt <= 0) return 0.0;
    double k = kb + kt;
    if (k <= 0) return 0.0;
    double eb = k * nb / (nb + nt), et = k * nt / (nb + nt);
    double g = 2.0 * (xlogx_ratio(kb, eb) + xlogx_ratio(kt, et));
    return g > 0 ? g : 0.0;
}

double rk_g_shares(double kb, double nb, double kt, double nt)
{
    /* A 2x2 table: units with and without the event on either side; G = 2 sum O ln(O/E) over its cells.
     * For a share near 1 (a step every call takes) the Poisson comparison above understates a fall: it
     * allows for more than one event per unit. */
    if (nb <= 0 || nt <= 0 || kb > nb || kt > nt) return rk_g_rates(kb, nb, kt, nt);
    double k = kb + kt, n = nb + nt, p = k / n;
    double g = 2.0 * (xlogx_ratio(kb, p * nb) + xlogx_ratio(nb - kb, (1 - p) * nb) + xlogx_ratio(kt, p * nt) +
                      xlogx_ratio(nt - kt, (1 - p) * nt));
    return g > 0 ? g : 0.0;
}

double rk_rel_change(double rb, double rt)
{
    double hi = rb > rt ? rb : rt;
    return hi > 0 ? fabs(rt - rb) / hi : 0.0;
}

int rk_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rk_quantile_sorted(const double *v, size_t n, double q)
{
    if (n == 1) return v[0];
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo >= n - 1) return v[n - 1];
    double frac = pos - (double)lo;
    return v[lo] + (v[lo + 1] - v[lo]) * frac;
}
