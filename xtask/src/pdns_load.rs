//! `pdns-load`: fills a passive-DNS store with generated answers and times
//! inserts and queries, for BENCHMARKS.md.
//!
//! The data: `--domains` registered domains under a few suffixes, each with a
//! handful of host names, answered by A records from a pool of addresses that
//! rotates slowly, queried by `--clients` clients through 4 resolvers. Every
//! event carries one answer, so `--records` events give at most that many
//! distinct (rrname, rrtype, rdata) rows. Seeded, so runs repeat.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, RecordType, ResourceRecord, Timestamp};
use picket_store::pdns::{self, PdnsQuery, RdataQuery};
use rusqlite::Connection;

/// Arguments of `pdns-load`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Store file to create (an existing file is extended).
    #[arg(long, default_value = "target/pdns-load.sqlite")]
    store: PathBuf,
    /// Answer events to insert.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
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
    /// Events per transaction.
    #[arg(long, default_value_t = 20_000)]
    batch: usize,
    /// Also write the answers as COF JSON lines here, to time `grep` on them.
    #[arg(long)]
    dump: Option<PathBuf>,
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
    let ip = [
        u8::try_from(1 + (pool >> 8) % 223).unwrap_or(1),
        (pool >> 16) as u8,
        (pool >> 24) as u8,
        (pool >> 32) as u8 & 0xfc | ((r >> 40) as u8 & 3),
    ];
    let client = mix(r) % args.clients;
    DnsEvent {
        timestamp: Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 10_000_000),
        client_ip: Some(std::net::IpAddr::from([10, (client >> 16) as u8, (client >> 8) as u8, client as u8])),
        server_ip: Some(std::net::IpAddr::from([192, 0, 2, 53 + (r % 4) as u8])),
        query_name: name.clone(),
        query_type: Some(RecordType::A),
        rcode: Some(ResponseCode::NOERROR),
        answers: vec![ResourceRecord {
            name,
            rtype: RecordType::A,
            class: 1,
            ttl: 300,
            data: std::net::Ipv4Addr::from(ip).to_string(),
        }],
        ..DnsEvent::default()
    }
}

fn median_micros(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// Runs the task.
#[allow(clippy::print_stdout)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let conn = Connection::open(&args.store).with_context(|| format!("opening {}", args.store.display()))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{};",
        args.cache_mib * 1024
    ))?;
    pdns::create_schema(&conn)?;
    let mut dump = match &args.dump {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };

    let started = Instant::now();
    let mut batch = Vec::with_capacity(args.batch);
    for i in 0..args.records {
        let event = event(i, &args);
        if let Some(out) = dump.as_mut() {
            let rr = &event.answers[0];
            writeln!(
                out,
                r#"{{"rrname":"{}","rrtype":"A","rdata":"{}","time_first":{},"time_last":{},"count":1}}"#,
                rr.name,
                rr.data,
                event.timestamp.as_secs(),
                event.timestamp.as_secs()
            )?;
        }
        batch.push(event);
        if batch.len() == args.batch {
            pdns::ingest(&conn, &batch)?;
            batch.clear();
        }
    }
    pdns::ingest(&conn, &batch)?;
    let elapsed = started.elapsed().as_secs_f64();
    let rows: i64 = conn.query_row("SELECT count(*) FROM pdns_rr", [], |r| r.get(0))?;
    let seen: i64 = conn.query_row("SELECT count(*) FROM pdns_rr_seen", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let size = std::fs::metadata(&args.store)?.len();
    println!(
        "inserted {} events in {elapsed:.1} s = {:.0} events/s; {rows} rows, {seen} client/resolver links; file {:.1} MiB = {:.0} bytes/row",
        args.records,
        args.records as f64 / elapsed,
        size as f64 / 1048576.0,
        size as f64 / rows.max(1) as f64
    );

    let probe = event(args.records / 2, &args);
    let name = probe.query_name.clone();
    let registered = name.split_once('.').map_or(name.as_str(), |(_, rest)| rest).to_owned();
    let ip: std::net::IpAddr = probe.answers[0].data.parse()?;
    let net = format!("{}/24", ipnet::Ipv4Net::new(match ip {
        std::net::IpAddr::V4(v4) => v4,
        std::net::IpAddr::V6(_) => std::net::Ipv4Addr::UNSPECIFIED,
    }, 24)?.trunc());
    let queries = [
        ("exact name", PdnsQuery { name: Some(name.clone()), ..PdnsQuery::default() }),
        ("left wildcard *.domain", PdnsQuery { name: Some(format!("*.{registered}")), ..PdnsQuery::default() }),
        ("right wildcard host.d123.*", PdnsQuery { name: Some(format!("{}.*", name.rsplit_once('.').map_or(name.as_str(), |(head, _)| head))), ..PdnsQuery::default() }),
        ("rdata IP", PdnsQuery { rdata: Some(RdataQuery::Ip(ip)), ..PdnsQuery::default() }),
        ("rdata CIDR /24", PdnsQuery { rdata: Some(RdataQuery::parse(&net)), ..PdnsQuery::default() }),
        ("name + time fence", PdnsQuery { name: Some(format!("*.{registered}")), last_seen_after: Some(probe.timestamp), ..PdnsQuery::default() }),
    ];
    for (label, query) in queries {
        let mut runs = Vec::new();
        let mut found = 0;
        for _ in 0..200 {
            let t = Instant::now();
            found = pdns::query(&conn, &query)?.len();
            runs.push(t.elapsed().as_secs_f64() * 1e6);
        }
        println!("query {label:<28} {found:>5} records, median {:.0} us", median_micros(runs));
    }
    Ok(())
}
