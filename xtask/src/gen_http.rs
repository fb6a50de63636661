//! `gen-http`: writes a W3C (BlueCoat-style) proxy log of any size with
//! planted drive-by chains and beacons, for the HTTP detector benchmark.
//!
//! Background: 2,000 clients browse 5,000 hosts over one simulated day
//! (pages, pictures, scripts, style sheets, JSON, a few PDFs and vendor
//! downloads). Planted:
//!
//! - `--chains` drive-by chains, each on its own client `10.9.1.N`: a
//!   landing page, an exploit-kit URL with a long hex segment, a `.jar` by a
//!   Java agent, an `application/x-msdownload` payload behind a `.jpg` URL,
//!   and a POST from a new agent to a new host;
//! - `--beacons` beacons, each from client `10.9.2.N` to its own host, every
//!   60 to 600 s with 10 % jitter, all day.
//!
//! The ground truth goes to `--truth-out` as JSON. The same seed and
//! arguments write the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use crate::rng::Rng;

/// Arguments of `gen-http`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of log lines to write (header lines not counted).
    #[arg(long, default_value_t = 1_000_000)]
    lines: u64,
    /// Drive-by chains to plant.
    #[arg(long, default_value_t = 20)]
    chains: u32,
    /// Beacons to plant.
    #[arg(long, default_value_t = 20)]
    beacons: u32,
    /// Seed: the same seed and arguments write the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the ground truth as JSON.
    #[arg(long)]
    truth_out: Option<PathBuf>,
}

/// Start of the simulated day, 2024-03-01T00:00:00Z, in seconds.
const DAY_START: i64 = 1_709_251_200;
const DAY: i64 = 86_400;

const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
];

const RESOURCES: [(&str, &str); 8] = [
    ("/index.html", "text/html"),
    ("/news/article.html", "text/html"),
    ("/img/photo.jpg", "image/jpeg"),
    ("/img/logo.png", "image/png"),
    ("/static/app.js", "application/javascript"),
    ("/static/site.css", "text/css"),
    ("/api/feed.json", "application/json"),
    ("/docs/guide.pdf", "application/pdf"),
];

/// One log line before formatting.
struct Line {
    time: i64,
    client: String,
    method: &'static str,
    host: String,
    path: String,
    content_type: &'static str,
    agent: String,
    referrer: String,
    bytes: u64,
}

fn write_line(out: &mut impl Write, line: &Line) -> std::io::Result<()> {
    let t = line.time.rem_euclid(DAY);
    writeln!(
        out,
        "2024-03-01 {:02}:{:02}:{:02} 80 {} 200 TCP_MISS {} 420 {} http {} {} - - - {} \"{}\" {}",
        t / 3600,
        t / 60 % 60,
        t % 60,
        line.client,
        line.bytes,
        line.method,
        line.host,
        line.path,
        line.content_type,
        line.agent,
        if line.referrer.is_empty() {
            "-".to_owned()
        } else {
            format!("\"{}\"", line.referrer)
        },
    )
}

