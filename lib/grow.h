/* SPDX-License-Identifier: MIT */
/* Growing a heap array by doubling, with overflow checks. */
#ifndef VT_GROW_H
#define VT_GROW_H

#include <stddef.h>

/* Makes room for need elements of size bytes in arr, whose capacity is
 * *cap elements (0 for a NULL arr): doubles from 16 until need fits.
 * Returns the (possibly moved) array and updates *cap, or NULL with arr
 * and *cap untouched (out of memory or size overflow). */
void *vt_grow(void *arr, size_t *cap, size_t need, size_t size)
    __attribute__((warn_unused_result));

#endif
