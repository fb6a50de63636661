//! STIX 2.1: bundles of indicators with patterns, observed-data and cyber
//! observables (SCOs).
//!
//! A pattern becomes indicators when its comparisons are equalities (or
//! `ISSUBSET` a network) on `ipv4-addr:value`, `ipv6-addr:value`,
//! `domain-name:value`, `url:value`, `email-addr:value`, `file:hashes.*`,
//! `file:name`, `email-message:from_ref.value`/`sender_ref.value` and
//! `network-traffic:dst_ref.value`/`src_ref.value`, joined by `OR` or `AND`.
//! Under `AND` every usable comparison becomes an indicator and the others
//! are reported as dropped conditions. Anything else (`MATCHES`, `LIKE`,
//! `FOLLOWEDBY`, qualifiers, other object types) is reported as an
//! unsupported pattern, never dropped silently.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{IntelError, RecordError};
use crate::formats::parse_time;
use crate::load::Batch;
use crate::normalize::{normalize_observable, Observable};
use crate::{IndicatorKind, Sighting, Tlp};

/// Well-known TLP marking-definition ids, TLP 1.0 and TLP 2.0.
const TLP_MARKINGS: [(&str, Tlp); 9] = [
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red),
    ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp::Clear),
    ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp::Green),
    ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp::Amber),
    ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp::AmberStrict),
    ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp::Red),
];

/// Object types that are cyber observables, not domain objects.
const SCO_TYPES: [&str; 18] = [
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
];

/// Reads a STIX 2.1 bundle, a single object or a JSON array of objects.
pub(crate) fn read(bytes: &[u8], batch: &mut Batch<'_>) -> Result<(), IntelError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| IntelError::InvalidDocument {
        path: batch.file.to_string().into(),
        format: "STIX 2.1",
        reason: format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()),
    })?;
    let (objects, prefix): (Vec<&Value>, &str) = match &doc {
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("bundle") => {
            if let Some(id) = map.get("id").and_then(Value::as_str) {
                batch.report.notes.push(format!("bundle {id}"));
            }
            match map.get("objects") {
                Some(Value::Array(objects)) => (objects.iter().collect(), "objects"),
                None => (Vec::new(), "objects"),
                Some(_) => {
                    return Err(IntelError::InvalidDocument {
                        path: batch.file.to_string().into(),
                        format: "STIX 2.1",
                        reason: "$.objects is not an array".into(),
                    })
                }
            }
        }
        Value::Object(_) => (vec![&doc], ""),
        Value::Array(items) => (items.iter().collect(), ""),
        _ => {
            return Err(IntelError::InvalidDocument {
                path: batch.file.to_string().into(),
                format: "STIX 2.1",
                reason: "the document is neither a bundle nor an object".into(),
            })
        }
    };

    let context = Context::collect(&objects);
    for (i, object) in objects.iter().enumerate() {
        let path = if prefix.is_empty() && objects.len() == 1 {
            "$".to_owned()
        } else if prefix.is_empty() {
            format!("$[{i}]")
        } else {
            format!("$.{prefix}[{i}]")
        };
        batch.record();
        if let Err(reason) = validate(object, &path) {
            batch.reject(reason);
            continue;
        }
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "indicator" => read_indicator(object, &path, &context, batch),
            "observed-data" => read_observed_data(object, &path, &context, batch),
            t if SCO_TYPES.contains(&t) => {
                let sighting = base_sighting(batch, object, &context, None);
                read_sco(object, &path, &context.by_id, sighting, batch);
            }
            _ => {}
        }
    }
    Ok(())
}

/// What other objects of the bundle tell about an indicator: TLP markings
/// and identity names.
struct Context<'a> {
    tlp: HashMap<&'a str, Tlp>,
    identities: HashMap<&'a str, &'a str>,
    by_id: HashMap<&'a str, &'a Value>,
}

