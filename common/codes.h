/* codes.h — the 194 country codes flagserver knows (countries.def), and the
 * book's expansion of command-line arguments into a sorted, de-duplicated
 * list of codes. */
#ifndef FLAGBENCH_CODES_H
#define FLAGBENCH_CODES_H

#include <stdbool.h>
#include <stddef.h>

#define FLAG_CODE_COUNT 194
#define POP20_COUNT     20

extern const char *const flag_codes[FLAG_CODE_COUNT]; /* sorted */
extern const char *const pop20_codes[POP20_COUNT];    /* the 20 most populous */

bool is_flag_code(const char *cc);

enum expand_source { EXPAND_ARGS, EXPAND_ALL, EXPAND_EVERY };

/* Expand args (two-letter codes or single letters A-Z, any case) or, for
 * EXPAND_ALL / EXPAND_EVERY, the 194 codes or AA..ZZ; no args and
 * EXPAND_ARGS means POP20. The result is sorted, unique, cut to limit
 * (0 = no limit). *out is a malloc'd array of malloc'd strings.
 * Returns 0, -EINVAL with the bad argument in *bad, or -ENOMEM. */
int codes_expand(enum expand_source src, char *const *args, size_t nargs, size_t limit, char ***out,
                 size_t *nout, const char **bad);
void codes_free(char **codes, size_t n);

#endif
