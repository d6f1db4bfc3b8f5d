#!/bin/bash
# SPDX-License-Identifier: MIT
# The static status page, from data stored by the real collector: three
# probes (tests/lib/vt_send.py) report on two targets; "www" loses one of
# its two addresses for 100 s and has a maintenance window now, "api"
# loses its only address for the last minute; an announcements file adds
# a hotfix. `vantage-graph status-page` must write a complete folder whose
# status.json figures are the report's, whose links and images all
# resolve and whose HTML parses; a real headless Chromium (when installed)
# loads it without a broken image, also at phone width. Last, the
# collector rebuilds the page every 2 s while a reader never sees a
# missing or truncated index.html.
. "$top_srcdir/tests/lib/servers.sh"
vt_graph_setup
py() { "$VT_PYTHON" "$@"; }

now=$(date +%s)
t0=$(((now / 10) * 10 - 600))
tend=$(((now / 10) * 10))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# collector config: PORT DATA STATUS_GROUP
write_cfg() {
	cat <<CFG
collector = { listen = "127.0.0.1:$1"; data_dir = "$2"; };
storage = { step = 10; heartbeat = 30;
  rra = [ "RRA:AVERAGE:0.5:1:1080", "RRA:AVERAGE:0.5:6:1500",
          "RRA:MIN:0.5:6:1500", "RRA:MAX:0.5:6:1500",
          "RRA:AVERAGE:0.5:30:2100", "RRA:AVERAGE:0.5:360:750" ]; };
quorum = { quorum = 2; confirm = 1; silence = 3600.0; };
probes = ( { name = "a"; key_file = "$(vt_key a)"; },
           { name = "b"; key_file = "$(vt_key b)"; },
           { name = "c"; key_file = "$(vt_key c)"; } );
maintenance = ( { target = "www"; start = "$(iso $((now - 120)))";
                  end = "$(iso $((now + 3600)))"; reason = "disk <swap> & reboot"; } );
$3
CFG
}

cat >"$VT_TMP/announcements.cfg" <<'CFG'
announcements = (
  { kind = "hotfix"; title = "TLS library update";
    text = "Patched <script>alert(1)</script> in the API.\n\nNo action needed.";
    start = "2026-01-01T10:00:00Z"; targets = [ "api" ]; }
);
CFG
# The operator's notes on www's incident (t0+200 to t0+300).
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
cat >>"$VT_TMP/announcements.cfg" <<CFG
notes = (
  { service = "www"; at = "$(iso $((t0 + 330)))"; text = "Resolved: a bad route at the edge."; },
  { service = "www"; at = "$(iso $((t0 + 210)))"; text = "Investigating <lost> packets."; }
);
CFG

port=$(vt_free_port)
data=$VT_TMP/data
site=$VT_TMP/site
write_cfg "$port" "$data" "status = { output_dir = \"$site\"; title = \"Example <Status> & Co\";
  announcements_file = \"$VT_TMP/announcements.cfg\"; };" >"$VT_TMP/collector.cfg"
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"

# One tcp record: TS PROBE TARGET IP OK
rec() {
	if [ "$5" = 1 ]; then
		printf '{"ts":%s,"probe":"%s","target":"%s","check":"tcp","name":"tcp","host":"%s.example.test","ip":"%s","port":80,"ok":true,"ms":{"connect":1.5,"total":2.5}}\n' \
			"$1" "$2" "$3" "$3" "$4"
	else
		printf '{"ts":%s,"probe":"%s","target":"%s","check":"tcp","name":"tcp","host":"%s.example.test","ip":"%s","port":80,"ok":false,"error":"connect_timeout"}\n' \
			"$1" "$2" "$3" "$3" "$4"
	fi
}
# A dns record for www: both addresses, then only 127.0.0.11 from
# t0+300 on (a switch, for the load-shift graph).
dns() { # TS PROBE
	local answers='"127.0.0.11","127.0.0.12"'
	[ "$1" -lt $((t0 + 300)) ] || answers='"127.0.0.11"'
	printf '{"ts":%s,"probe":"%s","target":"www","check":"dns","name":"dns","host":"www.example.test","ok":true,"ms":{"total":0.5},"resolver":"127.0.0.1:53","rcode":"NOERROR","answers":[%s],"ttl":60}\n' \
		"$1" "$2" "$answers"
}
# The world: www 127.0.0.12 is unreachable in [t0+200, t0+300); api
# 127.0.0.21 from tend-60 on.
records() { # PROBE FROM TO
	local t
	for ((t = $2; t < $3; t += 10)); do
		dns "$t" "$1"
		rec "$t" "$1" www 127.0.0.11 1
		rec "$t" "$1" www 127.0.0.12 $((t < t0 + 200 || t >= t0 + 300))
		rec "$t" "$1" api 127.0.0.21 $((t < tend - 60))
	done
}
# Rounds cut at the state changes, every probe once per round: the quorum
# engine applies batches as they arrive, so the probes' views must meet.
declare -A seq=([a]=0 [b]=0 [c]=0)
sent_ok=1
for cut in "$t0 $((t0 + 200))" "$((t0 + 200)) $((t0 + 300))" \
	"$((t0 + 300)) $((tend - 60))" "$((tend - 60)) $((tend + 1))"; do
	read -r from to <<<"$cut"
	for p in a b c; do
		body=$(records "$p" "$from" "$to")
		n=$(grep -c . <<<"$body")
		r=$("${send[@]}" "http://127.0.0.1:$port" "$p" "$(vt_key "$p")" "${seq[$p]}" <<<"$body")
		case $r in 200*) ;; *) sent_ok=0; diag "batch $p $cut: $r" ;; esac
		seq[$p]=$((seq[$p] + n))
	done
