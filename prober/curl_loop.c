/* SPDX-License-Identifier: MIT */
/* libcurl's multi_socket interface driven by libev (see curl_loop.h). One
 * CURLM, one ev_timer for curl's timeouts, one ev_io per socket curl asks us
 * to watch. Finished transfers are removed from the multi handle and handed
 * to their owner from the loop, never from inside a libcurl callback. */
#include "config.h"

#include "curl_loop.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <ev.h>

#include "container.h"
#include "log.h"

/* One socket curl watches. Records are recycled through a free list, so a
 * steady probe allocates none; they are freed only by curl_loop_destroy. */
struct curl_loop_sock {
  ev_io io;
  struct curl_loop *cl;
  curl_socket_t fd; /* CURL_SOCKET_BAD once closed behind curl's back */
  bool in_use;      /* assigned to curl (socketp), else on the free list */
  struct curl_loop_sock *prev, *next; /* used list, or free list (next) */
};

/* One running transfer: what to call when it ends. Recycled like socks. */
struct curl_loop_xfer {
  CURL *easy;
  curl_loop_done_fn *done;
  void *arg;
  struct curl_loop_xfer *prev, *next; /* active list, or free list (next) */
};

struct curl_loop {
  struct ev_loop *loop;
  CURLM *multi;
  ev_timer timer;
  int n_active;
  struct curl_loop_xfer *active, *free_xfers;
  struct curl_loop_sock *used_socks, *free_socks;
  /* Live watcher per fd, for the CLOSESOCKETFUNCTION defence. Grows to the
   * highest fd seen and stays, so lookups need no allocation. */
  struct curl_loop_sock **by_fd;
  size_t n_by_fd;
  /* Idle easy handles for checks, each with its user's memo: as many as
   * were ever in flight at once, which the scheduler's budget bounds. A
   * stack, so a handle goes back and forth without an allocation. */
  struct curl_loop_easy *idle;
  size_t n_idle, cap_idle;
};

struct curl_loop_easy {
  CURL *easy;
  unsigned memo;
};

/* ---- intrusive lists ------------------------------------------------- */

static void xfer_unlink(struct curl_loop *cl, struct curl_loop_xfer *x)
{
  if (x->prev)
    x->prev->next = x->next;
  else
    cl->active = x->next;
  if (x->next)
    x->next->prev = x->prev;
  cl->n_active--;
}

/* Takes x off the active list and puts it on the free list. */
static void xfer_release(struct curl_loop *cl, struct curl_loop_xfer *x)
{
  xfer_unlink(cl, x);
  *x = (struct curl_loop_xfer){.next = cl->free_xfers};
  cl->free_xfers = x;
}

static struct curl_loop_xfer *xfer_get(struct curl_loop *cl)
{
  struct curl_loop_xfer *x = cl->free_xfers;
  if (x)
    cl->free_xfers = x->next;
  else if (!(x = malloc(sizeof(*x))))
    return NULL;
  *x = (struct curl_loop_xfer){.next = cl->active};
  if (cl->active)
    cl->active->prev = x;
  cl->active = x;
  cl->n_active++;
  return x;
}

static struct curl_loop_sock *sock_get(struct curl_loop *cl)
{
  struct curl_loop_sock *s = cl->free_socks;
  if (s)
    cl->free_socks = s->next;
  else if (!(s = malloc(sizeof(*s))))
    return NULL;
  *s = (struct curl_loop_sock){
      .cl = cl, .fd = CURL_SOCKET_BAD, .in_use = true, .next = cl->used_socks};
  if (cl->used_socks)
    cl->used_socks->prev = s;
  cl->used_socks = s;
  return s;
}

/* Forgets the fd a sock watches: stops the watcher and drops the by_fd
 * entry. The record itself stays valid (curl may still hold it). */
static void sock_detach(struct curl_loop *cl, struct curl_loop_sock *s)
{
  ev_io_stop(cl->loop, &s->io);
  if (s->fd != CURL_SOCKET_BAD && (size_t)s->fd < cl->n_by_fd &&
      cl->by_fd[s->fd] == s)
    cl->by_fd[s->fd] = NULL;
  s->fd = CURL_SOCKET_BAD;
}

/* Returns s to the free list. Its memory stays valid, so this is safe even
 * while s's own I/O callback is on the stack. */
static void sock_release(struct curl_loop *cl, struct curl_loop_sock *s)
{
  assert(s->in_use);
  sock_detach(cl, s);
  if (s->prev)
    s->prev->next = s->next;
  else
    cl->used_socks = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->in_use = false;
  s->prev = NULL;
  s->next = cl->free_socks;
  cl->free_socks = s;
}

