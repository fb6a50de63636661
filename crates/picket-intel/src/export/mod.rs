//! Exports of the active set for enforcement points and for exchange:
//! Zeek intel, Suricata datasets and IP reputation, a DNS response policy
//! zone, Squid ACLs, ipset restore files, plain lists, STIX 2.1, MISP and
//! CSV.
//!
//! Every export skips whitelisted values (the caller passes the active
//! set, and [`export`] checks the whitelist again) and counts the
//! indicators a format cannot express instead of dropping them silently.
//!
//! An export reads its indicators from an [`IndicatorSource`] one at a
//! time and keeps none of them. The line formats write each indicator as it
//! comes, and STIX and MISP write their document around a stream of objects.
//! The two formats whose first bytes depend on the whole set walk the source
//! twice. The Suricata dataset first collects the kinds, because a dataset
//! contains one kind. STIX first counts the objects, because the bundle id
//! is derived from their count.

mod exchange;
mod json_stream;
mod sensors;

use std::io::Write;

use picket_event::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::IntelError;
use crate::{Indicator, IndicatorKind, Whitelist};

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// Zeek Intel framework file.
    Zeek,
    /// Suricata dataset (one kind per file: string, md5, sha1, sha256, ipv4, ip).
    SuricataDataset,
    /// Suricata IP reputation file (`address,category,score`).
    SuricataIprep,
    /// DNS response policy zone for BIND or Unbound (NXDOMAIN for names,
    /// `rpz-ip` triggers for addresses and networks).
    Rpz,
    /// Squid `dstdomain` ACL file.
    SquidDstdomain,
    /// Squid `dst` ACL file.
    SquidDst,
    /// `ipset restore` file with an IPv4 and an IPv6 `hash:net` set.
    Ipset,
    /// One value a line.
    Plain,
    /// STIX 2.1 bundle of indicators.
    Stix2,
    /// MISP event JSON.
    Misp,
    /// CSV, one row per sighting.
    Csv,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 11] = [
        ExportFormat::Zeek,
        ExportFormat::SuricataDataset,
        ExportFormat::SuricataIprep,
        ExportFormat::Rpz,
        ExportFormat::SquidDstdomain,
        ExportFormat::SquidDst,
        ExportFormat::Ipset,
        ExportFormat::Plain,
        ExportFormat::Stix2,
        ExportFormat::Misp,
        ExportFormat::Csv,
    ];

    /// The kebab-case name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Zeek => "zeek",
            ExportFormat::SuricataDataset => "suricata-dataset",
            ExportFormat::SuricataIprep => "suricata-iprep",
            ExportFormat::Rpz => "rpz",
            ExportFormat::SquidDstdomain => "squid-dstdomain",
            ExportFormat::SquidDst => "squid-dst",
            ExportFormat::Ipset => "ipset",
            ExportFormat::Plain => "plain",
            ExportFormat::Stix2 => "stix2",
            ExportFormat::Misp => "misp",
            ExportFormat::Csv => "csv",
        }
    }

    /// Reads a name of [`ExportFormat::as_str`].
    pub fn parse(text: &str) -> Option<ExportFormat> {
        ExportFormat::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// Settings of an export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The time written into documents (STIX `created`, MISP `date`, the
    /// RPZ serial).
    pub now: Timestamp,
    /// Origin of the RPZ zone. Default `rpz.picket.`.
    pub rpz_origin: String,
    /// Base name of the ipset sets (`-v4` and `-v6` are appended).
    /// Default `picket`.
    pub ipset_name: String,
    /// Category number of Suricata iprep lines. Default 1.
    pub iprep_category: u8,
    /// Title of the MISP event. Default `picket export`.
    pub title: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            now: Timestamp::UNIX_EPOCH,
            rpz_origin: "rpz.picket.".into(),
            ipset_name: "picket".into(),
            iprep_category: 1,
            title: "picket export".into(),
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// Indicators written.
    pub written: u64,
    /// Indicators of kinds the format cannot express, per kind.
    pub unsupported: Vec<(IndicatorKind, u64)>,
    /// Indicators left out because they are whitelisted.
    pub whitelisted: u64,
}

