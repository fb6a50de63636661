//! Plain lists (one value a line) and regular-expression lines.

use crate::IndicatorKind;
use crate::error::{RecordError, ValueError};
use crate::load::{Batch, lines};
use crate::normalize::{
    EVERY_ADDRESS, Observable, classify_observable, normalize_observable, parse_net, trim,
};

/// Cuts a comment off a line: whole-line comments start with `#`, `;` or
/// `//`. A trailing comment starts with white space then `#` or `;` (a `#`
/// inside a URL, such as a fragment, is not a comment).
pub(crate) fn strip_comment(line: &str) -> &str {
    let trimmed = trim(line);
    if trimmed.starts_with('#') || trimmed.starts_with(';') || trimmed.starts_with("//") {
        return "";
    }
    let bytes = trimmed.as_bytes();
    for i in 1..bytes.len() {
        if matches!(bytes[i], b'#' | b';') && matches!(bytes[i - 1], b' ' | b'\t') {
            return trimmed[..i].trim_end();
        }
    }
    trimmed
}

/// Reads the line's text, rejecting lines over the length cap. Invalid
/// UTF-8 is replaced, so the value is rejected with a readable reason.
pub(crate) fn line_text<'a>(
    batch: &mut Batch<'_>,
    number: u64,
    offset: u64,
    raw: &'a [u8],
) -> Option<std::borrow::Cow<'a, str>> {
    within_line_limit(batch, number, offset, raw.len()).then(|| String::from_utf8_lossy(raw))
}

/// Tells whether a line of `len` bytes is within the length cap, and
/// rejects it when it is not.
fn within_line_limit(batch: &mut Batch<'_>, number: u64, offset: u64, len: usize) -> bool {
    let limit = batch.options.max_line_bytes;
    if len > limit {
        batch.reject_line(number, offset, RecordError::TooLong { len, limit });
        return false;
    }
    true
}

/// Normalises a value as the forced kind or by guessing, applying the
/// subdomain default to domains.
pub(crate) fn observe(
    batch: &Batch<'_>,
    kind: Option<IndicatorKind>,
    value: &str,
) -> Result<Observable, RecordError> {
    let mut observable = match kind {
        Some(kind) => normalize_observable(kind, value)?,
        None => classify_observable(value).ok_or_else(|| unclassified(value))?,
    };
    if observable.kind == IndicatorKind::Domain && batch.options.domain_subdomains {
        observable.include_subdomains = true;
    }
    Ok(observable)
}

/// Returns the error for a value of no kind. A network of prefix length 0
/// parses but is rejected as an indicator, so it gets that reason instead.
fn unclassified(value: &str) -> RecordError {
    if parse_net(value).is_some_and(|net| net.prefix_len() == 0) {
        return ValueError::new(IndicatorKind::Cidr, value, EVERY_ADDRESS).into();
    }
    RecordError::Unclassified {
        value: crate::error::cut(value),
    }
}

/// Reads a plain list: one value a line, optional tags after it separated
/// by white space or commas.
pub(crate) fn read_plain(bytes: &[u8], batch: &mut Batch<'_>) {
    let skip = batch.options.skip_lines as u64;
    // Valid UTF-8 as a whole, the input is cut into lines of text without
    // checking or copying each line again.
    let text = std::str::from_utf8(bytes).ok();
    for (number, offset, raw) in lines(bytes) {
        if number <= skip {
            continue;
        }
        match text {
            Some(text) => {
                if !within_line_limit(batch, number, offset, raw.len()) {
                    continue;
                }
                // A line ends before a `\r` or `\n`, so both of its ends are
                // character boundaries and `get` finds it.
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                if let Some(line) = text.get(start..start.saturating_add(raw.len())) {
                    read_plain_line(batch, number, offset, line);
                }
            }
            None => {
                if let Some(line) = line_text(batch, number, offset, raw) {
                    read_plain_line(batch, number, offset, &line);
                }
            }
        }
    }
}

