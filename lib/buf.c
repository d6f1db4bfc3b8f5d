/* SPDX-License-Identifier: MIT */
/* Growable byte buffer (see buf.h). */
#include "config.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vt_buf_init(struct vt_buf *b, size_t max_len)
{
  *b = (struct vt_buf){.max_len = max_len};
}

void vt_buf_cleanup(struct vt_buf *b)
{
  if (!b)
    return;
  free(b->data);
  size_t max = b->max_len;
  vt_buf_init(b, max);
}

void vt_buf_reset(struct vt_buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

static enum vt_status buf_reserve(struct vt_buf *b, size_t extra)
{
  if (b->max_len && (extra > b->max_len || b->len > b->max_len - extra))
    return VT_EFULL;
  size_t need = b->len + extra + 1;
  if (need <= b->alloc)
    return VT_OK;
  size_t n = b->alloc ? b->alloc : 64;
  while (n < need)
    n *= 2;
  char *p = realloc(b->data, n);
  if (!p)
    return VT_ENOMEM;
  b->data = p;
  b->alloc = n;
  return VT_OK;
}

enum vt_status vt_buf_add(struct vt_buf *b, const void *mem, size_t len)
{
  enum vt_status st = buf_reserve(b, len);
  if (st != VT_OK)
    return st;
  if (len)
    memcpy(b->data + b->len, mem, len);
  b->len += len;
  b->data[b->len] = '\0';
  return VT_OK;
}

enum vt_status vt_buf_adds(struct vt_buf *b, const char *s)
{
  return vt_buf_add(b, s, strlen(s));
}

enum vt_status vt_buf_vaddf(struct vt_buf *b, const char *fmt, va_list ap)
{
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0)
    return VT_EINVAL;
  enum vt_status st = buf_reserve(b, (size_t)n);
  if (st != VT_OK)
    return st;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return VT_OK;
}

enum vt_status vt_buf_addf(struct vt_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  enum vt_status st = vt_buf_vaddf(b, fmt, ap);
  va_end(ap);
  return st;
}

const char *vt_buf_str(const struct vt_buf *b)
{
  return b->data ? b->data : "";
}

char *vt_buf_take(struct vt_buf *b, size_t *len)
{
  char *p = b->data;
  if (len)
    *len = b->len;
  size_t max = b->max_len;
  vt_buf_init(b, max);
  return p;
}

enum vt_status vt_buf_add_file(struct vt_buf *b, const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return VT_EIO;
  enum vt_status st = VT_OK;
  char chunk[16384];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      st = VT_EIO;
      break;
    }
    if (n == 0 || (st = vt_buf_add(b, chunk, (size_t)n)) != VT_OK)
      break;
  }
  int e = errno;
  close(fd);
  errno = e;
  return st;
}
