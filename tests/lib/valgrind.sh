#!/bin/sh
# SPDX-License-Identifier: MIT
# LOG_COMPILER for the C unit tests: runs the test under valgrind memcheck
# when valgrind is installed (VT_VALGRIND=0 turns it off), so a leak or an
# invalid access fails the test (exit 99 = automake "hard error").
if [ "${VT_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	VT_UNDER_VALGRIND=1
	export VT_UNDER_VALGRIND
	exec valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --track-fds=no "$@"
fi
exec "$@"
