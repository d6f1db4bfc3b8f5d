#!/bin/bash
# SPDX-License-Identifier: MIT
# install.sh: `make install DESTDIR=...` puts what a daemon needs where the
# system looks for it: the programs, the man pages (clean under
# `groff -ww` and `man --warnings`), the systemd units with the configured
# bindir, the sysusers.d and tmpfiles.d files (applied here with
# systemd-sysusers/systemd-tmpfiles --root into the DESTDIR, never to this
# machine), the LICENSE and the example configuration.
#
# Man pages and --help: every long option that a program's --help names
# must be in its man page (add it to docs/man/<program>.1.in). The
# reference tables need no update: docs/man/mkman.py copies them from
# README.md at every build; a README table that no man page uses fails
# below (add an @TABLE line for it to the page it belongs to, or to
# NOT_IN_MAN here).
set -u

: "${top_srcdir:?run me from make check}"
# shellcheck source=tests/lib/tap.sh
. "$top_srcdir/tests/lib/tap.sh"

for t in groff man make; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "1..0 # SKIP $t missing"
		exit 0
	}
done

T=$(mktemp -d "${TMPDIR:-/tmp}/vt-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
D=$T/root

tap_plan 24

rc=0
make -s -C "$top_builddir" install DESTDIR="$D" >"$T/install.log" 2>&1 || rc=$?
is "$rc" 0 "make install DESTDIR=... succeeds"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$T/install.log")"

# The configured directories, as make sees them.
# (Without the MAKEFLAGS of the make running the tests: its -w would add
# "Entering directory" lines.)
mkvar() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" \
	--no-print-directory -f Makefile -f - print-var VAR="$1" <<'EOF' |
print-var:
	@echo "value=$($(VAR))"
EOF
	sed -n 's/^value=//p'
}
BINDIR=$(mkvar bindir) MANDIR=$(mkvar mandir) DOCDIR=$(mkvar docdir)
UNITDIR=$(mkvar systemdsystemunitdir) SYSUSERSDIR=$(mkvar sysusersdir)
TMPFILESDIR=$(mkvar tmpfilesdir)

for p in vantage-probe vantage-collector vantage-graph; do
	check "$p installed in $BINDIR" test -x "$D$BINDIR/$p"
done
check "LICENSE installed" grep -q "MIT License" "$D$DOCDIR/LICENSE"
check "example configuration installed" test -s "$D$DOCDIR/examples/probe.cfg"

# ---- units, user, state directories --------------------------------------------
for u in vantage-probe vantage-collector; do
	f=$D$UNITDIR/$u.service
	like "$(grep '^ExecStart=' "$f" 2>&1)" "^ExecStart=$BINDIR/$u -c /etc/vantage/" \
		"$u.service: ExecStart uses the configured bindir"
done
check "no @...@ left in the units" \
	bash -c "! grep -q '@[a-z]*@' '$D$UNITDIR'/*.service"
if command -v systemd-analyze >/dev/null 2>&1; then
	# The binaries and man pages are not at their final place (DESTDIR),
	# so only syntax problems count here; tests/package.sh verifies the
	# installed units for real.
	systemd-analyze verify "$D$UNITDIR/vantage-probe.service" \
		"$D$UNITDIR/vantage-collector.service" >"$T/verify.log" 2>&1
	like "$(grep -v -e 'is not executable' -e "Command 'man " \
		-e 'sysinit.target not found' -e '/bin/kill' "$T/verify.log" | head -3)" \
		'^$' "systemd-analyze verify: no problem beyond DESTDIR paths"
else
	skip "systemd-analyze verify" "systemd-analyze not installed"
