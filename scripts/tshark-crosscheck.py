#!/usr/bin/env python3
"""Cross-check picket's capture decoding against tshark on the same files.

For each capture, both tools extract the fields they share and the script
compares them as multisets:

  dns queries    (transaction id, query name, query type)
  dns responses  (transaction id, query name, response code, sorted A/AAAA answers)
  http requests  (method, host, uri, user agent)
  http responses (status code)
  tls hellos     (server name)

picket's side comes from the `dump` example of picket-decode (JSON lines);
tshark's from `tshark -r FILE -T fields`. Differences are printed per file
with a few examples; the exit status is 1 when any file differs, 2 when a
tool is missing.

Usage:
  scripts/tshark-crosscheck.py FILE...            # build dump, check files
  scripts/tshark-crosscheck.py --corpus           # the corpus's pcaps
  PICKET_DUMP=target/release/examples/dump scripts/tshark-crosscheck.py FILE...

Needs tshark (Debian package `tshark`).
"""

import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

TSHARK_FIELDS = {
    "dns": ["dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type",
            "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.count.queries"],
    "http_req": ["http.request.method", "http.host", "http.request.uri", "http.user_agent"],
    "http_resp": ["http.response.code"],
    "tls": ["tls.handshake.extensions_server_name"],
}
FILTERS = {
    "dns": "dns && !tcp.analysis.retransmission",
    "http_req": "http.request",
    "http_resp": "http.response",
    "tls": "tls.handshake.type == 1",
}


def tshark(path, kind):
    """Rows of tab-separated fields for one kind of record."""
    cmd = ["tshark", "-n", "-r", str(path), "-Y", FILTERS[kind], "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in TSHARK_FIELDS[kind]:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    return [line.split("\t") for line in out.splitlines()]


def tshark_records(path):
    records = collections.defaultdict(collections.Counter)
    for row in tshark(path, "dns"):
        ident, response, name, qtype, rcode, a, aaaa, qcount = (row + [""] * 8)[:8]
        if qcount in ("", "0") or not ident:
            continue
        name = name.split(",")[0].lower().rstrip(".")
        if name == "<root>":
            name = ""
        ident = int(ident, 16) if ident.startswith("0x") else int(ident or 0)
        if response == "True" or response == "1":
            answers = sorted(x for x in (a.split(",") + aaaa.split(",")) if x)
            records["dns responses"][(ident, name, int(rcode or 0), tuple(answers))] += 1
        else:
            records["dns queries"][(ident, name, int(qtype.split(",")[0] or 0))] += 1
    for row in tshark(path, "http_req"):
        method, host, uri, agent = (row + [""] * 4)[:4]
        # picket names a CONNECT's host from its target, tshark from the Host header.
        host = "" if method == "CONNECT" else host.lower()
        records["http requests"][(method, host, uri, agent)] += 1
    for row in tshark(path, "http_resp"):
        for code in row[0].split(","):
            # picket folds interim responses (100 Continue) into the final one.
            if code and not 100 <= int(code) < 200:
                records["http responses"][int(code)] += 1
    for row in tshark(path, "tls"):
        records["tls hellos"][row[0].lower().rstrip(".")] += 1
    return records


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "PTR": 12, "HINFO": 13, "MX": 15,
          "TXT": 16, "AAAA": 28, "SRV": 33, "NAPTR": 35, "OPT": 41, "DS": 43, "RRSIG": 46,
          "NSEC": 47, "DNSKEY": 48, "TKEY": 249, "ANY": 255, "CAA": 257, "SSHFP": 44,
          "TLSA": 52, "SVCB": 64, "HTTPS": 65, "SPF": 99, "TSIG": 250, "IXFR": 251, "AXFR": 252,
          "URI": 256, "DNAME": 39, "NSEC3": 50, "NSEC3PARAM": 51, "CDS": 59, "CDNSKEY": 60,
          "AFSDB": 18, "RP": 17, "LOC": 29, "NAPTR": 35, "KX": 36, "CERT": 37, "APL": 42,
          "IPSECKEY": 45, "DHCID": 49, "HIP": 55, "OPENPGPKEY": 61, "CSYNC": 62, "ZONEMD": 63,
          "WKS": 11, "MINFO": 14, "X25": 19, "ISDN": 20, "RT": 21, "NSAP": 22, "SIG": 24, "KEY": 25,
          "PX": 26, "GPOS": 27, "NXT": 30, "EID": 31, "NIMLOC": 32, "ATMA": 34, "A6": 38, "SINK": 40,
          "MAILB": 253, "MAILA": 254}
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5,
          "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9, "NOTZONE": 10,
          "BADVERS": 16, "BADSIG": 16, "BADKEY": 17, "BADTIME": 18, "BADMODE": 19,
          "BADNAME": 20, "BADALG": 21, "BADTRUNC": 22, "BADCOOKIE": 23}


