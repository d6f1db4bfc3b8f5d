/* SPDX-License-Identifier: MIT */
/* Unit tests for the remote-write journal (collector/remote_write.c): what
 * a crash leaves behind. A batch journalled again after a crash before its
 * commit is not journalled twice (marks, also across a restart and a new
 * generation); a torn or corrupt tail is cut off at open; a journal of an
 * earlier version is moved aside; a receiver's cursor is durable. Sending
 * itself is tested end to end in tests/collector_remote_write.sh. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "remote_write.h"
#include "tap.h"

static long fsize(const char *path)
{
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void append(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_APPEND);
  if (fd < 0 || write(fd, data, len) != (ssize_t)len)
    perror(path);
  if (fd >= 0)
    close(fd);
}

/* Results 0..n-1 of a tcp check, all the same shape (so the same size in
 * the journal). */
static struct vt_result recs[8];
static size_t order[8];

static void make_recs(void)
{
  for (size_t i = 0; i < 8; i++) {
    vt_result_init(&recs[i]);
    recs[i].ts = 1700000000 + 10.0 * (double)i;
    snprintf(recs[i].probe, sizeof(recs[i].probe), "p1");
    snprintf(recs[i].target, sizeof(recs[i].target), "www");
    recs[i].check = VT_CHECK_TCP;
    snprintf(recs[i].name, sizeof(recs[i].name), "tcp");
    snprintf(recs[i].host, sizeof(recs[i].host), "www.example.test");
    snprintf(recs[i].ip, sizeof(recs[i].ip), "127.0.0.%zu", 10 + i % 2);
    recs[i].ok = true;
    recs[i].ms_connect = 0.5;
    recs[i].ms_total = 1.5;
    order[i] = i;
  }
}

/* Journals records seq0..end-1 of probe p1 (no spool). */
static enum vt_status batch(struct remote_write *rw, uint64_t seq0,
                            uint64_t end)
{
  return remote_write_results(rw, "p1", NULL, seq0, end, recs, order,
                              (size_t)(end - seq0));
}

static int count_aside(const char *dir)
{
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += strncmp(e->d_name, "journal.unreadable-", 19) == 0;
  if (d)
    closedir(d);
  return n;
}

int main(void)
{
  tap_plan(17);
  vt_log_init("test_remote_write", VT_LOG_WARNING);
  char dir[] = "test-rw.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char sub[256], journal[300];
  snprintf(sub, sizeof(sub), "%s/remote_write", dir);
  snprintf(journal, sizeof(journal), "%s/journal", sub);
  make_recs();

  enum vt_status st;
  struct remote_write *rw = remote_write_open(sub, NULL, 0, &st);
  tap_ok(rw && st == VT_OK, "opens a new journal");
  long head = fsize(journal);
  tap_ok(head > 0 && head < 64, "a new journal holds its head record (%ld)",
         head);
  tap_ok(batch(rw, 0, 4) == VT_OK, "journals records 0..3");
  long one = fsize(journal) - head;
  tap_ok(one > 4 * 40, "the journal grew by %ld bytes", one);
  tap_ok(batch(rw, 0, 4) == VT_OK && fsize(journal) == head + one,
         "the same batch again (a crash before its commit): not journalled "
         "twice");
  tap_ok(batch(rw, 2, 6) == VT_OK && fsize(journal) > head + one &&
             fsize(journal) < head + 2 * one,
         "a batch overlapping the last one: only its new records");
  long two = fsize(journal);
  remote_write_close(rw);

  /* A crash while writing: a torn record at the end. */
  append(journal, "\x30\x00\x00\x00\x01\x02torn", 10);
  rw = remote_write_open(sub, NULL, 0, &st);
  tap_ok(rw && fsize(journal) == two,
         "a torn tail is cut off at open (%ld bytes, %ld before)",
         fsize(journal), two);
  tap_ok(batch(rw, 0, 6) == VT_OK && fsize(journal) == two,
         "the marks survive a restart: records 0..5 not journalled again");
  tap_ok(batch(rw, 6, 8) == VT_OK && fsize(journal) > two,
         "records 6..7 are journalled");
  long three = fsize(journal);
  remote_write_close(rw);

  /* A flipped byte inside the last record: its CRC fails. */
  int fd = open(journal, O_RDWR);
  unsigned char c = 0;
  if (fd < 0 || pread(fd, &c, 1, three - 10) != 1)
    perror(journal);
  c ^= 0x40;
  if (fd < 0 || pwrite(fd, &c, 1, three - 10) != 1)
    perror(journal);
  if (fd >= 0)
    close(fd);
  rw = remote_write_open(sub, NULL, 0, &st);
  tap_ok(rw && fsize(journal) == two,
         "a record whose CRC fails is cut off (%ld bytes)", fsize(journal));
  tap_ok(batch(rw, 6, 8) == VT_OK && fsize(journal) == three,
         "its records are journalled again when the probe sends them");
  remote_write_close(rw);

  /* A receiver that refuses connections: nothing is lost meanwhile, and
   * its cursor is kept across a restart. */
  struct remote_write_receiver r = {"down", "http://127.0.0.1:1/api/v1/write"};
  rw = remote_write_open(sub, &r, 1, &st);
  tap_ok(rw && remote_write_pending(rw, 0) == 0,
         "a new receiver starts at the end of the journal");
  for (size_t i = 0; i < 8; i++)
    recs[i].ts += 80;
  tap_ok(batch(rw, 8, 16) == VT_OK &&
             remote_write_pending(rw, 0) == (uint64_t)(fsize(journal) - three),
         "a batch is pending for it (%llu bytes)",
         (unsigned long long)remote_write_pending(rw, 0));
  uint64_t pending = remote_write_pending(rw, 0);
  remote_write_close(rw);
  rw = remote_write_open(sub, &r, 1, &st);
  tap_ok(rw && remote_write_pending(rw, 0) == pending,
         "still pending after a restart (durable cursor)");
  remote_write_close(rw);

  /* A journal of an earlier version (text lines). */
  char old[] = "1700000000000\twww\twww.example.test\t127.0.0.10\tp1\ttcp\t1\n";
  int tf = open(journal, O_WRONLY | O_TRUNC);
  if (tf < 0 || write(tf, old, sizeof(old) - 1) != (ssize_t)(sizeof(old) - 1))
    perror(journal);
  if (tf >= 0)
    close(tf);
  rw = remote_write_open(sub, NULL, 0, &st);
  tap_ok(rw && fsize(journal) == head,
         "a journal of an earlier version: a new one is started");
  tap_ok(count_aside(sub) == 1, "and the old one is kept aside");
  tap_ok(batch(rw, 16, 18) == VT_OK && fsize(journal) > head,
         "the new journal takes records");
  remote_write_close(rw);

  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    perror("rm");
  return tap_done();
}