impl<'a> Context<'a> {
    fn collect(objects: &[&'a Value]) -> Self {
        let mut tlp: HashMap<&str, Tlp> = TLP_MARKINGS.iter().copied().collect();
        let mut identities = HashMap::new();
        let mut by_id = HashMap::new();
        for object in objects {
            let Some(id) = object.get("id").and_then(Value::as_str) else {
                continue;
            };
            by_id.insert(id, *object);
            match object.get("type").and_then(Value::as_str) {
                Some("marking-definition") => {
                    let level = object
                        .pointer("/definition/tlp")
                        .and_then(Value::as_str)
                        .or_else(|| object.get("name").and_then(Value::as_str))
                        .and_then(Tlp::parse);
                    if let Some(level) = level {
                        tlp.insert(id, level);
                    }
                }
                Some("identity") => {
                    if let Some(name) = object.get("name").and_then(Value::as_str) {
                        identities.insert(id, name);
                    }
                }
                _ => {}
            }
        }
        Context { tlp, identities, by_id }
    }
}

/// Checks the common properties that STIX 2.1 requires (section 3.2):
/// `type`, `id` of the form `type--uuid`, and for domain and relationship
/// objects `spec_version`, `created` and `modified` with `modified` not
/// before `created`.
fn validate(object: &Value, path: &str) -> Result<(), RecordError> {
    let field = |name: &str| format!("{path}.{name}");
    let Some(map) = object.as_object() else {
        return Err(RecordError::BadField { field: path.to_owned(), reason: "not a JSON object".into() });
    };
    let kind = map
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| RecordError::MissingField { field: field("type") })?;
    let id = map
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| RecordError::MissingField { field: field("id") })?;
    match id.split_once("--") {
        Some((prefix, uuid)) if prefix == kind && is_uuid(uuid) => {}
        _ => {
            return Err(RecordError::BadField {
                field: field("id"),
                reason: format!("{id:?} is not {kind}--<uuid>"),
            })
        }
    }
    if SCO_TYPES.contains(&kind) || kind == "marking-definition" {
        return Ok(());
    }
    if let Some(version) = map.get("spec_version").and_then(Value::as_str)
        && version != "2.1" {
            return Err(RecordError::BadField { field: field("spec_version"), reason: format!("{version:?} is not 2.1") });
        }
    let time = |name: &str| -> Result<picket_event::Timestamp, RecordError> {
        let text = map
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| RecordError::MissingField { field: field(name) })?;
        picket_event::Timestamp::parse_rfc3339(text)
            .map_err(|e| RecordError::BadField { field: field(name), reason: e.to_string() })
    };
    let created = time("created")?;
    let modified = time("modified")?;
    if modified < created {
        return Err(RecordError::BadField {
            field: field("modified"),
            reason: format!("{modified} is before created {created}"),
        });
    }
    if kind == "indicator" {
        for required in ["pattern", "pattern_type", "valid_from"] {
            if map.get(required).is_none() {
                return Err(RecordError::MissingField { field: field(required) });
            }
        }
    }
    Ok(())
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// The sighting every observable of one object gets.
fn base_sighting(batch: &Batch<'_>, object: &Value, context: &Context<'_>, value: Option<&str>) -> Sighting {
    let mut sighting = batch.sighting(value.unwrap_or(""));
    let str_of = |name: &str| object.get(name).and_then(Value::as_str);
    if let Some(confidence) = object.get("confidence").and_then(Value::as_u64) {
        sighting.source.confidence = confidence.min(100) as u8;
    }
    if let Some(markings) = object.get("object_marking_refs").and_then(Value::as_array) {
        let level = markings.iter().filter_map(Value::as_str).filter_map(|m| context.tlp.get(m)).max();
        if let Some(level) = level {
            sighting.source.tlp = Some(level.as_str().to_owned());
        }
    }
    for list in ["indicator_types", "labels"] {
        if let Some(values) = object.get(list).and_then(Value::as_array) {
            for tag in values.iter().filter_map(Value::as_str) {
                if !sighting.source.tags.iter().any(|t| t == tag) {
                    sighting.source.tags.push(tag.to_owned());
                }
            }
        }
    }
    if let Some(first) = object
        .get("indicator_types")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        sighting.assessment = Some(first.to_owned());
    }
    if let Some(text) = str_of("description").or_else(|| str_of("name")) {
        sighting.source.description = Some(text.to_owned());
    }
    if let Some(identity) = str_of("created_by_ref").and_then(|r| context.identities.get(r))
        && batch.options.defaults.provider.is_none() {
            sighting.source.provider = (*identity).to_owned();
        }
    if let Some(url) = object
        .get("external_references")
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find_map(|r| r.get("url").and_then(Value::as_str)))
    {
        sighting.source.reference = Some(url.to_owned());
    }
    sighting.first_seen = str_of("valid_from").or_else(|| str_of("first_observed")).and_then(parse_time);
    sighting.last_seen = str_of("last_observed").and_then(parse_time);
    sighting.reported_at = str_of("modified").and_then(parse_time).or(sighting.reported_at);
    sighting.valid_until = str_of("valid_until").and_then(parse_time);
    // STIX 2.1 treats a revoked object as no longer valid, so its values
    // expire at its last version (`modified`), the time it was revoked.
    if object.get("revoked").and_then(Value::as_bool) == Some(true) {
        sighting.valid_until = match (sighting.valid_until, sighting.reported_at) {
            (Some(until), Some(revoked)) => Some(until.min(revoked)),
            (until, revoked) => until.or(revoked),
        };
    }
    sighting
}

