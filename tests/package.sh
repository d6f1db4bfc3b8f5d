#!/bin/bash
# SPDX-License-Identifier: MIT
# package.sh: the Debian packages. Builds vantage-probe, vantage-collector
# and vantage-graph with `dpkg-buildpackage -us -uc -b` from a copy of the
# source, checks them with lintian (no errors), installs them on this
# machine (apt-get install ./*.deb), checks what an operator gets (the
# user, the state directories, the units known to systemd and not enabled,
# the conffiles, `--check` of the installed example configuration,
# `systemd-analyze verify` of the installed units, the man pages), and
# purges them again, also when the test fails halfway.
#
# Runs when dpkg-buildpackage is there and we are root (it installs the
# missing build dependencies with apt-get first); skipped in the sanitizer
# pass of ./test.sh (the package is built without sanitizers anyway, and
# once is enough: about a minute on 2 cores). Install and removal hold
# /var/lock/vantage-package-test.lock, so two test runs on one machine
# take turns.
set -u

: "${top_srcdir:?run me from make check}"
# shellcheck source=tests/lib/servers.sh
. "$top_srcdir/tests/lib/servers.sh"
vt_require dpkg-buildpackage apt-get flock
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP installs packages: needs root"
	exit 0
fi
if ldd "$VANTAGE_PROBE" 2>/dev/null | grep -q libasan; then
	echo "1..0 # SKIP the packages are built and tested in the plain pass"
	exit 0
fi
vt_setup

PKGS="vantage-probe vantage-collector vantage-graph"
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q
	-o DPkg::Lock::Timeout=300 --no-install-recommends)

# Build dependencies and the tools (Debian 12: the ones this repository
# needs are mostly there already; see also test.sh TEST_PKGS).
need=
for p in debhelper dpkg-dev lintian; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || need="$need $p"
done
unmet=$(cd "$top_srcdir" && dpkg-checkbuilddeps 2>&1 |
	sed -n 's/.*Unmet build dependencies: //p' |
	sed -e 's/([^)]*)//g' -e 's/|[^ ]*//g')
need="$need $unmet"
if [ -n "${need// /}" ]; then
	# shellcheck disable=SC2086
	"${APT[@]}" install $need >"$VT_TMP/apt-builddeps.log" 2>&1 || {
		echo "1..0 # SKIP cannot install build dependencies:$need"
		exit 0
	}
fi

tap_plan 23

# ---- build -------------------------------------------------------------------
S=$VT_TMP/src/vantage
mkdir -p "$S"
tar -C "$top_srcdir" --exclude='./_build*' --exclude=./.git \
	--exclude=./autom4te.cache --exclude='./vt-test.*' --exclude=./demo-out \
	-cf - . | tar -C "$S" -xf -
# An in-tree configure of the copy would be refused by dh_auto_configure.
[ ! -f "$S/config.status" ] || (cd "$S" && make -s distclean >/dev/null 2>&1)
t0=$(date +%s)
rc=0
(cd "$S" && DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b) \
	>"$VT_TMP/build.log" 2>&1 || rc=$?
diag "dpkg-buildpackage took $(($(date +%s) - t0)) s"
is "$rc" 0 "dpkg-buildpackage -us -uc -b succeeds"
[ "$rc" = 0 ] || diag "$(tail -n 30 "$VT_TMP/build.log")"
debs=()
for p in $PKGS; do
	f=$(ls "$VT_TMP"/src/"${p}"_*.deb 2>/dev/null | head -n 1)
	check "$p package built" test -s "$f"
	debs+=("$f")
done
changes=$(ls "$VT_TMP"/src/vantage_*.changes 2>/dev/null | head -n 1)

# ---- the packages -------------------------------------------------------------
deb() { dpkg-deb -f "$1" "$2" 2>/dev/null; }
like "$(deb "${debs[0]}" Depends)" "libcurl4.*libev4|libev4.*libcurl4" \
	"vantage-probe Depends on its libraries (shlibs)"
like "$(deb "${debs[1]}" Depends)" "librrd8" \
	"vantage-collector Depends on librrd (shlibs)"
like "$(dpkg-deb -I "${debs[0]}" conffiles 2>/dev/null)" "^/etc/vantage/probe.cfg" \
	"/etc/vantage/probe.cfg is a conffile"
like "$(dpkg-deb -I "${debs[1]}" conffiles 2>/dev/null)" "/etc/vantage/collector.cfg" \
	"/etc/vantage/collector.cfg is a conffile"