static bool sock_index(struct curl_loop *cl, curl_socket_t fd)
{
  if ((size_t)fd < cl->n_by_fd)
    return true;
  size_t n = cl->n_by_fd ? cl->n_by_fd : 64;
  while (n <= (size_t)fd)
    n *= 2;
  struct curl_loop_sock **p = realloc(cl->by_fd, n * sizeof(*p));
  if (!p)
    return false;
  for (size_t i = cl->n_by_fd; i < n; i++)
    p[i] = NULL;
  cl->by_fd = p;
  cl->n_by_fd = n;
  return true;
}

/* ---- completion ------------------------------------------------------- */

/* Hands every finished transfer to its owner. Runs only from our own watcher
 * callbacks, after curl_multi_socket_action returned, so the owner may add,
 * remove or reset handles freely. */
static void curl_loop_drain(struct curl_loop *cl)
{
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(cl->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result; /* msg dies with remove_handle */
    struct curl_loop_xfer *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(cl->multi, easy);
    if (!x || x->easy != easy)
      continue; /* not added by curl_loop_add: nobody to tell */
    curl_loop_done_fn *done = x->done;
    void *arg = x->arg;
    xfer_release(cl, x);
    /* The record is recycled: make a late curl_loop_remove a no-op. */
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    done(easy, rc, arg);
  }
}

static void curl_loop_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
  struct curl_loop_sock *s = container_of(w, struct curl_loop_sock, io);
  struct curl_loop *cl = s->cl;
  int mask = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
             (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  int fd = w->fd, running;
  /* s may be recycled during this call; do not touch it afterwards. */
  CURLMcode mc = curl_multi_socket_action(cl->multi, fd, mask, &running);
  if (mc != CURLM_OK)
    vt_err("curl: socket_action(fd %d): %s", fd, curl_multi_strerror(mc));
  curl_loop_drain(cl);
  (void)loop;
}

static void curl_loop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct curl_loop *cl = container_of(w, struct curl_loop, timer);
  int running;
  CURLMcode mc =
      curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  if (mc != CURLM_OK)
    vt_err("curl: socket_action(timeout): %s", curl_multi_strerror(mc));
  curl_loop_drain(cl);
  (void)loop;
  (void)revents;
}

/* ---- callbacks libcurl calls ------------------------------------------
 * They only touch our own state (plus curl_multi_assign, which is meant to be
 * called from the socket callback): calling back into the multi handle from
 * here is refused by 7.88 (CURLM_RECURSIVE_API_CALL). */

/* CURLMOPT_SOCKETFUNCTION. */
static int curl_loop_socket_fn(CURL *easy, curl_socket_t fd, int what,
                               void *userp, void *socketp)
{
  struct curl_loop *cl = userp;
  struct curl_loop_sock *s = socketp;
  (void)easy;

  if (what == CURL_POLL_REMOVE) {
    if (s) {
      sock_release(cl, s);
      curl_multi_assign(cl->multi, fd, NULL);
    }
    return 0;
  }
  if (!s) {
    if (!(s = sock_get(cl))) {
      vt_err("curl: out of memory watching fd %d", fd);
      return -1; /* curl fails every transfer: the probe, not a target */
    }
    curl_multi_assign(cl->multi, fd, s);
  }
  if (!sock_index(cl, fd)) {
    vt_err("curl: out of memory watching fd %d", fd);
    return -1;
  }
  /* A stale record for the same fd number (closed and reused before curl
   * told us) must not keep watching it. */
  struct curl_loop_sock *old = cl->by_fd[fd];
  if (old && old != s)
    sock_detach(cl, old);
  int events = (what & CURL_POLL_IN ? EV_READ : 0) |
               (what & CURL_POLL_OUT ? EV_WRITE : 0);
  /* Stop and set again even when nothing changed: the fd number may belong
   * to a new socket ("the special problem of disappearing file
   * descriptors", ev.pod). */
  ev_io_stop(cl->loop, &s->io);
  ev_io_init(&s->io, curl_loop_io_cb, fd, events);
  s->fd = fd;
  cl->by_fd[fd] = s;
  ev_io_start(cl->loop, &s->io);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION. Only (re)arms our timer: calling curl from here
 * would recurse (CURLMOPT_TIMERFUNCTION.md). */
static int curl_loop_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
  struct curl_loop *cl = userp;
  (void)multi;
  ev_timer_stop(cl->loop, &cl->timer);
  if (timeout_ms >= 0) {
    /* Floating point: evhiperfifo.c's integer division turns every wait
     * under 1 s into 0 and spins the loop. 0 ms becomes a 0 s timer. */
    ev_timer_set(&cl->timer, (double)timeout_ms / 1000.0, 0.);
    ev_timer_start(cl->loop, &cl->timer);
  }
  return 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION. Some libcurl versions were reported to send
 * CURL_POLL_REMOVE only after closing the socket (curl #14976, #3597). A
 * watcher left on a closed fd makes epoll misbehave once the number is
 * reused, so stop it first. The record stays: curl may still send REMOVE
 * with it as socketp, which then returns it to the free list. */
static int curl_loop_close_fn(void *clientp, curl_socket_t fd)
{
  struct curl_loop *cl = clientp;
  if (fd >= 0 && (size_t)fd < cl->n_by_fd && cl->by_fd[fd])
    sock_detach(cl, cl->by_fd[fd]);
  return close(fd);
}

/* ---- public ---------------------------------------------------------- */

struct curl_loop *curl_loop_create(struct ev_loop *loop)
{
  struct curl_loop *cl = calloc(1, sizeof(*cl));
  if (!cl)
    return NULL;
  cl->loop = loop;
  ev_timer_init(&cl->timer, curl_loop_timer_cb, 0., 0.);
  if (!(cl->multi = curl_multi_init()))
    goto fail;
  bool bad = false;
  bad |= curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION,
                           curl_loop_socket_fn) != CURLM_OK;
  bad |= curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl) != CURLM_OK;
  bad |= curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION,
                           curl_loop_timer_fn) != CURLM_OK;
  bad |= curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl) != CURLM_OK;
  if (bad)
    goto fail;
  return cl;
