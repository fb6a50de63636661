//! `gen-logs`: writes realistic proxy and DNS logs of any size with planted
//! infected hosts, for benchmarks and soak tests.
//!
//! Background traffic comes from a pool of ordinary clients browsing a list
//! of popular sites over one simulated day. Planted in it:
//!
//! - `10.1.66.6`, a drive-by chain: a landing page, a `.jar` fetched by a
//!   `Java/1.6.0_26` user agent without referrer, an `application/octet-stream`
//!   payload from a `.html` URL, a download by a downloader user agent, then a
//!   POST to a C2 PHP script every 120 s (HTTP formats);
//! - `10.1.77.7`, a beacon: one request (or lookup) to one host every 60 s
//!   with up to 3 s of jitter;
//! - `10.1.88.8`, visits to domains and an address on the planted intel
//!   list, which `--intel-out` writes one a line;
//! - `10.1.99.9`, a DGA: bursts of NXDOMAIN lookups of random names (DNS);
//! - `10.1.55.5`, a DNS tunnel: TXT lookups of long base32 labels under one
//!   domain (DNS).
//!
//! The ground truth (hosts, behaviour, domains, counts) goes to
//! `--truth-out` as JSON, or to standard error.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::Context;
use crate::rng::Rng;

/// Arguments of `gen-logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: squid, w3c, tmg, zeek-dns or zeek-http.
    #[arg(long)]
    format: String,
    /// Number of log lines to write (header lines not counted).
    #[arg(long, default_value_t = 100_000)]
    lines: u64,
    /// Seed: the same seed and arguments write the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the planted intel list (domains and addresses).
    #[arg(long)]
    intel_out: Option<PathBuf>,
    /// Where to write the ground truth as JSON (standard error otherwise).
    #[arg(long)]
    truth_out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Squid,
    W3c,
    Tmg,
    ZeekDns,
    ZeekHttp,
}

/// Start of the simulated day: 2024-03-01T00:00:00Z, in milliseconds.
const DAY_START_MS: i64 = 1_709_251_200_000;
const DAY_MS: i64 = 86_400_000;

const DRIVE_BY: Ipv4Addr = Ipv4Addr::new(10, 1, 66, 6);
const BEACON: Ipv4Addr = Ipv4Addr::new(10, 1, 77, 7);
const INTEL_HOST: Ipv4Addr = Ipv4Addr::new(10, 1, 88, 8);
const DGA_HOST: Ipv4Addr = Ipv4Addr::new(10, 1, 99, 9);
const TUNNEL_HOST: Ipv4Addr = Ipv4Addr::new(10, 1, 55, 5);

const INTEL_DOMAINS: [&str; 5] = ["malware-drop.example.net", "stealer-panel.example.org", "evil-cdn.example.com", "phish-login.example.info", "bad-updates.example.biz"];
const INTEL_IP: &str = "203.0.113.66";
const BEACON_HOST: &str = "stats.beacon-metrics.example.com";
const LANDING: &str = "news.landing-page.example.com";
const EXPLOIT: &str = "cdn.jarbox.example.net";
const DOWNLOAD: &str = "files.update-srv.example.org";
const C2: &str = "panel.c2-gate.example.ru";
const TUNNEL_DOMAIN: &str = "t.tunnel-relay.example.net";

