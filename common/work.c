/* work.c — decode a GIF with giflib and histogram its colours, k times. */
#include "work.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#define BINS 4096 /* 4 bits of each of red, green and blue */

struct reader {
    const unsigned char *p;
    size_t len, pos;
};

/* giflib's input callback: the next n bytes of the body in memory. */
static int read_mem(GifFileType *gif, GifByteType *buf, int n) {
    struct reader *r = gif->UserData;
    size_t left = r->len - r->pos;
    size_t take = n < 0 ? 0 : (size_t)n < left ? (size_t)n : left;
    memcpy(buf, r->p + r->pos, take);
    r->pos += take;
    return (int)take;
}

static int fail(char *why, size_t n, const char *what, int gif_err) {
    const char *detail = gif_err ? GifErrorString(gif_err) : NULL;
    snprintf(why, n, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    return gif_err == D_GIF_ERR_NOT_ENOUGH_MEM ? -ENOMEM : -EINVAL;
}

/* Up to the first image's descriptor, skipping extensions. 0 or -EINVAL. */
static int find_image(GifFileType *gif, char *why, size_t n) {
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) != GIF_OK)
            return fail(why, n, "bad GIF", gif->Error);
        if (type == IMAGE_DESC_RECORD_TYPE)
            return DGifGetImageDesc(gif) == GIF_OK ? 0 : fail(why, n, "bad GIF", gif->Error);
        if (type == TERMINATE_RECORD_TYPE)
            return fail(why, n, "GIF without an image", 0);
        if (type != EXTENSION_RECORD_TYPE)
            return fail(why, n, "bad GIF record", 0);
        int code;
        GifByteType *ext;
        if (DGifGetExtension(gif, &code, &ext) != GIF_OK)
            return fail(why, n, "bad GIF extension", gif->Error);
        while (ext)
            if (DGifGetExtensionNext(gif, &ext) != GIF_OK)
                return fail(why, n, "bad GIF extension", gif->Error);
    }
}

/* One unit (share 1) or part of one (share < 1: the first share of the
 * first image's rows): decode them, counting their pixels by colour. */
static int work_once(const void *data, size_t len, double share, struct work_result *out,
                     char *why, size_t n) {
    struct reader r = {data, len, 0};
    int err = 0;
    GifFileType *gif = DGifOpen(&r, read_mem, &err);
    if (!gif)
        return fail(why, n, "not a GIF", err);
    GifByteType *row = NULL;
    int rc = find_image(gif, why, n);
    if (rc < 0)
        goto out;
    const GifImageDesc *d = &gif->Image;
    const ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
    if (!map) {
        rc = fail(why, n, "GIF without a colour table", 0);
        goto out;
    }
    if (d->Width <= 0 || d->Height <= 0 || !(row = malloc((size_t)d->Width))) {
        rc = d->Width <= 0 || d->Height <= 0 ? fail(why, n, "GIF image of no pixels", 0) : -ENOMEM;
        goto out;
    }
    /* Each palette entry's bin once, then one look-up per pixel. */
    unsigned short bin_of[256];
    for (int i = 0; i < 256; i++) {
        const GifColorType *c = &map->Colors[i < map->ColorCount ? i : 0];
        bin_of[i] = (unsigned short)((c->Red >> 4) << 8 | (c->Green >> 4) << 4 | c->Blue >> 4);
    }
    unsigned counts[BINS] = {0};
    int rows = share >= 1 ? d->Height : (int)ceil(share * d->Height);
    for (int y = 0; y < rows; y++) {
        if (DGifGetLine(gif, row, d->Width) != GIF_OK) {
            rc = fail(why, n, "bad GIF image data", gif->Error);
            goto out;
        }
        for (int x = 0; x < d->Width; x++)
            counts[bin_of[row[x]]]++;
    }
    unsigned used = 0, best = 0;
    for (unsigned b = 0; b < BINS; b++) {
        used += counts[b] != 0;
        if (counts[b] > counts[best])
            best = b;
    }
    *out = (struct work_result){
        .width = (unsigned)gif->SWidth,
        .height = (unsigned)gif->SHeight,
        .colours = used,
        .dominant_rgb = (best >> 8) << 20 | ((best >> 4) & 15) << 12 | (best & 15) << 4,
    };
out:
    free(row);
    DGifCloseFile(gif, &err);
    return rc;
}

int work_gif(const void *data, size_t len, double k, struct work_result *out, char *why,
             size_t n) {
    int rc = 0;
    double done = 0;
    /* Whole units, then the fraction left, if any. */
    for (; rc == 0 && k - done >= 1; done += 1)
        rc = work_once(data, len, 1, out, why, n);
    if (rc == 0 && k - done > 1e-9)
        rc = work_once(data, len, k - done, out, why, n);
    return rc;
}