/// Reads one line of a plain list.
fn read_plain_line(batch: &mut Batch<'_>, number: u64, offset: u64, text: &str) {
    let kind = batch.options.kind;
    let whole_line = matches!(
        kind,
        Some(IndicatorKind::UserAgent | IndicatorKind::FileName)
    );
    let line = if whole_line {
        text.trim()
    } else {
        strip_comment(text)
    };
    if line.is_empty() {
        return;
    }
    batch.record();

    if whole_line {
        match observe(batch, kind, line) {
            Ok(observable) => batch.add_default(observable, &[]),
            Err(reason) => batch.reject_line(number, offset, reason),
        }
        return;
    }

    // The value is the first token, or the part of it before a comma when
    // the whole token is not a value. The rest of the token lists tags.
    // Spaced ranges and networks before a comma are looked for only after
    // an address or a URL, so that other lines skip those checks.
    let mut tokens = line.split_whitespace();
    let first = tokens.next().unwrap_or_default();
    let (observable, leading_tags) = match observe(batch, kind, first) {
        Ok(observable) => match observable.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                if memchr::memchr(b'-', line.as_bytes()).is_some()
                    && let Some((range, rest)) = spaced_range(first, &tokens)
                {
                    add_range(batch, kind, number, offset, &range, rest);
                    return;
                }
                (observable, "")
            }
            IndicatorKind::Url => {
                network_before_comma(batch, kind, first).unwrap_or((observable, ""))
            }
            _ => (observable, ""),
        },
        Err(error) => {
            if let Some((range, rest)) = spaced_range(first, &tokens) {
                add_range(batch, kind, number, offset, &range, rest);
                return;
            }
            let split = first.split_once(',');
            let result = match split {
                Some((value, rest)) => {
                    observe(batch, kind, value).map(|observable| (observable, rest))
                }
                None => Err(error),
            };
            match result {
                Ok(found) => found,
                Err(reason) => {
                    batch.reject_line(number, offset, reason);
                    return;
                }
            }
        }
    };

    add_with_tags(batch, observable, leading_tags, tokens);
}

/// Adds the range a line starts with ([`spaced_range`]) with the tags of
/// the tokens after it, or rejects the line when it is not a valid range.
fn add_range<'a>(
    batch: &mut Batch<'_>,
    kind: Option<IndicatorKind>,
    number: u64,
    offset: u64,
    range: &str,
    tokens: std::str::SplitWhitespace<'a>,
) {
    match observe(batch, kind, range) {
        Ok(observable) => add_with_tags(batch, observable, "", tokens),
        Err(reason) => batch.reject_line(number, offset, reason),
    }
}

/// Reads a token such as `198.51.100.0/24,1,63` as the network before the
/// first comma and the tags after it. The whole token would otherwise
/// read as a URL with the path `/24,1,63`.
fn network_before_comma<'a>(
    batch: &Batch<'_>,
    kind: Option<IndicatorKind>,
    token: &'a str,
) -> Option<(Observable, &'a str)> {
    if !matches!(kind, None | Some(IndicatorKind::Cidr)) {
        return None;
    }
    let (value, rest) = token.split_once(',')?;
    if !value.contains('/') || value.contains("://") {
        return None;
    }
    let observable = observe(batch, kind, value).ok()?;
    (observable.kind == IndicatorKind::Cidr).then_some((observable, rest))
}

/// Joins `first - last`, an IP range written with white space around the
/// dash, into one value. Returns the range and the tokens after it, or
/// `None` when `first` and the token after the dash are not addresses.
fn spaced_range<'a>(
    first: &str,
    tokens: &std::str::SplitWhitespace<'a>,
) -> Option<(String, std::str::SplitWhitespace<'a>)> {
    let mut rest = tokens.clone();
    if rest.next() != Some("-") {
        return None;
    }
    let last = rest.next()?;
    let is_address = |text: &str| text.parse::<std::net::IpAddr>().is_ok();
    (is_address(first) && is_address(last)).then(|| (format!("{first}-{last}"), rest))
}

