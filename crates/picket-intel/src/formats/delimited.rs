//! Delimited feeds: CSV or any one-byte delimiter with a column map, the
//! fixed layouts of abuse.ch Feodo Tracker, Bambenek Consulting and
//! DShield, and picket's own CSV export.

use crate::error::{IntelError, RecordError};
use crate::formats::plain::observe;
use crate::formats::{Column, Columns, parse_time};
use crate::load::{Batch, lines};
use crate::normalize::trim;
use crate::{IndicatorKind, Tlp};

/// Iterates the rows of a delimited text with their line number and byte
/// offset. Blank lines and lines whose first non-blank character is `#` or
/// `;` are skipped. Quoted fields follow RFC 4180.
fn rows(
    bytes: &[u8],
    delimiter: u8,
    batch: &mut Batch<'_>,
    mut each: impl FnMut(&mut Batch<'_>, u64, u64, &csv::StringRecord),
) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let skip = batch.options.skip_lines as u64;
    loop {
        let position = reader.position().clone();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let (line, offset) = line_and_offset(record.position(), &position);
                if line <= skip {
                    continue;
                }
                let first = record.get(0).unwrap_or("").trim_start();
                if first.starts_with('#')
                    || first.starts_with(';')
                    || record.iter().all(|f| trim(f).is_empty())
                {
                    continue;
                }
                let len: usize = record.as_byte_record().as_slice().len();
                if len > batch.options.max_line_bytes {
                    batch.reject_line(
                        line,
                        offset,
                        RecordError::TooLong {
                            len,
                            limit: batch.options.max_line_bytes,
                        },
                    );
                    continue;
                }
                each(batch, line, offset, &record);
            }
            Err(error) => {
                let (line, offset) = line_and_offset(error.position(), &position);
                let reason = RecordError::Delimited {
                    reason: error.to_string(),
                };
                batch.reject_line(line, offset, reason);
                if !matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) {
                    // An I/O or other fatal reader error: the reader cannot go on.
                    break;
                }
            }
        }
    }
}

/// Returns the line and byte offset of a record, from the position the
/// reader gives it or else the reader's position before it.
fn line_and_offset(found: Option<&csv::Position>, before: &csv::Position) -> (u64, u64) {
    let at = found.unwrap_or(before);
    (at.line(), at.byte())
}

/// Resolves named columns against a header row to 0-based indexes.
fn resolve(column: &Column, header: Option<&csv::StringRecord>) -> Result<usize, String> {
    match column {
        Column::Index(0) => Err("column numbers start at 1".into()),
        Column::Index(n) => Ok(n - 1),
        Column::Name(name) => {
            let Some(header) = header else {
                return Err(format!(
                    "column {name:?} is named, but the file has no header row (add --header or `header: true`)"
                ));
            };
            header
                .iter()
                .position(|c| c.trim().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("column {name:?} is not in the header"))
        }
    }
}

