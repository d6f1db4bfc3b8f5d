/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with an optional hard cap, embedded by value.
 * The content is always NUL-terminated so it can be used as a string. */
#ifndef VT_BUF_H
#define VT_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "vt_status.h"

struct vt_buf {
  char *data;     /* NULL until the first append */
  size_t len;     /* bytes used, not counting the terminating NUL */
  size_t alloc;   /* bytes allocated */
  size_t max_len; /* appends beyond this fail with VT_EFULL; 0 = no cap */
};

/* Initializes an empty buffer; max_len 0 means unbounded. */
void vt_buf_init(struct vt_buf *b, size_t max_len);

/* Frees the storage and leaves an empty buffer. b may be NULL. */
void vt_buf_cleanup(struct vt_buf *b);

/* Empties the buffer but keeps its storage for reuse. */
void vt_buf_reset(struct vt_buf *b);

/* Appends len bytes. Returns VT_EFULL past max_len (nothing appended) or
 * VT_ENOMEM. */
enum vt_status vt_buf_add(struct vt_buf *b, const void *mem, size_t len)
    __attribute__((warn_unused_result));

/* Appends a NUL-terminated string. */
enum vt_status vt_buf_adds(struct vt_buf *b, const char *s)
    __attribute__((warn_unused_result));

/* Appends formatted text. */
enum vt_status vt_buf_addf(struct vt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
enum vt_status vt_buf_vaddf(struct vt_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0), warn_unused_result));

/* Appends the whole content of the file at path. Returns VT_OK, VT_EIO
 * with errno kept when it cannot be opened or read, VT_EFULL when it does
 * not fit under max_len (the buffer then holds a part of it), or
 * VT_ENOMEM. */
enum vt_status vt_buf_add_file(struct vt_buf *b, const char *path)
    __attribute__((warn_unused_result));

/* Returns the content ("" when empty); owned by the buffer. */
const char *vt_buf_str(const struct vt_buf *b);

/* Takes ownership of the content (caller frees; may be NULL when empty) and
 * leaves the buffer empty. */
char *vt_buf_take(struct vt_buf *b, size_t *len);

#endif