/// Adds a value with the tags of its line: the comma-separated `leading`
/// part of its token, then every later token split on commas.
fn add_with_tags<'a>(
    batch: &mut Batch<'_>,
    observable: Observable,
    leading: &'a str,
    tokens: impl Iterator<Item = &'a str>,
) {
    let mut sighting = batch.sighting(&observable.value);
    let line_tags = leading.split(',').chain(tokens.flat_map(|t| t.split(',')));
    for tag in line_tags.filter(|t| !t.is_empty()) {
        if !sighting.source.tags.iter().any(|known| known == tag) {
            sighting.source.tags.push(tag.to_owned());
        }
    }
    batch.add(observable, sighting);
}

/// Reads lines with a regular expression whose named groups give `value`
/// (required) and optionally `kind`, `tags` (comma-separated),
/// `description`, `first_seen` and `last_seen` (RFC 3339). Lines that do
/// not match are rejected. Comment lines are skipped.
pub(crate) fn read_regex(bytes: &[u8], batch: &mut Batch<'_>, pattern: &regex::Regex) {
    let skip = batch.options.skip_lines as u64;
    for (number, offset, raw) in lines(bytes) {
        if number <= skip {
            continue;
        }
        let Some(text) = line_text(batch, number, offset, raw) else {
            continue;
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        batch.record();
        let Some(caps) = pattern.captures(trimmed) else {
            batch.reject_line(
                number,
                offset,
                RecordError::BadField {
                    field: "line".into(),
                    reason: "does not match the feed's regex".into(),
                },
            );
            continue;
        };
        let Some(value) = caps.name("value").map(|m| m.as_str()) else {
            batch.reject_line(
                number,
                offset,
                RecordError::MissingField {
                    field: "value".into(),
                },
            );
            continue;
        };
        let kind = match caps
            .name("kind")
            .map(|m| m.as_str().parse::<IndicatorKind>())
        {
            Some(Ok(kind)) => Some(kind),
            Some(Err(e)) => {
                batch.reject_line(
                    number,
                    offset,
                    RecordError::BadField {
                        field: "kind".into(),
                        reason: e.to_string(),
                    },
                );
                continue;
            }
            None => batch.options.kind,
        };
        let observable = match observe(batch, kind, value) {
            Ok(o) => o,
            Err(reason) => {
                batch.reject_line(number, offset, reason);
                continue;
            }
        };
        let mut sighting = batch.sighting(&observable.value);
        if let Some(tags) = caps.name("tags") {
            for tag in tags
                .as_str()
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                sighting.source.tags.push(tag.to_owned());
            }
        }
        if let Some(d) = caps.name("description") {
            sighting.source.description = Some(d.as_str().to_owned());
        }
        sighting.first_seen = caps
            .name("first_seen")
            .and_then(|m| super::parse_time(m.as_str()));
        sighting.last_seen = caps
            .name("last_seen")
            .and_then(|m| super::parse_time(m.as_str()));
        batch.add(observable, sighting);
    }
}

#[cfg(test)]
mod tests {
    use crate::IndicatorKind;
    use crate::load::{LoadOptions, LoadReport, load_bytes};

    /// Returns the kind and value of each indicator a load read.
    fn kinds_and_values(report: &LoadReport) -> Vec<(IndicatorKind, &str)> {
        report
            .indicators
            .iter()
            .map(|i| (i.kind, i.value.as_str()))
            .collect()
    }

    #[test]
    fn reads_values_comments_and_tags() {
        let text = "# header\n\
                    ; another\n\
                    192.0.2.1\n\
                    198.51.100.0/24 # trailing comment\n\
                    Evil.Example malware,c2\n\
                    http://evil.example/a#frag phishing\n\
                    not a value\n\
                    192.0.2.1 dup\n\
                    \n\
                    evil.example,botnet\n";
        let report = load_bytes("list.txt", text.as_bytes(), &LoadOptions::default()).unwrap();
        let values = kinds_and_values(&report);
        assert_eq!(
            values,
            [
                (IndicatorKind::Ipv4, "192.0.2.1"),
                (IndicatorKind::Cidr, "198.51.100.0/24"),
                (IndicatorKind::Domain, "evil.example"),
                (IndicatorKind::Url, "http://evil.example/a"),
            ]
        );
        assert!(report.indicators[2].include_subdomains);
        assert_eq!(
            report.indicators[2].sightings[0].source.tags,
            ["malware", "c2", "botnet"]
        );
        assert_eq!(report.indicators[0].sightings[0].source.tags, ["dup"]);
        assert_eq!(report.rejections.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(7));
        assert!(
            report.rejections[0]
                .to_string()
                .contains("not an IP address")
        );
        assert_eq!(report.records, 7);
        assert_eq!(report.duplicates, 2);
    }

