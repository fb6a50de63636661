"""Write seed inputs for the fuzz targets into fuzz/corpus/<target>/.

Usage: python3 fuzz/seed-corpus.py CORPUS_DIR

CORPUS_DIR is the public test corpus (see the README's Test section). Seeds
come from its small captures, logs and feeds and from the crates' own test
fixtures; each target's seeds stay under LIMIT bytes. Capture frames are
re-encoded in the input layouts of dns_message, http_parser and
tcp_reassembly. The seeds are local only: fuzz/corpus is not committed.
"""
import gzip
import hashlib
import os
import re
import struct
import sys

corpus = sys.argv[1]
project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(project, "fuzz", "corpus")

# The tcp_reassembly target maps its selector byte to these link types.
LINKTYPES = [1, 101, 113, 276, 0, 228, 229, 108]

# Maximum seed bytes per target.
LIMIT = 300_000

def put(target, data):
    """Write one seed for `target` unless it is empty or the target's LIMIT is reached."""
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    total = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))
    if total + len(data) > LIMIT or not data:
        return

    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as seed:
        seed.write(data)


def put_file(target, *parts):
    """Write the file at the joined path as a seed for `target`, if the file exists."""
    path = os.path.join(*parts)
    if os.path.isfile(path):
        with open(path, "rb") as source:
            put(target, source.read())


def read_pcap(path):
    """Return the link type and frames of a classic pcap file, or (None, [])."""
    with open(path, "rb") as source:
        data = source.read()
    if len(data) < 24:
        return None, []

    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return None, []
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0xFFFF

    offset, frames = 24, []
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frames.append(data[offset + 16:offset + 16 + captured])
        offset += 16 + captured
    return linktype, frames


def transport_payload(linktype, frame):
    """Return (protocol, source port, destination port, payload) of an IPv4 or
    IPv6 TCP or UDP frame, or None for anything else or a short frame."""
    if linktype == 1 and len(frame) >= 14:
        ethertype, packet = struct.unpack(">H", frame[12:14])[0], frame[14:]
        if ethertype == 0x8100 and len(packet) >= 4:
            ethertype, packet = struct.unpack(">H", packet[2:4])[0], packet[4:]
    elif linktype == 113 and len(frame) >= 16:
        ethertype, packet = struct.unpack(">H", frame[14:16])[0], frame[16:]
    elif linktype in (101, 228, 229) and frame:
        ethertype, packet = (0x0800 if frame[0] >> 4 == 4 else 0x86DD), frame
    elif linktype in (0, 108) and len(frame) >= 5:
        ethertype, packet = (0x0800 if frame[4] >> 4 == 4 else 0x86DD), frame[4:]
    else:
        return None

    if ethertype == 0x0800 and len(packet) >= 20:
        protocol, segment = packet[9], packet[(packet[0] & 15) * 4:]
    elif ethertype == 0x86DD and len(packet) >= 40:
        protocol, segment = packet[6], packet[40:]
    else:
        return None

    if protocol == 17 and len(segment) >= 8:
        return 17, *struct.unpack(">HH", segment[:4]), segment[8:]
    if protocol == 6 and len(segment) >= 20:
        return 6, *struct.unpack(">HH", segment[:4]), segment[(segment[12] >> 4) * 4:]
    return None


pcaps = []
for folder in ("zeek/traces", "tcpdump-tests"):
    for root, _, names in os.walk(os.path.join(corpus, folder)):
        for name in sorted(names):
            if name.endswith((".pcap", ".pcapng")):
                pcaps.append(os.path.join(root, name))
pcaps.sort(key=os.path.getsize)

for pcap in pcaps:
    small = os.path.getsize(pcap) <= 20_000
    if small:
        put_file("capture_reader", pcap)
        with open(pcap, "rb") as source:
            put("capture_reader", gzip.compress(source.read()))

    linktype, frames = read_pcap(pcap)
    if linktype is None:
        continue

    # tcp_reassembly reads a selector byte, a big-endian u16 length and the frame.
    if linktype in LINKTYPES and small:
        selector = bytes([LINKTYPES.index(linktype)])
        put("tcp_reassembly", b"".join(selector + struct.pack(">H", len(f)) + f for f in frames))

    # http_parser mode 0 is a request head, 1 a response head and 4 a session
    # whose segments alternate between client and server at `|` bytes.
    client, server = [], []
    for frame in frames:
        parsed = transport_payload(linktype, frame)
        if parsed is None:
            continue
        protocol, source_port, destination_port, payload = parsed

        if {53, 5353} & {source_port, destination_port}:
            if protocol == 6 and len(payload) > 2:
                payload = payload[2:]
            if len(payload) >= 12:
                put("dns_message", payload)

        if 80 in (source_port, destination_port) and payload:
            to_server = destination_port == 80
            (client if to_server else server).append(payload)
            if payload[:4].isalpha():
                put("http_parser", (b"\x00" if to_server else b"\x01") + payload[:4096])

    if client and server:
        turns = [segment for pair in zip(client, server) for segment in pair]
        put("http_parser", b"\x04" + b"|".join(turns)[:16384])