def qtype_number(value):
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if value.startswith("TYPE"):
        return int(value[4:])
    return QTYPES.get(value, -1)


def rcode_number(value):
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if value.startswith("RCODE"):
        return int(value[5:])
    return RCODES.get(value.upper(), -1)


def picket_records(dump, path):
    records = collections.defaultdict(collections.Counter)
    out = subprocess.run([dump, str(path)], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        event = json.loads(line)
        kind = event.get("event.dataset")
        if kind == "dns" and event.get("network.protocol", "dns") != "dns":
            # tshark dissects mDNS and LLMNR apart from DNS.
            continue
        if kind == "dns":
            ident = event.get("dns.id", 0)
            name = event.get("dns.question.name", "")
            exchange = event.get("dns.exchange", "complete")
            if exchange in ("complete", "query_only"):
                records["dns queries"][(ident, name, qtype_number(event.get("dns.question.type")))] += 1
            if exchange in ("complete", "response_only"):
                # tshark's dns.a and dns.aaaa gather every section.
                sections = (event.get("dns.answers", []) + event.get("dns.authorities", [])
                            + event.get("dns.additionals", []))
                answers = sorted(a["data"] for a in sections if a.get("type") in ("A", "AAAA"))
                rcode = rcode_number(event.get("dns.response_code"))
                records["dns responses"][(ident, name, rcode, tuple(answers))] += 1
        elif kind == "http":
            if "http.request.method" in event:
                host = event.get("url.domain", "")
                if "url.port" in event and host:
                    host = f"{host}:{event['url.port']}"
                if event["http.request.method"] == "CONNECT":
                    host = ""
                records["http requests"][(event["http.request.method"], host,
                                          event.get("url.original", ""),
                                          event.get("user_agent.original", ""))] += 1
            if "http.response.status_code" in event:
                records["http responses"][event["http.response.status_code"]] += 1
        elif kind == "tls" and event.get("tls.client.server_name"):
            records["tls hellos"][event["tls.client.server_name"]] += 1
    return records


def compare(dump, path):
    ours, theirs = picket_records(dump, path), tshark_records(path)
    differs = False
    lines = []
    for kind in ["dns queries", "dns responses", "http requests", "http responses", "tls hellos"]:
        a, b = ours.get(kind, collections.Counter()), theirs.get(kind, collections.Counter())
        if not a and not b:
            continue
        only_picket, only_tshark = a - b, b - a
        both = sum((a & b).values())
        status = "agree" if not only_picket and not only_tshark else "DIFFER"
        differs |= status == "DIFFER"
        lines.append(f"  {kind:15} picket {sum(a.values()):6}  tshark {sum(b.values()):6}  "
                     f"both {both:6}  {status}")
        for label, extra in (("only picket", only_picket), ("only tshark", only_tshark)):
            for item in list(extra)[:3]:
                lines.append(f"      {label}: {item!r}"[:220])
    return differs, lines


def main(argv):
    if shutil.which("tshark") is None:
        print("tshark is not installed (apt-get install -y tshark)", file=sys.stderr)
        return 2
    files = [a for a in argv if not a.startswith("--")]
    if "--corpus" in argv:
        files += sorted(str(p) for p in (CORPUS / "zeek" / "traces").rglob("*.pcap*"))
        files += sorted(str(p) for p in (CORPUS / "suricata-verify").rglob("*.pcap"))
        files += sorted(str(p) for p in (CORPUS / "tcpdump-tests").rglob("*.pcap"))
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    dump = os.environ.get("PICKET_DUMP")
    if not dump:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "picket-decode", "--example", "dump"],
                       cwd=ROOT, check=True)
        dump = str(ROOT / "target" / "release" / "examples" / "dump")

    differing = 0
    for path in files:
        differs, lines = compare(dump, path)
        if not lines:
            continue
        differing += differs
        print(f"{path}")
        print("\n".join(lines))
    print(f"\n{len(files)} files, {differing} with differences")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