fn read_indicator(object: &Value, path: &str, context: &Context<'_>, batch: &mut Batch<'_>) {
    let pattern_type = object.get("pattern_type").and_then(Value::as_str).unwrap_or("stix");
    let Some(pattern) = object.get("pattern").and_then(Value::as_str) else {
        batch.reject(RecordError::BadField { field: format!("{path}.pattern"), reason: "not a string".into() });
        return;
    };
    if pattern_type != "stix" {
        batch.reject(RecordError::Unsupported {
            path: format!("{path}.pattern"),
            what: "pattern",
            detail: format!("pattern_type {pattern_type:?}: only STIX patterns are read"),
        });
        return;
    }
    let outcome = match parse_pattern(pattern) {
        Ok(outcome) => outcome,
        Err(reason) => {
            batch.reject(RecordError::BadField { field: format!("{path}.pattern"), reason });
            return;
        }
    };
    if outcome.observables.is_empty() || !outcome.unsupported.is_empty() {
        let detail = if outcome.observables.is_empty() {
            format!("{pattern}: nothing picket can match ({})", outcome.unsupported.join("; "))
        } else {
            format!("{pattern}: conditions dropped ({})", outcome.unsupported.join("; "))
        };
        batch.reject(RecordError::Unsupported { path: format!("{path}.pattern"), what: "pattern", detail });
    }
    for observable in outcome.observables {
        let mut sighting = base_sighting(batch, object, context, Some(&observable.value));
        if let Some(template) = &batch.options.defaults.altid {
            sighting.source.reference = Some(template.replace("{value}", &observable.value));
        }
        batch.add(observable, sighting);
    }
}

fn read_observed_data(object: &Value, path: &str, context: &Context<'_>, batch: &mut Batch<'_>) {
    let sighting = base_sighting(batch, object, context, None);
    if let Some(Value::Object(embedded)) = object.get("objects") {
        let by_key: HashMap<&str, &Value> = embedded.iter().map(|(k, v)| (k.as_str(), v)).collect();
        for (key, sco) in embedded {
            read_sco(sco, &format!("{path}.objects.{key}"), &by_key, sighting.clone(), batch);
        }
    }
    if let Some(refs) = object.get("object_refs").and_then(Value::as_array) {
        for (i, id) in refs.iter().filter_map(Value::as_str).enumerate() {
            let Some(sco) = context.by_id.get(id) else {
                continue;
            };
            read_sco(sco, &format!("{path}.object_refs[{i}]"), &context.by_id, sighting.clone(), batch);
        }
    }
}