# Intelligence feeds, one reader per target. intel_detect gets a few of each
# so that format detection is tried on every kind.
intel = os.path.join(corpus, "threat-intel")
for name in ("drop.txt", "dropv6.txt", "edrop_2023-12.txt", "drop_v4.json"):
    put_file("intel_spamhaus", intel, "spamhaus", name)
put_file("intel_delimited", intel, "abusech", "feodotracker_ipblocklist_2024-04-04.csv")
put_file("intel_delimited", intel, "plain-lists", "intelmq_generic_sample_report.csv")
put_file("intel_plain", intel, "plain-lists", "dshield_block.txt")

for root, _, names in os.walk(os.path.join(intel, "stix21")):
    for name in sorted(names):
        if name.endswith(".json") and os.path.getsize(os.path.join(root, name)) < 30_000:
            put_file("intel_stix", root, name)

misp = os.path.join(intel, "misp")
for name in sorted(os.listdir(misp)):
    if name.endswith(".json") and os.path.getsize(os.path.join(misp, name)) < 30_000:
        put_file("intel_misp", misp, name)

openioc = os.path.join(intel, "openioc", "openioc-to-stix", "examples")
for name in sorted(os.listdir(openioc)):
    if name.endswith(".ioc.xml"):
        put_file("intel_openioc", openioc, name)
for root, _, names in os.walk(os.path.join(intel, "openioc", "ioc_writer", "tests", "assets")):
    for name in sorted(names):
        put_file("intel_openioc", root, name)

for case in ("whitelisting", "match-subnet", "filename-in-http-get-response"):
    for name in ("intel.dat", "whitelist.dat"):
        put_file("intel_zeek", corpus, "ioc-matching", "zeek-intel", case, name)

for reader in ("intel_spamhaus", "intel_delimited", "intel_plain", "intel_zeek", "intel_misp"):
    seeds = os.path.join(out, reader)
    for name in sorted(os.listdir(seeds))[:3] if os.path.isdir(seeds) else []:
        put_file("intel_detect", seeds, name)

# Proxy and DNS logs.
squid = os.path.join(corpus, "proxy-logs", "squid", "plaso_squid_access.log")
put_file("source_squid", squid)
put_file("http_detectors", squid)

w3c = os.path.join(corpus, "proxy-logs", "w3c-elff-bluecoat")
for name in sorted(os.listdir(w3c)):
    if name.endswith(".log.derived"):
        put_file("source_w3c", w3c, name)

for root, _, names in os.walk(os.path.join(corpus, "zeek", "baselines")):
    for name in sorted(names):
        if name in ("dns.log", "http.log"):
            put_file("source_zeek", root, name)

# The crates' own fixtures.
crates = os.path.join(project, "crates")
source_fixtures = os.path.join(crates, "picket-sources", "tests", "fixtures")
for name in sorted(os.listdir(source_fixtures)):
    if name.startswith("eve"):
        put_file("source_eve", source_fixtures, name)
    if name.startswith("tmg"):
        put_file("source_tmg", source_fixtures, name)

http_fixtures = os.path.join(crates, "picket-detect", "tests", "fixtures", "http")
for name in sorted(os.listdir(http_fixtures)):
    if name.endswith(".squid.log"):
        put_file("source_squid", http_fixtures, name)
        put_file("http_detectors", http_fixtures, name)
    if name.endswith(".w3c.log"):
        put_file("source_w3c", http_fixtures, name)
    if ".tmg" in name:
        put_file("source_tmg", http_fixtures, name)
put_file("match_event", http_fixtures, "cases.tsv")

# triage_lists reads a selector byte (match kind = byte % 4, field = byte / 4 % 4)
# and then the list file.
selectors = {"popular-sites.txt": 1, "trusted-domains.txt": 1, "bad-networks.txt": 6,
             "tool-agents.txt": 15, "suspicious-domains.txt": 0}