/// Splits a tag cell on `,`, `|` or `;`.
fn split_tags(cell: &str) -> impl Iterator<Item = String> + '_ {
    // The three separators are ASCII, so every cut is on a character
    // boundary.
    let mut rest = Some(cell);
    std::iter::from_fn(move || {
        let text = rest?;
        match memchr::memchr3(b',', b'|', b';', text.as_bytes()) {
            Some(cut) => {
                rest = text.get(cut + 1..);
                text.get(..cut)
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
    .map(trim)
    .filter(|t| !t.is_empty())
    .map(str::to_owned)
}

/// Reads a delimited feed with [`crate::LoadOptions::columns`].
pub(crate) fn read_delimited(bytes: &[u8], batch: &mut Batch<'_>) -> Result<(), IntelError> {
    let Some(columns) = batch.options.columns.clone() else {
        return Err(IntelError::InvalidDocument {
            path: batch.file.to_string().into(),
            format: "delimited",
            reason:
                "a delimited feed needs a column map (`--column` or `columns:` in the feed rule)"
                    .into(),
        });
    };
    let mut header: Option<csv::StringRecord> = None;
    let mut resolved: Option<Result<Resolved, String>> = None;
    let delimiter = batch.options.delimiter;

    rows(bytes, delimiter, batch, |batch, line, offset, record| {
        if columns.header && header.is_none() {
            header = Some(record.clone());
            return;
        }
        let map = resolved.get_or_insert_with(|| Resolved::new(&columns, header.as_ref()));
        // A column map that does not fit the header fails every row, so
        // the file is rejected after the loop.
        let Ok(map) = map else {
            return;
        };
        batch.record();
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(trim)
                .filter(|c| !c.is_empty())
        };

        let kind = match cell(map.kind).map(str::parse::<IndicatorKind>) {
            Some(Ok(kind)) => Some(kind),
            Some(Err(e)) => {
                batch.reject_line(
                    line,
                    offset,
                    RecordError::BadField {
                        field: "kind".into(),
                        reason: e.to_string(),
                    },
                );
                return;
            }
            None => batch.options.kind,
        };
        let mut found = 0;
        for &index in &map.values {
            let Some(value) = cell(Some(index)) else {
                continue;
            };
            found += 1;
            let observable = match observe(batch, kind, value) {
                Ok(o) => o,
                Err(reason) => {
                    batch.reject_line(line, offset, reason);
                    continue;
                }
            };
            let mut sighting = batch.sighting(&observable.value);
            if let Some(tags) = cell(map.tags) {
                sighting.source.tags.extend(split_tags(tags));
            }
            if let Some(d) = cell(map.description) {
                sighting.source.description = Some(d.to_owned());
            }
            if let Some(r) = cell(map.reference) {
                sighting.source.reference = Some(r.to_owned());
            }
            if let Some(c) = cell(map.confidence) {
                match parse_confidence(c) {
                    Some(confidence) => sighting.source.confidence = confidence,
                    None => {
                        batch.reject_line(
                            line,
                            offset,
                            RecordError::BadField {
                                field: "confidence".into(),
                                reason: format!("{c:?} is not 0-100"),
                            },
                        );
                        continue;
                    }
                }
            }
            sighting.first_seen = cell(map.first_seen).and_then(parse_time);
            sighting.last_seen = cell(map.last_seen).and_then(parse_time);
            batch.add(observable, sighting);
        }
        if found == 0 {
            let needed = map.values.first().map_or(1, |i| i + 1);
            batch.reject_line(
                line,
                offset,
                RecordError::TooFewColumns {
                    found: record.len(),
                    needed,
                },
            );
        }
    });
    if let Some(Err(reason)) = resolved {
        return Err(IntelError::InvalidDocument {
            path: batch.file.to_string().into(),
            format: "delimited",
            reason: format!("the column map does not fit the file: {reason}"),
        });
    }
    Ok(())
}

/// Reads a confidence of 0 to 100, rounding a fraction to the nearest
/// whole number.
fn parse_confidence(text: &str) -> Option<u8> {
    // A whole number, the usual form, is read without the float parser.
    if let Ok(whole) = text.parse::<u8>() {
        return (whole <= 100).then_some(whole);
    }
    match text.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Some(v.round() as u8),
        _ => None,
    }
}

/// A column map with every column as a 0-based index.
struct Resolved {
    values: Vec<usize>,
    kind: Option<usize>,
    tags: Option<usize>,
    description: Option<usize>,
    first_seen: Option<usize>,
    last_seen: Option<usize>,
    confidence: Option<usize>,
    reference: Option<usize>,
}

impl Resolved {
    fn new(columns: &Columns, header: Option<&csv::StringRecord>) -> Result<Self, String> {
        let one = |c: &Option<Column>| c.as_ref().map(|c| resolve(c, header)).transpose();
        Ok(Resolved {
            values: columns
                .value
                .as_slice()
                .iter()
                .map(|c| resolve(c, header))
                .collect::<Result<_, _>>()?,
            kind: one(&columns.kind)?,
            tags: one(&columns.tags)?,
            description: one(&columns.description)?,
            first_seen: one(&columns.first_seen)?,
            last_seen: one(&columns.last_seen)?,
            confidence: one(&columns.confidence)?,
            reference: one(&columns.reference)?,
        })
    }
}

/// Reads the trailer `# END n entries` that abuse.ch writes.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    let tail = &bytes[bytes.len().saturating_sub(256)..];
    let text = String::from_utf8_lossy(tail);
    let rest = text.rsplit_once("# END ")?.1;
    rest.split_whitespace().next()?.parse().ok()
}