done
is "$sent_ok" 1 "every batch stored by the collector"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector stopped"
db=$data/events.sqlite
diag "outages: $(vt_sql "$db" "select scope, target, ip, kind, state, start - $t0, ifnull(\"end\" - $t0, 'open'), seen_by, of_probes from outages order by start" | tr '\n' ' ')"

# --- the command -------------------------------------------------------------
G() { "$VANTAGE_GRAPH" -c "$VT_TMP/collector.cfg" "$@"; }
rc=0
t_build=$(date +%s.%N)
G status-page -o "$site" >"$VT_TMP/sp.out" 2>"$VT_TMP/sp.err" || rc=$?
t_build=$(py -c "import sys,time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$t_build")
is "$rc" 0 "status-page exits 0 (built in ${t_build}s)"
[ "$rc" = 0 ] || diag "$(cat "$VT_TMP/sp.err")"
diag "build log: $(cat "$VT_TMP/sp.err")"
missing=
for f in index.html style.css status.json services/www.html services/api.html; do
	[ -s "$site/$f" ] || missing="$missing $f"
done
is "${missing:-none}" none "index.html, style.css, status.json and a page per service written"
check "the output is a symbolic link to a versioned folder (atomic swap)" test -L "$site"
G status-page -o "$site" 2>>"$VT_TMP/sp.err" || true
n_versions=$(find "$VT_TMP" -maxdepth 1 -name 'site.*' | wc -l)
is "$n_versions" 1 "a second build replaced the first and removed it"

# status.json: states, incidents, announcements
summary=$(py - "$site/status.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
s = {x['name']: x for x in j['services']}
print('states', s['www']['state'], s['api']['state'])
print('open', len(s['www']['open_incidents']), len(s['api']['open_incidents']))
print('days', len(s['www']['days']), s['www']['days'][-1]['class'])
print('ann', ','.join(sorted(a['kind'] + ':' + a['source'] for a in j['announcements'])))
inc = [i for i in j['incidents'] if i['service'] == 'www']
print('www_inc', len(inc), inc[0]['addresses'][0]['ip'] if inc and inc[0]['addresses'] else '-',
      inc[0]['addresses'][0]['seen_by'] if inc and inc[0]['addresses'] else '-')
print('generated', 'T' in j['generated_at'])
PY
)
diag "$summary"
like "$summary" "states maintenance down" "www in maintenance (window now), api down (its only address out)"
like "$summary" "open 0 [12]" "api has an open incident, www none"
like "$summary" "days 90 " "90 daily figures per service"
like "$summary" "ann hotfix:file,maintenance:maintenance_window" \
	"announcements: the hotfix from the file and the maintenance window"
like "$summary" "www_inc 1 127.0.0.12 3" "www's incident names 127.0.0.12, seen by 3 probes"
like "$summary" "generated True" "generated_at present"

