/* server_gif_test.c — flagserver's GIF encoder and built-in images, checked
 * with the independent decoder in gif_decode.c. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "gif.h"
#include "gif_decode.h"
#include "check_run.h"

static const uint8_t pal[256 * 3];

/* Encode, decode, compare pixel for pixel. */
static void roundtrip(const uint8_t *px, unsigned w, unsigned h, unsigned ncolors) {
    uint8_t *gif;
    size_t len;
    ck_assert_int_eq(gif_encode(px, w, h, pal, ncolors, &gif, &len), 0);
    struct gif_image img;
    const char *why = NULL;
    int err = gif_decode(gif, len, &img, &why);
    ck_assert_msg(err == 0, "%ux%u, %u colors: %s", w, h, ncolors, why);
    ck_assert_uint_eq(img.width, w);
    ck_assert_uint_eq(img.height, h);
    ck_assert_uint_eq(img.frames, 1);
    ck_assert_msg(!memcmp(img.pixels, px, (size_t)w * h), "pixels differ");
    gif_image_free(&img);
    free(gif);
}

START_TEST(encoder_roundtrip) {
    static const unsigned colors[] = {2, 3, 4, 16, 17, 256};
    unsigned seed = 12345;
    for (size_t k = 0; k < sizeof colors / sizeof colors[0]; k++) {
        unsigned nc = colors[k];
        /* uniform, noisy (fills and resets the table), and mixed images */
        static const unsigned dims[][2] = {{1, 1}, {7, 3}, {64, 64}, {300, 200}, {1000, 400}};
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
            unsigned w = dims[d][0], h = dims[d][1];
            uint8_t *px = malloc((size_t)w * h);
            ck_assert_ptr_nonnull(px);
            for (int mode = 0; mode < 3; mode++) {
                for (size_t i = 0; i < (size_t)w * h; i++) {
                    seed = seed * 1103515245u + 12345u;
                    unsigned r = (seed >> 16) % nc;
                    px[i] = mode == 0 ? 0 : mode == 1 ? (uint8_t)r : (uint8_t)((i / 37) % nc);
                    if (mode == 2 && (seed >> 8) % 11 == 0)
                        px[i] = (uint8_t)r;
                }
                roundtrip(px, w, h, nc);
            }
            free(px);
        }
    }
}
END_TEST

START_TEST(encoder_rejects) {
    uint8_t px[4] = {0, 1, 2, 3}, *gif;
    size_t len;
    ck_assert_int_eq(gif_encode(px, 2, 2, pal, 3, &gif, &len), -EINVAL); /* 3 >= ncolors */
    ck_assert_int_eq(gif_encode(px, 0, 2, pal, 4, &gif, &len), -EINVAL);
    ck_assert_int_eq(gif_encode(px, 2, 2, pal, 300, &gif, &len), -EINVAL);
}
END_TEST

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(builtin_images) {
    struct dataset ds;
    ck_assert_int_eq(dataset_builtin(&ds), 0);
    ck_assert_uint_eq(ds.nflags, COUNTRY_COUNT);
    size_t sizes[COUNTRY_COUNT];
    for (size_t i = 0; i < ds.nflags; i++) {
        const struct flag *f = &ds.flags[i];
        struct gif_image img;
        const char *why = NULL;
        int err = gif_decode(f->gif.data, f->gif.len, &img, &why);
        ck_assert_msg(err == 0, "%s.gif: %s", f->cc, why);
        /* the logical screen is what the header says, and a whole frame */
        ck_assert_uint_eq(img.width, f->gif.data[6] | f->gif.data[7] << 8);
        ck_assert_uint_eq(img.height, f->gif.data[8] | f->gif.data[9] << 8);
        ck_assert(img.width >= 200 && img.width <= 600);
        ck_assert(img.height >= 100 && img.height <= 400);
        ck_assert_ptr_nonnull(img.pixels);
        ck_assert_uint_eq(img.ncolors, 16);
        gif_image_free(&img);
        sizes[i] = f->gif.len;
        ck_assert_ptr_eq(dataset_find(&ds, f->cc), f);
        ck_assert_ptr_nonnull(f->meta.data);
    }
    qsort(sizes, COUNTRY_COUNT, sizeof sizes[0], cmp_size);
    /* spread like the book's flags: 1.2-36 KB, median about 10 KB */
    ck_assert_msg(sizes[0] >= 900 && sizes[0] <= 2000, "smallest %zu", sizes[0]);
    ck_assert_msg(sizes[COUNTRY_COUNT - 1] >= 25000 && sizes[COUNTRY_COUNT - 1] <= 45000,
                  "largest %zu", sizes[COUNTRY_COUNT - 1]);
    ck_assert_msg(sizes[COUNTRY_COUNT / 2] >= 8000 && sizes[COUNTRY_COUNT / 2] <= 12000,
                  "median %zu", sizes[COUNTRY_COUNT / 2]);
    dataset_free(&ds);
}
END_TEST

START_TEST(builtin_deterministic) {
    for (size_t i = 0; i < COUNTRY_COUNT; i += 37) {
        uint8_t *a, *b;
        size_t alen, blen;
        ck_assert_int_eq(dataset_make_gif(i, &a, &alen), 0);
        ck_assert_int_eq(dataset_make_gif(i, &b, &blen), 0);
        ck_assert_uint_eq(alen, blen);
        ck_assert(!memcmp(a, b, alen));
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(builtin_metadata) {
    struct dataset ds;
    ck_assert_int_eq(dataset_builtin(&ds), 0);
    const struct flag *br = dataset_find(&ds, "br");
    ck_assert_ptr_nonnull(br);
    static const char want[] =
        "{\"tld_cc\": \".br\", \"iso_cc\": \"BR\", \"country\": \"Brazil\", \"gec_cc\": \"BR\"}";
    ck_assert_uint_eq(br->meta.len, strlen(want));
    ck_assert(!memcmp(br->meta.data, want, br->meta.len));
    ck_assert_ptr_null(dataset_find(&ds, "zz"));
    ck_assert_ptr_null(dataset_find(&ds, "BR"));
    ck_assert_ptr_null(dataset_find(&ds, ".."));
    dataset_free(&ds);
}
END_TEST

int main(void) {
    const TTest *const tests[] = {encoder_roundtrip, encoder_rejects, builtin_images,
                                  builtin_deterministic, builtin_metadata};
    return check_run_case("server_gif", check_case("gif", 120, tests, CHECK_COUNT(tests)));
}
