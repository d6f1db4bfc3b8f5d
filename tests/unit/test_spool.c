/* SPDX-License-Identifier: MIT */
/* Unit tests for the probe spool: append, reopen, torn tail, lock, rotation. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "spool.h"
#include "tap.h"

static int count_lines(const char *path);

/* Lines of the segment starting at first in dir; -1 when absent. */
static int count_segment(const char *dir, uint64_t first)
{
  char name[64], path[600];
  spool_segment_file(first, name, sizeof(name));
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return count_lines(path);
}

static int count_lines(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

/* The one segment-name parser: what it accepts is exactly what
 * spool_segment_file writes. */
static void test_segment_names(void)
{
  static const struct {
    const char *name;
    bool ok;
    uint64_t first;
  } cases[] = {
      {"seg-00000000000000000000.jsonl", true, 0},
      {"seg-00000000000000000008.jsonl", true, 8},
      {"seg-18446744073709551615.jsonl", true, UINT64_MAX},
      {"seg-18446744073709551616.jsonl", false, 0}, /* 2^64: too large */
      {"seg-99999999999999999999.jsonl", false, 0},
      {"seg-+0000000000000000001.jsonl", false, 0}, /* a sign */
      {"seg--0000000000000000001.jsonl", false, 0},
      {"seg- 0000000000000000001.jsonl", false, 0},  /* a blank */
      {"seg-0000000000000000001.jsonl", false, 0},   /* 19 digits */
      {"seg-000000000000000000001.jsonl", false, 0}, /* 21 digits */
      {"seg-0000000000000000000x.jsonl", false, 0},
      {"seg-00000000000000000001.jsonl.tmp", false, 0},
      {"seg-00000000000000000001.json", false, 0},
      {"seg-00000000000000000001.jsonlx", false, 0},
      {"Seg-00000000000000000001.jsonl", false, 0},
      {"seg-00000000000000000001", false, 0},
      {"seg-", false, 0},
      {"", false, 0},
      {"quarantine.jsonl", false, 0},
      {"cursor-0123456789abcdef", false, 0},
  };
  bool all = true;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint64_t v = 12345;
    bool ok = spool_segment_parse(cases[i].name, &v);
    char back[64];
    spool_segment_file(v, back, sizeof(back));
    if (ok != cases[i].ok ||
        (ok && (v != cases[i].first || strcmp(back, cases[i].name) != 0))) {
      printf("# segment name \"%s\": %s\n", cases[i].name,
             ok ? "accepted" : "refused");
      all = false;
    }
  }
  tap_ok(all,
         "segment names: %zu cases, accepted exactly when "
         "spool_segment_file writes that name",
         sizeof(cases) / sizeof(cases[0]));
}

/* Writes records [from, to) as the segment starting at from, the last
 * line torn when torn. */
static void write_segment(const char *dir, int from, int to, bool torn)
{
  char name[64], path[600];
  spool_segment_file((uint64_t)from, name, sizeof(name));
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  for (int i = from; f && i < to; i++)
    fprintf(f, "{\"r\":%d}\n", i);
  if (f && torn)
    fputs("{\"r\":", f);
  if (f)
    fclose(f);
}

/* The reader: batches of consecutive records across segments, the limits,
 * a torn tail, the hint, and the skips it reports. */