impl ExportCounts {
    pub(crate) fn skip(&mut self, kind: IndicatorKind) {
        match self.unsupported.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.unsupported.push((kind, 1)),
        }
    }
}

/// Callback of a walk, called once per indicator. An error ends the walk.
pub type Visit<'v> = dyn FnMut(&Indicator) -> Result<(), IntelError> + 'v;

/// The indicators an export writes, read one at a time.
///
/// Contract: every walk gives the same indicators in the same order (a
/// store reads them inside one read transaction), because a format may
/// walk twice and write on the second walk what it learnt on the first.
pub trait IndicatorSource {
    /// Calls `visit` with each indicator in turn. Stops at the first error
    /// of the source or of `visit` and returns it.
    fn walk(&mut self, visit: &mut Visit<'_>) -> Result<(), IntelError>;
}

impl IndicatorSource for &[Indicator] {
    fn walk(&mut self, visit: &mut Visit<'_>) -> Result<(), IntelError> {
        self.iter().try_for_each(visit)
    }
}

/// Indicators of a source that are not whitelisted.
pub(crate) struct Exportable<'s> {
    source: &'s mut dyn IndicatorSource,
    whitelist: &'s Whitelist,
    /// Number of whitelisted indicators in the last walk. Every walk counts
    /// the same number, because every walk reads the same indicators.
    whitelisted: u64,
}

impl Exportable<'_> {
    /// Walks the source and calls `visit` with each indicator that is not whitelisted.
    pub(crate) fn each(&mut self, visit: &mut Visit<'_>) -> Result<(), IntelError> {
        let whitelist = self.whitelist;
        let mut whitelisted = 0;
        self.source.walk(&mut |indicator| {
            if whitelist.check(indicator.kind, &indicator.value).is_some() {
                whitelisted += 1;
                return Ok(());
            }
            visit(indicator)
        })?;
        self.whitelisted = whitelisted;
        Ok(())
    }
}

/// Writes `indicators` in `format`. Whitelisted values are left out and
/// counted. Indicators of kinds the format cannot hold are counted per kind.
pub fn export(
    format: ExportFormat,
    mut indicators: &[Indicator],
    whitelist: &Whitelist,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportCounts, IntelError> {
    export_from(format, &mut indicators, whitelist, options, out)
}

/// Writes the indicators of `source` in `format`, as [`export`] does. The
/// export's own memory does not grow with the number of indicators.
pub fn export_from(
    format: ExportFormat,
    source: &mut dyn IndicatorSource,
    whitelist: &Whitelist,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportCounts, IntelError> {
    let mut counts = ExportCounts::default();
    let mut exportable = Exportable { source, whitelist, whitelisted: 0 };
    let indicators = &mut exportable;
    match format {
        ExportFormat::Zeek => sensors::zeek(indicators, out, &mut counts)?,
        ExportFormat::SuricataDataset => sensors::suricata_dataset(indicators, out, &mut counts)?,
        ExportFormat::SuricataIprep => sensors::suricata_iprep(indicators, options, out, &mut counts)?,
        ExportFormat::Rpz => sensors::rpz(indicators, options, out, &mut counts)?,
        ExportFormat::SquidDstdomain => sensors::squid_dstdomain(indicators, out, &mut counts)?,
        ExportFormat::SquidDst => sensors::squid_dst(indicators, out, &mut counts)?,
        ExportFormat::Ipset => sensors::ipset(indicators, options, out, &mut counts)?,
        ExportFormat::Plain => sensors::plain(indicators, out, &mut counts)?,
        ExportFormat::Stix2 => exchange::stix2(indicators, options, out, &mut counts)?,
        ExportFormat::Misp => exchange::misp(indicators, options, out, &mut counts)?,
        ExportFormat::Csv => exchange::csv(indicators, out, &mut counts)?,
    }
    counts.whitelisted = exportable.whitelisted;
    Ok(counts)
}

/// Replaces tabs and line breaks, which would break line formats.
pub(crate) fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