fail:
  vt_err("curl: cannot create the multi handle");
  curl_loop_destroy(cl);
  return NULL;
}

void curl_loop_destroy(struct curl_loop *cl)
{
  if (!cl)
    return;
  while (cl->active) {
    struct curl_loop_xfer *x = cl->active;
    curl_multi_remove_handle(cl->multi, x->easy);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
    xfer_release(cl, x);
  }
  /* Cleanup may still close cached connections through our callbacks, so
   * everything they touch stays alive until it returns. */
  if (cl->multi)
    curl_multi_cleanup(cl->multi);
  ev_timer_stop(cl->loop, &cl->timer);
  while (cl->used_socks)
    sock_release(cl, cl->used_socks);
  while (cl->free_socks) {
    struct curl_loop_sock *s = cl->free_socks;
    cl->free_socks = s->next;
    free(s);
  }
  for (size_t i = 0; i < cl->n_idle; i++)
    curl_easy_cleanup(cl->idle[i].easy);
  free(cl->idle);
  while (cl->free_xfers) {
    struct curl_loop_xfer *x = cl->free_xfers;
    cl->free_xfers = x->next;
    free(x);
  }
  free(cl->by_fd);
  free(cl);
}

enum vt_status curl_loop_add(struct curl_loop *cl, CURL *easy,
                             curl_loop_done_fn *done, void *arg)
{
  assert(cl && easy && done);
  struct curl_loop_xfer *x = xfer_get(cl);
  if (!x) {
    vt_err("curl: out of memory adding a transfer");
    return VT_ENOMEM;
  }
  x->easy = easy;
  x->done = done;
  x->arg = arg;
  bool bad = false;
  bad |= curl_easy_setopt(easy, CURLOPT_PRIVATE, x) != CURLE_OK;
  bad |= curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
                          curl_loop_close_fn) != CURLE_OK;
  bad |= curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, cl) != CURLE_OK;
  CURLMcode mc = bad ? CURLM_OK : curl_multi_add_handle(cl->multi, easy);
  if (bad || mc != CURLM_OK) {
    vt_err("curl: cannot add a transfer: %s",
           bad ? "setopt failed" : curl_multi_strerror(mc));
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    xfer_release(cl, x);
    return VT_ELIB;
  }
  /* curl_multi_add_handle armed a 0 ms timer: the transfer starts from the
   * loop, never from inside this call. */
  return VT_OK;
}

void curl_loop_remove(struct curl_loop *cl, CURL *easy)
{
  if (!cl || !easy)
    return;
  struct curl_loop_xfer *x = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
  if (!x || x->easy != easy)
    return; /* not ours, or already finished */
  curl_multi_remove_handle(cl->multi, easy);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
  xfer_release(cl, x);
}

int curl_loop_running(const struct curl_loop *cl)
{
  return cl ? cl->n_active : 0;
}

CURL *curl_loop_easy_get(struct curl_loop *cl, unsigned *memo)
{
  *memo = 0;
  if (cl->n_idle == 0)
    return curl_easy_init();
  struct curl_loop_easy *e = &cl->idle[--cl->n_idle];
  *memo = e->memo;
  return e->easy;
}

void curl_loop_easy_put(struct curl_loop *cl, CURL *easy, unsigned memo)
{
  if (!easy)
    return;
  if (cl->n_idle == cl->cap_idle) {
    size_t cap = cl->cap_idle ? 2 * cl->cap_idle : 64;
    struct curl_loop_easy *idle = realloc(cl->idle, cap * sizeof(*idle));
    if (!idle) {
      curl_easy_cleanup(easy);
      return;
    }
    cl->idle = idle;
    cl->cap_idle = cap;
  }
  cl->idle[cl->n_idle++] = (struct curl_loop_easy){.easy = easy, .memo = memo};
}