# The same numbers as `vantage-graph report` for the same periods.
cmp_out=$(py - "$site/status.json" "$VANTAGE_GRAPH" "$VT_TMP/collector.cfg" <<'PY'
import json, subprocess, sys
j = json.load(open(sys.argv[1]))
bad = []
n = 0
for name, p in j['periods'].items():
    out = subprocess.run([sys.argv[2], '-c', sys.argv[3], 'report', '--period',
                          '%d..%d' % (p['start'], p['end']), '--format', 'json'],
                         capture_output=True, text=True)
    if out.returncode != 0:
        bad.append('%s: report exit %d: %s' % (name, out.returncode, out.stderr.strip()))
        continue
    rep = json.loads(out.stdout)
    targets = rep.get('targets', rep)
    by = {t.get('target', t.get('name')): t for t in targets}
    for s in j['services']:
        mine = s['availability'][name]
        theirs = by.get(s['name'])
        if mine is None or theirs is None:
            bad.append('%s %s: missing (%r, %r)' % (name, s['name'], mine, theirs))
            continue
        for k, v in mine.items():
            w = theirs.get(k)
            n += 1
            if v != w:
                bad.append('%s %s %s: status.json %r, report %r' % (name, s['name'], k, v, w))
print('compared', n)
print('\n'.join(bad) or 'all equal')
PY
)
diag "$cmp_out"
like "$cmp_out" "all equal" "status.json availability figures equal the report's for the same periods"

# Links, images, structure, escaping, in every page.
html_out=$(py - "$site" <<'PY'
import html.parser, os, sys, urllib.parse
root = os.path.realpath(sys.argv[1])
problems = []
class P(html.parser.HTMLParser):
    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.path, self.ids, self.frags, self.stack = path, set(), [], []
        self.headings, self.tags, self.imgs = [], set(), 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if 'id' in a:
            if a['id'] in self.ids:
                problems.append('%s: duplicate id %s' % (self.path, a['id']))
            self.ids.add(a['id'])
        if tag in ('h1', 'h2', 'h3', 'h4', 'h5', 'h6'):
            self.headings.append(int(tag[1]))
        if tag == 'img':
            self.imgs += 1
            if not a.get('alt'):
                problems.append('%s: <img> without alt' % self.path)
        if tag == 'script':
            problems.append('%s: <script>' % self.path)
        for attr in ('href', 'src'):
            if attr not in a:
                continue
            u = urllib.parse.urlsplit(a[attr])
            if u.scheme or u.netloc:
                problems.append('%s: external %s' % (self.path, a[attr]))
                continue
            if not u.path:
                self.frags.append(u.fragment)
                continue
            t = os.path.normpath(os.path.join(os.path.dirname(self.path), u.path))
            if not os.path.isfile(t) or not os.path.realpath(t).startswith(root):
                problems.append('%s: %s %s does not resolve' % (self.path, attr, a[attr]))
        if tag not in ('meta', 'link', 'img', 'br', 'input', 'hr', 'source'):
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            problems.append('%s: </%s> does not close <%s>' % (self.path, tag, self.stack[-1] if self.stack else '-'))
        else:
            self.stack.pop()
pages = imgs = 0
for d, _, files in os.walk(sys.argv[1] + '/'):
    for f in files:
        if not f.endswith('.html'):
            continue
        path = os.path.join(d, f)
        text = open(path, encoding='utf-8').read()
        pages += 1
        p = P(path)
        p.feed(text)
        p.close()
        imgs += p.imgs
        if not text.startswith('<!DOCTYPE html>'):
            problems.append(path + ': no doctype')
        if p.stack:
            problems.append('%s: unclosed %s' % (path, p.stack))
        for need in ('header', 'main', 'nav', 'footer', 'title', 'meta'):
            if need not in p.tags:
                problems.append('%s: no <%s>' % (path, need))
        if 'name="viewport"' not in text:
            problems.append(path + ': no viewport')
        if p.headings.count(1) != 1:
            problems.append(path + ': not exactly one h1')
        for a, b in zip(p.headings, p.headings[1:]):
            if b > a + 1:
                problems.append('%s: heading h%d after h%d' % (path, b, a))
        for fr in p.frags:
            if fr not in p.ids:
                problems.append('%s: #%s has no target' % (path, fr))
        if '<script>alert' in text or '<Status>' in text or '<swap>' in text:
            problems.append(path + ': unescaped data')
print('pages', pages, 'images', imgs)
print('\n'.join(problems) or 'no problems')
PY
)
diag "$html_out"
like "$html_out" "no problems" "every page parses, its links and images resolve, headings in order, data escaped"
like "$(cat "$site/index.html")" "Example &lt;Status&gt; &amp; Co" "the title is escaped"
like "$(cat "$site/services/api.html")" "Patched &lt;script&gt;alert\\(1\\)&lt;/script&gt;" \
	"the hotfix text is escaped, on the page of the service it names"
like "$(cat "$site/index.html")" 'title="[0-9]{4}-[0-9]{2}-[0-9]{2}: (100\.00|99\.[0-9]{2}) %' \
	"daily bars carry their figure as text"

