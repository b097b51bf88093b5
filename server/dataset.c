/* dataset.c — the built-in flags, and loading a --root directory. */
#include "dataset.h"
#include "gif.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one list, shared with the clients' common/codes.c. */
const struct country countries[] = {
#define COUNTRY(iso, gec, tld, name) {iso, gec, tld, name},
#include "countries.def"
#undef COUNTRY
};
_Static_assert(sizeof countries / sizeof countries[0] == COUNTRY_COUNT,
               "countries.def and COUNTRY_COUNT disagree");

#define MAX_FILE_BYTES (16u << 20) /* a --root file larger than this is refused */

/* Quantiles (0%, 10%, ... 100%) of the sizes of the book's 194 flags, so
 * the built-in set has the same spread: 1.2-36 KB, median about 10 KB. */
static const unsigned size_quantiles[11] = {1193,  3957,  5013,  6246,  8329, 10425,
                                            12338, 15618, 21626, 26373, 36332};

static const uint8_t palette[16][3] = {
    {206, 17, 38}, {255, 255, 255}, {0, 56, 147},    {0, 122, 61}, {252, 209, 22}, {0, 0, 0},
    {255, 130, 0}, {116, 172, 223}, {0, 82, 33},     {128, 0, 32}, {255, 215, 0},  {0, 114, 198},
    {239, 51, 64}, {0, 150, 57},    {200, 200, 200}, {90, 60, 30},
};

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Stripes in two to four colors, and a rectangular "coat of arms" of
 * noise in the middle whose area sets how large the compressed file is:
 * LZW shrinks stripes to almost nothing, but not noise. */
static void draw_flag(uint8_t *px, unsigned w, unsigned h, uint64_t seed, size_t area) {
    uint64_t s = seed;
    unsigned nstripes = 2 + splitmix64(&s) % 3;
    bool vertical = splitmix64(&s) % 3 == 0;
    uint8_t colors[4];
    for (unsigned i = 0; i < nstripes; i++) {
        colors[i] = splitmix64(&s) % 8;
        if (i && colors[i] == colors[i - 1])
            colors[i] = (colors[i] + 1) % 8;
    }
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++)
            px[(size_t)y * w + x] = colors[(vertical ? x * nstripes / w : y * nstripes / h)];

    size_t max_area = (size_t)(w - 2) * (h - 2);
    if (area > max_area)
        area = max_area;
    unsigned ew = 1;
    while ((size_t)ew * ew * h < area * w && ew < w - 2)
        ew++;
    unsigned eh = (unsigned)(area / ew);
    if (eh > h - 2)
        eh = h - 2;
    unsigned x0 = (w - ew) / 2, y0 = (h - eh) / 2;
    uint64_t noise = seed ^ 0x5eedull;
    for (unsigned y = y0; y < y0 + eh; y++) {
        for (unsigned x = x0; x < x0 + ew; x += 16) {
            uint64_t r = splitmix64(&noise);
            for (unsigned k = 0; k < 16 && x + k < x0 + ew; k++, r >>= 4)
                px[(size_t)y * w + x + k] = r & 15;
        }
    }
}

int dataset_make_gif(size_t i, uint8_t **gif, size_t *len) {
    if (i >= COUNTRY_COUNT)
        return -EINVAL;
    const char *cc = countries[i].iso;
    uint64_t seed = 0xf1a9u ^ ((uint64_t)(unsigned char)cc[0] << 8 | (unsigned char)cc[1]);
    uint64_t s = seed;
    unsigned w = 300 + splitmix64(&s) % 201;
    unsigned h = w * (50 + splitmix64(&s) % 25) / 100;

    /* A permutation of 0..193 gives each flag its own quantile. */
    unsigned r = (unsigned)(i * 89 % COUNTRY_COUNT) * 10000 / (COUNTRY_COUNT - 1);
    unsigned k = r / 1000, frac = r % 1000;
    size_t target = size_quantiles[k];
    if (k < 10)
        target += (size_t)(size_quantiles[k + 1] - size_quantiles[k]) * frac / 1000;

    uint8_t *px = malloc((size_t)w * h);
    if (!px)
        return -ENOMEM;
    /* Noise costs about 7 bits a pixel once compressed; refine the area
     * from what the first try gave, since it is not quite linear. */
    size_t base = 600, area = (target > base ? target - base : 1) * 8 / 7;
    uint8_t *out = NULL;
    size_t outlen = 0;
    int err = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        draw_flag(px, w, h, seed, area);
        free(out);
        out = NULL;
        err = gif_encode(px, w, h, &palette[0][0], 16, &out, &outlen);
        if (err)
            goto out;
        size_t diff = outlen > target ? outlen - target : target - outlen;
        if (diff * 25 < target || outlen <= base)
            break;
        area = area * (target - (target > base ? base : 0)) / (outlen - base);
        if (!area)
            area = 1;
    }
    *gif = out;
    *len = outlen;
    out = NULL;
