/* SPDX-License-Identifier: MIT */
/* Text for enum vt_status. */
#include "config.h"

#include "vt_status.h"

const char *vt_strerror(enum vt_status st)
{
  switch (st) {
  case VT_OK:
    return "success";
  case VT_ENOMEM:
    return "out of memory";
  case VT_EINVAL:
    return "invalid argument";
  case VT_EIO:
    return "input/output error";
  case VT_ECONFIG:
    return "configuration error";
  case VT_ENOTFOUND:
    return "not found";
  case VT_ELIB:
    return "library call failed";
  case VT_EFULL:
    return "container full";
  case VT_EBUSY:
    return "busy";
  }
  return "unknown status";
}