    #[test]
    fn invalid_utf8_line_is_rejected_alone() {
        let text = b"\xef\xbb\xbf192.0.2.1 a\nbad\xff.example\n192.0.2.2 b,c\n";
        let report = load_bytes("list.txt", text, &LoadOptions::default()).unwrap();
        let values: Vec<_> = report.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(report.indicators[1].sightings[0].source.tags, ["b", "c"]);
        assert_eq!(report.rejections.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(2));
    }

    #[test]
    fn skipped_lines_after_byte_order_mark() {
        let options = LoadOptions {
            skip_lines: 1,
            ..LoadOptions::default()
        };
        let report = load_bytes(
            "list.txt",
            "\u{feff}not a value\r\n192.0.2.1\r\n".as_bytes(),
            &options,
        )
        .unwrap();
        let values: Vec<_> = report.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["192.0.2.1"]);
        assert!(report.rejections.is_empty());
        assert_eq!(report.records, 1);
    }

    #[test]
    fn range_with_spaced_dash() {
        let text = "192.0.2.1 - 192.0.2.9 scanner\n\
                    192.0.2.20 - 192.0.2.10\n\
                    2001:db8::1 - 2001:db8::9\n";
        let report = load_bytes("list.txt", text.as_bytes(), &LoadOptions::default()).unwrap();
        let values = kinds_and_values(&report);
        assert_eq!(
            values,
            [
                (IndicatorKind::IpRange, "192.0.2.1-192.0.2.9"),
                (IndicatorKind::IpRange, "2001:db8::1-2001:db8::9"),
            ]
        );
        assert_eq!(report.indicators[0].sightings[0].source.tags, ["scanner"]);
        // A reversed range is rejected, not read as its first address.
        assert_eq!(report.rejections.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(2));
        assert_eq!(report.records, 3);
    }

    #[test]
    fn zero_prefix_line_rejected_with_reason() {
        let text = "0.0.0.0/0\n192.0.2.0/24\n";
        let report = load_bytes("list.txt", text.as_bytes(), &LoadOptions::default()).unwrap();

        assert_eq!(report.indicators.len(), 1);
        assert_eq!(report.indicators[0].value, "192.0.2.0/24");
        assert_eq!(report.rejections.len(), 1);
        assert_eq!(report.rejections[0].location.line, Some(1));
        let reason = report.rejections[0].reason.to_string();
        assert!(reason.contains(super::EVERY_ADDRESS), "{reason}");
    }

    #[test]
    fn network_before_comma_is_not_a_url() {
        let text = "198.51.100.0/24,1,63\n\
                    2001:db8::/32,2\n\
                    evil.example/a,b\n";
        let report = load_bytes("list.txt", text.as_bytes(), &LoadOptions::default()).unwrap();
        let values = kinds_and_values(&report);
        assert_eq!(
            values,
            [
                (IndicatorKind::Cidr, "198.51.100.0/24"),
                (IndicatorKind::Cidr, "2001:db8::/32"),
                (IndicatorKind::Url, "http://evil.example/a,b"),
            ]
        );
        assert_eq!(report.indicators[0].sightings[0].source.tags, ["1", "63"]);
        assert!(report.rejections.is_empty());
    }

    #[test]
    fn forced_kind_reads_whole_lines() {
        let options = LoadOptions {
            kind: Some(IndicatorKind::UserAgent),
            ..LoadOptions::default()
        };
        let report =
            load_bytes("ua.txt", b"Mozilla/4.0 (compatible; MSIE 6.0)\n", &options).unwrap();
        assert_eq!(
            report.indicators[0].value,
            "Mozilla/4.0 (compatible; MSIE 6.0)"
        );
    }
}
