/* fetch.h — what one flag's download is, written once for every back end:
 * the URL, the libcurl easy handle's setup, the body buffer, classifying
 * the result, and filling the flag's record.
 *
 * Blocking back ends call flag_download(). An event-driven back end drives
 * the same steps itself (multi.h does, for any event loop):
 *
 *     transfer_begin(t, i);                 // sets the URL of the first request
 *     add t->easy to a multi handle ... on CURLMSG_DONE:
 *     switch (transfer_request_done(t, rc)) {
 *     case FLAG_REQUEST_AGAIN: re-add t->easy          // --metadata: 2nd request
 *     case FLAG_SAVE: transfer_save(t), or save t->body your way, then
 *                     transfer_saved() or record_saved()
 *     case FLAG_DONE: transfer_finish(t);              // nothing to save
 *     }
 *
 * The flag's record moves through the stages of record.h on the way; its
 * outcome is OK only once record_saved() says the file is saved.
 *
 * t->body is empty (no buffer) until the image's first bytes arrive.
 */
#ifndef FLAGBENCH_FETCH_H
#define FLAGBENCH_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

#include "runstate.h"

#define COUNTRY_NAME_MAX 64

struct buffer {
    char *data;
    size_t len, cap;
};

struct transfer {
    CURL *easy; /* reused from flag to flag: its connection stays alive */
    struct run *run;
    struct record *rec;                 /* the record of the flag in progress */
    bool too_big;                       /* the body passed --max-size */
    struct buffer body;                 /* the image */
    struct buffer meta;                 /* metadata.json (--metadata) */
    char country[COUNTRY_NAME_MAX + 1]; /* sanitised, from metadata.json */
    char errbuf[CURL_ERROR_SIZE];
    int thread;           /* the thread using this transfer, found at its first flag */
    size_t flags_begun;   /* flags this transfer has started */
    bool reuse_forbidden; /* its connection closes after each request */
    int socket_errno;     /* why the request's socket() failed (EMFILE...); 0 if it didn't */
    void *user;           /* the back end's own */
};

/* A new easy handle set up for run's options. 0, or -ENOMEM. */
int transfer_init(struct transfer *t, struct run *run);
void transfer_cleanup(struct transfer *t);

/* Close t's connection after each request from now on (--no-reuse sets it
 * for good; a back end may near the end of a run), or keep it. Call after
 * transfer_begin: that request's FRESH_CONNECT follows the previous
 * request's choice (a closed connection leaves nothing to search for). */
void transfer_forbid_reuse(struct transfer *t, bool forbid);

/* Start record i: stamps started_us and the thread, sets the first URL. */
void transfer_begin(struct transfer *t, size_t i);

/* What a flag needs once a request of it ended. */
enum flag_next {
    FLAG_REQUEST_AGAIN, /* another request is set up on t->easy: perform/add it again */
    FLAG_SAVE,          /* downloaded (STAGE_SAVING): save it */
    FLAG_DONE,          /* nothing to save: FINISHED (not found, error), or
                           abandoned at SIGINT (outcome still NONE); transfer_finish */
};

/* The current request ended with rc: stamps http_status, bytes, the
 * timings and done_us, moves the record on, and says what follows. */
enum flag_next transfer_request_done(struct transfer *t, CURLcode rc);

/* The flag in progress failed outside libcurl (its handle could not be
 * added, its socket not watched): FINISHED as an error with that reason,
 * done_us now. Then transfer_finish(t). */
void transfer_fail(struct transfer *t, const char *reason);

/* The save of a downloaded flag ended with err (0 or -errno): stamps
 * saved_us, FINISHES the flag, OK or an error with the save's reason, and
 * ticks progress;
 * transfer_saved also gives t's body buffer back. A back end that saves
 * apart from the transfer (the body handed elsewhere, the transfer already
 * on its next flag) gives the body back itself and calls record_saved(). */
void record_saved(struct run *run, struct record *rec, int err);
void transfer_saved(struct transfer *t, int err);

/* Save a downloaded flag's body where it belongs, blocking (save_atomic),
 * then transfer_saved(). */
void transfer_save(struct transfer *t);

/* A flag that needs no save (FLAG_DONE) is done: gives its body buffer
 * back (see body_give_back) and ticks progress. */
void transfer_finish(struct transfer *t);

/* Image bodies live in buffers shared by the process's transfers: taken at
 * a body's first byte, given back when its flag is finished, so memory
 * follows the bodies arriving or waiting to be saved, not the requests in
 * flight. body_give_back returns b's buffer (if any) and empties b; a back
 * end that moves a body elsewhere (to an asynchronous save) gives it back
 * itself. Thread-safe. bodies_release_all frees the spare ones at exit. */
void body_give_back(struct buffer *b);
void bodies_release_all(void);

/* The whole of one flag, blocking: begin, perform, classify, save. */
void flag_download(struct transfer *t, size_t i);

/* Pure helpers, exposed for the tests. */
int flag_url(char *out, size_t n, const char *base, const char *cc, const char *file);
enum outcome classify(CURLcode rc, long http_status, int os_errno, bool too_big, long long max_size,
                      const char *errbuf, char *reason, size_t n);
/* The value of "country" in a metadata.json body, sanitised for a file
 * name. 0, or -EINVAL when the body is not a JSON object with a string
 * "country" at its top level, or the name is empty after sanitising. */
int metadata_country(const char *json, size_t len, char *out, size_t n);

#endif
