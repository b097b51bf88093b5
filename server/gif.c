/* gif.c — GIF89a writer with a variable-code-size LZW compressor. */
#include "gif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LZW_MAX_BITS  12
#define LZW_MAX_CODES (1u << LZW_MAX_BITS)
#define HASH_SIZE     5003 /* prime > 4096: open addressing stays short */

/* A growable output buffer; err latches the first allocation failure so the
 * encoder can write without checking every byte. */
struct out {
    uint8_t *data;
    size_t len, cap;
    int err;
};

static void out_bytes(struct out *o, const void *p, size_t n) {
    if (o->err)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *d = realloc(o->data, cap);
        if (!d) {
            o->err = -ENOMEM;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
}

static void out_byte(struct out *o, uint8_t b) {
    out_bytes(o, &b, 1);
}

static void out_le16(struct out *o, unsigned v) {
    out_byte(o, v & 0xff);
    out_byte(o, (v >> 8) & 0xff);
}

/* Packs LZW codes LSB-first into 255-byte data sub-blocks. */
struct bitpacker {
    struct out *o;
    uint32_t acc;
    unsigned nbits;
    uint8_t block[255];
    unsigned blen;
};

static void bp_flush_block(struct bitpacker *bp) {
    if (!bp->blen)
        return;
    out_byte(bp->o, (uint8_t)bp->blen);
    out_bytes(bp->o, bp->block, bp->blen);
    bp->blen = 0;
}

static void bp_put(struct bitpacker *bp, unsigned code, unsigned size) {
    bp->acc |= (uint32_t)code << bp->nbits;
    bp->nbits += size;
    while (bp->nbits >= 8) {
        bp->block[bp->blen++] = bp->acc & 0xff;
        if (bp->blen == sizeof bp->block)
            bp_flush_block(bp);
        bp->acc >>= 8;
        bp->nbits -= 8;
    }
}

static void bp_finish(struct bitpacker *bp) {
    if (bp->nbits)
        bp->block[bp->blen++] = bp->acc & 0xff;
    bp->acc = 0;
    bp->nbits = 0;
    bp_flush_block(bp);
}

/* The dictionary maps (prefix code, next pixel) to a code. Keys are stored
 * as prefix << 8 | pixel, plus one so that zero means an empty slot. */
struct lzw_dict {
    uint32_t key[HASH_SIZE];
    uint16_t code[HASH_SIZE];
};

static unsigned dict_slot(const struct lzw_dict *d, uint32_t key) {
    unsigned i = (key * 2654435761u) % HASH_SIZE;
    while (d->key[i] && d->key[i] != key)
        i = i + 1 == HASH_SIZE ? 0 : i + 1;
    return i;
}

static void lzw_compress(struct out *o, const uint8_t *px, size_t n, unsigned min_size) {
    struct lzw_dict *d = calloc(1, sizeof *d);
    if (!d) {
        o->err = -ENOMEM;
        return;
    }
    struct bitpacker bp = {.o = o};
    const unsigned clear = 1u << min_size, eoi = clear + 1;
    unsigned next = clear + 2, size = min_size + 1;

    bp_put(&bp, clear, size);
    unsigned prefix = px[0];
    for (size_t i = 1; i < n; i++) {
        uint32_t key = ((uint32_t)prefix << 8 | px[i]) + 1;
        unsigned s = dict_slot(d, key);
        if (d->key[s]) {
            prefix = d->code[s];
            continue;
        }
        bp_put(&bp, prefix, size);
        if (next < LZW_MAX_CODES) {
            d->key[s] = key;
            d->code[s] = (uint16_t)next++;
            /* The decoder adds this entry one code later, so it widens
             * its codes once next passes 1 << size, not when it reaches it. */
            if (next > (1u << size) && size < LZW_MAX_BITS)
                size++;
        } else {
            /* Table full: start over rather than keep stale phrases. */
            bp_put(&bp, clear, size);
            memset(d, 0, sizeof *d);
            next = clear + 2;
            size = min_size + 1;
        }
        prefix = px[i];
    }
    bp_put(&bp, prefix, size);
    /* The decoder adds an entry for that last code before reading EOI. */
    if (next + 1 > (1u << size) && size < LZW_MAX_BITS)
        size++;
    bp_put(&bp, eoi, size);
    bp_finish(&bp);
    out_byte(o, 0); /* block terminator */
    free(d);
}

int gif_encode(const uint8_t *pixels, unsigned w, unsigned h, const uint8_t *palette,
               unsigned ncolors, uint8_t **out, size_t *outlen) {
    if (!pixels || !palette || !out || !outlen || !w || !h || w > 0xffff || h > 0xffff ||
        ncolors < 1 || ncolors > GIF_MAX_COLORS)
        return -EINVAL;
    unsigned bits = 1;
    while ((1u << bits) < ncolors)
        bits++;
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (pixels[i] >= ncolors)
            return -EINVAL;

    struct out o = {0};
    out_bytes(&o, "GIF89a", 6);
    out_le16(&o, w);
    out_le16(&o, h);
    out_byte(&o, 0x80 | (uint8_t)((bits - 1) << 4) | (uint8_t)(bits - 1)); /* global table */
    out_byte(&o, 0);                                                       /* background */
    out_byte(&o, 0);                                                       /* aspect */
    for (unsigned i = 0; i < (1u << bits); i++) {
        static const uint8_t black[3];
        out_bytes(&o, i < ncolors ? palette + 3 * i : black, 3);
    }
    out_byte(&o, 0x2c); /* image descriptor */
    out_le16(&o, 0);
    out_le16(&o, 0);
    out_le16(&o, w);
    out_le16(&o, h);
    out_byte(&o, 0); /* no local table, not interlaced */
    unsigned min_size = bits < 2 ? 2 : bits;
    out_byte(&o, (uint8_t)min_size);
    lzw_compress(&o, pixels, (size_t)w * h, min_size);
    out_byte(&o, 0x3b); /* trailer */
    if (o.err) {
        free(o.data);
        return o.err;
    }
    *out = o.data;
    *outlen = o.len;
    return 0;
}
