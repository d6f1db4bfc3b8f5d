#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP reloads the collector's configuration while it runs: a probe added
# to the file is accepted (it was 401 before), a maintenance window lands in
# events.sqlite, a changed key replaces the old one at once. A broken file
# (a syntax error; an unknown setting) is rejected with file, line and
# setting named, and the running configuration stays: batches and /healthz
# keep working. A changed listen address is only warned about (it needs a
# restart): the collector keeps its socket. SIGTERM then exits 0. Batches
# are signed by the independent tests/lib/vt_send.py.
. "$top_srcdir/tests/lib/servers.sh"
vt_require python3
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
send=("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py")
keya=$(vt_key a)
keyb=$(vt_key b)
keyc=$(vt_key c)
keya2=$(vt_key a2)
port=$(vt_free_port)
port2=$(vt_free_port)
data=$VT_TMP/data
url=http://127.0.0.1:$port
cfg=$VT_TMP/collector.cfg
log=$VT_TMP/collector.log
db=$data/events.sqlite

# write_cfg [KEY=VALUE...]: the collector's configuration; listen (port),
# keya (a's key file), with_c (probe c), maint (the window), extra (one
# more line inside collector = { }, for a broken file).
write_cfg() {
	local listen=$port ka=$keya with_c=0 maint=0 extra='' kv
	for kv in "$@"; do
		case $kv in
		listen=*) listen=${kv#*=} ;;
		keya=*) ka=${kv#*=} ;;
		with_c=*) with_c=${kv#*=} ;;
		maint=*) maint=${kv#*=} ;;
		extra=*) extra=${kv#*=} ;;
		esac
	done
	{
		echo "collector = { listen = \"127.0.0.1:$listen\"; data_dir = \"$data\";"
		echo "  time_window = 300.0;"
		[ -n "$extra" ] && echo "  $extra"
		echo "};"
		echo "storage = { step = 10; };"
		echo "quorum = { quorum = 1; confirm = 1; };"
		echo "probes = ("
		echo "  { name = \"a\"; key_file = \"$ka\"; },"
		if [ "$with_c" = 1 ]; then
			echo "  { name = \"b\"; key_file = \"$keyb\"; },"
			echo "  { name = \"c\"; key_file = \"$keyc\"; }"
		else
			echo "  { name = \"b\"; key_file = \"$keyb\"; }"
		fi
		echo ");"
		if [ "$maint" = 1 ]; then
			echo 'maintenance = ( { target = "www"; start = "2030-01-02T03:04:05Z";'
			echo '                  end = "2030-01-02T04:00:00Z"; reason = "upgrade"; } );'
		fi
	} >"$cfg.new"
	mv "$cfg.new" "$cfg"
}

# hup ERE: SIGHUP, then wait until one more log line matches ERE.
hup() {
	local before
	before=$(grep -cE -- "$1" "$log")
	kill -HUP "$VT_COLLECTOR_PID"
	for _ in $(seq 1 50); do
		[ "$(grep -cE -- "$1" "$log")" -gt "$before" ] && return 0
		sleep 0.1
	done
	diag "no new log line matching \"$1\" after SIGHUP:"
	diag "$(tail -n 10 "$log")"
	return 1
}

now=$(date +%s)
t0=$(( (now / 10) * 10 - 200 ))
declare -A next=([a]=0 [b]=0 [c]=0)
# rec TS [TARGET] [IP] [NAME] [PROBE]: one compact tcp result record.
rec() {
	printf '{"ts":%s,"probe":"%s","target":"%s","check":"tcp","name":"%s","host":"www.example.test","ip":"%s","port":80,"ok":true,"ms":{"connect":0.5,"total":0.75}}\n' \
		"$1" "${5:-a}" "${2:-www}" "${4:-tcp}" "${3:-127.0.0.11}"
}
# batch PROBE KEYFILE [URL]: one signed record of PROBE with its next
# number and a later time; R gets "STATUS BODY". The number only moves on
# when the batch is stored.
batch() {
	local p=$1 n=${next[$1]}
	R=$(rec $((t0 + 10 * n)) www 127.0.0.11 tcp "$p" |
		"${send[@]}" "${3:-$url}" "$p" "$2" "$n")
	case $R in
	200*'"stored":1,'*) next[$p]=$((n + 1)) ;;
	esac
}
alive() { kill -0 "$VT_COLLECTOR_PID" 2>/dev/null; }

write_cfg
vt_collector_start "$cfg" "$port" || bail "collector did not start"
batch a "$keya"
like "$R" '^200 .*"stored":1' "probe a: batch stored"
batch b "$keyb"
like "$R" '^200 .*"stored":1' "probe b: batch stored"
batch c "$keyc"
like "$R" '^401 .*unknown probe' "probe c, not configured: 401 unknown probe"