triage = os.path.join(http_fixtures, "triage")
for name in sorted(os.listdir(triage)):
    if name.endswith(".txt"):
        with open(os.path.join(triage, name), "rb") as source:
            put("triage_lists", bytes([selectors.get(name, 3)]) + source.read()[:8192])

# match_event reads host, URL, referrer, user agent, file name, X-Forwarded-For
# and DNS answer data, one per line.
put("match_event", b"www.a.example\nhttp://a.example/x/y.exe?q=1\nhttp://ok.a.example/\n"
    b"Mozilla bot/1.0\nx.exe\n10.1.2.3, 2001:db8::1\n10 mail.a.example")
put("match_event", b"[2001:db8::1]:8080\nhttps://user@[2001:db8::1]:8080/a%2Fb?x#y\n\n\n\n\n0 5 443 a.example.")

# dns_detectors reads `name answer` lines.
tunnel_names = os.path.join(corpus, "dns-tunnel", "netrack-learn")
if os.path.isdir(tunnel_names):
    for name in sorted(os.listdir(tunnel_names)):
        if name.endswith(".csv"):
            with open(os.path.join(tunnel_names, name), "rb") as source:
                rows = source.read().splitlines()[:400]
            put("dns_detectors", b"\n".join(row.split(b",", 1)[-1] + b" 10.0.0.9" for row in rows))
put("dns_detectors", b"www.example.com 93.184.216.34\nxjwqpzkvbnmrt.com 10.0.0.1\n"
    b"aGVsbG8gd29ybGQ.t.example.net 10.0.0.2")

