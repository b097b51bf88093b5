/* Unit tests of common/: expansion, options, URLs, classification, saving,
 * names from the network, figures, trace and summary CSV. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codes.h"
#include "fetch.h"
#include "options.h"
#include "procstart.h"
#include "progress.h"
#include "record.h"
#include "save.h"
#include "check_run.h"

/* ---- expansion ---------------------------------------------------------- */

static char **expand(enum expand_source src, char **args, size_t nargs, size_t limit, size_t *n) {
    char **out;
    const char *bad = NULL;
    ck_assert_int_eq(codes_expand(src, args, nargs, limit, &out, n, &bad), 0);
    return out;
}

/* Expansions and what each gives: how many codes, and some of them by
 * index (up to four; a NULL code ends the list). */
static char *mixed_args[] = {"b", "BR", "ca", "Ca", "z"};
static const struct {
    enum expand_source src;
    char **args;
    size_t nargs, limit, n;
    struct {
        size_t i;
        const char *code;
    } at[4];
} expansions[] = {
    /* No codes: the book's POP20. */
    {EXPAND_ARGS, NULL, 0, 0, 20, {{0, "BD"}, {19, "VN"}}},
    /* BA..BZ (BR inside), CA, ZA..ZZ; then the first 3 of them. */
    {EXPAND_ARGS, mixed_args, 5, 0, 26 + 1 + 26, {{0, "BA"}, {25, "BZ"}, {26, "CA"}, {27, "ZA"}}},
    {EXPAND_ARGS, mixed_args, 5, 3, 3, {{2, "BC"}}},
    {EXPAND_ALL, NULL, 0, 0, FLAG_CODE_COUNT, {{0, "AD"}, {193, "ZW"}}},
    {EXPAND_EVERY, NULL, 0, 40, 40, {{39, "BN"}}},
    {EXPAND_EVERY, NULL, 0, 0, 676, {{0, NULL}}},
};

START_TEST(expand_cases) {
    for (size_t e = 0; e < CHECK_COUNT(expansions); e++) {
        size_t n;
        char **c = expand(expansions[e].src, expansions[e].args, expansions[e].nargs,
                          expansions[e].limit, &n);
        ck_assert_uint_eq(n, expansions[e].n);
        for (size_t k = 0; k < 4 && expansions[e].at[k].code; k++)
            ck_assert_str_eq(c[expansions[e].at[k].i], expansions[e].at[k].code);
        codes_free(c, n);
    }
    ck_assert(is_flag_code("BR"));
    ck_assert(!is_flag_code("AA"));
}
END_TEST

START_TEST(expand_default_is_sorted) {
    size_t n;
    char **c = expand(EXPAND_ARGS, NULL, 0, 0, &n);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(strcmp(c[i - 1], c[i]), 0);
    codes_free(c, n);
}
END_TEST

START_TEST(expand_rejects_bad_codes) {
    const char *bads[] = {"BRA", "1", "B1", "", "é"};
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        char *args[] = {"BR", (char *)bads[i]};
        char **out;
        size_t n;
        const char *bad = NULL;
        ck_assert_int_eq(codes_expand(EXPAND_ARGS, args, 2, 0, &out, &n, &bad), -EINVAL);
        ck_assert_ptr_eq(bad, bads[i]);
    }
}
END_TEST

/* ---- options ------------------------------------------------------------ */