/// Turns one cyber observable into indicators. `refs` resolves the
/// `*_ref` properties of network traffic and e-mail messages.
fn read_sco(sco: &Value, path: &str, refs: &HashMap<&str, &Value>, sighting: Sighting, batch: &mut Batch<'_>) {
    let kind = sco.get("type").and_then(Value::as_str).unwrap_or("");
    let value = sco.get("value").and_then(Value::as_str);
    let mut found: Vec<Result<Observable, RecordError>> = Vec::new();
    match (kind, value) {
        ("ipv4-addr" | "ipv6-addr", Some(v)) => found.push(address(v)),
        ("domain-name", Some(v)) => found.push(normalize_observable(IndicatorKind::Domain, v).map_err(Into::into)),
        ("url", Some(v)) => found.push(normalize_observable(IndicatorKind::Url, v).map_err(Into::into)),
        ("email-addr", Some(v)) => found.push(normalize_observable(IndicatorKind::Email, v).map_err(Into::into)),
        ("file", _) => {
            if let Some(Value::Object(hashes)) = sco.get("hashes") {
                for (algorithm, digest) in hashes {
                    if let (Some(kind), Some(digest)) = (hash_kind(algorithm), digest.as_str()) {
                        found.push(normalize_observable(kind, digest).map_err(Into::into));
                    }
                }
            }
            if let Some(name) = sco.get("name").and_then(Value::as_str) {
                found.push(normalize_observable(IndicatorKind::FileName, name).map_err(Into::into));
            }
        }
        ("network-traffic", _) => {
            for key in ["dst_ref", "src_ref"] {
                if let Some(target) = sco.get(key).and_then(Value::as_str).and_then(|r| refs.get(r))
                    && let Some(v) = target.get("value").and_then(Value::as_str) {
                        found.push(address(v).or_else(|_| {
                            normalize_observable(IndicatorKind::Domain, v).map_err(Into::into)
                        }));
                    }
            }
        }
        _ => {}
    }
    for result in found {
        match result {
            Ok(observable) => {
                let mut sighting = sighting.clone();
                if !sighting.source.tags.iter().any(|t| t == "observed") {
                    sighting.source.tags.push("observed".into());
                }
                batch.add(observable, sighting);
            }
            Err(reason) => batch.reject(RecordError::BadField { field: format!("{path}.value"), reason: reason.to_string() }),
        }
    }
}

fn address(value: &str) -> Result<Observable, RecordError> {
    let kind = if value.contains('/') {
        IndicatorKind::Cidr
    } else if value.contains(':') {
        IndicatorKind::Ipv6
    } else {
        IndicatorKind::Ipv4
    };
    let mut observable = normalize_observable(kind, value)?;
    // A /32 or /128 network is one address.
    if kind == IndicatorKind::Cidr
        && let Some(net) = crate::normalize::parse_net(&observable.value)
            && net.prefix_len() == net.max_prefix_len() {
                observable.kind = if net.addr().is_ipv4() { IndicatorKind::Ipv4 } else { IndicatorKind::Ipv6 };
                observable.value = net.addr().to_string();
            }
    Ok(observable)
}

fn hash_kind(algorithm: &str) -> Option<IndicatorKind> {
    match algorithm.trim_matches('\'').to_ascii_uppercase().replace('-', "").as_str() {
        "MD5" => Some(IndicatorKind::Md5),
        "SHA1" => Some(IndicatorKind::Sha1),
        "SHA256" => Some(IndicatorKind::Sha256),
        _ => None,
    }
}

/// What a pattern yields: observables to match, and the constructs that
/// could not be expressed.
#[derive(Debug, Default)]
pub(crate) struct PatternOutcome {
    pub(crate) observables: Vec<Observable>,
    pub(crate) unsupported: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    Word(String),
    Str(String),
    Op(String),
    Number(String),
}

