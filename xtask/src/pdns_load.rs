//! `pdns-load`: fills a passive-DNS store with generated answers through
//! `picket_store::pdns::ingest` and times inserts and queries, for
//! BENCHMARKS.md.
//!
//! The data: `--domains` registered domains under a few suffixes, each with a
//! handful of host names, resolving to `--answers` A records each from a pool
//! of addresses that rotates slowly, queried by `--clients` clients through 4
//! resolvers. Almost every answer is a new (rrname, rrtype, rdata) row, the
//! worst case for inserts. Seeded, so runs repeat.
//!
//! Queries run on many probes drawn from the generated events, each once, so
//! that the latencies include pages not yet cached; `--skip-insert` queries
//! a store built earlier (from a fresh process and page cache).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, RecordType, ResourceRecord, Timestamp};
use picket_store::pdns::{self, PdnsQuery, PdnsRecord, RdataQuery};
use rusqlite::Connection;

use crate::rng::Rng;

/// Arguments of `pdns-load`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Store file to create (an existing file is extended).
    #[arg(long, default_value = "target/pdns-load.sqlite")]
    store: PathBuf,
    /// DNS events to insert (or, with `--skip-insert`, that the store was
    /// built from, so that probes match it).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// A records per event, 1 to 16.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=16))]
    answers: u64,
    /// Registered domains.
    #[arg(long, default_value_t = 200_000)]
    domains: u64,
    /// Clients.
    #[arg(long, default_value_t = 5_000)]
    clients: u64,
    /// Popularity skew: a domain is drawn as `domains * u^skew` for a uniform
    /// `u`, so 1 is uniform and 3 makes a few domains most of the traffic,
    /// as in real resolver logs.
    #[arg(long, default_value_t = 1.0)]
    skew: f64,
    /// SQLite page cache, MiB.
    #[arg(long, default_value_t = 512)]
    cache_mib: u64,
    /// SQLite memory map of the store file, MiB (`PRAGMA mmap_size`); 0
    /// reads pages with system calls.
    #[arg(long, default_value_t = 0)]
    mmap_mib: u64,
    /// Events per `ingest` call (one transaction each).
    #[arg(long, default_value_t = 20_000)]
    batch: usize,
    /// Print the rate and size so far every this many events.
    #[arg(long, default_value_t = 10_000_000)]
    report_every: u64,
    /// Only run the queries, on a store built earlier with the same
    /// generator arguments.
    #[arg(long)]
    skip_insert: bool,
    /// Probes per query kind.
    #[arg(long, default_value_t = 1_000)]
    probes: usize,
    /// Run only the query kinds whose label starts with this (such as
    /// `rdata`). The others still draw their probes, so each kind gets the
    /// same probes as in a full run.
    #[arg(long)]
    kind: Option<String>,
    /// Also read each returned record's clients and resolvers in the queries.
    #[arg(long)]
    with_clients: bool,
    /// Also write the answers as COF JSON lines here, to time `grep` on them.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Write one line per probe here (query kind, probe, records returned
    /// and a digest of the records), so that the results of two builds can be
    /// compared with `diff`.
    #[arg(long)]
    results: Option<PathBuf>,
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

const SUFFIXES: [&str; 6] = ["com", "net", "org", "de", "co.uk", "io"];
const HOSTS: [&str; 6] = ["www", "mail", "api", "cdn", "login", "static"];

/// Event `i` of the generated stream; the same `i` always gives the same event.
fn event(i: u64, args: &Args) -> DnsEvent {
    let r = mix(i);
    let uniform = (r >> 11) as f64 / (1u64 << 53) as f64;
    let domain = ((args.domains as f64) * uniform.powf(args.skew)) as u64 % args.domains.max(1);
    let name = format!(
        "{}.d{domain}.{}",
        HOSTS[(r >> 20) as usize % HOSTS.len()],
        SUFFIXES[(domain % SUFFIXES.len() as u64) as usize]
    );

    // Each domain owns a small address pool that shifts once every
    // 50,000 events, so most events repeat a known row.
    let pool = mix(domain ^ (i / 50_000));
    let answers = (0..args.answers)
        .map(|k| {
            let ip = [
                u8::try_from(1 + (pool >> 8) % 223).unwrap_or(1),
                (pool >> 16) as u8,
                (pool >> 24).wrapping_add(k) as u8,
                (pool >> 32) as u8 & 0xfc | ((r >> 40) as u8 & 3),
            ];
            ResourceRecord {
                name: name.clone(),
                rtype: RecordType::A,
                class: 1,
                ttl: 300,
                data: std::net::Ipv4Addr::from(ip).to_string(),
            }
        })
        .collect();

    let client = mix(r) % args.clients;
    DnsEvent {
        timestamp: Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 10_000_000),
        client_ip: Some(std::net::IpAddr::from([
            10,
            (client >> 16) as u8,
            (client >> 8) as u8,
            client as u8,
        ])),
        server_ip: Some(std::net::IpAddr::from([192, 0, 2, 53 + (r % 4) as u8])),
        query_name: name,
        query_type: Some(RecordType::A),
        rcode: Some(ResponseCode::NOERROR),
        answers,
        ..DnsEvent::default()
    }
}