/* Parse a command line; returns the parse result and what went to err. */
static int parse(struct options *opt, char *errtext, size_t errlen, ...) {
    char *argv[32] = {"flags_test"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    FILE *out = fopen("/dev/null", "w");
    int rc = options_parse(opt, argc, argv, "flags_test", 30, 0, out, err);
    fclose(err);
    fclose(out);
    snprintf(errtext, errlen, "%s", buf ? buf : "");
    free(buf);
    return rc;
}

START_TEST(options_defaults_and_values) {
    struct options o;
    char err[1024];
    ck_assert_int_eq(parse(&o, err, sizeof err, NULL), OPT_OK);
    ck_assert_uint_eq(o.ncodes, 20);
    ck_assert_str_eq(o.server, "http://127.0.0.1:8000/flags");
    ck_assert_str_eq(o.dest, "downloaded/");
    ck_assert_uint_eq(o.max_req, 0);
    ck_assert_double_eq(o.timeout_s, 10.0);
    ck_assert_int_eq(o.max_size, 4 << 20);
    ck_assert_uint_eq(o.stack_size, 256 << 10);
    options_free(&o);

    ck_assert_int_eq(parse(&o, err, sizeof err, "--max_req", "7", "-s", "DELAY", "-l", "5",
                           "--max-size", "64K", "--timeout", "0.5", "--repeat", "3", "-v",
                           "--metadata", "-d", "/tmp/x", "a", NULL),
                     OPT_OK);
    ck_assert_uint_eq(o.max_req, 7);
    ck_assert_str_eq(o.server, "http://127.0.0.1:8001/flags");
    ck_assert_uint_eq(o.ncodes, 5);
    ck_assert_int_eq(o.max_size, 65536);
    ck_assert_double_eq(o.timeout_s, 0.5);
    ck_assert_uint_eq(o.repeat, 3);
    ck_assert(o.verbose && o.metadata);
    ck_assert_str_eq(o.dest, "/tmp/x");
    options_free(&o);

    ck_assert_int_eq(parse(&o, err, sizeof err, "-s", "http://h:1/base///", "-a", NULL), OPT_OK);
    ck_assert_str_eq(o.server, "http://h:1/base");
    ck_assert_uint_eq(o.ncodes, 194);
    ck_assert(!o.no_resume && !o.cacert);
    options_free(&o);

    /* HTTPS: a readable --cacert, and --no-resume. */
    ck_assert_int_eq(parse(&o, err, sizeof err, "-s", "https://h:1/f", "--cacert", "/dev/null",
                           "--no-resume", NULL),
                     OPT_OK);
    ck_assert_str_eq(o.server, "https://h:1/f");
    ck_assert_str_eq(o.cacert, "/dev/null");
    ck_assert(o.no_resume);
    options_free(&o);
}
END_TEST

START_TEST(options_usage_errors) {
    static const char *const cases[][4] = {
        {"-a", "-e"},
        {"-a", "BR"},
        {"-m", "0"},
        {"-m", "x"},
        {"-m", "-3"},
        {"-l", "0"},
        {"-l", "1000"},
        {"--timeout", "-1"},
        {"--timeout", "abc"},
        {"--timeout", "0.0009"}, /* under libcurl's millisecond: would mean never */
        {"--timeout", "1e-9"},
        {"--max-size", "0"},
        {"--max-size", "4Q"},
        {"-s", "ftp://x"},
        {"-s", "http://[::1"}, /* not a URL libcurl can parse */
        {"-s", "http://"},
        {"--bogus"},
        {"-m"},
        {"--repeat", "0"},
        {"--stack-size", "1"},
        {"-e", "--repeat", "2000"},
        {"BRA"},
        {"-d", ""},
        {"--cacert", "/nonexistent/ca.pem"},
        {"--cacert", ""},
        {"--cacert", "/"}, /* a directory */
        {"--cacert"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct options o;
        char err[1024];
        int rc = parse(&o, err, sizeof err, cases[i][0], cases[i][1], cases[i][2], NULL);
        ck_assert_msg(rc == OPT_USAGE, "case %zu (%s) parsed", i, cases[i][0]);
        ck_assert_msg(strncmp(err, "flags_test: error: ", 19) == 0, "case %zu: %s", i, err);
        ck_assert_msg(strstr(err, "\nusage: flags_test") != NULL, "case %zu: no usage", i);
    }
}
END_TEST

/* The word given to --server, however spelt, names the site in the header. */
START_TEST(options_server_site) {
    static const char *const spellings[][2] = {
        {"--server=DELAY", NULL}, {"-sDELAY", NULL}, {"-s", "DELAY"}, {"--server", "DELAY"}};
    struct options o;
    char err[1024];
    for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
        ck_assert_int_eq(parse(&o, err, sizeof err, spellings[i][0], spellings[i][1], NULL),
                         OPT_OK);
        ck_assert_str_eq(o.site, "DELAY");
        ck_assert_str_eq(o.server, "http://127.0.0.1:8001/flags");
        options_free(&o);
    }
    ck_assert_int_eq(parse(&o, err, sizeof err, NULL), OPT_OK);
    ck_assert_str_eq(o.site, "LOCAL");
    options_free(&o);
    ck_assert_int_eq(parse(&o, err, sizeof err, "-s", "http://[::1]:8000/flags/", NULL), OPT_OK);
    ck_assert_ptr_null(o.site);
    ck_assert_str_eq(o.server, "http://[::1]:8000/flags");
    options_free(&o);
}
END_TEST

/* The test binary's own strndup, so that options_parse can be run out of
 * memory: it takes precedence over libc's for the code linked in. */
static int strndup_fails;
char *strndup(const char *s, size_t n) {
    if (strndup_fails) {
        errno = ENOMEM;
        return NULL;
    }
    size_t len = strnlen(s, n);
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* Out of memory is a set-up failure (exit 4), not a usage error. */
START_TEST(options_out_of_memory) {
    struct options o;
    char err[1024];
    strndup_fails = 1;
    int rc = parse(&o, err, sizeof err, "BR", NULL);
    strndup_fails = 0;
    ck_assert_int_eq(rc, OPT_NOMEM);
    ck_assert_str_eq(err, "flags_test: error: out of memory\n");
}
END_TEST

START_TEST(options_server_url_too_long) {
    static char url[2100] = "http://x/";
    memset(url + 9, 'a', sizeof url - 10);
    struct options o;
    char err[1024];
    ck_assert_int_eq(parse(&o, err, sizeof err, "-s", url, NULL), OPT_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "--server URL is longer than"));
}
END_TEST

START_TEST(options_help_and_version_exit) {
    struct options o;
    char err[64];
    ck_assert_int_eq(parse(&o, err, sizeof err, "--help", NULL), OPT_EXIT);
    ck_assert_int_eq(parse(&o, err, sizeof err, "--version", NULL), OPT_EXIT);
}
END_TEST

/* ---- URLs and classification -------------------------------------------- */

START_TEST(url_building) {
    char url[128];
    ck_assert_int_eq(flag_url(url, sizeof url, "http://h:8/flags", "BR", NULL), 0);
    ck_assert_str_eq(url, "http://h:8/flags/br/br.gif");
    ck_assert_int_eq(flag_url(url, sizeof url, "http://h:8/flags", "CI", "metadata.json"), 0);
    ck_assert_str_eq(url, "http://h:8/flags/ci/metadata.json");
    ck_assert_int_eq(flag_url(url, 10, "http://h:8/flags", "BR", NULL), -ENAMETOOLONG);
}
END_TEST

/* How a finished transfer is classified, and the reason given for errors
 * (NULL: not checked). */
static const struct {
    CURLcode rc;
    long status;
    int os_errno;
    bool too_big;
    long long max_size;
    enum outcome outcome;
    const char *reason;
} classifications[] = {
    {CURLE_OK, 200, 0, false, 100, OUTCOME_OK, NULL},
    {CURLE_OK, 404, 0, false, 100, OUTCOME_NOT_FOUND, NULL},
    {CURLE_OK, 418, 0, false, 100, OUTCOME_ERROR, "HTTP 418"},
    {CURLE_OK, 500, 0, false, 100, OUTCOME_ERROR, "HTTP 500"},
    {CURLE_OPERATION_TIMEDOUT, 0, 0, false, 100, OUTCOME_ERROR, "timeout"},
    {CURLE_WRITE_ERROR, 200, 0, true, 100, OUTCOME_ERROR, "body over 100 bytes"},
    {CURLE_FILESIZE_EXCEEDED, 200, 0, false, 7, OUTCOME_ERROR, "body over 7 bytes"},
    {CURLE_COULDNT_CONNECT, 0, 0, false, 1, OUTCOME_ERROR, "connection refused"},
    {CURLE_COULDNT_CONNECT, 0, EMFILE, false, 1, OUTCOME_ERROR, "Too many open files"},
    {CURLE_PARTIAL_FILE, 200, 0, false, 1, OUTCOME_ERROR, "truncated body"},
};

START_TEST(classification) {
    char r[64];
    for (size_t i = 0; i < CHECK_COUNT(classifications); i++) {
        ck_assert_int_eq(classify(classifications[i].rc, classifications[i].status,
                                  classifications[i].os_errno, classifications[i].too_big,
                                  classifications[i].max_size, "", r, sizeof r),
                         classifications[i].outcome);
        if (classifications[i].reason)
            ck_assert_str_eq(r, classifications[i].reason);
    }
    /* A long error text is cut to fit. */
    char longtext[300];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    ck_assert_int_eq(classify(CURLE_SSL_CONNECT_ERROR, 0, 0, false, 1, longtext, r, sizeof r),
                     OUTCOME_ERROR);
    ck_assert_uint_eq(strlen(r), sizeof r - 1);
}
END_TEST

/* A refused certificate is the flag's error, with OpenSSL's or libcurl's
 * reason put plainly; a failed handshake says so. */
START_TEST(classification_tls) {
    static const struct {
        CURLcode rc;
        const char *errbuf, *reason;
    } cases[] = {
        {CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: certificate has expired",
         "certificate verify failed: certificate has expired"},
        {CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: self-signed certificate",
         "certificate verify failed: self-signed certificate"},
        {CURLE_PEER_FAILED_VERIFICATION,
         "SSL: no alternative certificate subject name matches target host name '127.0.0.1'",
         "certificate verify failed: name mismatch"},
        {CURLE_PEER_FAILED_VERIFICATION, "", "certificate verify failed"},
        {CURLE_SSL_CONNECT_ERROR,
         "OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number",
         "TLS handshake failed: the server's reply is not TLS (wrong version number)"},
        {CURLE_SSL_CONNECT_ERROR,
         "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to 127.0.0.1:37657 ",
         "TLS handshake failed: the server closed the connection"},
        {CURLE_SSL_CONNECT_ERROR,
         "OpenSSL/3.0.19: error:0A000410:SSL routines::sslv3 alert handshake failure",
         "TLS handshake failed: error:0A000410:SSL routines::sslv3 alert handshake failure"},
        {CURLE_SSL_CONNECT_ERROR, "", "TLS handshake failed"},
        {CURLE_SSL_CACERT_BADFILE, "error setting certificate file: /x",
         "certificate verify failed: no CA certificates to trust (--cacert FILE or the system's "
         "store)"},
    };
    char r[96];
    for (size_t i = 0; i < CHECK_COUNT(cases); i++) {
        ck_assert_int_eq(classify(cases[i].rc, 0, 0, false, 1, cases[i].errbuf, r, sizeof r),
                         OUTCOME_ERROR);
        ck_assert_str_eq(r, cases[i].reason);
    }
}
END_TEST

/* ---- saving --------------------------------------------------------------- */

static char *tempdir(void) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/flagbench-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

START_TEST(save_paths) {
    struct record r = {.code = "BR"};
    char p[256];
    ck_assert_int_eq(save_path(p, sizeof p, "out", &r, NULL), 0);
    ck_assert_str_eq(p, "out/br.gif");
    r.repeat = 2;
    ck_assert_int_eq(save_path(p, sizeof p, "out/", &r, "Brazil"), 0);
    ck_assert_str_eq(p, "out/Brazil-2.gif");
    ck_assert_int_eq(save_temp_path(p, sizeof p, "out/br.gif", 42, 7), 0);
    ck_assert_str_eq(p, "out/.br.gif.42-7.tmp");
    ck_assert_int_eq(save_path(p, 8, "out", &r, NULL), -ENAMETOOLONG);
}
END_TEST

static void check_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char back[6000];
    ck_assert_uint_eq(fread(back, 1, sizeof back, f), len);
    fclose(f);
    ck_assert_mem_eq(back, data, len);
    struct stat st;
    stat(path, &st);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
}