# A bad announcements file is an error of the command, with file:line.
cp "$VT_TMP/announcements.cfg" "$VT_TMP/good.cfg"
printf 'announcements = ( { kind = "hotfix"; title = "x"; colour = "red"; } );\n' \
	>"$VT_TMP/announcements.cfg"
rc=0
G status-page -o "$VT_TMP/bad-site" 2>"$VT_TMP/bad.err" || rc=$?
is "$rc" 2 "an unknown key in the announcements file fails the command (exit 2)"
like "$(cat "$VT_TMP/bad.err")" "announcements.cfg:1: announcements\\[0\\]\\.colour: unknown" \
	"the error names file, line and setting"
check "nothing written for the failed build" test ! -e "$VT_TMP/bad-site"
cp "$VT_TMP/good.cfg" "$VT_TMP/announcements.cfg"

# The example file in etc/ is valid.
srcdir_abs=$(cd "$top_srcdir" && pwd)
sed "s#$VT_TMP/announcements.cfg#$srcdir_abs/etc/announcements.cfg#" \
	"$VT_TMP/collector.cfg" >"$VT_TMP/example.cfg"
rc=0
"$VANTAGE_GRAPH" -c "$VT_TMP/example.cfg" status-page -o "$VT_TMP/example-site" \
	2>"$VT_TMP/example.err" || rc=$?
is "$rc" 0 "etc/announcements.cfg is accepted"
like "$(cat "$VT_TMP/example-site/status.json" 2>/dev/null)" '"title":"Database upgrade"' \
	"its announcements are on the page"