/// Reads abuse.ch's Feodo Tracker CSV: `first_seen_utc, dst_ip, dst_port,
/// c2_status, last_online, malware`.
pub(crate) fn read_feodo(bytes: &[u8], batch: &mut Batch<'_>) {
    batch.report.declared_entries = declared_entries(bytes);
    rows(bytes, b',', batch, |batch, line, offset, record| {
        if record.get(0) == Some("first_seen_utc") {
            return;
        }
        batch.record();
        if record.len() < 6 {
            batch.reject_line(
                line,
                offset,
                RecordError::TooFewColumns {
                    found: record.len(),
                    needed: 6,
                },
            );
            return;
        }
        let observable = match observe(batch, None, &record[1]) {
            Ok(o) if o.kind.is_ip() => o,
            Ok(o) => {
                batch.reject_line(
                    line,
                    offset,
                    RecordError::BadField {
                        field: "dst_ip".into(),
                        reason: format!("{} is not an address", o.value),
                    },
                );
                return;
            }
            Err(reason) => {
                batch.reject_line(line, offset, reason);
                return;
            }
        };
        let mut sighting = batch.sighting(&observable.value);
        let malware = record[5].trim();
        if !malware.is_empty() {
            sighting.source.tags.push(malware.to_ascii_lowercase());
        }
        sighting.source.tags.push("c2".into());
        sighting.assessment.get_or_insert_with(|| "c2".into());
        sighting.source.description = Some(format!(
            "{malware} C2 on port {} ({})",
            record[2].trim(),
            record[3].trim()
        ));
        sighting.first_seen = parse_time(&record[0]);
        sighting.last_seen = parse_time(&record[4]);
        batch.add(observable, sighting);
    });
}

/// The columns of `picket intel export --format csv`, in order.
pub(crate) const PICKET_CSV_COLUMNS: [&str; 14] = [
    "kind",
    "value",
    "include_subdomains",
    "provider",
    "feed",
    "confidence",
    "tlp",
    "tags",
    "assessment",
    "first_seen",
    "last_seen",
    "valid_until",
    "description",
    "reference",
];

/// Tells whether `text` starts with the header row of picket's CSV export.
pub(crate) fn is_picket_csv(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("").trim_end();
    first.split(',').eq(PICKET_CSV_COLUMNS)
}

