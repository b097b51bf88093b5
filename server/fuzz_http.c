/* fuzz_http.c — libFuzzer target for the request parser and path decoder.
 * Build: CC=clang cmake -DFLAGBENCH_FUZZ=ON; run on server/fuzz_corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* A decoded path must have no "." or ".." segment. */
static int has_dot_segment(const char *p) {
    for (const char *seg = p; seg; seg = strchr(seg + 1, '/')) {
        const char *s = seg + 1;
        if ((s[0] == '.' && (s[1] == '/' || !s[1])) ||
            (s[0] == '.' && s[1] == '.' && (s[2] == '/' || !s[2])))
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A heap copy of exactly size bytes, so ASan sees any over-read. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t pos = 0;
    /* Walk the input as a pipeline of requests, like a connection does. */
    while (pos < size) {
        struct http_request req;
        enum http_parse r = http_parse_request(buf + pos, size - pos, 8192, &req);
        if (r != HTTP_COMPLETE)
            break;
        if (req.total == 0 || req.total > size - pos || req.header_len > req.total ||
            req.target < buf + pos || req.target + req.target_len > buf + pos + req.header_len)
            abort();
        char path[256];
        const char *q;
        size_t ql;
        int n = http_decode_path(req.target, req.target_len, path, sizeof path, &q, &ql);
        if (n >= 0 && (strlen(path) != (size_t)n || has_dot_segment(path) || path[0] != '/'))
            abort();
        pos += req.total;
    }
    /* Also the decoder alone, on the raw bytes. */
    char path[64];
    const char *q;
    size_t ql;
    int n = http_decode_path(buf, size, path, sizeof path, &q, &ql);
    if (n >= 0 && (strlen(path) != (size_t)n || has_dot_segment(path) || strchr(path, '\\')))
        abort();
    free(buf);
    return 0;
}
