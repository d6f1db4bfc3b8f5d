/* SPDX-License-Identifier: MIT */
/* container_of: from a pointer to a member (a libev watcher, a list link
 * embedded in a struct) back to the struct that holds it. */
#ifndef VT_CONTAINER_H
#define VT_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member)                                        \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