post=$(dpkg-deb -I "${debs[0]}" postinst 2>/dev/null)
like "$post" "systemd-sysusers" "postinst creates the user through sysusers"
# dh_installsystemd --no-enable --no-start: no start at all, and "enable"
# only re-creates the links of a unit the administrator had enabled.
is "$(grep -cE 'deb-systemd-invoke|invoke-rc.d|systemctl .*(start|enable)' \
	<<<"$post") $(grep -c 'deb-systemd-helper enable' <<<"$post")" \
	"0 $(grep -A2 'was-enabled' <<<"$post" | grep -c 'deb-systemd-helper enable')" \
	"postinst enables and starts nothing unasked"
if [ -n "$changes" ]; then
	lintian --fail-on error --no-tag-display-limit "$changes" \
		>"$VT_TMP/lintian.log" 2>&1 && rc=0 || rc=$?
	is "$rc" 0 "lintian: no errors"
	[ "$rc" = 0 ] || diag "$(grep '^E:' "$VT_TMP/lintian.log" | head -n 20)"
	diag "lintian: $(grep -c '^W:' "$VT_TMP/lintian.log") warnings"
else
	not_ok "lintian: no errors (no .changes file)"
fi

# ---- install, check, purge -------------------------------------------------------
exec 9>/var/lock/vantage-package-test.lock
flock 9
purge() {
	# shellcheck disable=SC2086
	"${APT[@]}" purge $PKGS >>"$VT_TMP/purge.log" 2>&1
}
vt_at_exit 'dpkg-query -W vantage-probe >/dev/null 2>&1 && purge'
rc=0
"${APT[@]}" install "${debs[@]}" >"$VT_TMP/install.log" 2>&1 || rc=$?
is "$rc" 0 "apt-get install ./vantage-*.deb succeeds"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$VT_TMP/install.log")"

like "$(getent passwd vantage)" "^vantage:x:[0-9]+:[0-9]+:.*:/usr/sbin/nologin$" \
	"the system user vantage exists"
is "$(stat -c '%a %U' /var/lib/vantage/probe /var/lib/vantage/collector 2>&1 |
	tr '\n' ' ')" "750 vantage 750 vantage " "the state directories belong to it"
out=$(/usr/bin/vantage-probe --check -c /etc/vantage/probe.cfg 2>&1) && rc=0 || rc=$?
is "$rc" 0 "installed vantage-probe --check accepts /etc/vantage/probe.cfg"
[ "$rc" = 0 ] || diag "$out"
out=$(/usr/bin/vantage-collector --check -c /etc/vantage/collector.cfg 2>&1) &&
	rc=0 || rc=$?
is "$rc" 0 "installed vantage-collector --check accepts /etc/vantage/collector.cfg"
[ "$rc" = 0 ] || diag "$out"
is "$(stat -c '%a %G' /etc/vantage/keys/fra1.key 2>&1)" "640 vantage" \
	"the keys the example names were made, readable by the group vantage"
out=$(/usr/bin/vantage-probe --check -c \
	/usr/share/doc/vantage-probe/examples/probe-minimal.cfg 2>&1) && rc=0 || rc=$?
is "$rc" 0 "installed vantage-probe --check accepts the minimal example"
like "$(systemctl is-enabled vantage-probe vantage-collector 2>&1 | tr '\n' ' ')" \
	"^disabled disabled" "the units are installed and not enabled"
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify /lib/systemd/system/vantage-probe.service \
		/lib/systemd/system/vantage-collector.service 2>&1 |
		grep -v 'sysinit.target not found') || true
	is "$out" "" "systemd-analyze verify: the installed units"
else
	skip "systemd-analyze verify" "systemd-analyze not installed"
fi
is "$(for p in vantage-probe.1 vantage-probe.cfg.5 vantage-collector.1 \
	vantage-collector.cfg.5 vantage-graph.1; do
	man -w "${p##*.}" "${p%.*}" >/dev/null 2>&1 || echo "$p"; done)" "" \
	"the man pages are installed where man finds them"

rc=0
purge || rc=$?
is "$rc" 0 "apt-get purge removes the packages"
# The user stays (Debian removes no system user); the empty state
# directories the test made go.
rmdir /var/lib/vantage/probe /var/lib/vantage/collector /var/lib/vantage \
	2>/dev/null
is "$(ls /usr/bin/vantage-probe /etc/vantage/probe.cfg /etc/vantage/keys/fra1.key \
	/lib/systemd/system/vantage-probe.service 2>/dev/null)" "" \
	"programs, conffiles, generated keys and units are gone"
tap_done
