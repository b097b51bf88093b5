/* codes.c — the country codes and the book's expansion rules. */
#include "codes.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const flag_codes[] = {
#define COUNTRY(iso, gec, tld, name) iso,
#include "countries.def"
#undef COUNTRY
};
_Static_assert(sizeof flag_codes / sizeof flag_codes[0] == FLAG_CODE_COUNT,
               "countries.def and FLAG_CODE_COUNT disagree");

const char *const pop20_codes[POP20_COUNT] = {
    "CN", "IN", "US", "ID", "BR", "PK", "NG", "BD", "RU", "JP",
    "MX", "PH", "VN", "ET", "EG", "DE", "IR", "TR", "CD", "FR",
};

static int cmp_code(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool is_flag_code(const char *cc) {
    return bsearch(&cc, flag_codes, FLAG_CODE_COUNT, sizeof flag_codes[0], cmp_code) != NULL;
}

void codes_free(char **codes, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(codes[i]);
    free(codes);
}

/* Every possible code is two letters, so a 26x26 table of "wanted" marks
 * collects any mix of arguments sorted and de-duplicated for free. */
static void mark(bool wanted[26][26], char a, char b) {
    wanted[a - 'A'][b - 'A'] = true;
}

int codes_expand(enum expand_source src, char *const *args, size_t nargs, size_t limit, char ***out,
                 size_t *nout, const char **bad) {
    bool wanted[26][26] = {{false}};
    *out = NULL;
    *nout = 0;

    if (src == EXPAND_EVERY) {
        for (int a = 0; a < 26; a++)
            for (int b = 0; b < 26; b++)
                wanted[a][b] = true;
    } else if (src == EXPAND_ALL) {
        for (size_t i = 0; i < FLAG_CODE_COUNT; i++)
            mark(wanted, flag_codes[i][0], flag_codes[i][1]);
    } else if (nargs == 0) {
        for (size_t i = 0; i < POP20_COUNT; i++)
            mark(wanted, pop20_codes[i][0], pop20_codes[i][1]);
    }
    for (size_t i = 0; src == EXPAND_ARGS && i < nargs; i++) {
        const char *arg = args[i];
        size_t len = strlen(arg);
        if (len < 1 || len > 2 || !isalpha((unsigned char)arg[0]) ||
            (len == 2 && !isalpha((unsigned char)arg[1]))) {
            *bad = arg;
            return -EINVAL;
        }
        char a = (char)toupper((unsigned char)arg[0]);
        if (len == 1) {
            for (char b = 'A'; b <= 'Z'; b++)
                mark(wanted, a, b);
        } else {
            mark(wanted, a, (char)toupper((unsigned char)arg[1]));
        }
    }

    char **codes = malloc(26 * 26 * sizeof *codes);
    if (!codes)
        return -ENOMEM;
    size_t n = 0;
    for (int a = 0; a < 26; a++) {
        for (int b = 0; b < 26; b++) {
            if (!wanted[a][b] || (limit && n == limit))
                continue;
            char *cc = malloc(3);
            if (!cc) {
                codes_free(codes, n);
                return -ENOMEM;
            }
            cc[0] = (char)('A' + a);
            cc[1] = (char)('A' + b);
            cc[2] = '\0';
            codes[n++] = cc;
        }
    }
    *out = codes;
    *nout = n;
    return 0;
}
