/* gif.h — a small GIF89a encoder (LZW), used to make the built-in flags.
 *
 * flagserver makes its own images rather than shipping binary files: the
 * encoder is deterministic, so the same pixels give the same bytes on every
 * run, and the images are real GIFs that any viewer (or the test decoder in
 * tests/gif_decode.c) can open. */
#ifndef FLAGSERVER_GIF_H
#define FLAGSERVER_GIF_H

#include <stddef.h>
#include <stdint.h>

#define GIF_MAX_COLORS 256

/* Encode a w×h image of palette indexes (row-major, one byte each, every
 * value < ncolors) as a complete GIF89a file with a global color table of
 * ncolors entries (rounded up to a power of two, 2..256; palette holds
 * ncolors RGB triples). *out is malloc'd. Returns 0, -EINVAL or -ENOMEM. */
int gif_encode(const uint8_t *pixels, unsigned w, unsigned h, const uint8_t *palette,
               unsigned ncolors, uint8_t **out, size_t *outlen);

#endif