/// Rows of `pdns_rr`; rows are never deleted, so the largest id is the count.
fn rows(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM pdns_rr", [], |r| r.get(0))
}

/// Bytes of the store file and its write-ahead log.
fn store_bytes(path: &std::path::Path) -> u64 {
    let wal = path.with_extension("sqlite-wal");
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Runs the task.
#[allow(clippy::print_stdout)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let conn = Connection::open(&args.store)
        .with_context(|| format!("opening {}", args.store.display()))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{}; PRAGMA mmap_size = {};",
        args.cache_mib * 1024,
        args.mmap_mib * 1024 * 1024
    ))?;
    // On a store written before an index was added, this builds it.
    let started = Instant::now();
    pdns::create_schema(&conn)?;
    println!("schema: {:.1} s", started.elapsed().as_secs_f64());

    if !args.skip_insert {
        insert(&conn, &args)?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let rows = rows(&conn)?;
    let size = store_bytes(&args.store);
    println!(
        "store: {rows} rows, file {:.1} MiB = {:.0} bytes/row",
        size as f64 / 1048576.0,
        size as f64 / rows.max(1) as f64
    );

    run_queries(&conn, &args)
}

/// Inserts the generated events in batches, printing progress.
#[allow(clippy::print_stdout)]
fn insert(conn: &Connection, args: &Args) -> anyhow::Result<()> {
    let mut dump = match &args.dump {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };

    let started = Instant::now();
    let mut interval = (Instant::now(), 0u64, rows(conn)?);
    let mut batch = Vec::with_capacity(args.batch);
    for i in 0..args.events {
        let event = event(i, args);
        if let Some(out) = dump.as_mut() {
            for rr in &event.answers {
                writeln!(
                    out,
                    r#"{{"rrname":"{}","rrtype":"A","rdata":"{}","time_first":{},"time_last":{},"count":1}}"#,
                    rr.name,
                    rr.data,
                    event.timestamp.as_secs(),
                    event.timestamp.as_secs()
                )?;
            }
        }
        batch.push(event);
        if batch.len() == args.batch {
            pdns::ingest(conn, &batch)?;
            batch.clear();
        }

        let done = i + 1;
        if done % args.report_every == 0 && done < args.events {
            let rows_now = rows(conn)?;
            let secs = interval.0.elapsed().as_secs_f64();
            println!(
                "progress: {done} events, {rows_now} rows, {:.0} s; last {} events at {:.0} events/s, {:.0} rows/s; file {:.0} MiB",
                started.elapsed().as_secs_f64(),
                done - interval.1,
                (done - interval.1) as f64 / secs,
                (rows_now - interval.2) as f64 / secs,
                store_bytes(&args.store) as f64 / 1048576.0
            );
            let _ = std::io::stdout().flush();
            interval = (Instant::now(), done, rows_now);
        }
    }
    pdns::ingest(conn, &batch)?;

    let elapsed = started.elapsed().as_secs_f64();
    let rows = rows(conn)?;
    let seen: i64 = conn.query_row("SELECT count(*) FROM pdns_rr_seen", [], |r| r.get(0))?;
    println!(
        "inserted {} events ({} answers) in {elapsed:.1} s = {:.0} events/s, {:.0} answers/s; {rows} rows, {seen} client/resolver links",
        args.events,
        args.events * args.answers,
        args.events as f64 / elapsed,
        (args.events * args.answers) as f64 / elapsed,
    );
    Ok(())
}