out:
    free(out);
    free(px);
    return err;
}

static void index_flags(struct dataset *ds) {
    for (size_t i = 0; i < ds->nflags; i++) {
        struct flag *f = &ds->flags[i];
        ds->index[(f->cc[0] - 'a') * 26 + (f->cc[1] - 'a')] = f;
        ds->total_bytes += f->gif.len;
    }
}

static int make_metadata(const struct country *c, struct blob *b) {
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "{\"tld_cc\": \"%s\", \"iso_cc\": \"%s\", \"country\": \"%s\", "
                     "\"gec_cc\": \"%s\"}",
                     c->tld, c->iso, c->name, c->gec);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -EINVAL;
    uint8_t *d = malloc((size_t)n);
    if (!d)
        return -ENOMEM;
    memcpy(d, buf, (size_t)n);
    b->data = d;
    b->len = (size_t)n;
    return 0;
}

int dataset_builtin(struct dataset *ds) {
    int err = 0;
    memset(ds, 0, sizeof *ds);
    ds->flags = calloc(COUNTRY_COUNT, sizeof *ds->flags);
    if (!ds->flags)
        return -ENOMEM;
    for (size_t i = 0; i < COUNTRY_COUNT; i++) {
        struct flag *f = &ds->flags[i];
        f->cc[0] = (char)(countries[i].iso[0] - 'A' + 'a');
        f->cc[1] = (char)(countries[i].iso[1] - 'A' + 'a');
        ds->nflags++;
        uint8_t *gif;
        err = dataset_make_gif(i, &gif, &f->gif.len);
        if (err)
            goto out;
        f->gif.data = gif;
        err = make_metadata(&countries[i], &f->meta);
        if (err)
            goto out;
    }
    index_flags(ds);
out:
    if (err)
        dataset_free(ds);
    return err;
}

/* Read a regular file below dirfd, refusing symbolic links and files
 * larger than MAX_FILE_BYTES. */
static int read_file_at(int dirfd, const char *name, struct blob *b) {
    int err = 0;
    uint8_t *data = NULL;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
        err = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
        goto out;
    }
    size_t len = (size_t)st.st_size, got = 0;
    data = malloc(len ? len : 1);
    if (!data) {
        err = -ENOMEM;
        goto out;
    }
    while (got < len) {
        ssize_t n = read(fd, data + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? -errno : -EIO;
            goto out;
        }
        got += (size_t)n;
    }
    b->data = data;
    b->len = len;
    data = NULL;
out:
    free(data);
    close(fd);
    return err;
}

static int cmp_flag(const void *a, const void *b) {
    return strcmp(((const struct flag *)a)->cc, ((const struct flag *)b)->cc);
}

int dataset_load_root(struct dataset *ds, const char *dir) {
    int err = 0;
    memset(ds, 0, sizeof *ds);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    ds->flags = calloc(26 * 26, sizeof *ds->flags);
    if (!ds->flags) {
        err = -ENOMEM;
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!(n[0] >= 'a' && n[0] <= 'z' && n[1] >= 'a' && n[1] <= 'z' && !n[2]))
            continue;
        int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            continue;
        struct flag *f = &ds->flags[ds->nflags];
        memcpy(f->cc, n, 3);
        char gifname[8] = {n[0], n[1], '.', 'g', 'i', 'f', '\0'};
        err = read_file_at(sub, gifname, &f->gif);
        if (!err) {
            err = read_file_at(sub, "metadata.json", &f->meta);
            if (err == -ENOENT) /* the image alone is still a flag */
                err = 0;
        }
        close(sub);
        if (err == -ENOENT) { /* not a flag directory */
            err = 0;
            continue;
        }
        if (err) {
            ds->nflags++; /* so dataset_free releases what was read */
            goto out;
        }
        ds->nflags++;
    }
    if (!ds->nflags) {
        err = -ENOENT;
        goto out;
    }
    qsort(ds->flags, ds->nflags, sizeof *ds->flags, cmp_flag);
    index_flags(ds);
out:
    closedir(d);
    if (err)
        dataset_free(ds);
    return err;
}

const struct flag *dataset_find(const struct dataset *ds, const char *cc) {
    if (!(cc[0] >= 'a' && cc[0] <= 'z' && cc[1] >= 'a' && cc[1] <= 'z'))
        return NULL;
    return ds->index[(cc[0] - 'a') * 26 + (cc[1] - 'a')];
}

void dataset_free(struct dataset *ds) {
    if (ds->flags) {
        for (size_t i = 0; i < ds->nflags; i++) {
            free((void *)ds->flags[i].gif.data);
            free((void *)ds->flags[i].meta.data);
        }
        free(ds->flags);
    }
    memset(ds, 0, sizeof *ds);
}
