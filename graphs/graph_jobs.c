/* SPDX-License-Identifier: MIT */
/* Many graphs at once (graph_jobs.h).
 *
 * Why processes, not threads: librrd's graph code keeps global state (its
 * pango font map, rrd_error), so one process draws one graph at a time.
 * Workers are forked after the caller has read everything it needs; each
 * takes the next job from a counter in shared memory (so a slow graph does
 * not hold up a fixed share of the others) and writes its result into a
 * shared array. A worker opens its own database connection (gr_after_fork).
 *
 * Why fingerprints: on a live system every series gets new values every
 * few seconds, so "the RRD changed" would redraw everything on every
 * build. The caller's fingerprint says what the image shows: for the
 * status page, the range end and the newest value, each counted in steps
 * of 1 % of the range, and the event rows. An image whose fingerprint did
 * not change is taken over from the previous build by a hard link. */
#include "config.h"

#include "graph_jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "buf.h"
#include "dataset.h"
#include "log.h"

#define GRAPH_JOBS_MANIFEST ".manifest"
#define GRAPH_JOBS_MAX_WORKERS 64

struct graph_jobs_result {
  enum graph_job_state state;
  int width, height;
  char alt[1024];
};

struct graph_jobs_shared {
  size_t next; /* the next job index to take (atomic) */
  struct graph_jobs_result res[];
};

struct graph_jobs_prev {
  char *name;
  uint64_t fp;
  enum graph_job_state state;
  int width, height;
  char *alt;
};

uint64_t graph_jobs_fp(uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

static int graph_jobs_prev_cmp(const void *a, const void *b)
{
  return strcmp(((const struct graph_jobs_prev *)a)->name,
                ((const struct graph_jobs_prev *)b)->name);
}

/* The previous manifest, sorted by name; a missing or unreadable one is
 * an empty list (everything is drawn). buf owns the strings. */
static struct graph_jobs_prev *graph_jobs_load(const char *prev_dir, char **buf,
                                               size_t *n)
{
  *n = 0;
  *buf = NULL;
  if (!prev_dir)
    return NULL;
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", prev_dir, GRAPH_JOBS_MANIFEST);
  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = vt_buf_add_file(&b, path);
  size_t len = 0;
  char *text = st == VT_OK ? vt_buf_take(&b, &len) : NULL;
  vt_buf_cleanup(&b);
  if (!text)
    return NULL;
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += text[i] == '\n';
  struct graph_jobs_prev *v = calloc(lines ? lines : 1, sizeof(*v));
  if (!v) {
    free(text);
    return NULL;
  }
  for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
    *nl = '\0';
    char *field[6];
    size_t k = 0;
    for (char *p = line; k < 6; k++) {
      field[k] = p;
      char *tab = strchr(p, '\t');
      if (!tab) {
        k++;
        break;
      }
      *tab = '\0';
      p = tab + 1;
    }
    if (k != 6)
      continue; /* not a line of ours: that image is drawn again */
    struct graph_jobs_prev *e = &v[(*n)++];
    e->name = field[0];
    e->fp = strtoull(field[1], NULL, 16);
    e->state = (enum graph_job_state)atoi(field[2]);
    e->width = atoi(field[3]);
    e->height = atoi(field[4]);
    e->alt = field[5];
  }
  qsort(v, *n, sizeof(*v), graph_jobs_prev_cmp);
  *buf = text;
  return v;
}

/* Takes the previous image over when nothing it shows changed. */
static bool graph_jobs_reuse(struct graph_job *j,
                             const struct graph_jobs_prev *v, size_t n,
                             const char *prev_dir, const char *out_dir)
{
  struct graph_jobs_prev key = {.name = j->name};
  const struct graph_jobs_prev *e =
      n ? bsearch(&key, v, n, sizeof(*v), graph_jobs_prev_cmp) : NULL;
  if (!e || e->fp != j->fp ||
      (e->state != GRAPH_JOB_OK && e->state != GRAPH_JOB_NODATA))
    return false;
  if (e->state == GRAPH_JOB_OK) {
    char from[PATH_MAX], to[PATH_MAX];
    snprintf(from, sizeof(from), "%s/%s", prev_dir, j->name);
    snprintf(to, sizeof(to), "%s/%s", out_dir, j->name);
    if (link(from, to) != 0)
      return false; /* gone, or another file system: draw it */
  }
  j->state = e->state;
  j->width = e->width;
  j->height = e->height;
  snprintf(j->alt, sizeof(j->alt), "%s", e->alt);
  j->reused = true;
  return true;
}

static void graph_jobs_render(struct gr_ctx *g, struct graph_job *j,
                              const char *out_dir, graph_job_alt_fn alt,
                              void *alt_arg, struct graph_jobs_result *res)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", out_dir, j->name);
  struct graph_opts o = j->opts;
  o.output = path;
  struct graph_info *info = calloc(1, sizeof(*info));
  if (!info) {
    res->state = GRAPH_JOB_FAILED;
    return;
  }
  enum vt_status st = graph_render(g, &o, info);
  if (st == VT_OK && access(path, R_OK) == 0) {
    res->state = GRAPH_JOB_OK;
    res->width = info->image_width;
    res->height = info->image_height;
    if (alt) {
      alt(j, info, alt_arg);
      snprintf(res->alt, sizeof(res->alt), "%s", j->alt);
    }
  } else if (st == VT_OK || st == VT_EINVAL || st == VT_ENOTFOUND) {
    res->state = GRAPH_JOB_NODATA;
  } else {
    res->state = GRAPH_JOB_FAILED;
  }
  free(info);
}

