//! `picket pdns`: passive-DNS queries over the store.
//!
//! Output is CIRCL Passive DNS Common Output Format, one JSON object per line
//! (`--format jsonl`, the default), or an aligned table (`--format table`).
//! With `--clients`, each answer line also lists the `clients` that got it
//! and the `resolvers` that gave it (picket's extension of the format, at
//! most 1,000 of each). Failing lookups (`--failures`) print with an `rcode`
//! field instead of `rdata`, and always with their `clients`. Exit code 0
//! when records were found or none matched, 2 on error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use picket_event::{RecordType, Timestamp};
use picket_store::Store;
use picket_store::pdns::{self, PdnsQuery, RdataQuery};

/// Options of `picket pdns`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The action.
    #[command(subcommand)]
    pub action: Action,
}

/// The `pdns` actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Query stored answers by name, by record data, or both.
    Query(QueryArgs),
}

/// Options of `picket pdns query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// Owner name: exact, `*.example.com` (every name below) or
    /// `www.example.*` (every name starting so).
    pub name: Option<String>,
    /// Record data: an address, a network (`198.51.100.0/24`) or a name.
    #[arg(long)]
    pub rdata: Option<String>,
    /// A file of names or record data, one per line (`#` comments); each line
    /// is queried as NAME, or as `--rdata` when it is an address or network.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "rdata"])]
    pub bulk: Option<PathBuf>,
    /// Record type, such as A, AAAA, CNAME, NS, MX or TXT.
    #[arg(long = "type", value_name = "TYPE")]
    pub rrtype: Option<String>,
    /// Only records first seen at or after this RFC 3339 instant or date.
    #[arg(long, value_name = "TIME")]
    pub first_seen_after: Option<String>,
    /// Only records first seen at or before this instant or date.
    #[arg(long, value_name = "TIME")]
    pub first_seen_before: Option<String>,
    /// Only records last seen at or after this instant or date.
    #[arg(long, value_name = "TIME")]
    pub last_seen_after: Option<String>,
    /// Only records last seen at or before this instant or date.
    #[arg(long, value_name = "TIME")]
    pub last_seen_before: Option<String>,
    /// Show failing lookups (NXDOMAIN, SERVFAIL ...) of NAME instead of answers.
    #[arg(long, requires = "name")]
    pub failures: bool,
    /// Also list the clients and resolvers that saw each answer (`clients`
    /// and `resolvers` in JSON; the table leaves them out). Costs about one
    /// more disk read per answer on a large store.
    #[arg(long, conflicts_with = "failures")]
    pub clients: bool,
    /// Maximum records per query.
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
    /// Output: `jsonl` (COF) or `table`.
    #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "table"])]
    pub format: String,
    /// Store file.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "picket.sqlite",
        env = "PICKET_STORE"
    )]
    pub store: PathBuf,
}

/// Runs `picket pdns`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Query(query) => run_query(&query),
    }
}

/// Parses an RFC 3339 instant or a `YYYY-MM-DD` date (its UTC midnight).
fn parse_time(text: &str) -> anyhow::Result<Timestamp> {
    if let Ok(ts) = Timestamp::parse_rfc3339(text) {
        return Ok(ts);
    }
    Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z"))
        .with_context(|| format!("{text:?} is not an RFC 3339 instant or a YYYY-MM-DD date"))
}

fn parse_fence(text: Option<&String>) -> anyhow::Result<Option<Timestamp>> {
    text.map(|t| parse_time(t)).transpose()
}

fn run_query(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&args.store)
        .with_context(|| format!("cannot open the store {}", args.store.display()))?;
    let conn = store.connection();

    let rrtype = match &args.rrtype {
        Some(name) => Some(
            RecordType::from_name(name).with_context(|| format!("unknown record type {name:?}"))?,
        ),
        None => None,
    };
    let base = PdnsQuery {
        rrtype,
        first_seen_after: parse_fence(args.first_seen_after.as_ref())?,
        first_seen_before: parse_fence(args.first_seen_before.as_ref())?,
        last_seen_after: parse_fence(args.last_seen_after.as_ref())?,
        last_seen_before: parse_fence(args.last_seen_before.as_ref())?,
        limit: args.limit,
        with_clients: args.clients,
        ..PdnsQuery::default()
    };

    let mut queries = Vec::new();
    if let Some(path) = &args.bulk {
        let text = read_bulk(path)?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut query = base.clone();
            match RdataQuery::parse(line) {
                RdataQuery::Text(_) => query.name = Some(line.to_owned()),
                rdata => query.rdata = Some(rdata),
            }
            queries.push(query);
        }
    } else {
        anyhow::ensure!(
            args.name.is_some() || args.rdata.is_some(),
            "give a NAME, --rdata or --bulk FILE"
        );
        let mut query = base.clone();
        query.name.clone_from(&args.name);
        query.rdata = args.rdata.as_deref().map(RdataQuery::parse);
        queries.push(query);
    }

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let table = args.format == "table";
    if table {
        writeln!(
            out,
            "{:<40} {:<6} {:<40} {:<20} {:<20} {:>8}",
            "rrname", "type", "rdata/rcode", "first seen", "last seen", "count"
        )?;
    }
    for query in &queries {
        if args.failures {
            let name = query.name.as_deref().unwrap_or_default();
            for record in pdns::failures(conn, name, query).context("passive DNS query failed")? {
                if table {
                    write_row(
                        &mut out,
                        &record.rrname,
                        &record.rrtype,
                        &record.rcode,
                        record.time_first,
                        record.time_last,
                        record.count,
                    )?;
                } else {
                    writeln!(out, "{}", serde_json::to_string(&record)?)?;
                }
            }
        } else {
            for record in pdns::query(conn, query).context("passive DNS query failed")? {
                if table {
                    write_row(
                        &mut out,
                        &record.rrname,
                        &record.rrtype,
                        &record.rdata,
                        record.time_first,
                        record.time_last,
                        record.count,
                    )?;
                } else {
                    writeln!(out, "{}", serde_json::to_string(&record)?)?;
                }
            }
        }
    }
    match out.flush() {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(ExitCode::from(super::EXIT_CLEAN))
}

/// Largest bulk query file read, in bytes.
const MAX_BULK_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a bulk query file of at most [`MAX_BULK_BYTES`].
fn read_bulk(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read as _;

    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    // The read is bounded by `take` just before it.
    #[allow(clippy::disallowed_methods)]
    file.take(MAX_BULK_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    anyhow::ensure!(
        text.len() as u64 <= MAX_BULK_BYTES,
        "{} is larger than {MAX_BULK_BYTES} bytes; split it",
        path.display()
    );
    Ok(text)
}

fn write_row(
    out: &mut impl Write,
    name: &str,
    rtype: &str,
    data: &str,
    first: i64,
    last: i64,
    count: i64,
) -> std::io::Result<()> {
    let time = |secs: i64| {
        Timestamp::from_secs_nanos(secs, 0).map_or_else(|| secs.to_string(), |t| t.to_string())
    };
    writeln!(
        out,
        "{name:<40} {rtype:<6} {data:<40} {:<20} {:<20} {count:>8}",
        time(first),
        time(last)
    )
}