static void test_reader(const char *top)
{
  char dir[300];
  snprintf(dir, sizeof(dir), "%s/reader", top);
  mkdir(dir, 0750);
  write_segment(dir, 0, 5, false);
  write_segment(dir, 5, 10, false);
  write_segment(dir, 12, 15, true); /* 10, 11 missing; a torn tail */
  enum vt_status st;
  struct spool_reader *rd = spool_reader_open(dir, &st);
  struct vt_buf out;
  vt_buf_init(&out, 0);

  struct spool_batch b = {.from = 3, .max_records = 100, .max_bytes = 1 << 20};
  st = spool_read(rd, NULL, &b, &out);
  tap_ok(rd && st == VT_OK && b.first == 3 && b.count == 7 && !b.full &&
             strncmp(vt_buf_str(&out), "{\"r\":3}\n", 8) == 0 && !b.gone.set &&
             !b.hole.set && !b.past_end.set && b.end.record == 10 &&
             b.end.seg == 5,
         "reader: records 3 to 9 across two segments, stopping at the gap");

  vt_buf_reset(&out);
  b = (struct spool_batch){
      .from = 10, .max_records = 100, .max_bytes = 1 << 20};
  st = spool_read(rd, NULL, &b, &out);
  tap_ok(st == VT_OK && b.hole.set && b.hole.from == 10 && b.hole.to == 12 &&
             b.first == 12 && b.count == 3 &&
             strcmp(vt_buf_str(&out), "{\"r\":12}\n{\"r\":13}\n{\"r\":14}\n") ==
                 0,
         "reader: a hole between segments is stepped over and reported; a "
         "torn tail is no record");

  vt_buf_reset(&out);
  struct spool_pos hint = b.end;
  b = (struct spool_batch){
      .from = 15, .max_records = 100, .max_bytes = 1 << 20};
  st = spool_read(rd, &hint, &b, &out);
  tap_ok(st == VT_OK && b.count == 0 && !b.past_end.set && out.len == 0 &&
             b.end.record == 15,
         "reader: caught up at the spool's end");

  vt_buf_reset(&out);
  b = (struct spool_batch){.from = 1, .max_records = 3, .max_bytes = 1 << 20};
  st = spool_read(rd, NULL, &b, &out);
  struct spool_pos after = b.end;
  vt_buf_reset(&out);
  b = (struct spool_batch){.from = 4, .max_records = 100, .max_bytes = 9};
  st |= spool_read(rd, &after, &b, &out);
  tap_ok(st == VT_OK && after.record == 4 && after.off > 0 && b.first == 4 &&
             b.count == 1 && b.full,
         "reader: record and byte limits end a batch (one record at least); "
         "the hint starts mid-segment");

  /* Segments deleted below a position, never the newest. */
  spool_release(rd, 12);
  uint64_t *segs = NULL;
  size_t n = 0;
  tap_ok(spool_list(dir, &segs, &n) == VT_OK && n == 1 && segs[0] == 12,
         "release: the segments below record 12 deleted");
  free(segs);
  spool_release(rd, 100);
  tap_ok(spool_list(dir, &segs, &n) == VT_OK && n == 1,
         "release: the newest segment stays");
  free(segs);

  vt_buf_reset(&out);
  b = (struct spool_batch){.from = 2, .max_records = 100, .max_bytes = 1 << 20};
  st = spool_read(rd, NULL, &b, &out);
  tap_ok(st == VT_OK && b.gone.set && b.gone.from == 2 && b.gone.to == 12 &&
             b.first == 12 && b.count == 3,
         "reader: records no longer in the spool reported, reading goes on");

  b = (struct spool_batch){
      .from = 99, .max_records = 100, .max_bytes = 1 << 20};
  st = spool_read(rd, NULL, &b, &out);
  tap_ok(st == VT_OK && b.past_end.set && b.past_end.from == 99 &&
             b.past_end.to == 15 && b.past_end.next == 12 && b.count == 0,
         "reader: a position past the spool's end reported with the oldest");
  vt_buf_cleanup(&out);
  spool_reader_close(rd);
}

/* Batching: the appends of one loop iteration are written when it ends,
 * numbered and rotated as if written one by one. */
/* A spool in top/name (its path into dir) batching on loop. */
static struct spool *open_batched(const char *top, const char *name,
                                  enum probe_fsync policy, size_t seg,
                                  struct ev_loop *loop, char *dir,
                                  enum vt_status *st)
{
  snprintf(dir, 300, "%s/%s", top, name);
  struct spool *sp = spool_open(dir, policy, seg, st);
  if (sp)
    spool_batch(sp, loop);
  return sp;
}

static void test_batch(const char *top)
{
  char dir[300];
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  enum vt_status st;
  struct spool *sp =
      open_batched(top, "batch", PROBE_FSYNC_ALWAYS, 40, loop, dir, &st);
  for (int i = 0; i < 7; i++) {
    char rec[32];
    int n = snprintf(rec, sizeof(rec), "{\"b\":%d}", i); /* 7 bytes + \n */
    st |= spool_append(sp, rec, (size_t)n);
  }
  uint64_t *segs = NULL;
  size_t n = 9;
  tap_ok(st == VT_OK && spool_next_record(sp) == 7 &&
             spool_list(dir, &segs, &n) == VT_OK && n == 1 &&
             count_segment(dir, 0) == 0,
         "batch: seven records held, numbered, not written yet");
  free(segs);
  ev_run(loop, EVRUN_NOWAIT);
  tap_ok(spool_list(dir, &segs, &n) == VT_OK && n == 2 && segs[1] == 5 &&
             count_segment(dir, 0) == 5 && count_segment(dir, 5) == 2,
         "batch: written when the iteration ends, rotated as one by one");
  free(segs);
  st = spool_append(sp, "{\"b\":7}", 7);
  spool_close(sp); /* writes what it holds */
  sp = spool_open(dir, PROBE_FSYNC_NEVER, 40, &st);
  tap_ok(sp && spool_next_record(sp) == 8, "batch: close writes what it holds");
  spool_close(sp);

  /* The cap refuses at once, counting what is held. */
  char rec[1000];
  memset(rec, 'r', sizeof(rec));
  snprintf(dir, sizeof(dir), "%s/batch-cap", top);
  sp = spool_open(dir, PROBE_FSYNC_NEVER, 0, &st);
  spool_set_cap(sp, 1u << 20, PROBE_SPOOL_REFUSE);
  spool_batch(sp, loop);
  int written = 0;
  for (int i = 0; i < 3000; i++) {
    written += spool_append(sp, rec, sizeof(rec)) == VT_OK;
    if (i % 100 == 99)
      ev_run(loop, EVRUN_NOWAIT);
  }
  struct spool_stats ss;
  spool_get_stats(sp, &ss);
  tap_ok(written > 1000 && written < 1100 && ss.refused == 3000u - written &&
             ss.bytes <= (1u << 20) && ss.lost == 0,
         "batch: the cap refuses at append, %d held or written", written);
  spool_close(sp);
  ev_loop_destroy(loop);
}

