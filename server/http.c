/* http.c — request parsing and path decoding, no I/O. */
#include "http.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2 token characters: a bit per byte value, since every byte
 * of every method and header name is checked. */
static const uint32_t tchar_bits[8] = {
    0x00000000, /* 0x00-0x1f: controls */
    0x03ff6cfa, /* 0x20-0x3f: ! # $ % & ' * + - . 0-9 */
    0xc7fffffe, /* 0x40-0x5f: A-Z ^ _ */
    0x57ffffff, /* 0x60-0x7f: ` a-z | ~ */
};

static bool is_tchar(unsigned char c) {
    return tchar_bits[c >> 5] >> (c & 31) & 1;
}

/* The next line of buf[pos..len): its end (before CR LF or LF) and the
 * start of the following line. False when no LF is there yet. A CR that is
 * not followed by LF is left in the line, where it is rejected later. */
static bool next_line(const char *buf, size_t len, size_t pos, size_t *end, size_t *next) {
    const char *lf = memchr(buf + pos, '\n', len - pos);
    if (!lf)
        return false;
    size_t e = (size_t)(lf - buf);
    *next = e + 1;
    if (e > pos && buf[e - 1] == '\r')
        e--;
    *end = e;
    return true;
}

static bool ieq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static enum http_parse parse_request_line(const char *s, size_t n, struct http_request *req) {
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i > 32 || i >= n || s[i] != ' ')
        return HTTP_BAD;
    req->method_str = s;
    req->method_len = i;
    /* Methods are case-sensitive (RFC 9110 9.1). */
    req->method = i == 3 && !memcmp(s, "GET", 3)    ? HTTP_GET
                  : i == 4 && !memcmp(s, "HEAD", 4) ? HTTP_HEAD
                                                    : HTTP_OTHER;
    size_t t = ++i;
    while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f)
        i++;
    if (i == t || i >= n || s[i] != ' ')
        return HTTP_BAD;
    req->target = s + t;
    req->target_len = i - t;
    i++;
    if (n - i != 8 || memcmp(s + i, "HTTP/1.", 7) != 0 || (s[i + 7] != '0' && s[i + 7] != '1'))
        return HTTP_BAD;
    req->minor = s[i + 7] - '0';
    return HTTP_COMPLETE;
}

/* Connection: a comma-separated list of tokens. */
static void parse_connection(const char *v, size_t n, bool *close, bool *keep) {
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t t = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (ieq(v + t, i - t, "close"))
            *close = true;
        else if (ieq(v + t, i - t, "keep-alive"))
            *keep = true;
    }
}

static enum http_parse parse_header(const char *s, size_t n, struct http_request *req, bool *close,
                                    bool *keep, bool *have_length) {
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ':') /* also catches obs-fold and "Name :" */
        return HTTP_BAD;
    const char *name = s;
    size_t name_len = i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t v = i, vend = n;
    for (size_t k = v; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return HTTP_BAD;
    }
    while (vend > v && (s[vend - 1] == ' ' || s[vend - 1] == '\t'))
        vend--;
    if (ieq(name, name_len, "Connection")) {
        parse_connection(s + v, vend - v, close, keep);
    } else if (ieq(name, name_len, "Content-Length")) {
        size_t cl = 0;
        if (vend == v)
            return HTTP_BAD;
        for (size_t k = v; k < vend; k++) {
            if (s[k] < '0' || s[k] > '9')
                return HTTP_BAD;
            if (cl > HTTP_MAX_BODY * 1000)
                return HTTP_BODY_LARGE;
            cl = cl * 10 + (size_t)(s[k] - '0');
        }
        if (*have_length && cl != req->content_length)
            return HTTP_BAD; /* conflicting lengths: request smuggling */
        *have_length = true;
        req->content_length = cl;
    } else if (ieq(name, name_len, "Transfer-Encoding")) {
        return HTTP_BAD;
    }
    return HTTP_COMPLETE;
}

enum http_parse http_parse_request(const char *buf, size_t len, size_t max_header,
                                   struct http_request *req) {
    memset(req, 0, sizeof *req);
    size_t pos = 0, end, next;
    /* Skip empty lines before the request line (a client's stray CRLF). */
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n')) {
        if (buf[pos] == '\r' && (pos + 1 >= len || buf[pos + 1] != '\n'))
            break;
        pos += buf[pos] == '\r' ? 2 : 1;
        if (pos > max_header)
            return HTTP_TOO_LARGE;
    }
    bool close = false, keep = false, have_length = false, first = true;
    enum http_parse r;
    for (;;) {
        if (!next_line(buf, len, pos, &end, &next))
            return len >= max_header ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
        if (next > max_header)
            return HTTP_TOO_LARGE;
        if (memchr(buf + pos, '\0', end - pos) || memchr(buf + pos, '\r', end - pos))
            return HTTP_BAD;
        if (first) {
            r = parse_request_line(buf + pos, end - pos, req);
            first = false;
        } else if (end == pos) {
            pos = next;
            break;
        } else {
            r = parse_header(buf + pos, end - pos, req, &close, &keep, &have_length);
        }
        if (r != HTTP_COMPLETE)
            return r;
        pos = next;
    }
    if (req->content_length > HTTP_MAX_BODY)
        return HTTP_BODY_LARGE;
    req->keep_alive = req->minor == 1 ? !close : keep && !close;
    req->header_len = pos;
    req->total = pos + req->content_length;
    return len >= req->total ? HTTP_COMPLETE : HTTP_INCOMPLETE;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_decode_path(const char *target, size_t len, char *out, size_t outsz, const char **query,
                     size_t *query_len) {
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    if (query) {
        *query = q ? q + 1 : NULL;
        *query_len = q ? len - plen - 1 : 0;
    }
    if (plen == 0 || target[0] != '/' || outsz == 0)
        return -EINVAL;
    size_t o = 0, seg = 0; /* seg: where the current segment starts in out */
    for (size_t i = 0; i <= plen; i++) {
        char c;
        if (i == plen) {
            c = '/'; /* closes the last segment for the checks below */
        } else if (target[i] == '%') {
            if (i + 2 >= plen)
                return -EINVAL;
            int h = hexval(target[i + 1]), l = hexval(target[i + 2]);
            if (h < 0 || l < 0)
                return -EINVAL;
            c = (char)(h * 16 + l);
            i += 2;
            if (c == '/') /* an encoded slash would hide a segment boundary */
                return -EINVAL;
        } else {
            c = target[i];
        }
        unsigned char u = (unsigned char)c;
        if (u < 0x20 || u == 0x7f || c == '\\')
            return -EINVAL;
        if (c == '/') {
            if (o > 0) {
                size_t n = o - seg;
                if ((n == 0 && i < plen) || (n == 1 && out[seg] == '.') ||
                    (n == 2 && out[seg] == '.' && out[seg + 1] == '.'))
                    return -EINVAL;
            }
            if (i == plen)
                break;
            if (o + 1 >= outsz)
                return -EINVAL;
            out[o++] = '/';
            seg = o;
            continue;
        }
        if (o + 1 >= outsz)
            return -EINVAL;
        out[o++] = c;
    }
    out[o] = '\0';
    return (int)o;
}

const char *http_reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 418:
        return "I'm a teapot";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}
