//! Exports of the active set for enforcement points and for exchange:
//! Zeek intel, Suricata datasets and IP reputation, a DNS response policy
//! zone, Squid ACLs, ipset restore files, plain lists, STIX 2.1, MISP and
//! CSV.
//!
//! Every export skips whitelisted values (the caller passes the active
//! set, and [`export`] checks the whitelist again) and counts the
//! indicators a format cannot express instead of dropping them silently.

mod exchange;
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

/// Writes `indicators` in `format`. Whitelisted values are left out and
/// counted. Indicators of kinds the format cannot hold are counted per kind.
pub fn export(
    format: ExportFormat,
    indicators: &[Indicator],
    whitelist: &Whitelist,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportCounts, IntelError> {
    let mut counts = ExportCounts::default();
    let kept: Vec<&Indicator> = indicators
        .iter()
        .filter(|i| {
            let allowed = whitelist.check(i.kind, &i.value).is_some();
            counts.whitelisted += u64::from(allowed);
            !allowed
        })
        .collect();
    match format {
        ExportFormat::Zeek => sensors::zeek(&kept, out, &mut counts)?,
        ExportFormat::SuricataDataset => sensors::suricata_dataset(&kept, out, &mut counts)?,
        ExportFormat::SuricataIprep => sensors::suricata_iprep(&kept, options, out, &mut counts)?,
        ExportFormat::Rpz => sensors::rpz(&kept, options, out, &mut counts)?,
        ExportFormat::SquidDstdomain => sensors::squid_dstdomain(&kept, out, &mut counts)?,
        ExportFormat::SquidDst => sensors::squid_dst(&kept, out, &mut counts)?,
        ExportFormat::Ipset => sensors::ipset(&kept, options, out, &mut counts)?,
        ExportFormat::Plain => sensors::plain(&kept, out, &mut counts)?,
        ExportFormat::Stix2 => exchange::stix2(&kept, options, out, &mut counts)?,
        ExportFormat::Misp => exchange::misp(&kept, options, out, &mut counts)?,
        ExportFormat::Csv => exchange::csv(&kept, out, &mut counts)?,
    }
    Ok(counts)
}

/// Replaces tabs and line breaks, which would break line formats.
pub(crate) fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
