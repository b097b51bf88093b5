/* dataset.h — the flags flagserver serves: made in memory at startup (the
 * built-in set) or loaded from a directory in the book's layout (--root).
 *
 * Everything is in memory before the first request, so serving a flag never
 * touches the file system and no request path can reach outside the set. */
#ifndef FLAGSERVER_DATASET_H
#define FLAGSERVER_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define COUNTRY_COUNT 194

struct country {
    const char *iso;  /* "BR" */
    const char *gec;  /* the CIA World Factbook code, "BR" (differs for some) */
    const char *tld;  /* ".br" (".uk" for GB) */
    const char *name; /* JSON-escaped, as in the book's metadata.json */
};

/* The 194 countries of common/countries.def (docs/DESIGN.md), sorted by
 * iso code. */
extern const struct country countries[COUNTRY_COUNT];

struct blob {
    const uint8_t *data; /* NULL when absent */
    size_t len;
};

struct flag {
    char cc[3];       /* lower case, "br" */
    struct blob gif;  /* <cc>.gif */
    struct blob meta; /* metadata.json */
};

struct dataset {
    struct flag *index[26 * 26]; /* by code, NULL when absent */
    struct flag *flags;          /* nflags entries, sorted */
    size_t nflags;
    size_t total_bytes; /* of all images */
};

/* The built-in set: one deterministic GIF and metadata.json per country.
 * 0, or -ENOMEM. */
int dataset_builtin(struct dataset *ds);

/* Load dir/<cc>/<cc>.gif and dir/<cc>/metadata.json for every two-letter
 * lower-case subdirectory. Symbolic links are not followed. 0, -ENOENT when
 * no flag is found, or another -errno from opening or reading. */
int dataset_load_root(struct dataset *ds, const char *dir);

/* The flag for a two-letter lower-case code, or NULL. */
const struct flag *dataset_find(const struct dataset *ds, const char *cc);

void dataset_free(struct dataset *ds);

/* The built-in image of countries[i], exposed for the tests. *gif is
 * malloc'd. 0, or -ENOMEM. */
int dataset_make_gif(size_t i, uint8_t **gif, size_t *len);

#endif
