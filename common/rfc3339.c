/* RFC 3339 and epoch-nanosecond timestamps (see rfc3339.h). */
#include "rfc3339.h"

#include <stdio.h>

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the era/day-of-era method). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int rfc3339_parse(const char *s, size_t n, int64_t *ns, const char **why)
{
    *why = "expected an RFC 3339 time (e.g. 2026-11-22T14:32:05.123Z) or integer epoch nanoseconds";
    int y, mo, d, h, mi, se;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60) {
        *why = "date or time field out of range";
        return -1;
    }
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 9) frac = frac * 10 + (s[i] - '0');
            i++;
        }
        size_t nd = i - start;
        if (nd == 0) return -1;
        if (nd > 9) {
            *why = "fraction of more than 9 digits (nanoseconds at most)";
            return -1;
        }
        for (size_t k = nd; k < 9; k++)
            frac *= 10;
    }
    int64_t offset_s;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        offset_s = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59) return -1;
        offset_s = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
        *why = "expected Z or a ±hh:mm offset after the time";
        return -1;
    }
    if (se == 60) se = 59; /* a leap second is kept inside its minute */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    if (secs < RFC3339_MIN_NS / 1000000000 || secs >= RFC3339_MAX_NS / 1000000000) {
        *why = "time outside 2000-01-01..2100-01-01";
        return -1;
    }
    *ns = secs * 1000000000 + frac;
    return 0;
}

int epoch_ns_parse(const char *s, size_t n, int64_t *ns, const char **why)
{
    *why = "expected integer epoch nanoseconds";
    if (n == 0 || n > 19) return -1;
    uint64_t v = 0; /* 19 digits fit in uint64 but not always in int64 */
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < (uint64_t)RFC3339_MIN_NS || v >= (uint64_t)RFC3339_MAX_NS) {
        *why = "epoch nanoseconds outside 2000-01-01..2100-01-01 (seconds or milliseconds sent?)";
        return -1;
    }
    *ns = (int64_t)v;
    return 0;
}

void rfc3339_format(int64_t ns, char *out, size_t outlen)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", (int)y, (int)m, (int)d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), (int)frac);
}