static void graph_jobs_worker(struct gr_ctx *g, struct graph_job *jobs,
                              const size_t *todo, size_t n_todo,
                              const char *out_dir, graph_job_alt_fn alt,
                              void *alt_arg, struct graph_jobs_shared *sh)
{
  for (;;) {
    size_t i = __atomic_fetch_add(&sh->next, 1, __ATOMIC_RELAXED);
    if (i >= n_todo)
      break;
    graph_jobs_render(g, &jobs[todo[i]], out_dir, alt, alt_arg, &sh->res[i]);
  }
}

static enum vt_status graph_jobs_manifest(const struct graph_job *jobs,
                                          size_t n, const char *out_dir)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", out_dir, GRAPH_JOBS_MANIFEST);
  FILE *f = fopen(path, "w");
  if (!f) {
    vt_err("status page: %s: %s", path, strerror(errno));
    return VT_EIO;
  }
  for (size_t i = 0; i < n; i++) {
    const struct graph_job *j = &jobs[i];
    if (j->state != GRAPH_JOB_OK && j->state != GRAPH_JOB_NODATA)
      continue;
    fprintf(f, "%s\t%016" PRIx64 "\t%d\t%d\t%d\t", j->name, j->fp,
            (int)j->state, j->width, j->height);
    for (const char *p = j->alt; *p; p++)
      fputc(*p == '\t' || *p == '\n' ? ' ' : *p, f);
    fputc('\n', f);
  }
  if (fclose(f) != 0) {
    vt_err("status page: %s: %s", path, strerror(errno));
    return VT_EIO;
  }
  return VT_OK;
}

enum vt_status graph_jobs_run(struct gr_ctx *g, struct graph_job *jobs,
                              size_t n, const char *out_dir,
                              const char *prev_dir, int workers,
                              graph_job_alt_fn alt, void *alt_arg,
                              graph_jobs_meanwhile_fn meanwhile, void *mw_arg,
                              struct graph_jobs_stats *stats)
{
  *stats = (struct graph_jobs_stats){0};
  char *prev_text = NULL;
  size_t n_prev = 0;
  struct graph_jobs_prev *prev = graph_jobs_load(prev_dir, &prev_text, &n_prev);
  size_t *todo = calloc(n ? n : 1, sizeof(*todo));
  if (!todo) {
    free(prev);
    free(prev_text);
    return VT_ENOMEM;
  }
  size_t n_todo = 0;
  for (size_t i = 0; i < n; i++) {
    jobs[i].state = GRAPH_JOB_PENDING;
    jobs[i].reused = false;
    if (graph_jobs_reuse(&jobs[i], prev, n_prev, prev_dir, out_dir))
      stats->reused++;
    else
      todo[n_todo++] = i;
  }
  free(prev);
  free(prev_text);

  if (workers <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    workers = cores > 0 ? (int)cores : 1;
  }
  if (workers > GRAPH_JOBS_MAX_WORKERS)
    workers = GRAPH_JOBS_MAX_WORKERS;
  if ((size_t)workers > n_todo)
    workers = n_todo ? (int)n_todo : 1;
  stats->workers = (size_t)workers;
  stats->rendered = n_todo;

  size_t shared_len = sizeof(struct graph_jobs_shared) +
                      (n_todo ? n_todo : 1) * sizeof(struct graph_jobs_result);
  struct graph_jobs_shared *sh = mmap(NULL, shared_len, PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) {
    free(todo);
    return VT_ENOMEM;
  }
  enum vt_status mw = VT_OK;
  if (workers == 1) {
    if (meanwhile)
      mw = meanwhile(mw_arg);
    graph_jobs_worker(g, jobs, todo, n_todo, out_dir, alt, alt_arg, sh);
  } else {
    pid_t pids[GRAPH_JOBS_MAX_WORKERS];
    pid_t parent = getpid();
    int started = 0;
    fflush(NULL); /* no buffered output copied into the children */
    for (int w = 0; w < workers; w++) {
      pid_t pid = fork();
      if (pid < 0) {
        vt_warn("status page: fork: %s; drawing with %d worker%s",
                strerror(errno), started ? started : 1, started > 1 ? "s" : "");
        break;
      }
      if (pid == 0) {
#ifdef __linux__
        /* A builder killed as stuck (the collector's SIGKILL) takes its
         * workers with it; they must not go on drawing into a folder no
         * one will swap in. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
          _exit(1);
#endif
        gr_after_fork(g);
        graph_jobs_worker(g, jobs, todo, n_todo, out_dir, alt, alt_arg, sh);
        fflush(NULL);
        _exit(0);
      }
      pids[started++] = pid;
    }
    if (meanwhile)
      mw = meanwhile(mw_arg);
    /* Then this process takes jobs from the same counter as the workers
     * (all of them when no worker could start): the build does not wait
     * with a core idle for the slowest worker's last graph. */
    graph_jobs_worker(g, jobs, todo, n_todo, out_dir, alt, alt_arg, sh);
    for (int w = 0; w < started; w++) {
      int status;
      while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
        ;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        vt_err("status page: graph worker %ld ended abnormally (status %d); "
               "its graphs are missing from this build",
               (long)pids[w], status);
    }
  }
  for (size_t i = 0; i < n_todo; i++) {
    struct graph_job *j = &jobs[todo[i]];
    const struct graph_jobs_result *res = &sh->res[i];
    j->state = res->state == GRAPH_JOB_PENDING ? GRAPH_JOB_FAILED : res->state;
    j->width = res->width;
    j->height = res->height;
    snprintf(j->alt, sizeof(j->alt), "%s", res->alt);
  }
  munmap(sh, shared_len);
  free(todo);
  enum vt_status st = graph_jobs_manifest(jobs, n, out_dir);
  return mw != VT_OK ? mw : st;
}
