#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh: build vantage-probe and run it once against a small local world,
# all on loopback:
#
#   dnsmasq   www.example.test -> 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14
#   nginx     on 127.0.0.11, .12, .13 (HTTP + HTTPS with a test CA);
#             nothing listens on 127.0.0.14, so its checks fail
#
# The probe runs dns, tcp (TLS, verified against the test CA), http (HTTPS
# /health) and client checks once, and the results are printed as a table.
# Output (config, raw JSON lines, probe stderr) stays in demo-out/.
#
#   ./demo.sh               install missing packages, build, run
#   ./demo.sh --no-build    use the existing _build/vantage-probe
#   VT_KEEP=1 ./demo.sh     also keep the servers' files (demo-out/vt-test.*)
set -u

cd "$(dirname "$0")" || exit 1
ROOT=$PWD
OUT=$ROOT/demo-out
BUILD_STEP=1
for arg in "$@"; do
	case $arg in
	--no-build) BUILD_STEP=0 ;;
	-h | --help)
		sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "demo.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

if [ "$BUILD_STEP" = 1 ]; then
	"$ROOT/test.sh" --build-only || exit 1
fi

top_srcdir=$ROOT
top_builddir=$ROOT/_build
VANTAGE_PROBE=$ROOT/_build/vantage-probe
export top_srcdir top_builddir VANTAGE_PROBE
if [ ! -x "$VANTAGE_PROBE" ]; then
	echo "demo.sh: $VANTAGE_PROBE is missing; run without --no-build" >&2
	exit 1
fi

mkdir -p "$OUT" || exit 1
cd "$OUT" || exit 1
rm -f demo.cfg results.jsonl probe.stderr
mkdir -p spool

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
for t in nginx dnsmasq openssl python3; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "demo.sh: $t not found (test.sh installs it)" >&2
		exit 1
	}
done
vt_setup # servers live in demo-out/vt-test.*; every process is stopped at exit

IPS=(127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14)
echo "==> certificates, nginx on ${IPS[*]:0:3}, dnsmasq"
vt_certs
vt_nginx_start "${IPS[@]:0:3}"
vt_dns_start
vt_dns_set www.example.test "${IPS[@]}"
cp "$VT_CA" "$OUT/ca.pem"

cat >"$OUT/demo.cfg" <<EOF
# Written by demo.sh. Ports are picked at random each run.
probe = { name = "demo"; spool_dir = "$OUT/spool"; log_level = "info"; };
defaults = { timeout = 3.0; resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
targets = (
  { name = "www"; host = "www.example.test";
    checks = (
      { type = "dns";
        expect = [ "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14" ]; },
      { type = "tcp"; port = $VT_HTTPS_PORT; tls = true; verify = true;
        ca_file = "$OUT/ca.pem"; },
      { type = "http"; url = "https://www.example.test:$VT_HTTPS_PORT/health";
        status = [ 200 ]; body = "ok"; verify = true; ca_file = "$OUT/ca.pem"; },
      { type = "client"; url = "https://www.example.test:$VT_HTTPS_PORT/health";
        verify = true; ca_file = "$OUT/ca.pem"; }
    ); }
);
EOF

echo "==> $VANTAGE_PROBE -c demo.cfg --once"
rc=0
vt_probe_once "$OUT/demo.cfg" || rc=$?
cp "$VT_OUT" "$OUT/results.jsonl"
cp "$VT_ERR" "$OUT/probe.stderr"
if [ "$rc" -ne 0 ]; then
	echo "(vantage-probe exited $rc; stderr:)"
	tail -n 20 "$OUT/probe.stderr"
fi

echo
"$VT_PYTHON" - "$OUT/results.jsonl" <<'EOF'
import json, sys
rows = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    try:
        r = json.loads(line)
    except ValueError:
        rows.append(("?", "?", "?", "unparsable line", ""))
        continue
    check = r.get("check", "?")
    if r.get("name") and r.get("name") != check:
        check = "%s/%s" % (check, r["name"])
    if check.startswith("dns") and r.get("resolver"):
        check += " @" + r["resolver"]
    if r.get("ok"):
        status = "ok"
        if r.get("http_status"):
            status += " %d" % r["http_status"]
        if r.get("answers") is not None:
            status += " " + ",".join(sorted(r["answers"]))
    else:
        status = "ERROR " + str(r.get("error") or "?")
        if r.get("detail"):
            status += ": " + r["detail"]
    total = (r.get("ms") or {}).get("total")
    ms = "%.1f" % total if isinstance(total, (int, float)) else "-"
    rows.append((r.get("target", "?"), check, r.get("ip") or "-", status, ms))
head = ("TARGET", "CHECK", "IP", "RESULT", "TOTAL MS")
rows.sort(key=lambda x: (x[0], x[1], x[2]))
w = [max(len(str(x[i])) for x in rows + [head]) for i in range(5)]
w[3] = min(w[3], 50)
fmt = "  ".join("%%-%ds" % n for n in w[:4]) + "  %%%ds" % w[4]
print(fmt % head)
for x in rows:
    st = x[3] if len(x[3]) <= 50 else x[3][:47] + "..."
    print(fmt % (x[0], x[1], x[2], st, x[4]))
print("\n%d results, %d ok" % (len(rows), sum(1 for x in rows if x[3].startswith("ok"))))
EOF
echo
echo "raw JSON lines: ${OUT#"$ROOT"/}/results.jsonl  (probe stderr: ${OUT#"$ROOT"/}/probe.stderr, config: ${OUT#"$ROOT"/}/demo.cfg)"
echo "expected: the tcp and http checks of 127.0.0.14 fail (nothing listens there), the rest are ok."
