/* gif_decode.c — GIF89a/87a parsing and LZW decoding, strict on purpose. */
#include "gif_decode.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const uint8_t *p;
    size_t len, pos;
};

static int rd_byte(struct reader *r, unsigned *v) {
    if (r->pos >= r->len)
        return -EINVAL;
    *v = r->p[r->pos++];
    return 0;
}

static int rd_le16(struct reader *r, unsigned *v) {
    unsigned lo, hi;
    if (rd_byte(r, &lo) || rd_byte(r, &hi))
        return -EINVAL;
    *v = lo | hi << 8;
    return 0;
}

/* Skip data sub-blocks up to and including the terminator. */
static int skip_blocks(struct reader *r) {
    unsigned n;
    do {
        if (rd_byte(r, &n) || r->len - r->pos < n)
            return -EINVAL;
        r->pos += n;
    } while (n);
    return 0;
}

/* Joins the image's sub-blocks into one byte string. */
static int gather_blocks(struct reader *r, uint8_t **out, size_t *outlen) {
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    unsigned bl;
    for (;;) {
        if (rd_byte(&*r, &bl) || r->len - r->pos < bl) {
            free(buf);
            return -EINVAL;
        }
        if (!bl)
            break;
        if (n + bl > cap) {
            cap = cap * 2 + bl;
            uint8_t *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                return -ENOMEM;
            }
            buf = b;
        }
        memcpy(buf + n, r->p + r->pos, bl);
        n += bl;
        r->pos += bl;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static int lzw_decode(const uint8_t *in, size_t inlen, unsigned min_size, uint8_t *px, size_t npx,
                      const char **why) {
    static uint16_t prefix[4096];
    static uint8_t suffix[4096], first[4096];
    static uint8_t stack[4097];
    const unsigned clear = 1u << min_size, eoi = clear + 1;
    unsigned size = min_size + 1, next = clear + 2, prev = 0;
    bool have_prev = false;
    size_t bitpos = 0, out = 0;
    for (unsigned i = 0; i < clear; i++) {
        prefix[i] = 0xffff;
        suffix[i] = first[i] = (uint8_t)i;
    }
    for (;;) {
        if (bitpos + size > inlen * 8) {
            *why = "LZW data ends without an end code";
            return -EINVAL;
        }
        unsigned code = 0;
        for (unsigned b = 0; b < size; b++, bitpos++)
            code |= (unsigned)((in[bitpos / 8] >> (bitpos % 8)) & 1) << b;
        if (code == clear) {
            size = min_size + 1;
            next = clear + 2;
            have_prev = false;
            continue;
        }
        if (code == eoi)
            break;
        unsigned top = 0, c = code;
        if (!have_prev) {
            if (code >= clear) {
                *why = "first LZW code after clear is not a literal";
                return -EINVAL;
            }
        } else if (code > next || (code == next && next >= 4096)) {
            *why = "LZW code beyond the table";
            return -EINVAL;
        } else if (code == next) { /* the KwKwK case */
            stack[top++] = first[prev];
            c = prev;
        }
        while (c >= clear) {
            stack[top++] = suffix[c];
            c = prefix[c];
        }
        stack[top++] = (uint8_t)c;
        if (out + top > npx) {
            *why = "LZW data decodes to more pixels than the image has";
            return -EINVAL;
        }
        while (top)
            px[out++] = stack[--top];
        if (have_prev && next < 4096) {
            prefix[next] = (uint16_t)prev;
            suffix[next] = (uint8_t)c; /* first pixel of this code */
            first[next] = first[prev];
            next++;
            if (next == (1u << size) && size < 12)
                size++;
        }
        prev = code;
        have_prev = true;
    }
    if (out != npx) {
        *why = "LZW data decodes to fewer pixels than the image has";
        return -EINVAL;
    }
    if ((bitpos + 7) / 8 != inlen) {
        *why = "bytes after the LZW end code";
        return -EINVAL;
    }
    return 0;
}

int gif_decode(const uint8_t *data, size_t len, struct gif_image *img, const char **why) {
    static const char *dummy;
    if (!why)
        why = &dummy;
    memset(img, 0, sizeof *img);
    struct reader r = {data, len, 0};
    unsigned flags, v;
    int err = -EINVAL;
    *why = "truncated";
    if (len < 13 || (memcmp(data, "GIF89a", 6) && memcmp(data, "GIF87a", 6))) {
        *why = "no GIF signature";
        return -EINVAL;
    }
    r.pos = 6;
    if (rd_le16(&r, &img->width) || rd_le16(&r, &img->height) || rd_byte(&r, &flags) ||
        rd_byte(&r, &v) || rd_byte(&r, &v))
        return -EINVAL;
    if (!img->width || !img->height) {
        *why = "zero size";
        return -EINVAL;
    }
    if (flags & 0x80) {
        img->ncolors = 2u << (flags & 7);
        if (len - r.pos < 3 * img->ncolors)
            return -EINVAL;
        r.pos += 3 * img->ncolors;
    }
    for (;;) {
        unsigned intro;
        if (rd_byte(&r, &intro))
            goto fail;
        if (intro == 0x3b)
            break;
        if (intro == 0x21) { /* extension */
            if (rd_byte(&r, &v) || skip_blocks(&r))
                goto fail;
            continue;
        }
        if (intro != 0x2c) {
            *why = "unknown block";
            goto fail;
        }
        unsigned x, y, w, h, iflags, min_size;
        if (rd_le16(&r, &x) || rd_le16(&r, &y) || rd_le16(&r, &w) || rd_le16(&r, &h) ||
            rd_byte(&r, &iflags))
            goto fail;
        if (x + w > img->width || y + h > img->height || !w || !h) {
            *why = "image outside the logical screen";
            goto fail;
        }
        if (iflags & 0x80) {
            if (len - r.pos < 3 * (2u << (iflags & 7)))
                goto fail;
            r.pos += 3 * (2u << (iflags & 7));
        } else if (!img->ncolors) {
            *why = "no color table";
            goto fail;
        }
        if (rd_byte(&r, &min_size) || min_size < 2 || min_size > 8) {
            *why = "bad LZW minimum code size";
            goto fail;
        }
        uint8_t *lzw, *px = malloc((size_t)w * h);
        size_t lzwlen;
        if (!px) {
            err = -ENOMEM;
            goto fail;
        }
        err = gather_blocks(&r, &lzw, &lzwlen);
        if (err) {
            free(px);
            goto fail;
        }
        err = lzw_decode(lzw, lzwlen, min_size, px, (size_t)w * h, why);
        free(lzw);
        if (err) {
            free(px);
            goto fail;
        }
        if (img->frames++ == 0 && w == img->width && h == img->height)
            img->pixels = px;
        else
            free(px);
        err = -EINVAL;
    }
    if (r.pos != len) {
        *why = "bytes after the trailer";
        goto fail;
    }
    if (!img->frames) {
        *why = "no image";
        goto fail;
    }
    return 0;
fail:
    gif_image_free(img);
    return err;
}

void gif_image_free(struct gif_image *img) {
    free(img->pixels);
    img->pixels = NULL;
}
