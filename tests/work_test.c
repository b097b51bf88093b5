/* Unit tests of common/work.c: the CPU work per flag on real GIFs made by
 * flagserver's encoder, and the reasons it gives for bodies that are not. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gif.h"
#include "work.h"
#include "check_run.h"

/* A 40x30 image: the top 10 rows colour 1 (red), the rest colour 2 (blue),
 * with a 4-entry palette whose colours 0 and 3 are unused. */
static void make_gif(uint8_t **gif, size_t *len) {
    enum { W = 40, H = 30 };
    static uint8_t pixels[W * H];
    for (size_t i = 0; i < W * H; i++)
        pixels[i] = i < 10 * W ? 1 : 2;
    static const uint8_t palette[] = {0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 255, 0};
    ck_assert_int_eq(gif_encode(pixels, W, H, palette, 4, gif, len), 0);
}

START_TEST(histogram_of_a_real_gif) {
    uint8_t *gif;
    size_t len;
    make_gif(&gif, &len);
    char why[96] = "";
    /* One unit and several: the whole image, blue the most common; 2.5:
     * the last part decodes the top 15 rows, 10 red and 5 blue. */
    const struct {
        double k;
        uint32_t dominant;
    } cases[] = {{1, 0x0000f0}, {3, 0x0000f0}, {2.5, 0xf00000}};
    for (size_t i = 0; i < CHECK_COUNT(cases); i++) {
        struct work_result r = {0};
        ck_assert_int_eq(work_gif(gif, len, cases[i].k, &r, why, sizeof why), 0);
        ck_assert_uint_eq(r.width, 40);
        ck_assert_uint_eq(r.height, 30);
        ck_assert_uint_eq(r.colours, 2);
        ck_assert_uint_eq(r.dominant_rgb, cases[i].dominant);
    }
    /* A tenth of a unit: the top 3 rows, all red. */
    struct work_result r = {0};
    ck_assert_int_eq(work_gif(gif, len, 0.1, &r, why, sizeof why), 0);
    ck_assert_uint_eq(r.colours, 1);
    ck_assert_uint_eq(r.dominant_rgb, 0xf00000);
    free(gif);
}
END_TEST

START_TEST(bad_bodies_have_reasons) {
    uint8_t *gif;
    size_t len;
    make_gif(&gif, &len);
    struct work_result r;
    char why[96];
    static const char text[] = "<html>not found</html>";
    ck_assert_int_eq(work_gif(text, sizeof text - 1, 1, &r, why, sizeof why), -EINVAL);
    ck_assert_msg(strncmp(why, "not a GIF", 9) == 0, "why: %s", why);
    ck_assert_int_eq(work_gif("", 0, 1, &r, why, sizeof why), -EINVAL);
    ck_assert_msg(strncmp(why, "not a GIF", 9) == 0, "why: %s", why);
    /* Cut inside the image data, then right after the colour table. */
    ck_assert_int_eq(work_gif(gif, len - 8, 1, &r, why, sizeof why), -EINVAL);
    ck_assert_msg(strncmp(why, "bad GIF", 7) == 0, "why: %s", why);
    ck_assert_int_eq(work_gif(gif, 13 + 12, 1, &r, why, sizeof why), -EINVAL);
    ck_assert_msg(strncmp(why, "bad GIF", 7) == 0, "why: %s", why);
    /* Header and screen only, then the trailer: no image at all. */
    uint8_t no_image[13 + 12 + 1];
    memcpy(no_image, gif, 13 + 12);
    no_image[25] = 0x3b;
    ck_assert_int_eq(work_gif(no_image, sizeof no_image, 1, &r, why, sizeof why), -EINVAL);
    ck_assert_str_eq(why, "GIF without an image");
    /* The reason fits the buffer it is given. */
    char small[8];
    ck_assert_int_eq(work_gif(text, sizeof text - 1, 1, &r, small, sizeof small), -EINVAL);
    ck_assert_uint_eq(strlen(small), 7);
    free(gif);
}
END_TEST

int main(void) {
    const TTest *const tests[] = {histogram_of_a_real_gif, bad_bodies_have_reasons};
    Suite *s = suite_create("work");
    suite_add_tcase(s, check_case("work", 0, tests, CHECK_COUNT(tests)));
    return check_run(s);
}