/* Coalescing ("interval", "never"): held over loop iterations until
 * SPOOL_HOLD_S or SPOOL_HOLD_BYTES. */
struct hold_watch {
  const char *dir;
  int want;
  ev_tstamp done_at;
};

static void hold_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct hold_watch *hw = w->data;
  (void)revents;
  if (count_segment(hw->dir, 0) >= hw->want) {
    hw->done_at = ev_time();
    ev_break(loop, EVBREAK_ALL);
  }
}

static void hold_guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

static void test_coalesce(const char *top)
{
  char dir[300];
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  enum vt_status st;
  struct spool *sp =
      open_batched(top, "hold", PROBE_FSYNC_INTERVAL, 0, loop, dir, &st);
  ev_now_update(loop); /* the timer counts from the loop's time */
  ev_tstamp t0 = ev_time();
  for (int i = 0; i < 3; i++)
    st |= spool_append(sp, "{\"h\":1}", 7);
  ev_run(loop, EVRUN_NOWAIT);
  ev_run(loop, EVRUN_NOWAIT);
  tap_ok(st == VT_OK && spool_next_record(sp) == 3 &&
             count_segment(dir, 0) == 0,
         "hold: three records held over loop iterations");
  /* The timer alone does not keep the loop running. */
  ev_run(loop, 0);
  tap_ok(count_segment(dir, 0) == 0, "hold: the timer keeps no loop alive");
  struct hold_watch hw = {.dir = dir, .want = 3};
  ev_timer tick, guard;
  ev_timer_init(&tick, hold_tick_cb, 0.002, 0.002);
  tick.data = &hw;
  ev_timer_init(&guard, hold_guard_cb, 2., 0.);
  ev_timer_start(loop, &tick);
  ev_timer_start(loop, &guard);
  ev_run(loop, 0);
  double age = hw.done_at - t0;
  tap_ok(hw.done_at > 0 && age >= SPOOL_HOLD_S * 0.9 && age < 1.5,
         "hold: written when the oldest is %.0f ms old (%.0f ms)",
         1000 * SPOOL_HOLD_S, 1000 * age);

  /* The size: written at once when the batch reaches SPOOL_HOLD_BYTES. */
  char rec[1000];
  memset(rec, 'r', sizeof(rec));
  size_t below = (SPOOL_HOLD_BYTES - 1) / (sizeof(rec) + 1);
  for (size_t i = 0; i < below; i++)
    st |= spool_append(sp, rec, sizeof(rec));
  int held = count_segment(dir, 0);
  st |= spool_append(sp, rec, sizeof(rec));
  tap_ok(st == VT_OK && held == 3 &&
             count_segment(dir, 0) == 3 + (int)below + 1,
         "hold: %zu records (%zu bytes) held, one more and all are written",
         below, below * (sizeof(rec) + 1));

  /* A following reader sees held records (written before it reads). */
  for (int i = 0; i < 2; i++)
    st |= spool_append(sp, "{\"h\":2}", 7);
  struct spool_reader *rd = spool_reader_open(dir, &st);
  struct vt_buf out = {0};
  uint64_t from = 3 + below + 1;
  struct spool_batch b = {
      .from = from, .max_records = 100, .max_bytes = 1 << 20};
  enum vt_status rst = spool_read(rd, NULL, &b, &out);
  tap_ok(rst == VT_OK && b.count == 0,
         "hold: a reader of the files alone does not see held records");
  spool_reader_follow(rd, sp);
  b = (struct spool_batch){
      .from = from, .max_records = 100, .max_bytes = 1 << 20};
  rst = spool_read(rd, NULL, &b, &out);
  tap_ok(rst == VT_OK && b.first == from && b.count == 2 && out.len == 16 &&
             memcmp(out.data, "{\"h\":2}\n", 8) == 0,
         "hold: a following reader sees every record appended");
  vt_buf_cleanup(&out);
  spool_reader_close(rd);

  /* Closing writes what is held. */
  st |= spool_append(sp, "{\"h\":3}", 7);
  uint64_t next = spool_next_record(sp);
  spool_close(sp);
  sp = spool_open(dir, PROBE_FSYNC_NEVER, 0, &st);
  tap_ok(sp && spool_next_record(sp) == next &&
             count_segment(dir, 0) == (int)next,
         "hold: close writes what is held");
  spool_close(sp);
  ev_timer_stop(loop, &tick);
  ev_timer_stop(loop, &guard);
  ev_loop_destroy(loop);
}

