# SPDX-License-Identifier: MIT
# The set-up of the namespaced quorum tests (collector_quorum.sh,
# collector_backlog.sh): a server namespace srv (nginx on the first two
# addresses, which www.example.test resolves to, dnsmasq), a collector
# namespace col (quorum 2 of 3, confirm 2, 1 s RRD step) and three probes
# p1, p2, p3 in their own namespaces checking www by tcp every second.
# Source after servers.sh and netlab.sh, after vt_setup.

# vt_qlab_start ADDR...: after `vt_lab_start srv col p1 p2 p3`: every ADDR
# on srv, the servers, the collector's configuration ($VT_TMP/collector.cfg;
# sets port and data) and the collector.
vt_qlab_start() {
	vt_lab_addr srv "$@"
	VT_NETNS=$VT_LAB_NS_srv vt_nginx_start "$1" "$2"
	VT_NETNS=$VT_LAB_NS_srv VT_DNS_LISTEN=$VT_LAB_IP_srv vt_dns_start
	vt_dns_set www.example.test "$1" "$2"
	port=$(vt_free_port)
	data=$VT_TMP/data
	cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "$VT_LAB_IP_col:$port"; data_dir = "$data"; };
storage = { step = 1; heartbeat = 3; rra = [ "RRA:AVERAGE:0.5:1:3600", "RRA:MIN:0.5:1:3600" ]; };
quorum = { quorum = 2; confirm = 2; silence = 30.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; },
           { name = "p3"; key_file = "$(vt_key p3)"; } );
CFG
	vt_qlab_collector_start
}

# vt_qlab_collector_start: (re)starts the collector in col.
vt_qlab_collector_start() {
	VT_NETNS=$VT_LAB_NS_col vt_collector_start "$VT_TMP/collector.cfg" "$port" \
		"$VT_LAB_IP_col" || bail "collector did not start"
}

# vt_qlab_probe_cfg NAME [EXTRA-TARGETS]: writes $VT_TMP/NAME.cfg, with
# EXTRA-TARGETS (",{ ... }") after the www target.
vt_qlab_probe_cfg() {
	cat >"$VT_TMP/$1.cfg" <<CFG
probe = { name = "$1"; spool_dir = "$VT_TMP/spool-$1"; };
collector = { url = "http://$VT_LAB_IP_col:$port"; key_file = "$(vt_key "$1")"; timeout = 2.0; };
defaults = { interval = 1.0; timeout = 0.5; resolvers = [ "$VT_LAB_IP_srv:$VT_DNS_PORT" ]; };
targets = ( { name = "www"; host = "www.example.test";
  checks = ( { type = "tcp"; port = $VT_HTTP_PORT; } ); }${2:-} );
CFG
}

# vt_qlab_probes_start: starts p1, p2 and p3 in their namespaces; their
# PIDs in the array PID.
vt_qlab_probes_start() {
	declare -gA PID
	local p
	for p in p1 p2 p3; do
		vt_qlab_probe_cfg "$p"
		PID[$p]=$(vt_lab_spawn "$p" "$VT_TMP/$p.log" "$VANTAGE_PROBE" -c "$VT_TMP/$p.cfg")
	done
}