/// Splits a pattern into tokens. Paths keep their quoted parts
/// (`file:hashes.'SHA-256'`).
fn tokenize(pattern: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '[' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ']' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            '\'' => {
                let (text, next) = quoted(&chars, i)?;
                tokens.push(Token::Str(text));
                i = next;
            }
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if chars.get(i + 1) == Some(&'=') {
                    op.push('=');
                    i += 1;
                }
                if op == "!" {
                    return Err("lone '!'".into());
                }
                tokens.push(Token::Op(op));
                i += 1;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | '-' | 'e' | 'E' | '+')) {
                    i += 1;
                }
                tokens.push(Token::Number(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                // A word: a keyword, a typed literal prefix (t'', h'', b'') or
                // an object path that may contain quoted steps and [*].
                let start = i;
                let mut word = String::new();
                while i < chars.len() {
                    let ch = chars[i];
                    if ch == '\'' && (word.ends_with('.') || (word.len() == 1 && matches!(word.as_str(), "t" | "h" | "b"))) {
                        let (text, next) = quoted(&chars, i)?;
                        if word.len() == 1 {
                            word.clear();
                            tokens.push(Token::Str(text));
                            i = next;
                            break;
                        }
                        word.push('\'');
                        word.push_str(&text);
                        word.push('\'');
                        i = next;
                    } else if ch == '[' && chars.get(i + 1) == Some(&'*') && chars.get(i + 2) == Some(&']') {
                        word.push_str("[*]");
                        i += 3;
                    } else if ch == '[' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                        while i < chars.len() && chars[i] != ']' {
                            word.push(chars[i]);
                            i += 1;
                        }
                        word.push(']');
                        i += 1;
                    } else if ch.is_alphanumeric() || matches!(ch, '_' | '-' | ':' | '.') {
                        word.push(ch);
                        i += 1;
                    } else {
                        break;
                    }
                }
                if !word.is_empty() {
                    tokens.push(Token::Word(word));
                } else if i == start {
                    i += 1;
                }
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}