int main(void)
{
  tap_plan(45);
  vt_log_init("test_spool", VT_LOG_ERR);
  char dir[] = "test-spool.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char sub[256];
  snprintf(sub, sizeof(sub), "%s/a/b", dir);

  enum vt_status st;
  struct spool *sp = spool_open(sub, PROBE_FSYNC_ALWAYS, 0, &st);
  tap_ok(sp && st == VT_OK, "open creates the directory");
  for (int i = 0; i < 3; i++)
    st |= spool_append(sp, "{\"x\":1}", 7);
  tap_ok(st == VT_OK && spool_next_record(sp) == 3, "three records appended");

  enum vt_status st2;
  struct spool *other = spool_open(sub, PROBE_FSYNC_ALWAYS, 0, &st2);
  tap_ok(!other && st2 != VT_OK, "a second probe cannot open a locked spool");
  spool_close(sp);

  /* Simulate a crash in the middle of a write: a torn last line. */
  char seg[512];
  snprintf(seg, sizeof(seg), "%s/seg-%020d.jsonl", sub, 0);
  int fd = open(seg, O_WRONLY | O_APPEND);
  tap_ok(fd >= 0 && write(fd, "{\"torn", 6) == 6, "torn tail written");
  close(fd);
  sp = spool_open(sub, PROBE_FSYNC_NEVER, 0, &st);
  tap_ok(sp && spool_next_record(sp) == 3, "reopen counts whole records");
  st = spool_append(sp, "{\"x\":2}", 7);
  spool_close(sp);
  tap_ok(st == VT_OK && count_lines(seg) == 4, "torn tail cut, next appended");

  FILE *f = fopen(seg, "r");
  char line[64] = "";
  for (int i = 0; i < 4 && f && fgets(line, sizeof(line), f); i++)
    ;
  if (f)
    fclose(f);
  tap_is_str(line, "{\"x\":2}\n", "last line is whole");

  /* Rotation: tiny segments. */
  sp = spool_open(sub, PROBE_FSYNC_INTERVAL, 20, &st);
  for (int i = 0; i < 5; i++)
    st |= spool_append(sp, "{\"y\":12345}", 11);
  tap_ok(st == VT_OK && spool_next_record(sp) == 9, "records count on");
  tap_ok(spool_sync(sp) == VT_OK, "sync");
  spool_close(sp);
  char seg8[512];
  snprintf(seg8, sizeof(seg8), "%s/seg-%020d.jsonl", sub, 8);
  tap_ok(count_lines(seg8) == 1, "rotated segment named by its first record");
  sp = spool_open(sub, PROBE_FSYNC_INTERVAL, 20, &st);
  tap_ok(sp && spool_next_record(sp) == 9, "reopen continues the newest");
  spool_close(sp);

  /* Identity: created once, kept on reopen, new when the segments were
   * removed by hand (the numbering starts at 0 again). */
  char id1[SPOOL_ID_HEXLEN + 1] = "", id2[SPOOL_ID_HEXLEN + 1] = "";
  tap_ok(spool_id_load(sub, id1) == VT_OK && strlen(id1) == SPOOL_ID_HEXLEN,
         "the spool has an id of 32 hex digits");
  sp = spool_open(sub, PROBE_FSYNC_NEVER, 20, &st);
  tap_ok(sp && strcmp(spool_id(sp), id1) == 0, "reopen keeps the id");
  spool_close(sp);
  char wipe[600];
  snprintf(wipe, sizeof(wipe), "rm -f '%s'/seg-*", sub);
  tap_ok(system(wipe) == 0, "segments removed by hand");
  sp = spool_open(sub, PROBE_FSYNC_NEVER, 20, &st);
  tap_ok(sp && spool_next_record(sp) == 0 && spool_id_load(sub, id2) == VT_OK &&
             strcmp(id1, id2) != 0 && strcmp(spool_id(sp), id2) == 0,
         "a spool without segments gets a new id");
  spool_close(sp);

  /* The cap, dropping the oldest: 3 MB of records under a 1 MiB cap. */
  char rec[1000];
  memset(rec, 'r', sizeof(rec));
  char capd[300];
  snprintf(capd, sizeof(capd), "%s/cap", dir);
  sp = spool_open(capd, PROBE_FSYNC_NEVER, 0, &st);
  spool_set_cap(sp, 1u << 20, PROBE_SPOOL_DROP_OLDEST);
  st = VT_OK;
  for (int i = 0; i < 3000; i++)
    st |= spool_append(sp, rec, sizeof(rec));
  struct spool_stats ss;
  spool_get_stats(sp, &ss);
  tap_ok(st == VT_OK && spool_next_record(sp) == 3000,
         "drop_oldest: every new record written");
  tap_ok(ss.bytes <= (1u << 20) && ss.dropped >= 1900 && ss.dropped < 2100,
         "drop_oldest: under the cap, the oldest dropped and counted "
         "(%llu bytes, %llu dropped)",
         (unsigned long long)ss.bytes, (unsigned long long)ss.dropped);
  uint64_t *segs = NULL;
  size_t n = 0;
  tap_ok(spool_list(capd, &segs, &n) == VT_OK && n >= 8 &&
             segs[0] == ss.dropped,
         "drop_oldest: small segments, the oldest left follows the dropped");
  free(segs);
  spool_close(sp);

  /* The cap, refusing: the spool keeps what it has. */
  snprintf(capd, sizeof(capd), "%s/refuse", dir);
  sp = spool_open(capd, PROBE_FSYNC_NEVER, 0, &st);
  spool_set_cap(sp, 1u << 20, PROBE_SPOOL_REFUSE);
  int written = 0;
  for (int i = 0; i < 3000; i++)
    written += spool_append(sp, rec, sizeof(rec)) == VT_OK;
  spool_get_stats(sp, &ss);
  tap_ok(written > 1000 && written < 1100 && ss.refused == 3000u - written &&
             ss.dropped == 0 && ss.bytes <= (1u << 20),
         "refuse: %d written, the rest refused and counted", written);
  /* The uploader deletes an acknowledged segment: room again. */
  segs = NULL;
  char seg0[600];
  tap_ok(spool_list(capd, &segs, &n) == VT_OK && n > 2, "refuse: segments");
  spool_segment_file(segs[0], seg0, sizeof(seg0));
  free(segs);
  char seg0p[1000];
  snprintf(seg0p, sizeof(seg0p), "%s/%s", capd, seg0);
  tap_ok(unlink(seg0p) == 0 && spool_append(sp, rec, sizeof(rec)) == VT_OK,
         "refuse: writes again once a segment is deleted");
  spool_close(sp);

  /* Quarantine: one JSON line per record, with the reason; a line that is
   * not UTF-8 is kept in hex. */
  tap_ok(spool_quarantine(sub, 7, "{\"x\":1}", 7, "http://c", "line 1: bad") ==
                 VT_OK &&
             spool_quarantine(sub, 8, "\xff\x01", 2, "http://c", "why") ==
                 VT_OK,
         "quarantine written");
  char qpath[600], qline[600] = "";
  snprintf(qpath, sizeof(qpath), "%s/%s", sub, SPOOL_QUARANTINE_FILE);
  FILE *q = fopen(qpath, "r");
  tap_ok(q && fgets(qline, sizeof(qline), q) && strstr(qline, "\"record\":7") &&
             strstr(qline, "\"reason\":\"line 1: bad\"") &&
             strstr(qline, "\"line\":\"{\\\"x\\\":1}\""),
         "quarantine: record, reason and line");
  tap_ok(q && fgets(qline, sizeof(qline), q) &&
             strstr(qline, "\"line_hex\":\"ff01\""),
         "quarantine: a line that is not UTF-8 in hex");
  if (q)
    fclose(q);
  tap_ok(count_lines(qpath) == 2, "quarantine: two lines");

  test_segment_names();
  test_coalesce(dir);
  test_reader(dir);
  test_batch(dir);

  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup failed\n");
  return tap_done();
}