/* Each way of saving, forced, then the one the file system picks. */
static const enum save_method save_methods[] = {SAVE_UNNAMED, SAVE_UNNAMED_PROC, SAVE_RENAMED,
                                                SAVE_AUTO};

START_TEST(save_is_atomic_and_complete) {
    for (size_t m = 0; m < sizeof save_methods / sizeof save_methods[0]; m++) {
        save_use_method(save_methods[m]);
        char *dir = tempdir(), path[128], data[5000];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (char)i;
        snprintf(path, sizeof path, "%s/br.gif", dir);
        ck_assert_int_eq(save_atomic(path, data, sizeof data), 0);
        ck_assert_int_eq(count_entries(dir), 1);
        check_file(path, data, sizeof data);
        /* Saved again: replaced whole, nothing beside it. */
        ck_assert_int_eq(save_atomic(path, data + 1000, 3000), 0);
        ck_assert_int_eq(count_entries(dir), 1);
        check_file(path, data + 1000, 3000);
        /* By name under an open directory, as the clients save. */
        int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_eq(save_atomic_at(dirfd, "bd.gif", data, 10), 0);
        close(dirfd);
        ck_assert_int_eq(count_entries(dir), 2);
        /* A missing directory fails cleanly. */
        snprintf(path, sizeof path, "%s/missing/br.gif", dir);
        ck_assert_int_eq(save_atomic(path, data, sizeof data), -ENOENT);
    }
}
END_TEST

