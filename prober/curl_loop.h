/* SPDX-License-Identifier: MIT */
/* libcurl's multi_socket interface on the libev loop: one CURLM, one
 * ev_timer for curl's timeouts and one ev_io per socket. Used by the http
 * and client checks and by the uploader. */
#ifndef PROBE_CURL_LOOP_H
#define PROBE_CURL_LOOP_H

#include <curl/curl.h>

#include "vt_status.h"

struct ev_loop;
struct curl_loop;

/* Called once per finished transfer, from the loop, after the easy handle
 * was removed from the multi handle (the callee may reuse or clean it up). */
typedef void curl_loop_done_fn(CURL *easy, CURLcode rc, void *arg);

/* Creates the multi handle and its watchers. NULL when out of memory. */
struct curl_loop *curl_loop_create(struct ev_loop *loop);

/* Removes every transfer (no callbacks) and frees. cl may be NULL. */
void curl_loop_destroy(struct curl_loop *cl);

/* Adds a configured easy handle; done runs when it finishes. The easy
 * handle stays the caller's, but curl_loop takes over its CURLOPT_PRIVATE
 * and CURLOPT_CLOSESOCKETFUNCTION/DATA until done runs. done must not call
 * curl_loop_destroy. Returns VT_ELIB when the multi refuses it. */
enum vt_status curl_loop_add(struct curl_loop *cl, CURL *easy,
                             curl_loop_done_fn *done, void *arg)
    __attribute__((warn_unused_result));

/* Removes a running transfer at once, without calling its done. */
void curl_loop_remove(struct curl_loop *cl, CURL *easy);

/* An easy handle from the pool of idle ones (curl_easy_init when empty):
 * checks take one per run instead of one for life, so handles and their
 * buffers follow the runs in flight. The handle keeps the options its last
 * user set, and *memo is what that user put back with it (0 for a new
 * handle): a user that knows the memo's meaning may set only the options
 * that differ, anyone else must curl_easy_reset first. NULL when out of
 * memory. */
CURL *curl_loop_easy_get(struct curl_loop *cl, unsigned *memo);

/* Gives an easy handle that is in no transfer back to the pool (cl takes
 * it over and cleans it up at curl_loop_destroy), with memo saying which
 * options it holds (0: unknown). easy may be NULL. */
void curl_loop_easy_put(struct curl_loop *cl, CURL *easy, unsigned memo);

/* Transfers running now. */
int curl_loop_running(const struct curl_loop *cl);

#endif
