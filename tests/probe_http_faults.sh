#!/bin/bash
# SPDX-License-Identifier: MIT
# https and http against hostile or broken servers (python3 on loopback):
# - a 1 MiB response header is the server's HTTP error ("http"), not the
#   probe's ("internal");
# - an expired certificate (made with libfaketime two years back) fails
#   verification as a tls error, and cert_days_left is reported, negative,
#   as the tcp+tls check reports it.
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe dnsmasq jq openssl python3
vt_setup
vt_dns_start
vt_dns_set big.example.test 127.0.0.1
vt_dns_set old.example.test 127.0.0.1

# One python server: plain HTTP with a 1 MiB header on the first port, TLS
# with the given certificate on the second.
serve() {
	"$VT_PYTHON" - "$@" <<'PY' &
import socket, ssl, sys, threading
cert, key, pfile = sys.argv[1:4]
def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s
big, tls = listener(), listener()
with open(pfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (big.getsockname()[1], tls.getsockname()[1]))
import os
os.rename(pfile + ".tmp", pfile)
def big_loop():
    while True:
        c, _ = big.accept()
        try:
            c.settimeout(5)
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1 << 20) +
                      b"\r\nContent-Length: 2\r\n\r\nok")
        except Exception:
            pass
        c.close()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
def tls_loop():
    while True:
        c, _ = tls.accept()
        try:
            c.settimeout(5)
            t = ctx.wrap_socket(c, server_side=True)
            t.recv(65536)
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            t.close()
        except Exception:
            c.close()
threading.Thread(target=big_loop, daemon=True).start()
tls_loop()
PY
	vt_track $!
}

# A certificate that expired a year ago: issued two years back for a year.
libfaketime=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
if [ -z "$libfaketime" ]; then
	echo "1..0 # SKIP libfaketime not installed"
	exit 0
fi
d=$VT_TMP/certs
mkdir -p "$d"
LD_PRELOAD=$libfaketime FAKETIME=-730d openssl req -x509 -newkey ec \
	-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/old.key" \
	-out "$d/old.pem" -days 365 -subj /CN=old.example.test \
	-addext subjectAltName=DNS:old.example.test 2>"$VT_TMP/openssl.log" ||
	bail "openssl: $(cat "$VT_TMP/openssl.log")"
like "$(openssl x509 -in "$d/old.pem" -noout -checkend 0 2>&1)" "will expire" \
	"the test certificate has expired"

serve "$d/old.pem" "$d/old.key" "$VT_TMP/ports.txt"
for _ in $(seq 1 50); do [ -s "$VT_TMP/ports.txt" ] && break; sleep 0.1; done
read -r big_port tls_port <"$VT_TMP/ports.txt"

vt_probe_cfg "$VT_TMP/p.cfg" 3.0 "127.0.0.1:$VT_DNS_PORT" \
	"{ name = \"big\"; host = \"big.example.test\";
	   checks = ( { type = \"http\"; url = \"http://big.example.test:$big_port/\"; } ); }" \
	"{ name = \"old\"; host = \"old.example.test\";
	   checks = ( { type = \"http\"; url = \"https://old.example.test:$tls_port/\";
	                ca_file = \"$d/old.pem\"; },
	              { type = \"tcp\"; port = $tls_port; tls = true;
	                ca_file = \"$d/old.pem\"; } ); }"
vt_probe_once "$VT_TMP/p.cfg" || true
r() { vt_jq -r "select(.target == \"$1\" and .name == \"$2\") | $3"; }

is "$(r big http .error)" http "a 1 MiB response header is an HTTP error"
like "$(r big http .detail)" "header too large" "the reason says so"
is "$(r old http .error)" tls "https, expired certificate: a tls error"
https_days=$(r old http .cert_days_left)
tcp_days=$(r old tcp .cert_days_left)
like "$https_days" '^-36[4-6]$' "https: cert_days_left of the expired certificate ($https_days)"
is "$https_days" "$tcp_days" "https and tcp+tls report the same days"
tap_done