fi
mkdir -p "$D/etc"
if command -v systemd-sysusers >/dev/null 2>&1; then
	rc=0
	systemd-sysusers --root="$D" "$D$SYSUSERSDIR/vantage.conf" \
		>"$T/sysusers.log" 2>&1 || rc=$?
	is "$rc" 0 "systemd-sysusers accepts vantage.conf"
	like "$(grep '^vantage:' "$D/etc/passwd")" \
		'^vantage:x:[0-9]+:[0-9]+:[^:]*:/var/lib/vantage:/usr/sbin/nologin$' \
		"sysusers: the system user vantage, no login"
	rc=0
	systemd-tmpfiles --root="$D" --create "$D$TMPFILESDIR/vantage-probe.conf" \
		"$D$TMPFILESDIR/vantage-collector.conf" >"$T/tmpfiles.log" 2>&1 || rc=$?
	is "$rc" 0 "systemd-tmpfiles accepts the tmpfiles.d files"
	uid=$(awk -F: '$1 == "vantage" { print $3 }' "$D/etc/passwd")
	is "$(stat -c '%a %u' "$D/var/lib/vantage/probe" "$D/var/lib/vantage/collector" |
		tr '\n' ' ')" "750 $uid 750 $uid " \
		"tmpfiles: state directories 0750, owned by vantage"
else
	for _ in 1 2 3 4; do
		skip "sysusers.d and tmpfiles.d" "systemd-sysusers not installed"
	done
fi

# ---- man pages --------------------------------------------------------------------
pages="man1/vantage-probe.1 man1/vantage-collector.1 man1/vantage-graph.1
	man5/vantage-probe.cfg.5 man5/vantage-collector.cfg.5"
all=
for p in $pages; do
	all="$all $D$MANDIR/$p"
done
# shellcheck disable=SC2086
check "five man pages installed" ls $all
warn=$(for f in $all; do groff -ww -z -man "$f" 2>&1; done)
is "$warn" "" "groff -ww: no warnings"
warn=$(for f in $all; do
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null
done)
is "$warn" "" "man --warnings: no warnings"
like "$(MANWIDTH=200 man -l "$D$MANDIR/man5/vantage-probe.cfg.5" 2>/dev/null)" \
	"spool_dir.*where results wait" \
	"vantage-probe.cfg(5) has README's settings tables"

# Long options of --help (and of `check --help`) in the man page.
# missing PAGE HELP-TEXT: prints the options HELP-TEXT names that PAGE lacks.
missing() {
	local opt out=
	for opt in $(grep -oE -- '--[a-z][a-z-]+' <<<"$2" | sort -u); do
		# roff writes each "-" of an option as "\-".
		grep -qF -- "${opt//-/\\-}" "$1" || out="$out $opt"
	done
	echo "${out# }"
}
P=$D$MANDIR/man1
is "$(missing "$P/vantage-probe.1" \
	"$("$VANTAGE_PROBE" --help; "$VANTAGE_PROBE" check --help)")" "" \
	"vantage-probe(1) names every option of --help and check --help"
is "$(missing "$P/vantage-collector.1" "$("$VANTAGE_COLLECTOR" --help)")" "" \
	"vantage-collector(1) names every option of --help"
is "$(missing "$P/vantage-graph.1" "$("$VANTAGE_GRAPH" --help)")" "" \
	"vantage-graph(1) names every option of --help"

# README tables that no man page shows (tables that are not a reference
# are listed in NOT_IN_MAN).
NOT_IN_MAN='### The demo
### Debian packages'
unused=
while IFS= read -r h; do
	grep -qxF "@TABLE $h@" "$top_srcdir"/docs/man/*.in && continue
	grep -qxF "$h" <<<"$NOT_IN_MAN" && continue
	unused="$unused [$h]"
done < <(awk '/^#/ { h = $0; next }
	/^\|/ && h != "" { print h; h = "" }' "$top_srcdir/README.md")
is "${unused# }" "" "every README reference table is in a man page"

# ---- uninstall ----------------------------------------------------------------
rc=0
make -s -C "$top_builddir" uninstall DESTDIR="$D" >"$T/uninstall.log" 2>&1 || rc=$?
is "$rc" 0 "make uninstall succeeds"
is "$(find "$D" -type f \( -name 'vantage*' -o -name '*.service' \) | head -3)" "" \
	"make uninstall removes programs, units, man pages, sysusers, tmpfiles"
tap_done
