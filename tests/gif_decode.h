/* gif_decode.h — a small, strict GIF decoder for the tests: it checks that
 * an image flagserver serves is a complete, well-formed GIF and returns its
 * pixels so an encoder round trip can be compared. */
#ifndef FLAGBENCH_GIF_DECODE_H
#define FLAGBENCH_GIF_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct gif_image {
    unsigned width, height; /* of the logical screen */
    unsigned ncolors;       /* entries in the global color table, 0 if none */
    unsigned frames;        /* image descriptors decoded */
    uint8_t *pixels;        /* the first frame: width*height indexes, malloc'd */
};

/* Decode data[0..len): header, global table, extensions, every image (its
 * LZW stream must decode to exactly its width*height pixels and end with
 * the end code), and the trailer, with nothing after it. 0, -EINVAL with a
 * reason in *why (static text), or -ENOMEM. */
int gif_decode(const uint8_t *data, size_t len, struct gif_image *img, const char **why);
void gif_image_free(struct gif_image *img);

#endif
