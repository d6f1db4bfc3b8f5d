/* SPDX-License-Identifier: MIT */
/* Many graphs at once, for the status page: rendered by worker processes
 * (fork, one per core; librrd draws one graph at a time per process), and
 * only those whose fingerprint changed since the previous build. The
 * previous build's images are hard-linked into the new folder; a manifest
 * in the folder (.manifest) keeps each image's fingerprint, size and alt
 * text for the next build. */
#ifndef GRAPHS_GRAPH_JOBS_H
#define GRAPHS_GRAPH_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "vt_status.h"

struct gr_ctx;

enum graph_job_state {
  GRAPH_JOB_PENDING, /* not done (a worker died) */
  GRAPH_JOB_OK,
  GRAPH_JOB_NODATA, /* nothing to draw in the range: no image */
  GRAPH_JOB_FAILED, /* unreadable data: no image */
};

struct graph_job {
  struct graph_opts opts; /* opts.output: ignored, set from name */
  char name[200];         /* file name inside the output folder */
  uint64_t fp;            /* what the image shows; equal = same image */
  /* results */
  enum graph_job_state state;
  bool reused; /* taken over from the previous build */
  int width, height;
  char alt[1024];
};

/* Fills job->alt from what was drawn (called in the worker). */
typedef void (*graph_job_alt_fn)(struct graph_job *job,
                                 const struct graph_info *info, void *arg);

struct graph_jobs_stats {
  size_t rendered, reused, workers;
};

/* Work of the caller's own that needs no image (called in the parent while
 * the workers draw). */
typedef enum vt_status (*graph_jobs_meanwhile_fn)(void *arg);

/* Renders jobs[0..n) into out_dir (which exists), reusing the image of
 * prev_dir (a previous output folder, may be NULL or missing) when its
 * manifest has the same name and fingerprint. workers: processes to use
 * (0 = one per online core). meanwhile (may be NULL) runs in the calling
 * process while the workers draw; then that process draws too, until no
 * job is left, so no core idles while the caller works. Writes
 * out_dir/.manifest. Returns VT_ENOMEM or VT_EIO (the folder cannot be
 * written), or what meanwhile returned; a graph that cannot be drawn is
 * only its job's state. */
enum vt_status graph_jobs_run(struct gr_ctx *g, struct graph_job *jobs,
                              size_t n, const char *out_dir,
                              const char *prev_dir, int workers,
                              graph_job_alt_fn alt, void *alt_arg,
                              graph_jobs_meanwhile_fn meanwhile, void *mw_arg,
                              struct graph_jobs_stats *stats)
    __attribute__((warn_unused_result));

/* FNV-1a over len bytes, continuing from h (start with GRAPH_JOBS_FP0). */
#define GRAPH_JOBS_FP0 14695981039346656037ull
uint64_t graph_jobs_fp(uint64_t h, const void *data, size_t len);

#endif
