/* parse_num.h — the numbers of the clients' and flagserver's command lines,
 * parsed one way: a whole number with no sign, blank or suffix, and a
 * finite decimal within a range. Header-only, like clock.h, so flagserver
 * need not link common/. */
#ifndef FLAGBENCH_PARSE_NUM_H
#define FLAGBENCH_PARSE_NUM_H

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* s as a whole number from 0 to max into *out; -EINVAL otherwise. */
static inline int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* s as a finite decimal from lo to hi into *out; -EINVAL otherwise. */
static inline int parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

#endif
