/* tls_sessions.h — what HTTPS adds to a run besides libcurl's own: the TLS session
 * cache that every connection of the run shares, so that a new connection
 * resumes a session an earlier one made (an abbreviated handshake) instead
 * of a full one, as the curl tool does across its transfers. */
#ifndef FLAGBENCH_TLS_SESSIONS_H
#define FLAGBENCH_TLS_SESSIONS_H

#include <curl/curl.h>

/* A share handle holding TLS sessions (CURL_LOCK_DATA_SSL_SESSION), with
 * locks so that the thread pool's workers may use it at once. NULL when
 * out of memory. */
CURLSH *tls_sessions_new(void);
void tls_sessions_free(CURLSH *share);

#endif