# Probe c and a maintenance window added.
write_cfg with_c=1 maint=1
hup 'reloaded' || bail "no reload"
like "$(grep 'reloaded' "$log" | tail -n 1)" \
	'reloaded: 3 probes, 1 maintenance windows' "SIGHUP: the log says reloaded, 3 probes, 1 window"
batch c "$keyc"
like "$R" '^200 .*"stored":1' "probe c after the reload: batch stored"
is "$(vt_sql "$db" "select next_record from probes where name='c'")" 1 \
	"probe c's record is in the database"
is "$(vt_sql "$db" "select target, cast(start as int), cast(\"end\" as int), reason from maintenance")" \
	"www|1893553445|1893556800|upgrade" "maintenance window in events.sqlite"
batch a "$keya"
like "$R" '^200 ' "probe a unaffected by the reload"

# A new key for a (another file), and b's key file rewritten in place.
cp "$keyb" "$VT_TMP/keyb.old"
head -c 32 /dev/urandom | base64 >"$keyb"
write_cfg with_c=1 maint=1 keya="$keya2"
hup 'reloaded' || bail "no reload"
batch a "$keya"
like "$R" '^401 .*bad signature' "probe a, old key after the reload: 401"
batch a "$keya2"
like "$R" '^200 .*"stored":1' "probe a, new key: 200"
batch b "$VT_TMP/keyb.old"
like "$R" '^401 .*bad signature' \
	"probe b, key file rewritten in place: old key 401"
batch b "$keyb"
like "$R" '^200 .*"stored":1' "probe b, new key from the same file: 200"

# A syntax error: rejected, the running configuration stays.
write_cfg with_c=1 maint=1 keya="$keya2"
sed -i 's/{ name = "b";/{ name = = "b";/' "$cfg"
line=$(grep -n 'name = = "b"' "$cfg" | cut -d: -f1)
like "$line" '^[0-9]+$' "broken file written (syntax error on line $line)"
hup 'rejected' || bail "no rejection logged"
like "$(cat "$log")" "$cfg:$line: syntax error" "syntax error: the log names file and line"
like "$(grep 'rejected' "$log" | tail -n 1)" "reload of $cfg rejected; the running configuration stays" \
	"syntax error: reload rejected"
check "collector still running after the syntax error" alive
batch a "$keya2"
like "$R" '^200 .*"stored":1' "probe a still accepted (running configuration)"
batch c "$keyc"
like "$R" '^200 .*"stored":1' "probe c still accepted (running configuration)"
like "$(vt_http GET "$url/healthz")" '^200 .*"status":"ok"' "/healthz still 200"

# An unknown setting: rejected, file:line:setting named.
write_cfg with_c=1 maint=1 keya="$keya2" extra='bogus = 1;'
line=$(grep -n 'bogus = 1;' "$cfg" | cut -d: -f1)
hup 'reload of .* rejected' || bail "no rejection logged"
like "$(cat "$log")" "$cfg:$line: collector\\.bogus: unknown setting" \
	"unknown setting: the log names file, line and setting"
like "$(cat "$log")" "$cfg: 1 error; configuration rejected" "unknown setting: configuration rejected"
check "collector still running after the unknown setting" alive
batch a "$keya"
like "$R" '^401 ' "probe a's old key still refused (running configuration)"
batch a "$keya2"
like "$R" '^200 .*"stored":1' "probe a still accepted with the running key"
like "$(vt_http GET "$url/healthz")" '^200 .*"status":"ok"' "/healthz still 200"
is "$(vt_sql "$db" "select count(*) from maintenance")" 1 \
	"the maintenance window survived the rejected reloads"

# Another listen address: it needs a restart; the socket stays.
write_cfg with_c=1 maint=1 keya="$keya2" listen="$port2"
hup 'reloaded' || bail "no reload"
like "$(cat "$log")" 'collector\.listen changed; it takes effect at the next restart' \
	"listen change: the log says it needs a restart"
like "$(vt_http GET "$url/healthz")" '^200 ' "still listening on the old port"
like "$(vt_http GET "http://127.0.0.1:$port2/healthz")" '^000 ' "not listening on the new port"
batch a "$keya2"
like "$R" '^200 .*"stored":1' "batches still accepted on the old port"

is "$(vt_sql "$db" "select name || ':' || next_record from probes order by name" | tr '\n' ' ')" \
	"a:${next[a]} b:${next[b]} c:${next[c]} " "every accepted batch stored once, nothing else"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0 on SIGTERM"
tap_done
