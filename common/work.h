/* work.h — the CPU work each flag costs when asked (--work K): a real
 * operation on the downloaded image, the same code for every back end.
 *
 * One unit decodes the GIF's first image with giflib and builds a colour
 * histogram of it (how many pixels of each of 4,096 colours, 4 bits per
 * channel). K units do it K times, from the compressed bytes each time:
 * what a client that checks or thumbnails every image would spend. The work runs wherever the back
 * end handles a downloaded body (fetch.c's transfer_request_done): in the
 * loop thread, in a worker thread, in a worker process. */
#ifndef FLAGBENCH_WORK_H
#define FLAGBENCH_WORK_H

#include <stddef.h>
#include <stdint.h>

struct work_result {
    unsigned width, height; /* of the logical screen */
    unsigned colours;       /* distinct histogram bins the first frame uses */
    uint32_t dominant_rgb;  /* the most common bin, as 0xRRGGBB (low nibbles 0) */
};

/* k units of work on the GIF in data[0..len) (k > 0). A fraction of a
 * unit decodes that share of the first image's rows (k = 2.5: two whole
 * decodes and the top half of a third), so the CPU per flag can be set
 * finer than one decode. out describes the last (part of a) unit. 0, or
 * -EINVAL with a one-line reason in why (not a GIF, truncated, no image),
 * or -ENOMEM. */
int work_gif(const void *data, size_t len, double k, struct work_result *out, char *why,
             size_t n);

#endif
