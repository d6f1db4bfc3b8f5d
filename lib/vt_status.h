/* SPDX-License-Identifier: MIT */
/* Project-wide status codes for fallible functions (0 = success). */
#ifndef VT_STATUS_H
#define VT_STATUS_H

enum vt_status {
  VT_OK = 0,
  VT_ENOMEM,    /* allocation failed */
  VT_EINVAL,    /* invalid argument or input */
  VT_EIO,       /* read/write/fsync failed; errno is kept */
  VT_ECONFIG,   /* configuration rejected (already reported) */
  VT_ENOTFOUND, /* no such item */
  VT_ELIB,      /* a library call failed (already logged with its message) */
  VT_EFULL,     /* a bounded container is full */
  VT_EBUSY,     /* the object is running and cannot do that now */
};

/* Short English text for a status; never NULL, static storage. */
const char *vt_strerror(enum vt_status st);

#endif