const SITES: [&str; 40] = [
    "www.google.com", "www.youtube.com", "www.facebook.com", "www.wikipedia.org", "www.amazon.com", "www.microsoft.com",
    "login.microsoftonline.com", "outlook.office365.com", "www.linkedin.com", "www.bing.com", "www.apple.com", "www.reddit.com",
    "www.bbc.co.uk", "www.cnn.com", "www.nytimes.com", "github.com", "stackoverflow.com", "www.ebay.com", "www.paypal.com",
    "www.netflix.com", "update.microsoft.com", "ocsp.digicert.com", "crl.usertrust.com", "fonts.gstatic.com", "ajax.googleapis.com",
    "cdn.jsdelivr.net", "www.dropbox.com", "slack.com", "zoom.us", "www.adobe.com", "www.salesforce.com", "www.oracle.com",
    "www.java.com", "weather.com", "www.espn.com", "www.imdb.com", "www.booking.com", "www.yahoo.com", "mail.yahoo.com", "www.twitter.com",
];
const PATHS: [(&str, &str); 10] = [
    ("/", "text/html"), ("/index.html", "text/html"), ("/static/app.js", "application/javascript"), ("/static/site.css", "text/css"),
    ("/img/logo.png", "image/png"), ("/img/banner.jpg", "image/jpeg"), ("/api/v1/items", "application/json"), ("/favicon.ico", "image/x-icon"),
    ("/news/article.html", "text/html"), ("/fonts/roboto.woff2", "font/woff2"),
];
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "Microsoft-CryptoAPI/10.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
];
const JAVA_UA: &str = "Java/1.6.0_26";
const DOWNLOADER_UA: &str = "Mozilla/4.0 (compatible; Win32; WinHttp.WinHttpRequest.5)";

/// One HTTP request of the simulated day.
#[derive(Clone)]
struct Req {
    t_ms: i64,
    client: Ipv4Addr,
    method: &'static str,
    host: String,
    port: u16,
    path: String,
    query: String,
    status: u16,
    bytes_out: u64,
    bytes_in: u64,
    ctype: &'static str,
    ua: &'static str,
    referrer: String,
    server: Ipv4Addr,
}