# Formats with no sample in the corpus: small handwritten files.
put("intel_arkime", b"#field:tags;shortcut:0\n#field:campaign;shortcut:1\n192.0.2.9;0=bad,c2;1=winter\nevil.example;tags=x\n")
put("intel_suricata_dataset", b"ZXZpbC5leGFtcGxl\nMTkyLjAuMi4x,10\n")
put("intel_suricata_dataset", b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n")
put("intel_rules", b"provider: abuse.ch\ndefaults:\n  confidence: 85\n  tlp: clear\nfeeds:\n  feodo:\n"
    b"    remote: https://feodotracker.abuse.ch/downloads/ipblocklist.csv\n    parser: feodo-csv\n"
    b"    refresh: 1h\n    grace: 3d\n    defaults:\n      assessment: c2\n")
put("intel_rules", b"provider: p\nfeeds:\n  local:\n    remote: lists/bad.txt\n    parser: delimited\n"
    b"    delimiter: tab\n    columns:\n      value: [6, 7]\n      description: 3\n  r:\n"
    b"    remote: x\n    parser: regex\n    regex: '(unclosed'\n")
put("source_pdns", b"1322849924.408856||10.1.1.1||8.8.8.8||IN||Upload.YouTube.com.||A||74.125.43.117||46587||5\n"
    b"1322849925.0||10.1.1.1||8.8.8.8||IN||nx.example.||A||NXDOMAIN||0||1\n")
put("source_pdns", b'{"count": 5, "time_first": 1411229720, "rrtype": "A", "rrname": "Example.com", '
    b'"rdata": "192.0.2.1", "time_last": 1411229799}\n'
    b'{"count": 1, "time_first": 1411229720, "rrtype": 15, "rrname": "example.com", '
    b'"rdata": ["10 mx1.example.com", "20 mx2.example.com"], "time_last": 1411229720}\n')

# analyze_config reads the YAML of `picket analyze --config`. Seeds are the
# README's examples, then each section with every key at its default, so that
# mutations start from valid keys and change their values.
with open(os.path.join(project, "README.md"), encoding="utf-8") as readme:
    for block in re.findall(r"```yaml\n(.*?)```", readme.read(), re.S):
        if re.search(r"^(detect|capture):", block, re.M):
            put("analyze_config", block.encode())
full_configs = [b"""capture:
  max_flow_reassembly_bytes: 1048576
  max_total_reassembly_bytes: 268435456
  max_flows: 262144
  flow_idle_timeout_secs: 600
  max_fragment_bytes: 67108864
  max_fragment_datagrams: 65536
  fragment_timeout_secs: 30
  max_body_hash_bytes: 67108864
  max_decompressed_bytes: 67108864
  max_http_head_bytes: 65536
  max_pending_requests: 64
  max_client_hello_bytes: 16384
  max_dns_tcp_message_bytes: 65535
""", b"""detect:
  dns:
    builtin_allowlist: true
    allow:
      - suffix: corp.example
        expires: 2030-01-01T00:00:00Z
        reason: internal zone
    dga:
      enabled: true
      min_lexical_score: 0.5
      alert_resolved: true
      window_secs: 600
      min_shape_names: 8
      max_clients: 50000
      max_shapes_per_client: 64
      max_shape_names_tracked: 512
      max_evidence: 16
      max_alerted_names: 200000
      dedupe_secs: 86400
      max_cached_scores: 100000
      max_nx_alerts_per_window: 3
      explain_top: 5
    tunnel:
      enabled: true
      window_secs: 300
      min_distinct_subdomains: 20
      min_distinct_with_tunnel_qtypes: 8
      min_tunnel_qtype_share: 0.75
      min_score: 0.4
      encoded_score: 0.5
      max_keys: 100000
      max_distinct_tracked: 1024
      max_evidence: 16
    fast_flux:
      enabled: true
      window_secs: 86400
      min_addresses: 10
      min_networks: 5
      max_ttl: 300
      min_rotations: 2
      max_names: 100000
      max_addresses_tracked: 64
      max_evidence: 8
    sinkhole:
      enabled: true
      builtin_ranges: true
      extra_ranges: [192.0.2.0/24, 2001:db8::/32]
      shared_ranges: [104.16.0.0/13]
      extra_name_servers: [ns.sinkhole.example]
      max_reported: 100000
      dedupe_secs: 86400
    new_domain:
      enabled: true
      warmup_secs: 86400
      min_score: 0.4
      max_domains: 1000000
""", b"""detect:
  http:
    drive_by_chain:
      enabled: true
      window_secs: 180
      unreferred_gap_secs: 30
      min_stages: 2
      max_events_per_chain: 16
      landing_candidates: 2
      max_recent_per_client: 32
      max_clients: 50000
      client_idle_secs: 1800
      updater_hosts: [windowsupdate.com]
      updater_agents: [Windows-Update-Agent]
    type_mismatch:
      enabled: true
      repeat_suppression_secs: 3600
      max_tracked: 100000
    executable_download:
      enabled: true
      allowed_hosts: [download.example]
      new_host_secs: 3600
      new_host_warmup_secs: 3600
      max_hosts: 200000
      min_score: 0.3
      repeat_suppression_secs: 3600
      max_tracked: 100000
    suspicious_user_agent:
      enabled: true
      known_bad: [AutoIt]
      tool_agents: [curl/]
      alert_empty: true
      alert_new_agent: true
      inventory_warmup_secs: 86400
      max_clients: 100000
      max_agents_per_client: 32
      min_score: 0.3
      repeat_suppression_secs: 86400
      max_tracked: 100000
      history_batch: 1000
    raw_ip_host:
      enabled: true
      include_internal: false
      min_score: 0.3
      repeat_suppression_secs: 3600
      max_tracked: 100000
    beacon:
      enabled: true
      min_connections: 20
      min_score: 0.7
      timing_mad_ceiling_secs: 30.0
      size_mad_ceiling_bytes: 32.0
      allowed_hosts: [time.windows.com]
      max_pairs: 200000
      max_single_pairs: 524288
      max_samples: 1024
"""]
for config in full_configs:
    put("analyze_config", config)

# One short seed per numeric key and edge value, in flow style
# (`detect: {dns: {dga: {window_secs: 0}}}`), so that the fuzzer starts
# from the values where limits overflow or tables allocate.
for config in full_configs:
    path = []
    for line in config.decode().splitlines():
        indent = (len(line) - len(line.lstrip())) // 2
        key, _, value = line.strip().partition(":")
        del path[indent:]
        value = value.strip()
        if not value:
            path.append(key)
            continue
        if not re.fullmatch(r"-?[0-9.]+", value):
            continue
        for edge in ("0", "18446744073709551615", "-1", ".nan", "1e308"):
            seed = key + ": " + edge
            for parent in reversed(path):
                seed = parent + ": {" + seed + "}"
            put("analyze_config", (seed + "\n").encode())
put("analyze_config", b"detect: {dns: {dga: {min_shape_names: 2, window_secs: 60}}, "
    b"http: {beacon: {min_connections: 3}}}\ncapture: {max_flows: 2, max_pending_requests: 1}\n")