/// Reads picket's own CSV export: one sighting a row, with its source,
/// confidence, TLP, tags (`|`-separated), assessment, times and
/// subdomain flag, so that an export loads back as the same indicators.
pub(crate) fn read_picket_csv(bytes: &[u8], batch: &mut Batch<'_>) {
    rows(bytes, b',', batch, |batch, line, offset, record| {
        if record.iter().eq(PICKET_CSV_COLUMNS) {
            return;
        }
        batch.record();
        if record.len() < PICKET_CSV_COLUMNS.len() {
            batch.reject_line(
                line,
                offset,
                RecordError::TooFewColumns {
                    found: record.len(),
                    needed: PICKET_CSV_COLUMNS.len(),
                },
            );
            return;
        }
        let bad = |field: &str, reason: String| RecordError::BadField {
            field: field.into(),
            reason,
        };

        let kind = match record[0].trim().parse::<IndicatorKind>() {
            Ok(kind) => kind,
            Err(e) => return batch.reject_line(line, offset, bad("kind", e.to_string())),
        };
        let mut observable = match observe(batch, Some(kind), &record[1]) {
            Ok(o) => o,
            Err(reason) => return batch.reject_line(line, offset, reason),
        };
        match record[2].trim() {
            "true" => observable.include_subdomains = kind == IndicatorKind::Domain,
            "false" => observable.include_subdomains = false,
            other => {
                return batch.reject_line(
                    line,
                    offset,
                    bad(
                        "include_subdomains",
                        format!("{other:?} is not true or false"),
                    ),
                );
            }
        }

        let mut sighting = batch.sighting(&observable.value);
        let text = |i: usize| {
            Some(record[i].trim())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        if let Some(provider) = text(3) {
            sighting.source.provider = provider;
        }
        if let Some(feed) = text(4) {
            sighting.source.feed = feed;
        }
        if let Some(c) = text(5) {
            match c.parse::<u8>() {
                Ok(v) if v <= 100 => sighting.source.confidence = v,
                _ => {
                    return batch.reject_line(
                        line,
                        offset,
                        bad("confidence", format!("{c:?} is not 0-100")),
                    );
                }
            }
        }
        if let Some(tlp) = text(6) {
            match Tlp::parse(&tlp) {
                Some(tlp) => sighting.source.tlp = Some(tlp.as_str().to_owned()),
                None => {
                    return batch.reject_line(
                        line,
                        offset,
                        bad("tlp", format!("{tlp:?} is not a TLP level")),
                    );
                }
            }
        }
        if let Some(tags) = text(7) {
            sighting.source.tags = tags
                .split('|')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
        }
        sighting.assessment = text(8).or(sighting.assessment);
        for (i, field, slot) in [
            (9, "first_seen", &mut sighting.first_seen),
            (10, "last_seen", &mut sighting.last_seen),
            (11, "valid_until", &mut sighting.valid_until),
        ] {
            let Some(time) = text(i) else {
                continue;
            };
            match parse_time(&time) {
                Some(t) => *slot = Some(t),
                None => {
                    return batch.reject_line(
                        line,
                        offset,
                        bad(field, format!("{time:?} is not a time")),
                    );
                }
            }
        }
        sighting.source.description = text(12).or(sighting.source.description);
        sighting.source.reference = text(13).or(sighting.source.reference);
        batch.add(observable, sighting);
    });
}

/// Reads a Bambenek Consulting feed: `value, description, date, manual URL`.
pub(crate) fn read_bambenek(bytes: &[u8], batch: &mut Batch<'_>) {
    rows(bytes, b',', batch, |batch, line, offset, record| {
        batch.record();
        if record.len() < 2 {
            batch.reject_line(
                line,
                offset,
                RecordError::TooFewColumns {
                    found: record.len(),
                    needed: 2,
                },
            );
            return;
        }
        let observable = match observe(batch, None, &record[0]) {
            Ok(o) => o,
            Err(reason) => {
                batch.reject_line(line, offset, reason);
                return;
            }
        };
        let mut sighting = batch.sighting(&observable.value);
        let description = record[1].trim();
        if let Some(family) = description
            .split_once("used by ")
            .map(|(_, rest)| rest.split([' ', ',']).next().unwrap_or(rest))
            .filter(|f| !f.is_empty())
        {
            sighting.source.tags.push(family.to_ascii_lowercase());
        }
        let assessment = if description.contains("DGA") {
            "dga"
        } else {
            "c2"
        };
        sighting.source.tags.push(assessment.into());
        sighting.assessment.get_or_insert_with(|| assessment.into());
        sighting.source.description = Some(description.to_owned());
        sighting.last_seen = record.get(2).and_then(parse_time);
        sighting.source.reference = record
            .get(3)
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        batch.add(observable, sighting);
    });
}

/// Reads the DShield block list: tab-separated start, end, prefix length,
/// attack count, network name, country, contact.
pub(crate) fn read_dshield(bytes: &[u8], batch: &mut Batch<'_>) {
    for (line, offset, raw) in lines(bytes) {
        let text = String::from_utf8_lossy(raw);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("Start\t") {
            continue;
        }
        batch.record();
        let fields: Vec<&str> = text.split('\t').map(str::trim).collect();
        if fields.len() < 3 {
            batch.reject_line(
                line,
                offset,
                RecordError::TooFewColumns {
                    found: fields.len(),
                    needed: 3,
                },
            );
            continue;
        }
        let cidr = format!("{}/{}", fields[0], fields[2]);
        let observable = match crate::normalize::normalize_observable(IndicatorKind::Cidr, &cidr) {
            Ok(o) => o,
            Err(e) => {
                batch.reject_line(line, offset, e.into());
                continue;
            }
        };
        let net = crate::normalize::parse_net(&observable.value);
        if net.is_some_and(|n| n.broadcast().to_string() != fields[1]) {
            batch.reject_line(
                line,
                offset,
                RecordError::BadField {
                    field: "end".into(),
                    reason: format!(
                        "{} is not the last address of {}",
                        fields[1], observable.value
                    ),
                },
            );
            continue;
        }
        let mut sighting = batch.sighting(&observable.value);
        sighting.assessment.get_or_insert_with(|| "scanner".into());
        sighting.source.tags.push("scanner".into());
        let mut parts = Vec::new();
        if let Some(attacks) = fields.get(3).filter(|a| !a.is_empty()) {
            parts.push(format!("{attacks} targets scanned"));
        }
        for f in fields.iter().skip(4).take(2).filter(|f| !f.is_empty()) {
            parts.push((*f).to_owned());
        }
        if !parts.is_empty() {
            sighting.source.description = Some(parts.join(", "));
        }
        batch.add(observable, sighting);
    }
}

#[cfg(test)]
mod tests {
    use crate::IndicatorKind;
    use crate::formats::{Column, ColumnList, Columns};
    use crate::load::{Format, LoadOptions, load_bytes};

    #[test]
    fn reads_columns_by_number_and_name() {
        let columns = Columns {
            value: ColumnList::Many(vec![Column::Name("url".into()), Column::Index(3)]),
            kind: None,
            tags: Some(Column::Name("tags".into())),
            description: None,
            first_seen: Some(Column::Index(4)),
            last_seen: None,
            confidence: Some(Column::Name("conf".into())),
            reference: None,
            header: true,
        };
        let options = LoadOptions {
            format: Some(Format::Delimited),
            columns: Some(columns),
            ..LoadOptions::default()
        };
        let text = "url,tags,ip,seen,conf\n\
                    # comment\n\
                    evil.example/x,\"a|b\",192.0.2.1,2024-01-01,90\n\
                    ,,not-an-ip,,\n\
                    ,,,,\n\
                    good.example/y,c,,2024-01-02,200\n";
        let report = load_bytes("feed.csv", text.as_bytes(), &options).unwrap();
        let values: Vec<_> = report
            .indicators
            .iter()
            .map(|i| (i.kind, i.value.as_str()))
            .collect();
        assert_eq!(
            values,
            [
                (IndicatorKind::Url, "http://evil.example/x"),
                (IndicatorKind::Ipv4, "192.0.2.1")
            ]
        );
        assert_eq!(report.indicators[0].sightings[0].source.tags, ["a", "b"]);
        assert_eq!(report.indicators[0].sightings[0].source.confidence, 90);
        let lines: Vec<_> = report.rejections.iter().map(|r| r.location.line).collect();
        assert_eq!(lines, [Some(4), Some(6)]);
    }

    #[test]
    fn invalid_utf8_row_is_rejected_alone() {
        let columns = Columns::of_value(ColumnList::One(Column::Index(1)), false);
        let options = LoadOptions {
            format: Some(Format::Delimited),
            columns: Some(columns),
            ..LoadOptions::default()
        };
        let text = b"192.0.2.1\nbad\xff.example\n192.0.2.2\n";

        let report = load_bytes("feed.csv", text, &options).unwrap();

        let values: Vec<_> = report.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(report.rejections.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(2));
        let reason = report.rejections[0].reason.to_string();
        assert!(reason.starts_with("invalid delimited record"), "{reason}");
    }

    #[test]
    fn tag_cells_split_on_each_separator() {
        let tags: Vec<String> = super::split_tags(" a| b ;;c,").collect();
        assert_eq!(tags, ["a", "b", "c"]);
        assert_eq!(super::split_tags("").count(), 0);
    }

    #[test]
    fn confidence_reads_whole_and_fractional_numbers() {
        for (text, want) in [
            ("42", Some(42)),
            ("+7", Some(7)),
            ("100", Some(100)),
            ("99.5", Some(100)),
            ("-0", Some(0)),
        ] {
            assert_eq!(super::parse_confidence(text), want, "{text}");
        }
        for text in ["101", "255", "256", "-1", "x", "NaN"] {
            assert_eq!(super::parse_confidence(text), None, "{text}");
        }
    }

    #[test]
    fn column_missing_from_header_rejects_file() {
        let mut columns = Columns::of_value(ColumnList::One(Column::Name("value".into())), true);
        columns.description = Some(Column::Name("description".into()));
        let options = LoadOptions {
            format: Some(Format::Delimited),
            columns: Some(columns),
            ..LoadOptions::default()
        };
        let text = b"value,kind\nevil.example,domain\n192.0.2.1,ipv4\n";

        let error = load_bytes("feed.csv", text, &options)
            .unwrap_err()
            .to_string();

        assert!(error.contains("feed.csv"), "{error}");
        assert!(
            error.contains("column \"description\" is not in the header"),
            "{error}"
        );

        let headless = LoadOptions {
            columns: Some(Columns::of_value(
                ColumnList::One(Column::Name("value".into())),
                false,
            )),
            ..options
        };
        let error = load_bytes("feed.csv", text, &headless)
            .unwrap_err()
            .to_string();
        assert!(error.contains("the file has no header row"), "{error}");
    }

    #[test]
    fn delimited_without_columns_is_an_error() {
        let options = LoadOptions {
            format: Some(Format::Delimited),
            ..LoadOptions::default()
        };
        assert!(load_bytes("x.csv", b"a,b\n", &options).is_err());
    }
}