/* close(2) as this test program sees it (the executable's definition comes
 * before libc's): when armed, the next close closes the descriptor, then
 * fails with EIO, as a network file system reports a failed write-back. */
static int close_fail_next;

int close(int fd) {
    if (syscall(SYS_close, fd) != 0)
        return -1;
    if (close_fail_next) {
        close_fail_next = 0;
        errno = EIO;
        return -1;
    }
    return 0;
}

START_TEST(save_close_failure_keeps_the_named_file) {
    /* A close that fails once the file has its name: the error is reported,
     * and the name is not unlinked, or a replaced good copy would be lost
     * with the new one. Before the name, nothing is left but the old file. */
    for (size_t m = 0; m < sizeof save_methods / sizeof save_methods[0]; m++) {
        save_use_method(save_methods[m]);
        char *dir = tempdir(), path[128];
        snprintf(path, sizeof path, "%s/br.gif", dir);
        ck_assert_int_eq(save_atomic(path, "good", 4), 0);
        close_fail_next = 1;
        ck_assert_int_eq(save_atomic(path, "newer", 5), -EIO);
        ck_assert_int_eq(close_fail_next, 0);
        ck_assert_msg(count_entries(dir) == 1, "method %zu: %d entries", m, count_entries(dir));
        struct stat st;
        ck_assert_msg(stat(path, &st) == 0, "method %zu: the file is gone", m);
        ck_assert(st.st_size == 4 || st.st_size == 5);
    }
}
END_TEST

