/* http.h — the HTTP/1.x request parser: a pure function over a buffer.
 *
 * It neither allocates nor copies: the request points into the caller's
 * buffer. The caller feeds it everything received so far and calls it again
 * when more arrives, which keeps it easy to unit-test and to fuzz. */
#ifndef FLAGSERVER_HTTP_H
#define FLAGSERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Only the methods the server tells apart: flags are served to GET and
 * HEAD; any other method (POST /stats/reset included) is HTTP_OTHER. */
enum http_method { HTTP_OTHER, HTTP_GET, HTTP_HEAD };

enum http_parse {
    HTTP_COMPLETE = 0,    /* *req is filled; the request is req->total bytes */
    HTTP_INCOMPLETE = 1,  /* need more bytes; what is there is well-formed so far */
    HTTP_BAD = -1,        /* malformed: answer 400 and close */
    HTTP_TOO_LARGE = -2,  /* headers over the limit: answer 431 and close */
    HTTP_BODY_LARGE = -3, /* request body over the limit: answer 413 and close */
};

#define HTTP_MAX_BODY 4096 /* a request body we accept (and ignore) */

struct http_request {
    enum http_method method;
    const char *method_str; /* the method as sent, method_len bytes */
    size_t method_len;
    const char *target; /* the request-target as sent, e.g. "/flags/br/br.gif?x" */
    size_t target_len;
    int minor;             /* HTTP/1.minor: 0 or 1 */
    bool keep_alive;       /* what the client asked for (version + Connection) */
    size_t header_len;     /* request line and headers, blank line included */
    size_t content_length; /* body bytes after the headers */
    size_t total;          /* header_len + content_length */
};

/* Parse the request at the start of buf[0..len). Headers longer than
 * max_header bytes give HTTP_TOO_LARGE even when incomplete. Leading empty
 * lines are skipped (RFC 9112 2.2). Transfer-Encoding in a request is
 * refused as HTTP_BAD: no client of a flag server sends one. */
enum http_parse http_parse_request(const char *buf, size_t len, size_t max_header,
                                   struct http_request *req);

/* Decode the path of a request-target into out (NUL-terminated): percent
 * escapes are decoded, and the query (after '?', not decoded) is returned in
 * *query / *query_len. Returns the path's length, or -EINVAL for anything
 * that could name a file outside the served tree or is not a plain
 * origin-form path: not starting with '/', NUL, control characters,
 * backslashes, "." or ".." segments, empty segments ("//"), bad escapes. */
int http_decode_path(const char *target, size_t len, char *out, size_t outsz, const char **query,
                     size_t *query_len);

/* The reason phrase of a status code ("Not Found"), "" when unknown. */
const char *http_reason(int status);

#endif