/// The planted lines, in time order.
fn plant(args: &Args, rng: &mut Rng) -> Vec<Line> {
    let mut lines = Vec::new();
    for n in 0..args.chains {
        let client = format!("10.9.1.{}", n % 250 + 1);
        let start = DAY_START + 3600 + i64::from(n) * (DAY - 7200) / i64::from(args.chains.max(1));
        let landing = format!("blog{n}.compromised.example");
        let kit = format!("k{n}.kitblast.example");
        let hex = format!("{:016x}{:016x}", rng.next(), rng.next());
        let java = "Mozilla/4.0 (Windows 7 6.1) Java/1.7.0_17";
        let make =
            |dt: i64, method, host: &str, path: String, ct, agent: &str, referrer: String| Line {
                time: start + dt,
                client: client.clone(),
                method,
                host: host.to_owned(),
                path,
                content_type: ct,
                agent: agent.to_owned(),
                referrer,
                bytes: 20_000,
            };
        lines.push(make(
            0,
            "GET",
            &landing,
            "/post.html".into(),
            "text/html",
            AGENTS[0],
            String::new(),
        ));
        lines.push(make(
            2,
            "GET",
            &kit,
            format!("/{hex}/"),
            "text/html",
            AGENTS[0],
            format!("http://{landing}/post.html"),
        ));
        lines.push(make(
            4,
            "GET",
            &kit,
            "/a.jar".into(),
            "application/java-archive",
            java,
            String::new(),
        ));
        lines.push(make(
            7,
            "GET",
            &kit,
            "/banner.jpg".into(),
            "application/x-msdownload",
            java,
            String::new(),
        ));
        lines.push(make(
            15,
            "POST",
            &format!("gate{n}.c2panel.example"),
            "/gate.php".into(),
            "text/html",
            "Mozilla/4.0 (compatible; MSIE 6.0)",
            String::new(),
        ));
    }
    for n in 0..args.beacons {
        let client = format!("10.9.2.{}", n % 250 + 1);
        let host = format!("cdn{n}.metrics-sync.example");
        let period = 60 + rng.below(541) as i64;
        let mut t = DAY_START + rng.below(period as u64) as i64;
        while t < DAY_START + DAY {
            lines.push(Line {
                time: t,
                client: client.clone(),
                method: "POST",
                host: host.clone(),
                path: "/v1/sync".into(),
                content_type: "application/json",
                agent: AGENTS[1].to_owned(),
                referrer: String::new(),
                bytes: 310 + rng.below(8),
            });
            let jitter = period / 10;
            t += period - jitter + rng.below((2 * jitter + 1) as u64) as i64;
        }
    }
    lines.sort_by_key(|l| l.time);
    lines
}

/// Writes the log and the ground truth.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut rng = Rng::seeded(args.seed);
    let planted = plant(&args, &mut rng);
    let background = args.lines.saturating_sub(planted.len() as u64).max(1);
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    writeln!(
        out,
        "#Software: SGOS 6.7.4.1\n#Version: 1.0\n#Date: 2024-03-01 00:00:00"
    )?;
    writeln!(
        out,
        "#Fields: date time time-taken c-ip sc-status s-action sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-path cs-uri-query cs-username s-supplier-name rs(Content-Type) cs(User-Agent) cs(Referer)"
    )?;

    let mut next = planted.iter().peekable();
    for i in 0..background {
        let time = DAY_START + (i as i128 * i128::from(DAY) / i128::from(background)) as i64;
        while let Some(line) = next.next_if(|l| l.time <= time) {
            write_line(&mut out, line)?;
        }
        let client = rng.below(2_000);
        let kinds = if rng.below(20) == 0 { 8 } else { 7 };
        let (path, content_type) = RESOURCES[rng.below(kinds) as usize];
        let line = Line {
            time,
            client: format!(
                "10.{}.{}.{}",
                1 + client / 65_536,
                client / 256 % 256,
                client % 256
            ),
            method: "GET",
            host: format!("site{}.example.com", rng.below(5_000)),
            path: path.to_owned(),
            content_type,
            agent: AGENTS[(client % 3) as usize].to_owned(),
            referrer: String::new(),
            bytes: 500 + rng.below(60_000),
        };
        write_line(&mut out, &line)?;
    }
    for line in next {
        write_line(&mut out, line)?;
    }
    out.flush()?;

    let truth = format!(
        "{{\"generator\":\"xtask gen-http\",\"lines\":{},\"drive_by_clients\":[{}],\"beacon_clients\":[{}]}}\n",
        background + planted.len() as u64,
        (0..args.chains)
            .map(|n| format!("\"10.9.1.{}\"", n % 250 + 1))
            .collect::<Vec<_>>()
            .join(","),
        (0..args.beacons)
            .map(|n| format!("\"10.9.2.{}\"", n % 250 + 1))
            .collect::<Vec<_>>()
            .join(","),
    );
    match &args.truth_out {
        Some(path) => std::fs::write(path, truth)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stderr().write_all(truth.as_bytes())?,
    }
    Ok(())
}