START_TEST(save_full_disk_leaves_nothing) {
    /* RLIMIT_FSIZE stands in for a full disk: the write fails part-way. */
    for (size_t m = 0; m < sizeof save_methods / sizeof save_methods[0]; m++) {
        char *dir = tempdir(), path[128];
        snprintf(path, sizeof path, "%s/br.gif", dir);
        pid_t pid = fork();
        if (pid == 0) {
            save_use_method(save_methods[m]);
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {1000, 1000};
            setrlimit(RLIMIT_FSIZE, &rl);
            static char data[5000];
            _exit(save_atomic(path, data, sizeof data) == -EFBIG ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_int_eq(count_entries(dir), 0);
    }
}
END_TEST

START_TEST(destination_prepare) {
    char *dir = tempdir(), path[160];
    snprintf(path, sizeof path, "%s/a/b/c/", dir);
    ck_assert_int_eq(dest_prepare(path), 0);
    snprintf(path, sizeof path, "%s/file", dir);
    fclose(fopen(path, "w"));
    ck_assert_int_eq(dest_prepare(path), -ENOTDIR);
    snprintf(path, sizeof path, "%s/file/sub", dir);
    ck_assert_int_eq(dest_prepare(path), -ENOTDIR);
    ck_assert_int_lt(dest_prepare("/proc/flagbench-nowhere"), 0);
}
END_TEST

/* ---- names from the network ---------------------------------------------- */

START_TEST(sanitized_names) {
    char out[16];
    ck_assert_uint_eq(sanitize_name(out, sizeof out, "../etc/passwd", 13), 11);
    ck_assert_str_eq(out, "_etc_passwd");
    sanitize_name(out, sizeof out,
                  "a\nb\x01"
                  "c",
                  5);
    ck_assert_str_eq(out, "a_b_c");
    sanitize_name(out, sizeof out, "New Zealand", 11);
    ck_assert_str_eq(out, "New_Zealand");
    ck_assert_uint_eq(sanitize_name(out, sizeof out, "...", 3), 0);
    ck_assert_uint_eq(sanitize_name(out, 6, "abcdefghij", 10), 5);
    /* "abcd" + "é" (2 bytes) cut after one byte: the lead byte is dropped. */
    ck_assert_uint_eq(sanitize_name(out, 6, "abcd\xc3\xa9", 6), 4);
    ck_assert_str_eq(out, "abcd");
    ck_assert_uint_eq(sanitize_name(out, 7, "abcd\xc3\xa9", 6), 6);
}
END_TEST

/* metadata.json documents and the file name each gives (NULL: -EINVAL). */
static const struct {
    const char *json, *name;
} metadata_cases[] = {
    {"{\"tld_cc\": \".ci\", \"country\": \"C\\u00f4te d'Ivoire\", \"gec_cc\": \"IV\"}",
     "C\xc3\xb4te_d'Ivoire"},
    {"{\"country\":\"..\\/..\\/evil\"}", "_.._evil"},
    {"{\"country_x\": 1, \"country\" : \"Brazil\"}", "Brazil"},
    {"{\"iso_cc\": \"BR\"}", NULL},
    {"{\"country\": \"...\"}", NULL},
    /* Parsed as JSON: only the top level's "country" names the file, and a
     * document cut short names nothing. */
    {"{\"region\": {\"country\": \"Evil\"}, \"country\": \"Brazil\"}", "Brazil"},
    {"{\"country\": \"Brazil\"", NULL},
    {"{\"country\": \"Bra\\u0000zil\"}", NULL},
    {"{\"country\": 76}", NULL},
    /* A surrogate pair is one character, not two replacements. */
    {"{\"country\": \"\\ud83c\\udde7x\"}", "\xf0\x9f\x87\xa7x"},
};

START_TEST(metadata_names) {
    char out[COUNTRY_NAME_MAX + 1];
    for (size_t i = 0; i < CHECK_COUNT(metadata_cases); i++) {
        const char *j = metadata_cases[i].json;
        ck_assert_int_eq(metadata_country(j, strlen(j), out, sizeof out),
                         metadata_cases[i].name ? 0 : -EINVAL);
        if (metadata_cases[i].name)
            ck_assert_str_eq(out, metadata_cases[i].name);
    }
    ck_assert_int_eq(metadata_country(NULL, 0, out, sizeof out), -EINVAL);
}
END_TEST

/* ---- progress bar ------------------------------------------------------- */

START_TEST(progress_bar_text) {
    char line[256];
    progress_format(line, sizeof line, 29, 194, 3000000, 80);
    ck_assert_str_eq(
        line, " 14%|#####                                  | 29/194 [00:03<00:17, 9.7 flags/s]");
    /* Nothing done yet: no rate, no estimate. */
    progress_format(line, sizeof line, 0, 194, 0, 80);
    ck_assert_str_eq(line,
                     "  0%|                                        | 0/194 [00:00<?, ? flags/s]");
    progress_format(line, sizeof line, 194, 194, 20100000, 80);
    ck_assert_str_eq(
        line, "100%|######################################| 194/194 [00:20<00:00, 9.7 flags/s]");
    /* Hours, a slow rate, and no room for a bar. */
    progress_format(line, sizeof line, 3, 10, 3725000000LL, 40);
    ck_assert_str_eq(line, " 30% 3/10 [1:02:05<2:24:51, 0.00081 flags/s]");
    progress_format(line, sizeof line, 5000, 5000, 2000000, 200);
    ck_assert_str_eq(line, "100%|########################################| 5000/5000 [00:02<00:00, "
                           "2500 flags/s]");
    /* Never as wide as the terminal: a line that wraps can't be redrawn. */
    for (unsigned cols = 20; cols <= 120; cols++) {
        int len = progress_format(line, sizeof line, 29, 194, 3000000, cols);
        ck_assert_msg(len < (int)cols || strchr(line, '|') == NULL, "%u columns: %d", cols, len);
    }
}
END_TEST

/* ---- figures and CSV -------------------------------------------------------- */

static struct record rec(const char *cc, enum outcome o, int64_t start, int64_t done, int tid) {
    struct record r = {.outcome = o,
                       .started_us = start,
                       .done_us = done,
                       .thread = tid,
                       .saved_us = -1,
                       .started_cpu_us = -1,
                       .done_cpu_us = -1,
                       .queued_us = 0};
    memcpy(r.code, cc, 3);
    return r;
}

START_TEST(figures_inflight_and_latency) {
    struct record rs[] = {
        rec("AA", OUTCOME_OK, 0, 100000, 1),
        rec("AB", OUTCOME_OK, 10000, 110000, 1),
        rec("AC", OUTCOME_NOT_FOUND, 20000, 120000, 2),
        rec("AD", OUTCOME_ERROR, 120000, 220000, 2),
        rec("AE", OUTCOME_NONE, -1, -1, 0),
    };
    struct rusage ru = {.ru_utime = {0, 100000}, .ru_stime = {0, 20000}, .ru_maxrss = 1234};
    struct figures f = {.backend = "test", .threads = 1};
    ck_assert_int_eq(figures_compute(&f, rs, 5, 0.25, &ru), 0);
    ck_assert_uint_eq(f.ok, 2);
    ck_assert_uint_eq(f.not_found, 1);
    ck_assert_uint_eq(f.errors, 1);
    ck_assert_uint_eq(f.not_run, 1);
    ck_assert_uint_eq(f.inflight_peak, 3); /* AD starts as AC ends: no overlap */
    ck_assert_double_eq_tol(f.inflight_mean, 0.4 / 0.25, 1e-9);
    ck_assert_uint_eq(f.threads, 2);
    ck_assert_double_eq_tol(f.cpu_s, 0.12, 1e-9);
    ck_assert_double_eq_tol(f.cpu_per_wall, 0.48, 1e-9);
    ck_assert_double_eq_tol(f.latency_p50_ms, 100, 1e-9);
    ck_assert_double_eq_tol(f.latency_max_ms, 100, 1e-9);
    ck_assert_int_eq(f.rss_kb, 1234);
}
END_TEST

START_TEST(trace_and_summary_csv) {
    struct record rs[] = {rec("BR", OUTCOME_OK, 1, 2, 7), rec("XX", OUTCOME_ERROR, 3, 4, 7),
                          rec("YY", OUTCOME_NONE, -1, -1, 0)};
    snprintf(rs[1].error, sizeof rs[1].error, "save: \"disk\", full");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(trace_write(f, rs, 3, "some_backend"), 0);
    fclose(f);
    ck_assert_msg(
        strncmp(buf, "backend,code,repeat,outcome,http_status,bytes,thread,queued_us,", 63) == 0,
        "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "\nsome_backend,BR,0,ok,0,0,7,0,1,0,0,2,-1,-1,-1,0,\n"));
    ck_assert_ptr_nonnull(strstr(buf, ",\"save: \"\"disk\"\", full\"\n"));
    ck_assert_ptr_null(strstr(buf, "YY"));
    free(buf);

    char *dir = tempdir(), path[128];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    struct figures fig = {.backend = "some_backend", .requests = 3, .ok = 1, .threads = 1};
    ck_assert_int_eq(summary_to_path(path, &fig), 0);
    ck_assert_int_eq(summary_to_path(path, &fig), 0);
    FILE *in = fopen(path, "r");
    char line[1024];
    int lines = 0, headers = 0;
    while (fgets(line, sizeof line, in)) {
        lines++;
        headers += strncmp(line, "backend,requests,", 17) == 0;
        if (lines == 2)
            ck_assert_msg(strncmp(line, "some_backend,3,1,0,0,0,", 23) == 0, "%s", line);
    }
    fclose(in);
    ck_assert_int_eq(lines, 3);
    ck_assert_int_eq(headers, 1);
    snprintf(path, sizeof path, "%s/no/such/dir/s.csv", dir);
    ck_assert_int_eq(summary_to_path(path, &fig), -ENOENT);

    /* Checked before a run: missing directory, a directory, a file. */
    ck_assert_int_eq(output_check(path), -ENOENT);
    ck_assert_int_eq(output_check(dir), -EISDIR);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    ck_assert_int_eq(output_check(path), 0);
    snprintf(path, sizeof path, "%s/new.csv", dir);
    ck_assert_int_eq(output_check(path), 0);
    snprintf(path, sizeof path, "%s/summary.csv/x.csv", dir);
    ck_assert_int_eq(output_check(path), -ENOTDIR);
    ck_assert_int_eq(output_check("-"), 0);
    ck_assert_int_eq(output_check("relative-new.csv"), 0);
}
END_TEST

/* The process's age is held to the kernel's tick: after a sleep it has
 * grown by the time slept, less one tick at most, however little CPU the
 * process used meanwhile. */
START_TEST(process_age_follows_the_clock) {
    struct timespec a, b, nap = {0, 50 * 1000 * 1000};
    int64_t tick_ns = 1000000000 / sysconf(_SC_CLK_TCK);
    int64_t age1 = process_age_ns();
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t age2 = process_age_ns();
    int64_t slept = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
    ck_assert(age1 >= 0);
    ck_assert_msg(age2 - age1 >= slept - tick_ns, "age %lld -> %lld over %lld ns asleep",
                  (long long)age1, (long long)age2, (long long)slept);
}
END_TEST

int main(void) {
    const TTest *const tests[] = {expand_cases,
                                  expand_default_is_sorted,
                                  process_age_follows_the_clock,
                                  expand_rejects_bad_codes,
                                  options_defaults_and_values,
                                  options_usage_errors,
                                  options_server_site,
                                  options_out_of_memory,
                                  options_server_url_too_long,
                                  options_help_and_version_exit,
                                  url_building,
                                  classification,
                                  classification_tls,
                                  save_paths,
                                  save_is_atomic_and_complete,
                                  save_full_disk_leaves_nothing,
                                  save_close_failure_keeps_the_named_file,
                                  destination_prepare,
                                  sanitized_names,
                                  metadata_names,
                                  progress_bar_text,
                                  figures_inflight_and_latency,
                                  trace_and_summary_csv};
    return check_run_case("common", check_case("all", 0, tests, CHECK_COUNT(tests)));
}