# --- feed, badges, incremental rebuild ------------------------------------------
# The Atom feed against RFC 4287's rules with an independent parser (Python's
# xml), its ids kept by a rebuild; an ended incident's entry is updated at
# its end, an open one's at its start. Badges: SVG whose numbers are
# status.json's. The rebuild draws only what moved (graph_jobs.h).
feedcheck() {
	py - "$site" <<'PY'
import json, re, sys
import xml.etree.ElementTree as ET
A = '{http://www.w3.org/2005/Atom}'
site = sys.argv[1]
root = ET.parse(site + '/feed.xml').getroot()
p = []
iso = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$')
if root.tag != A + 'feed': p.append('root is not atom:feed')
for el in ('id', 'title', 'updated'):
    if len(root.findall(A + el)) != 1: p.append('feed needs one ' + el)
if not iso.match(root.findtext(A + 'updated') or ''): p.append('feed updated not RFC 3339')
has_author = root.find(A + 'author/' + A + 'name') is not None
ids = []
st = json.load(open(site + '/status.json'))
inc = {(i['service'], i['start']): i for i in st['incidents']}
ended = ongoing = 0
for e in root.findall(A + 'entry'):
    for el in ('id', 'title', 'updated'):
        if len(e.findall(A + el)) != 1: p.append('entry needs one ' + el)
    if not iso.match(e.findtext(A + 'updated') or ''): p.append('entry updated not RFC 3339')
    if not has_author and e.find(A + 'author') is None: p.append('no author')
    if e.find(A + 'content') is None and e.find(A + "link[@rel='alternate']") is None:
        p.append('entry without content or alternate link')
    i = e.findtext(A + 'id')
    ids.append(i)
    m = re.match(r'^tag:[^,]+,\d{4}:incident/(.+)/(\d+)$', i)
    if m:
        import datetime
        start = datetime.datetime.utcfromtimestamp(int(m.group(2))).strftime('%Y-%m-%dT%H:%M:%SZ')
        j = inc.get((m.group(1), start))
        if not j: p.append('no incident in status.json for ' + i); continue
        want = j['end'] or j['start']
        if e.findtext(A + 'updated') != want and not j['addresses']:
            p.append('%s updated %s, want %s' % (i, e.findtext(A + 'updated'), want))
        if j['end']:
            ended += 1
            if 'resolved' not in e.findtext(A + 'title'): p.append('ended incident not resolved: ' + i)
            if e.findtext(A + 'updated') < j['end']: p.append('ended incident not updated at its end')
        else:
            ongoing += 1
if len(set(ids)) != len(ids): p.append('duplicate ids')
bad = []
for s in st['services']:
    for slug, period in (('uptime-24h', 'last_24_hours'), ('uptime-30d', 'last_30_days')):
        b = ET.parse('%s/badges/%s-%s.svg' % (site, s['name'], slug)).getroot()
        v = [t.text for t in b.iter('{http://www.w3.org/2000/svg}text') if t.get('class') == 'value'][0]
        a = (s['availability'][period] or {}).get('availability')
        want = 'no data' if a is None else '%.3f %%' % (int(round(a * 1e6)) // 100 / 1e4 * 100 // 0.001 * 0.001) if False else None
        if a is None:
            want = 'no data'
        else:
            pct = int(round(a * 1e6))  # status.json: 6 decimals, truncated
            want = '%d.%03d %%' % (pct // 10000, (pct % 10000) // 10)
        if v != want: bad.append('%s %s badge %s, status.json %s' % (s['name'], slug, v, want))
    b = ET.parse('%s/badges/%s-status.svg' % (site, s['name'])).getroot()
    v = [t.text for t in b.iter('{http://www.w3.org/2000/svg}text') if t.get('class') == 'value'][0]
    if v.lower().replace(' ', '_') != s['state']: bad.append('%s status badge %s, status.json %s' % (s['name'], v, s['state']))
print('problems', p, 'ended', ended, 'ongoing', ongoing, 'badges', bad)
print('ids', ' '.join(sorted(ids)))
PY
}
f1=$(feedcheck)
like "$(head -n 1 <<<"$f1")" "^problems \[\] ended [1-9][0-9]* ongoing [1-9][0-9]* badges" \
	"Atom feed follows RFC 4287: an ended incident's entry resolved and updated, an open one too ($(head -n 1 <<<"$f1" | cut -c1-200))"
like "$(head -n 1 <<<"$f1")" "badges \[\]$" "badges: valid SVG, the numbers and states of status.json"
"$VANTAGE_GRAPH" -c "$VT_TMP/collector.cfg" -l info status-page -o "$site" 2>"$VT_TMP/sp2.err" || true
notes=$(py - "$site" "$(iso $((t0 + 330)))" <<'PY'
import json, re, sys
import xml.etree.ElementTree as ET
A = '{http://www.w3.org/2005/Atom}'
site, last = sys.argv[1], sys.argv[2]
page = open(site + '/services/www.html').read()
m = re.search(r'<h4>Updates</h4>\s*<ol class="updates">(.*?)</ol>', page, re.S)
items = re.findall(r'<li>.*?</li>', m.group(1), re.S) if m else []
st = json.load(open(site + '/status.json'))
js = [len(i['notes']) for i in st['incidents'] if i['service'] == 'www']
e = [e for e in ET.parse(site + '/feed.xml').getroot().findall(A + 'entry')
     if 'incident/www/' in e.findtext(A + 'id')][0]
print('page', len(items), 'escaped', '&lt;lost&gt;' in page and '<lost>' not in page,
      'order', bool(items) and 'Investigating' in items[0],
      'json', js, 'feed', e.findtext(A + 'updated') == last,
      'Update' in e.findtext(A + 'content') and 'bad route' in e.findtext(A + 'content'))
PY
)
is "$notes" "page 2 escaped True order True json [2] feed True True" \
	"operator notes: under the incident (escaped, oldest first), in status.json, in the feed entry (updated at the last note)"
f2=$(feedcheck)
is "$(tail -n 1 <<<"$f2")" "$(tail -n 1 <<<"$f1")" "feed ids stable across rebuilds"
like "$(cat "$VT_TMP/sp2.err")" "graphs: [0-9]+ drawn by [0-9]+ workers?, [1-9][0-9]* unchanged" \
	"a rebuild reuses the graphs whose range and data moved by less than 1 % of their range"

# Silences: when every probe of a service is silent, its daily bar counts
# that time as no data. A copy of the data with the collector's probe
# events of such a silence (silence = 30 s: each "silent" event is noticed
# 30 s after the probe's last contact): a and b silent from t0+100 to
# t0+160, c from t0+100 to t0+200, so all three from t0+100 to t0+160.
cp -r "$data" "$VT_TMP/data-silent"
sed -e 's|silence = 3600.0|silence = 30.0|' -e "s|$data|$VT_TMP/data-silent|" \
	"$VT_TMP/collector.cfg" >"$VT_TMP/collector-silent.cfg"
py - "$VT_TMP/data-silent/events.sqlite" "$t0" <<'PY'
import sqlite3, sys
t0 = int(sys.argv[2])
con = sqlite3.connect(sys.argv[1], timeout=10)
con.executemany('insert into probe_events(ts, probe, event) values (?, ?, ?)',
                [(t0 + 130, 'a', 'silent'), (t0 + 160, 'a', 'back'),
                 (t0 + 130, 'b', 'silent'), (t0 + 160, 'b', 'back'),
                 (t0 + 130, 'c', 'silent'), (t0 + 200, 'c', 'back')])
con.commit()
PY
"$VANTAGE_GRAPH" -c "$VT_TMP/collector-silent.cfg" status-page -o "$VT_TMP/site-silent" \
	2>"$VT_TMP/silent.err" || true
silent=$(py - "$VT_TMP/site-silent" <<'PY'
import json, sys
st = json.load(open(sys.argv[1] + '/status.json'))
www = [s for s in st['services'] if s['name'] == 'www'][0]
nd = sum(d.get('nodata_s') or 0 for d in www['days'])
page = open(sys.argv[1] + '/index.html').read()
print('nodata_s', nd, 'in bar text', '; no data 1m00s' in page)
PY
)
is "$silent" "nodata_s 60 in bar text True" \
	"90-day bars: the minute every probe was silent counts as no data"

# A real folder that is not ours is never replaced.
mkdir -p "$VT_TMP/www-root" && echo keep >"$VT_TMP/www-root/keep.txt"
rc=0
G status-page -o "$VT_TMP/www-root" 2>"$VT_TMP/refuse.err" || rc=$?
is "$rc:$(cat "$VT_TMP/www-root/keep.txt")" "2:keep" "a folder that is not a status page is left alone"

# --- a real browser -----------------------------------------------------------
CHROMIUM=${VT_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	for d in "index.html: service names in the DOM" "service page in the DOM" \
		"every image and the stylesheet served with 200, nothing 404" \
		"phone-width screenshot is 390 px wide"; do
		skip "$d" "no $CHROMIUM (Debian package chromium)"
	done
else
	# serve DIR PORT LOG: a web server for DIR, until the test ends.
	serve() {
		# Not through py(): $! must be the server itself, to be killed at exit.
		"$VT_PYTHON" -m http.server --bind 127.0.0.1 --directory "$1" "$2" \
			>"$3" 2>&1 &
		vt_track $!
		for _ in $(seq 1 50); do
			_vt_tcp_open 127.0.0.1 "$2" && break
			sleep 0.1
		done
	}
	hport=$(vt_free_port)
	serve "$site" "$hport" "$VT_TMP/http.log"
	chrome() { # a fresh profile each time: no cache, so every fetch is a 200
		rm -rf "$VT_TMP/chrome"
		timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
			--disable-quic --no-first-run --disable-background-networking \
			--disable-component-update --disable-sync --disable-dev-shm-usage \
			--user-data-dir="$VT_TMP/chrome" "$@" 2>>"$VT_TMP/chrome.log"
	}
	base=http://127.0.0.1:$hport
	dom=$(chrome --dump-dom "$base/index.html")
	if ! like "$dom" '<h3 id="svc-api">.*api</a></h3>.*<h3 id="svc-www">.*www</a></h3>' \
		"index.html: service names in the DOM"; then
		diag "$(tail -n 5 "$VT_TMP/chrome.log")"
	fi
	dom=$(chrome --dump-dom "$base/services/www.html")
	like "$dom" '<h1>www</h1>.*Maintenance' "service page in the DOM"
	chrome --window-size=390,844 --screenshot="$VT_TMP/phone.png" "$base/index.html" >/dev/null
	served=$(py - "$VT_TMP/http.log" "$site" <<'PY'
import html.parser, os, re, sys
log = open(sys.argv[1]).read()
reqs = re.findall(r'"GET (\S+) HTTP/[\d.]+" (\d+)', log)
status = {}
for path, code in reqs:
    status.setdefault(path, set()).add(code)
want = set()
alts = {}  # an image in a <picture>: its narrow rendering will do as well
class P(html.parser.HTMLParser):
    def __init__(self, prefix):
        super().__init__()
        self.prefix, self.source = prefix, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'source':
            self.source = os.path.normpath(self.prefix + a['srcset'])
        if tag == 'img':
            p = os.path.normpath(self.prefix + a['src'])
            want.add(p)
            if self.source:
                alts[p] = self.source
            self.source = None
        if tag == 'link' and a.get('rel') == 'stylesheet':
            want.add(os.path.normpath(self.prefix + a['href']))
P('/').feed(open(sys.argv[2] + '/index.html').read())
P('/services/').feed(open(sys.argv[2] + '/services/www.html').read())
bad = [p for p in sorted(want) if status.get(p) != {'200'} and
       status.get(alts.get(p)) != {'200'}]
notfound = [p for p, c in status.items() if '404' in c]
print('requests', len(reqs), 'wanted', len(want))
print('bad', bad, 'notfound', notfound)
PY
)
	diag "$served"
	like "$served" "bad \\[\\] notfound \\[\\]" \
		"every image and the stylesheet served with 200, nothing 404"
	width=$(py -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0] if d[:8]==b"\x89PNG\r\n\x1a\n" else 0)' \
		"$VT_TMP/phone.png" 2>/dev/null)
	is "$width" 390 "phone-width screenshot is 390 px wide"

	# Layout in the browser: a copy of the page with a script that
	# measures after load (the page itself has none): no horizontal
	# overflow, and every image drawn at its native size (the narrow
	# rendering on a phone), at 1280 and 390 px.
	cp -rL "$site" "$VT_TMP/measure"
	# axe-core (test.sh installs it with npm) checks each page too.
	AXE=${VT_AXE:-${top_builddir:-.}/tests/node/node_modules/axe-core/axe.min.js}
	axe_tag=
	if [ -f "$AXE" ]; then
		cp "$AXE" "$VT_TMP/measure/axe.min.js"
		axe_tag='<script src="/axe.min.js"></script><script>addEventListener("load",function(){axe.run(document).then(function(r){var p=document.createElement("pre");p.id="vt-axe";p.hidden=true;p.textContent=JSON.stringify(r.violations.map(function(v){return [v.id,v.nodes.length]}));document.body.appendChild(p)})})</script>'
	fi
	for f in index.html services/www.html services/www-probes.html; do
		sed -i "s|</body>|$axe_tag</body>|" "$VT_TMP/measure/$f"
	done
	for f in index.html services/www.html; do
		sed -i 's|</body>|<script>addEventListener("load",function(){var d=document.documentElement,r={sw:d.scrollWidth,cw:d.clientWidth,imgs:[]};document.querySelectorAll("img").forEach(function(i){r.imgs.push([i.currentSrc.split("/").pop(),i.naturalWidth,i.width])});var p=document.createElement("pre");p.id="vt-measure";p.hidden=true;p.textContent=JSON.stringify(r);document.body.appendChild(p)});</script></body>|' \
			"$VT_TMP/measure/$f"
	done
	mport=$(vt_free_port)
	serve "$VT_TMP/measure" "$mport" "$VT_TMP/http-measure.log"
	for w in 1280 390; do
		for f in index.html services/www.html; do
			chrome --window-size=$w,900 --virtual-time-budget=5000 --dump-dom \
				"http://127.0.0.1:$mport/$f" >"$VT_TMP/measure.dom"
			got=$(py - "$VT_TMP/measure.dom" "$w" <<'PY'
import html, json, re, sys
m = re.search(r'<pre id="vt-measure"[^>]*>(.*?)</pre>', open(sys.argv[1]).read(), re.S)
if not m:
    print('no measurement'); sys.exit(0)
r = json.loads(html.unescape(m.group(1)))
# On a phone, a graph without a narrow rendering (none drawn: the test's
# short archives) falls back to the wide one, scaled: counted apart.
wide = [i for i in r['imgs'] if sys.argv[2] == '390' and '-narrow' not in i[0]]
bad = [i for i in r['imgs'] if i[1] and i[1] != i[2] and i not in wide]
narrow = sum(1 for i in r['imgs'] if '-narrow' in i[0])
print('overflow %d scaled %s images %d narrow %d wide fallback %d' % (r['sw'] - r['cw'], bad, len(r['imgs']), narrow, len(wide)))
PY
)
			like "$got" "^overflow [-0-9]+ scaled \\[\\] images [1-9]" \
				"$f at $w px: every image at its native size ($got)"
			ov=${got#overflow }
			ov=${ov%% *}
			check "$f at $w px: no horizontal overflow ($ov px)" [ "${ov:-1}" -le 0 ]
			if [ "$w" = 390 ]; then
				like "$got" "narrow [1-9]" "$f at 390 px: the narrow renderings are used"
			fi
		done
	done
	for f in index.html services/www.html services/www-probes.html; do
		if [ -z "$axe_tag" ]; then
			skip "$f: axe-core finds no accessibility violation" "no axe-core (test.sh installs it with npm)"
			continue
		fi
		chrome --window-size=1280,900 --virtual-time-budget=15000 --dump-dom \
			"http://127.0.0.1:$mport/$f" >"$VT_TMP/axe.dom"
		got=$(py - "$VT_TMP/axe.dom" <<'PY'
import html, re, sys
m = re.search(r'<pre id="vt-axe"[^>]*>(.*?)</pre>', open(sys.argv[1]).read(), re.S)
print('violations ' + (html.unescape(m.group(1)) if m else 'not run'))
PY
)
		is "$got" "violations []" "$f: axe-core finds no accessibility violation"
	done
fi

# --- the collector rebuilds the page ------------------------------------------
port2=$(vt_free_port)
site2=$VT_TMP/site2
# An interval of three times the first build (at least 2 s): rebuilds never
# overlap, even in a sanitizer build, which is several times slower.
interval=$(py -c 'import math,sys; print(max(2, math.ceil(3 * float(sys.argv[1]))))' "$t_build")
write_cfg "$port2" "$data" "status = { output_dir = \"$site2\"; interval = $interval;
  announcements_file = \"$VT_TMP/announcements.cfg\"; };" >"$VT_TMP/collector2.cfg"
vt_collector_start "$VT_TMP/collector2.cfg" "$port2" || bail "collector did not start"
gen() { py -c 'import json,sys; print(json.load(open(sys.argv[1]))["generated_at_unix"])' \
	"$site2/status.json" 2>/dev/null; }
first=
for _ in $(seq 1 $((interval * 30))); do
	first=$(gen) && [ -n "$first" ] && break
	sleep 0.1
done
like "$first" '^[0-9]+$' "the collector built the page"
# A reader hammering index.html across several rebuilds.
"$VT_PYTHON" - "$site2/index.html" >"$VT_TMP/reader.out" 2>&1 <<'PY' &
import sys, time
bad = 0
for i in range(200):
    try:
        with open(sys.argv[1], 'rb') as f:
            d = f.read()
        if not d.rstrip().endswith(b'</html>'):
            bad += 1
    except OSError as e:
        bad += 1
        print('read', i, e)
    time.sleep(0.025)
print('bad reads', bad)
PY
reader=$!
vt_track "$reader"
later=$first
for _ in $(seq 1 $((interval * 30))); do
	later=$(gen) || later=$first
	[ "${later:-$first}" != "$first" ] && break
	sleep 0.1
done
isnt_same=$([ -n "$later" ] && [ "$later" != "$first" ] && echo yes || echo no)
is "$isnt_same" yes "the page is rebuilt (generated_at $first -> $later)"
wait "$reader"
like "$(cat "$VT_TMP/reader.out")" "^bad reads 0$" \
	"200 reads during rebuilds: never missing, never truncated"

# The open api incident ends (all probes reach it again): the feed keeps
# its entry (same id), now resolved and updated at its end.
entry() { # the feed entry of api's incident: id|title|updated
	py - "$site2/feed.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
A = '{http://www.w3.org/2005/Atom}'
for e in ET.parse(sys.argv[1]).getroot().findall(A + 'entry'):
    if 'incident/api/' in e.findtext(A + 'id'):
        print('|'.join(e.findtext(A + k) for k in ('id', 'title', 'updated')))
PY
}
before=$(entry)
sent_ok=1
for p in a b c; do
	body=$(rec $((tend + 10)) "$p" api 127.0.0.21 1; rec $((tend + 20)) "$p" api 127.0.0.21 1)
	r=$("${send[@]}" "http://127.0.0.1:$port2" "$p" "$(vt_key "$p")" "${seq[$p]}" <<<"$body")
	case $r in 200*) ;; *) sent_ok=0; diag "recovery $p: $r" ;; esac
	seq[$p]=$((seq[$p] + 2))
done
after=$before
for _ in $(seq 1 $((interval * 30))); do
	after=$(entry 2>/dev/null) || after=$before
	[[ $after == *resolved* ]] && break
	sleep 0.1
done
ended=$(vt_sql "$data/events.sqlite" "select strftime('%Y-%m-%dT%H:%M:%SZ', \"end\", 'unixepoch') from outages where target = 'api' and scope = 'host'")
is "$sent_ok:${after%%|*}:${after#*|}" "1:${before%%|*}:api: down, resolved|$ended" \
	"an ended incident updates its feed entry: same id, resolved, updated at its end ($before -> $after)"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector with status rebuilds exits 0"
sleep 0.5
left=$(find "$VT_TMP" -maxdepth 1 -name 'site2.*' | wc -l)
like "$left" '^[12]$' "old versions removed (at most the current and one being built: $left)"
errs=$(grep -E 'status page.*(exited|failed|still running)' "$VT_TMP/collector.log" | head -n 3)
is "${errs:-none}" none "no failed or overlapping rebuilds logged"
tap_done
