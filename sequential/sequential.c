/* flags_sequential — one easy handle, one flag after another: the baseline
 * that waits for every response before asking for the next. */
#include "fetch.h"
#include "flagbench.h"

static int download_many(struct run *run) {
    struct transfer t;
    int rc = transfer_init(&t, run);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < run->nrecords && !run_interrupted(); i++)
        flag_download(&t, i);
    transfer_cleanup(&t);
    return 0;
}

static const struct backend sequential = {
    .name = "sequential",
    .download_many = download_many,
    .default_max_req = 1, /* one request at a time, whatever -m says */
    .max_max_req = 1,
};

int main(int argc, char **argv) {
    return flagbench_main(argc, argv, &sequential);
}