/// One DNS lookup of the simulated day.
#[derive(Clone)]
struct Lookup {
    t_ms: i64,
    client: Ipv4Addr,
    qname: String,
    qtype: (u16, &'static str),
    rcode: (u16, &'static str),
    answers: Vec<(String, u32)>,
}

enum Planted {
    Http(Req),
    Dns(Lookup),
}

impl Planted {
    fn t_ms(&self) -> i64 {
        match self {
            Planted::Http(r) => r.t_ms,
            Planted::Dns(l) => l.t_ms,
        }
    }
}

/// The writer of one format.
struct Out {
    kind: Kind,
    w: BufWriter<File>,
    line: String,
}

/// Runs the generator.
pub fn run(args: Args) -> anyhow::Result<()> {
    let kind = match args.format.as_str() {
        "squid" => Kind::Squid,
        "w3c" => Kind::W3c,
        "tmg" => Kind::Tmg,
        "zeek-dns" => Kind::ZeekDns,
        "zeek-http" => Kind::ZeekHttp,
        other => anyhow::bail!("unknown format {other:?}: use squid, w3c, tmg, zeek-dns or zeek-http"),
    };
    let mut rng = Rng::seeded(args.seed);
    let dns = kind == Kind::ZeekDns;
    let mut planted = plant(dns, &mut rng);
    planted.sort_by_key(Planted::t_ms);
    let total = args.lines.max(planted.len() as u64);
    let background = total - planted.len() as u64;
    let step = (DAY_MS as f64 / background.max(1) as f64).max(0.001);
    let clients = (background / 50).clamp(20, 4000) as u32;

    let file = File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = Out {
        kind,
        w: BufWriter::with_capacity(1 << 20, file),
        line: String::with_capacity(512),
    };
    out.header()?;

    let mut next_planted = 0;
    for i in 0..background {
        let t = DAY_START_MS + (i as f64 * step) as i64;
        while next_planted < planted.len() && planted[next_planted].t_ms() <= t {
            out.planted(&planted[next_planted])?;
            next_planted += 1;
        }
        let client = Ipv4Addr::from(0x0a02_0000 + 10 + (rng.below(u64::from(clients)) as u32));
        if dns {
            out.lookup(&background_lookup(t, client, &mut rng))?;
        } else {
            out.request(&background_request(t, client, &mut rng))?;
        }
    }
    for p in &planted[next_planted..] {
        out.planted(p)?;
    }
    out.w.flush()?;

    if let Some(path) = &args.intel_out {
        let mut list = String::from("# planted intel list written by xtask gen-logs\n");
        for d in INTEL_DOMAINS {
            let _ = writeln!(list, "{d}");
        }
        let _ = writeln!(list, "{INTEL_IP}");
        std::fs::write(path, list).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let truth = truth_json(&args, &planted, total);
    match &args.truth_out {
        Some(path) => std::fs::write(path, truth).with_context(|| format!("cannot write {}", path.display()))?,
        #[allow(clippy::print_stderr)]
        None => eprintln!("{truth}"),
    }
    Ok(())
}

fn background_request(t_ms: i64, client: Ipv4Addr, rng: &mut Rng) -> Req {
    let host = rng.pick(&SITES);
    let (path, ctype) = *rng.pick(&PATHS);
    let status = match rng.below(100) {
        0..=84 => 200,
        85..=92 => 304,
        93..=96 => 302,
        97 => 403,
        _ => 404,
    };
    let https = rng.below(3) == 0;
    Req {
        t_ms,
        client,
        method: if rng.below(20) == 0 { "POST" } else { "GET" },
        host: (*host).to_owned(),
        port: if https { 443 } else { 80 },
        path: if https { String::new() } else { path.to_owned() },
        query: if rng.below(4) == 0 { format!("id={}&s={}", rng.below(100_000), rng.below(10)) } else { String::new() },
        status,
        bytes_out: 300 + rng.below(900),
        bytes_in: if status == 304 { 0 } else { 200 + rng.below(60_000) },
        ctype: if https { "-" } else { ctype },
        ua: rng.pick::<&str>(&AGENTS),
        referrer: if rng.below(2) == 0 { format!("http://{host}/") } else { String::new() },
        server: Ipv4Addr::from(0xc633_6400 + (host.len() as u32 * 7) % 250),
    }
}

fn background_lookup(t_ms: i64, client: Ipv4Addr, rng: &mut Rng) -> Lookup {
    let host = rng.pick(&SITES);
    let aaaa = rng.below(4) == 0;
    let nx = rng.below(200) == 0;
    Lookup {
        t_ms,
        client,
        qname: if nx { format!("wpad.corp{}.example", rng.below(5)) } else { (*host).to_owned() },
        qtype: if aaaa { (28, "AAAA") } else { (1, "A") },
        rcode: if nx { (3, "NXDOMAIN") } else { (0, "NOERROR") },
        answers: if nx {
            Vec::new()
        } else if aaaa {
            vec![(format!("2001:db8:{:x}::{:x}", host.len(), rng.below(0xffff)), 300)]
        } else {
            vec![(Ipv4Addr::from(0xc633_6400 + (host.len() as u32 * 7) % 250).to_string(), 300)]
        },
    }
}

/// Builds a planted request: the caller sets what the plant varies, the
/// rest takes fixed values.
#[allow(clippy::too_many_arguments)]
fn req(t_ms: i64, client: Ipv4Addr, method: &'static str, host: &str, path: &str, ctype: &'static str, ua: &'static str, referrer: &str, bytes_in: u64) -> Req {
    Req {
        t_ms,
        client,
        method,
        host: host.to_owned(),
        port: 80,
        path: path.to_owned(),
        query: String::new(),
        status: 200,
        bytes_out: 400,
        bytes_in,
        ctype,
        ua,
        referrer: referrer.to_owned(),
        server: Ipv4Addr::new(198, 51, 100, 23),
    }
}

fn lookup(t_ms: i64, client: Ipv4Addr, qname: String, qtype: (u16, &'static str), nx: bool, answer: &str) -> Lookup {
    Lookup {
        t_ms,
        client,
        qname,
        qtype,
        rcode: if nx { (3, "NXDOMAIN") } else { (0, "NOERROR") },
        answers: if nx { Vec::new() } else { vec![(answer.to_owned(), 60)] },
    }
}

/// The planted behaviours, for DNS or HTTP logs.
fn plant(dns: bool, rng: &mut Rng) -> Vec<Planted> {
    let mut out = Vec::new();
    let hour = 3_600_000;

    // Beacon: every 60 s with up to 3 s jitter, all day.
    let mut t = DAY_START_MS + 30_000;
    while t < DAY_START_MS + DAY_MS {
        let jitter = rng.below(6001) as i64 - 3000;
        if dns {
            out.push(Planted::Dns(lookup(t + jitter, BEACON, BEACON_HOST.into(), (1, "A"), false, "198.51.100.77")));
        } else {
            let mut r = req(t + jitter, BEACON, "GET", BEACON_HOST, "/pixel.gif", "image/gif", AGENTS[0], "", 43);
            r.query = format!("u={:08x}", rng.next() as u32);
            out.push(Planted::Http(r));
        }
        t += 60_000;
    }

    // Intel: each listed domain a few times, and the listed address.
    for (i, domain) in INTEL_DOMAINS.iter().enumerate() {
        for k in 0..3 {
            let t = DAY_START_MS + 9 * hour + (i as i64) * 600_000 + k * 45_000;
            if dns {
                out.push(Planted::Dns(lookup(t, INTEL_HOST, (*domain).into(), (1, "A"), false, INTEL_IP)));
            } else {
                out.push(Planted::Http(req(t, INTEL_HOST, "GET", domain, "/index.php", "text/html", AGENTS[1], "", 5120)));
            }
        }
    }
    if !dns {
        let mut r = req(DAY_START_MS + 11 * hour, INTEL_HOST, "GET", INTEL_IP, "/bin/loader.dll", "application/octet-stream", AGENTS[1], "", 90_112);
        r.server = INTEL_IP.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
        out.push(Planted::Http(r));
    }

    if dns {
        // DGA: 6 bursts of 40 NXDOMAIN lookups of random names.
        for burst in 0..6 {
            for k in 0..40 {
                let len = 12 + rng.below(6) as usize;
                let name: String = (0..len).map(|_| (b'a' + rng.below(26) as u8) as char).collect();
                let tld = *rng.pick(&["com", "net", "info", "biz"]);
                let t = DAY_START_MS + (2 + 3 * burst) * hour + k * 700;
                out.push(Planted::Dns(lookup(t, DGA_HOST, format!("{name}.{tld}"), (1, "A"), true, "")));
            }
        }
        // Tunnel: 400 TXT lookups, one every 2 s, base32 labels of 52 characters.
        for k in 0..400 {
            const B32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
            let label: String = (0..52).map(|_| B32[rng.below(32) as usize] as char).collect();
            let label2: String = (0..30).map(|_| B32[rng.below(32) as usize] as char).collect();
            let t = DAY_START_MS + 14 * hour + k * 2000;
            out.push(Planted::Dns(lookup(t, TUNNEL_HOST, format!("{label}.{label2}.{TUNNEL_DOMAIN}"), (16, "TXT"), false, "TXT 40 aGVsbG8gd29ybGQgZnJvbSB0aGUgdHVubmVs")));
        }
        return out;
    }

    // Drive-by chain at 10:00, then C2 POSTs every 120 s for the rest of the day.
    let t0 = DAY_START_MS + 10 * hour;
    out.push(Planted::Http(req(t0, DRIVE_BY, "GET", LANDING, "/news/index.html", "text/html", AGENTS[0], "http://www.bing.com/search?q=news", 18_211)));
    out.push(Planted::Http(req(t0 + 2_000, DRIVE_BY, "GET", EXPLOIT, "/applet/Gmx.jar", "application/java-archive", JAVA_UA, "", 21_874)));
    out.push(Planted::Http(req(t0 + 3_500, DRIVE_BY, "GET", EXPLOIT, "/load/about.html", "application/octet-stream", JAVA_UA, "", 184_320)));
    out.push(Planted::Http(req(t0 + 10_000, DRIVE_BY, "GET", DOWNLOAD, "/dl/setup.exe", "application/x-msdownload", DOWNLOADER_UA, "", 402_944)));
    let mut t = t0 + 60_000;
    while t < DAY_START_MS + DAY_MS {
        out.push(Planted::Http(req(t, DRIVE_BY, "POST", C2, "/gate.php", "text/html", DOWNLOADER_UA, "", 120)));
        t += 120_000;
    }
    out
}

fn truth_json(args: &Args, planted: &[Planted], total: u64) -> String {
    let count = |host: Ipv4Addr| {
        planted
            .iter()
            .filter(|p| match p {
                Planted::Http(r) => r.client == host,
                Planted::Dns(l) => l.client == host,
            })
            .count()
    };
    let mut hosts = Vec::new();
    let dns = args.format == "zeek-dns";
    hosts.push(format!(r#"{{"host":"{BEACON}","behaviour":"beacon","target":"{BEACON_HOST}","period_secs":60,"jitter_secs":3,"events":{}}}"#, count(BEACON)));
    let intel: Vec<String> = INTEL_DOMAINS.iter().map(|d| format!("\"{d}\"")).collect();
    hosts.push(format!(r#"{{"host":"{INTEL_HOST}","behaviour":"intel_hits","domains":[{}],"ip":"{INTEL_IP}","events":{}}}"#, intel.join(","), count(INTEL_HOST)));
    if dns {
        hosts.push(format!(r#"{{"host":"{DGA_HOST}","behaviour":"dga_nxdomain","events":{}}}"#, count(DGA_HOST)));
        hosts.push(format!(r#"{{"host":"{TUNNEL_HOST}","behaviour":"dns_tunnel","domain":"{TUNNEL_DOMAIN}","qtype":"TXT","events":{}}}"#, count(TUNNEL_HOST)));
    } else {
        hosts.push(format!(
            r#"{{"host":"{DRIVE_BY}","behaviour":"drive_by","landing":"{LANDING}","exploit":"{EXPLOIT}","java_ua":"{JAVA_UA}","download":"{DOWNLOAD}","c2":"{C2}","c2_path":"/gate.php","c2_period_secs":120,"events":{}}}"#,
            count(DRIVE_BY)
        ));
    }
    format!(
        "{{\"generator\":\"xtask gen-logs\",\"format\":\"{}\",\"seed\":{},\"lines\":{total},\"planted\":[{}]}}\n",
        args.format,
        args.seed,
        hosts.join(",")
    )
}

fn civil(t_ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = t_ms.div_euclid(1000);
    let ms = t_ms.rem_euclid(1000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, sod / 3600, sod / 60 % 60, sod % 60, ms)
}

impl Out {
    fn header(&mut self) -> std::io::Result<()> {
        match self.kind {
            Kind::W3c => self.w.write_all(b"#Software: SGOS 6.7.4.1 (picket gen-logs)\r\n#Version: 1.0\r\n#Date: 2024-03-01 00:00:00\r\n#Fields: date time time-taken c-ip cs-username s-action sc-status sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query rs(Content-Type) cs(User-Agent) cs(Referer) s-supplier-ip\r\n"),
            Kind::ZeekHttp => self.w.write_all(b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n#open\t2024-03-01-00-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\tversion\tuser_agent\torigin\trequest_body_len\tresponse_body_len\tstatus_code\tstatus_msg\tinfo_code\tinfo_msg\ttags\tusername\tpassword\tproxied\torig_fuids\torig_filenames\torig_mime_types\tresp_fuids\tresp_filenames\tresp_mime_types\n#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tcount\tcount\tcount\tstring\tcount\tstring\tset[enum]\tstring\tstring\tset[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\n"),
            Kind::ZeekDns => self.w.write_all(b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2024-03-01-00-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n"),
            Kind::Squid | Kind::Tmg => Ok(()),
        }
    }

    fn planted(&mut self, p: &Planted) -> std::io::Result<()> {
        match p {
            Planted::Http(r) => self.request(r),
            Planted::Dns(l) => self.lookup(l),
        }
    }

    fn request(&mut self, r: &Req) -> std::io::Result<()> {
        let l = &mut self.line;
        l.clear();
        let https = r.port == 443 && r.path.is_empty();
        let url = if https {
            format!("{}:443", r.host)
        } else if r.query.is_empty() {
            format!("http://{}{}", r.host, r.path)
        } else {
            format!("http://{}{}?{}", r.host, r.path, r.query)
        };
        let method = if https { "CONNECT" } else { r.method };
        let (y, mo, d, h, mi, s, ms) = civil(r.t_ms);
        let dash = |v: &str| if v.is_empty() { "-".to_owned() } else { v.to_owned() };
        match self.kind {
            Kind::Squid => {
                let action = if https { "TCP_TUNNEL" } else if r.status == 304 { "TCP_REFRESH_UNMODIFIED" } else { "TCP_MISS" };
                let _ = writeln!(l, "{}.{:03} {:>6} {} {action}/{} {} {method} {url} - HIER_DIRECT/{} {}", r.t_ms / 1000, r.t_ms % 1000, 20 + r.bytes_in % 900, r.client, r.status, r.bytes_in, r.server, r.ctype);
            }
            Kind::W3c => {
                let scheme = if https { "ssl" } else { "http" };
                let _ = write!(l, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} {} {} - {} {} {} {} {method} {scheme} {} {} {} {} {} \"{}\" {} {}\r\n",
                    20 + r.bytes_in % 900, r.client, if r.status == 403 { "TCP_DENIED" } else { "TCP_NC_MISS" }, r.status, r.bytes_in, r.bytes_out,
                    r.host, r.port, dash(&r.path), if r.query.is_empty() { "-".to_owned() } else { format!("?{}", r.query) }, r.ctype, r.ua, dash(&r.referrer), r.server);
            }
            Kind::Tmg => {
                let op = if https { "-" } else { r.method };
                let _ = write!(l, "{}\tanonymous\t{}\tN\t{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{ms:03}\tw3proxy\tTMG01\t-\t{}\t{}\t{}\t{}\t{}\t{}\t{}\tTCP\t{op}\t{url}\t{}\tInternet\t{}\t0\tAllow Web Access\t-\tInternal\tExternal\t0x0\tAllowed\t{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{ms:03}\t-\r\n",
                    u32::from(r.client), r.ua, r.host, u32::from(r.server), r.port, 20 + r.bytes_in % 900, r.bytes_out, r.bytes_in, if https { "SSL-tunnel" } else { "http" }, r.ctype, r.status);
            }
            Kind::ZeekHttp => {
                let _ = writeln!(l, "{}.{:03}000\tC{:016x}\t{}\t{}\t{}\t{}\t1\t{method}\t{}\t{}\t{}\t1.1\t{}\t-\t0\t{}\t{}\tOK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\t-\t-\t{}",
                    r.t_ms / 1000, r.t_ms % 1000, r.t_ms as u64 ^ u64::from(u32::from(r.client)), r.client, 49152 + r.t_ms % 16000, r.server, r.port,
                    r.host, if https { "-".to_owned() } else if r.query.is_empty() { r.path.clone() } else { format!("{}?{}", r.path, r.query) }, dash(&r.referrer), r.ua, r.bytes_in, r.status, r.ctype);
            }
            Kind::ZeekDns => {}
        }
        self.w.write_all(l.as_bytes())
    }

    fn lookup(&mut self, q: &Lookup) -> std::io::Result<()> {
        let l = &mut self.line;
        l.clear();
        let answers = if q.answers.is_empty() { "-".to_owned() } else { q.answers.iter().map(|a| a.0.as_str()).collect::<Vec<_>>().join(",") };
        let ttls = if q.answers.is_empty() { "-".to_owned() } else { q.answers.iter().map(|a| format!("{}.000000", a.1)).collect::<Vec<_>>().join(",") };
        let _ = writeln!(l, "{}.{:03}000\tC{:016x}\t{}\t{}\t10.2.0.1\t53\tudp\t{}\t0.0{:02}000\t{}\t1\tC_INTERNET\t{}\t{}\t{}\t{}\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF",
            q.t_ms / 1000, q.t_ms % 1000, q.t_ms as u64 ^ u64::from(u32::from(q.client)), q.client, 49152 + q.t_ms % 16000, q.t_ms % 65536, q.t_ms % 90 + 1,
            q.qname, q.qtype.0, q.qtype.1, q.rcode.0, q.rcode.1);
        self.w.write_all(l.as_bytes())
    }
}