/// Reads a quoted string starting at `chars[start] == '\''`. Returns the
/// unescaped text and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    text.push(next);
                }
                i += 2;
            }
            '\'' => return Ok((text, i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

/// A recursive-descent reader over the token list.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    outcome: PatternOutcome,
}

/// Deepest nesting of brackets and parentheses accepted.
const MAX_PATTERN_DEPTH: usize = 32;

/// Parses a STIX pattern into what picket can match and what it cannot.
pub(crate) fn parse_pattern(pattern: &str) -> Result<PatternOutcome, String> {
    let tokens = tokenize(pattern)?;
    let mut parser = Parser { tokens, at: 0, depth: 0, outcome: PatternOutcome::default() };
    parser.observation_or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!("unexpected {:?} after the pattern", parser.tokens[parser.at]));
    }
    // `name = 'x' OR name LIKE '%.x'` is one domain with its subdomains.
    let mut merged: Vec<Observable> = Vec::with_capacity(parser.outcome.observables.len());
    for o in parser.outcome.observables.drain(..) {
        match merged.iter_mut().find(|m| m.kind == o.kind && m.value == o.value) {
            Some(m) => m.include_subdomains |= o.include_subdomains,
            None => merged.push(o),
        }
    }
    parser.outcome.observables = merged;
    Ok(parser.outcome)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_PATTERN_DEPTH {
            return Err("pattern nested too deeply".into());
        }
        Ok(())
    }

    fn observation_or(&mut self) -> Result<(), String> {
        self.observation_and()?;
        while self.keyword("OR") {
            self.at += 1;
            self.observation_and()?;
        }
        Ok(())
    }

    fn observation_and(&mut self) -> Result<(), String> {
        self.observation_seq()?;
        while self.keyword("AND") {
            self.at += 1;
            self.observation_seq()?;
        }
        Ok(())
    }

    fn observation_seq(&mut self) -> Result<(), String> {
        self.observation_unit()?;
        while self.keyword("FOLLOWEDBY") {
            self.at += 1;
            self.outcome.unsupported.push("FOLLOWEDBY ordering".into());
            self.observation_unit()?;
        }
        Ok(())
    }

    fn observation_unit(&mut self) -> Result<(), String> {
        self.enter()?;
        match self.next() {
            Some(Token::Open) => {
                self.comparison_or()?;
                if self.next() != Some(Token::Close) {
                    return Err("missing ']'".into());
                }
            }
            Some(Token::LParen) => {
                self.observation_or()?;
                if self.next() != Some(Token::RParen) {
                    return Err("missing ')'".into());
                }
            }
            other => return Err(format!("expected '[' or '(' but found {other:?}")),
        }
        self.depth -= 1;
        self.qualifiers()
    }

    fn qualifiers(&mut self) -> Result<(), String> {
        loop {
            if self.keyword("WITHIN") {
                self.at += 2;
                if !self.keyword("SECONDS") {
                    return Err("WITHIN without SECONDS".into());
                }
                self.at += 1;
                self.outcome.unsupported.push("WITHIN qualifier".into());
            } else if self.keyword("REPEATS") {
                self.at += 2;
                if !self.keyword("TIMES") {
                    return Err("REPEATS without TIMES".into());
                }
                self.at += 1;
                self.outcome.unsupported.push("REPEATS qualifier".into());
            } else if self.keyword("START") {
                self.at += 2;
                if !self.keyword("STOP") {
                    return Err("START without STOP".into());
                }
                self.at += 2;
                self.outcome.unsupported.push("START/STOP qualifier".into());
            } else {
                return Ok(());
            }
        }
    }

    fn comparison_or(&mut self) -> Result<(), String> {
        self.comparison_and()?;
        while self.keyword("OR") {
            self.at += 1;
            self.comparison_and()?;
        }
        Ok(())
    }

    fn comparison_and(&mut self) -> Result<(), String> {
        self.comparison()?;
        while self.keyword("AND") {
            self.at += 1;
            self.comparison()?;
        }
        Ok(())
    }

    fn comparison(&mut self) -> Result<(), String> {
        if self.peek() == Some(&Token::LParen) {
            self.at += 1;
            self.enter()?;
            self.comparison_or()?;
            self.depth -= 1;
            return match self.next() {
                Some(Token::RParen) => Ok(()),
                other => Err(format!("expected ')' but found {other:?}")),
            };
        }
        let path = match self.next() {
            Some(Token::Word(path)) if path.contains(':') => path,
            other => return Err(format!("expected an object path but found {other:?}")),
        };
        let negated = self.keyword("NOT");
        if negated {
            self.at += 1;
        }
        let operator = match self.next() {
            Some(Token::Op(op)) => op,
            Some(Token::Word(w)) => w.to_ascii_uppercase(),
            other => return Err(format!("expected an operator after {path} but found {other:?}")),
        };
        let value = match self.next() {
            Some(Token::Str(s)) => s,
            Some(Token::Number(n)) => n,
            Some(Token::Word(w)) => w,
            Some(Token::LParen) => {
                // A set literal for IN: ('a', 'b').
                let mut items = Vec::new();
                while let Some(token) = self.next() {
                    match token {
                        Token::RParen => break,
                        Token::Str(s) | Token::Number(s) => items.push(s),
                        Token::Word(w) if w == "," => {}
                        _ => {}
                    }
                }
                items.join(",")
            }
            other => return Err(format!("expected a value after {path} {operator} but found {other:?}")),
        };
        self.use_comparison(&path, negated, &operator, &value);
        Ok(())
    }

    fn use_comparison(&mut self, path: &str, negated: bool, operator: &str, value: &str) {
        let describe = || format!("{path} {}{operator} '{value}'", if negated { "NOT " } else { "" });
        let lower = path.to_ascii_lowercase();
        if lower.ends_with("_ref.type") {
            // `network-traffic:dst_ref.type = 'ipv4-addr'` only narrows the
            // value comparison beside it.
            return;
        }
        if operator == "LIKE" && !negated && lower == "domain-name:value" {
            // `LIKE '%.example.com'` is how picket writes "and subdomains".
            if let Some(name) = value.strip_prefix("%.")
                && let Ok(mut o) = normalize_observable(IndicatorKind::Domain, name) {
                    o.include_subdomains = true;
                    self.outcome.observables.push(o);
                    return;
                }
        }
        let is_subset = operator == "ISSUBSET";
        if negated || !(operator == "=" || is_subset) {
            self.outcome.unsupported.push(describe());
            return;
        }
        let observable = match lower.as_str() {
            "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:dst_ref.value" | "network-traffic:src_ref.value" => {
                address(value).map_err(|e| e.to_string()).or_else(|e| {
                    if is_subset || lower.starts_with("ipv") {
                        Err(e)
                    } else {
                        normalize_observable(IndicatorKind::Domain, value).map_err(|e| e.to_string())
                    }
                })
            }
            _ if is_subset => Err("ISSUBSET applies to addresses only".into()),
            "domain-name:value" => normalize_observable(IndicatorKind::Domain, value).map_err(|e| e.to_string()),
            "url:value" => normalize_observable(IndicatorKind::Url, value).map_err(|e| e.to_string()),
            "email-addr:value" | "email-message:from_ref.value" | "email-message:sender_ref.value" => {
                normalize_observable(IndicatorKind::Email, value).map_err(|e| e.to_string())
            }
            "file:name" => normalize_observable(IndicatorKind::FileName, value).map_err(|e| e.to_string()),
            "network-traffic:extensions.'http-request-ext'.request_header.'user-agent'" => {
                normalize_observable(IndicatorKind::UserAgent, value).map_err(|e| e.to_string())
            }
            p if p.starts_with("file:hashes.") => match hash_kind(&p["file:hashes.".len()..]) {
                Some(kind) => normalize_observable(kind, value).map_err(|e| e.to_string()),
                None => Err("hash algorithm picket does not match".into()),
            },
            _ => Err("object path picket does not match".into()),
        };
        match observable {
            Ok(o) => self.outcome.observables.push(o),
            Err(reason) => self.outcome.unsupported.push(format!("{} ({reason})", describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_pattern;
    use crate::IndicatorKind;
    use crate::load::{LoadOptions, load_bytes};
    use picket_event::Timestamp;

    #[test]
    fn equality_and_or_become_observables() {
        let out = parse_pattern("[domain-name:value = 'Evil.example' OR ipv4-addr:value = '198.51.100.0/24' OR ipv4-addr:value = '10.0.0.1/32']").unwrap();
        let got: Vec<_> = out.observables.iter().map(|o| (o.kind, o.value.as_str())).collect();
        assert_eq!(got, [(IndicatorKind::Domain, "evil.example"), (IndicatorKind::Cidr, "198.51.100.0/24"), (IndicatorKind::Ipv4, "10.0.0.1")]);
        assert!(out.unsupported.is_empty());
    }

    #[test]
    fn hashes_network_traffic_and_and() {
        let out = parse_pattern("[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' AND file:mime_type = 'application/x-pdf']").unwrap();
        assert_eq!(out.observables.len(), 1);
        assert_eq!(out.observables[0].kind, IndicatorKind::Sha256);
        assert_eq!(out.unsupported.len(), 1);
        let out = parse_pattern("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']").unwrap();
        assert_eq!(out.observables[0].value, "203.0.113.33");
        assert!(out.unsupported.is_empty());
        let out = parse_pattern("[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']").unwrap();
        assert_eq!(out.observables[0].value, "2001:db8:dead:beef::/64");
    }

    #[test]
    fn unsupported_constructs_are_listed() {
        let out = parse_pattern("([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS").unwrap();
        assert_eq!(out.observables.len(), 1);
        assert!(out.unsupported.iter().any(|u| u.contains("FOLLOWEDBY")));
        assert!(out.unsupported.iter().any(|u| u.contains("WITHIN")));
        assert!(out.unsupported.iter().any(|u| u.contains("win-registry-key")));
        let out = parse_pattern("[email-message:subject MATCHES '^[IMPORTANT] Please']").unwrap();
        assert!(out.observables.is_empty());
    }

    #[test]
    fn revoked_indicator_expires_when_revoked() {
        let indicator = |n: u32, revoked: bool| serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "created": "2026-01-01T00:00:00Z", "modified": "2026-02-01T00:00:00Z", "revoked": revoked,
            "pattern": format!("[domain-name:value = 'a{n}.example']"), "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
        });
        let bundle = serde_json::json!({
            "type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
            "objects": [indicator(1, true), indicator(2, false)],
        });
        let report = load_bytes("bundle.json", bundle.to_string().as_bytes(), &LoadOptions::default()).unwrap();
        let until: Vec<_> = report.indicators.iter().map(|i| (i.value.as_str(), i.sightings[0].valid_until)).collect();
        let modified = Timestamp::parse_rfc3339("2026-02-01T00:00:00Z").unwrap();
        assert_eq!(until, [("a1.example", Some(modified)), ("a2.example", None)]);
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for bad in ["", "[", "[ipv4-addr:value = ", "[ipv4-addr:value = '1.2.3.4'", "ipv4-addr:value = '1'", "[a:b = 'x'] junk", &"(".repeat(100)] {
            assert!(parse_pattern(bad).is_err(), "{bad}");
        }
    }
}
