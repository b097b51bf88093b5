/* tls_sessions.c — the run's shared TLS session cache. */
#include "tls_sessions.h"

#include <pthread.h>

/* One lock for each kind of data libcurl may lock (only the share itself
 * and the sessions are used). A one-thread back end takes them uncontended:
 * some tens of nanoseconds a handshake, against the handshake's ~1 ms. */
static pthread_mutex_t locks[CURL_LOCK_DATA_LAST];

static void on_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *arg) {
    (void)easy, (void)access, (void)arg;
    pthread_mutex_lock(&locks[data]);
}

static void on_unlock(CURL *easy, curl_lock_data data, void *arg) {
    (void)easy, (void)arg;
    pthread_mutex_unlock(&locks[data]);
}

CURLSH *tls_sessions_new(void) {
    CURLSH *share = curl_share_init();
    if (!share)
        return NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&locks[i], NULL);
    if (curl_share_setopt(share, CURLSHOPT_LOCKFUNC, on_lock) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, on_unlock) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        curl_share_cleanup(share);
        return NULL;
    }
    return share;
}

void tls_sessions_free(CURLSH *share) {
    if (share)
        curl_share_cleanup(share);
}