/// A query kind: its label and how it is built from a probe event.
type QueryKind = (&'static str, fn(&DnsEvent) -> PdnsQuery);

/// Runs every query kind on `args.probes` probes and prints the latency
/// percentiles and the mean number of records returned.
#[allow(clippy::print_stdout)]
fn run_queries(conn: &Connection, args: &Args) -> anyhow::Result<()> {
    let kinds: [QueryKind; 6] = [
        ("exact name", |probe| PdnsQuery {
            name: Some(probe.query_name.clone()),
            ..PdnsQuery::default()
        }),
        ("left wildcard *.d123.com", |probe| PdnsQuery {
            name: Some(format!("*.{}", registered(&probe.query_name))),
            ..PdnsQuery::default()
        }),
        ("right wildcard www.d123.*", |probe| PdnsQuery {
            name: Some(format!("{}.*", without_suffix(&probe.query_name))),
            ..PdnsQuery::default()
        }),
        ("rdata IP", |probe| PdnsQuery {
            rdata: Some(RdataQuery::parse(&probe.answers[0].data)),
            ..PdnsQuery::default()
        }),
        ("rdata CIDR /24", |probe| PdnsQuery {
            rdata: Some(RdataQuery::parse(&slash24(&probe.answers[0].data))),
            ..PdnsQuery::default()
        }),
        ("left wildcard + last seen", |probe| PdnsQuery {
            name: Some(format!("*.{}", registered(&probe.query_name))),
            last_seen_after: Some(probe.timestamp),
            ..PdnsQuery::default()
        }),
    ];

    let mut results = match &args.results {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let mut rng = Rng::seeded(6);
    for (label, build) in kinds {
        if args
            .kind
            .as_deref()
            .is_some_and(|kind| !label.starts_with(kind))
        {
            for _ in 0..args.probes {
                rng.below(args.events);
            }
            continue;
        }
        let mut micros = Vec::with_capacity(args.probes);
        let mut found = 0usize;
        for probe in 0..args.probes {
            let query = PdnsQuery {
                with_clients: args.with_clients,
                ..build(&event(rng.below(args.events), args))
            };
            let started = Instant::now();
            let records = pdns::query(conn, &query)?;
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            found += records.len();
            if let Some(out) = results.as_mut() {
                writeln!(out, "{label}\t{probe}\t{}", digest(&records, QUERY_LIMIT))?;
            }
        }
        micros.sort_by(f64::total_cmp);
        let at =
            |share: f64| micros[((micros.len() as f64 * share) as usize).min(micros.len() - 1)];
        println!(
            "query {label:<28} p50 {:>7.0} us  p99 {:>7.0} us  max {:>7.0} us  mean {:.1} records",
            at(0.5),
            at(0.99),
            micros.last().copied().unwrap_or(0.0),
            found as f64 / args.probes.max(1) as f64
        );
    }
    Ok(())
}

/// Records a query returns when it sets no limit.
const QUERY_LIMIT: usize = 10_000;

/// Summarises a query's records as the count and an order-independent
/// digest, for comparing the results of two builds.
///
/// When the limit cut the result list, records tied at its oldest last sighting
/// may be chosen differently by equally correct builds, so those are only
/// counted, and the rest digested.
fn digest(records: &[PdnsRecord], limit: usize) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};

    let oldest = records.iter().map(|r| r.time_last).min().unwrap_or(0);
    let cut = records.len() >= limit;
    let mut lines: Vec<String> = records
        .iter()
        .filter(|r| !cut || r.time_last > oldest)
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {:?} {:?}",
                r.rrname,
                r.rrtype,
                r.rdata,
                r.time_first,
                r.time_last,
                r.count,
                r.clients,
                r.resolvers
            )
        })
        .collect();
    lines.sort_unstable();
    let mut hasher = DefaultHasher::new();
    lines.hash(&mut hasher);
    let tied = records.len() - lines.len();
    format!(
        "{} records, {tied} tied at the limit, digest {:016x}",
        records.len(),
        hasher.finish()
    )
}

/// `www.d12.co.uk` -> `d12.co.uk`.
fn registered(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, rest)| rest)
}

/// `www.d12.co.uk` -> `www.d12.co`: the right wildcard drops the last label.
fn without_suffix(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(head, _)| head)
}

/// `198.51.100.7` -> `198.51.100.0/24`.
fn slash24(ip: &str) -> String {
    match ip.rsplit_once('.') {
        Some((head, _)) => format!("{head}.0/24"),
        None => ip.to_owned(),
    }
}
