//! MISP: events (with or without the `Event` wrapper), `response` lists
//! from the API, single attributes and feed exports (one event a file).
//!
//! Attributes and the attributes of objects whose type maps to an
//! indicator kind become indicators when `to_ids` is true (MISP's own rule
//! for detection exports). The others are counted as context. Event and
//! attribute tags become tags, `tlp:*` tags the TLP.

use serde_json::Value;

use picket_event::{Severity, Timestamp};

use crate::error::{IntelError, RecordError};
use crate::formats::parse_time;
use crate::load::Batch;
use crate::normalize::{normalize_observable, Observable};
use crate::{IndicatorKind, Sighting, Tlp};

/// Reads a MISP JSON document.
pub(crate) fn read(bytes: &[u8], batch: &mut Batch<'_>) -> Result<(), IntelError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| IntelError::InvalidDocument {
        path: batch.file.to_string().into(),
        format: "MISP",
        reason: format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()),
    })?;
    match &doc {
        Value::Object(map) if map.contains_key("response") => {
            let path = "$.response";
            match map.get("response") {
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        read_event_like(item, &format!("{path}[{i}]"), batch);
                    }
                }
                Some(other) => read_event_like(other, path, batch),
                None => {}
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                read_event_like(item, &format!("$[{i}]"), batch);
            }
        }
        Value::Object(_) => read_event_like(&doc, "$", batch),
        _ => {
            return Err(IntelError::InvalidDocument {
                path: batch.file.to_string().into(),
                format: "MISP",
                reason: "the document is neither an event, a list nor an attribute".into(),
            })
        }
    }
    Ok(())
}

/// Reads `{"Event": {...}}`, a bare event, or a single attribute.
fn read_event_like(value: &Value, path: &str, batch: &mut Batch<'_>) {
    if let Some(event) = value.get("Event") {
        read_event(event, &format!("{path}.Event"), batch);
    } else if value.get("Attribute").is_some() || value.get("Object").is_some() || value.get("info").is_some() {
        read_event(value, path, batch);
    } else if value.get("type").is_some() && value.get("value").is_some() {
        let event = EventContext::default();
        read_attribute(value, path, &event, batch);
    } else {
        batch.report.notes.push(format!("{path}: no MISP event or attribute"));
    }
}

/// What an event passes down to its attributes.
#[derive(Default)]
struct EventContext {
    provider: Option<String>,
    info: Option<String>,
    tags: Vec<String>,
    tlp: Option<Tlp>,
    severity: Option<Severity>,
    date: Option<Timestamp>,
    uuid: Option<String>,
}

fn read_event(event: &Value, path: &str, batch: &mut Batch<'_>) {
    let mut context = EventContext {
        provider: event.pointer("/Orgc/name").and_then(Value::as_str).map(str::to_owned),
        info: event.get("info").and_then(Value::as_str).map(str::to_owned),
        date: event.get("date").and_then(Value::as_str).and_then(parse_time),
        uuid: event.get("uuid").and_then(Value::as_str).map(str::to_owned),
        severity: match event.get("threat_level_id").and_then(as_u64_loose) {
            Some(1) => Some(Severity::High),
            Some(2) => Some(Severity::Medium),
            Some(3) => Some(Severity::Low),
            _ => None,
        },
        ..EventContext::default()
    };
    (context.tags, context.tlp) = tags_of(event);
    if let Some(uuid) = &context.uuid {
        batch.report.notes.push(format!("event {uuid}"));
    }

    if let Some(attributes) = event.get("Attribute").and_then(Value::as_array) {
        for (i, attribute) in attributes.iter().enumerate() {
            read_attribute(attribute, &format!("{path}.Attribute[{i}]"), &context, batch);
        }
    }
    if let Some(objects) = event.get("Object").and_then(Value::as_array) {
        for (o, object) in objects.iter().enumerate() {
            let (object_tags, object_tlp) = tags_of(object);
            let mut object_context = EventContext {
                tags: context.tags.iter().chain(&object_tags).cloned().collect(),
                tlp: object_tlp.or(context.tlp),
                provider: context.provider.clone(),
                info: context.info.clone(),
                severity: context.severity,
                date: context.date,
                uuid: context.uuid.clone(),
            };
            if let Some(name) = object.get("name").and_then(Value::as_str) {
                object_context.tags.push(format!("misp-object:{name}"));
            }
            if let Some(attributes) = object.get("Attribute").and_then(Value::as_array) {
                for (i, attribute) in attributes.iter().enumerate() {
                    read_attribute(attribute, &format!("{path}.Object[{o}].Attribute[{i}]"), &object_context, batch);
                }
            }
        }
    }
}

/// Tags and the TLP among them.
fn tags_of(value: &Value) -> (Vec<String>, Option<Tlp>) {
    let mut tags = Vec::new();
    let mut tlp = None;
    if let Some(list) = value.get("Tag").and_then(Value::as_array) {
        for name in list.iter().filter_map(|t| t.get("name").and_then(Value::as_str)) {
            match Tlp::parse(name).filter(|_| name.to_ascii_lowercase().starts_with("tlp:")) {
                Some(level) => tlp = tlp.max(Some(level)),
                None => tags.push(name.to_owned()),
            }
        }
    }
    (tags, tlp)
}

fn as_u64_loose(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn as_bool_loose(value: &Value) -> Option<bool> {
    value.as_bool().or_else(|| match value.as_str() {
        Some("1" | "true" | "True") => Some(true),
        Some("0" | "false" | "False") => Some(false),
        _ => None,
    })
}

/// Maps a MISP attribute type and value to observables. `Ok(None)` for
/// types that are context, not indicators.
fn observables(kind: &str, value: &str) -> Result<Option<Vec<Observable>>, RecordError> {
    use IndicatorKind::*;
    let one = |k: IndicatorKind, v: &str| normalize_observable(k, v).map_err(RecordError::from);
    let address = |v: &str| {
        let k = if v.contains('/') {
            Cidr
        } else if v.contains(':') {
            Ipv6
        } else {
            Ipv4
        };
        one(k, v)
    };
    let split = |v: &str| v.split_once('|').map(|(a, b)| (a.to_owned(), b.to_owned()));
    let found = match kind {
        "ip-src" | "ip-dst" => vec![address(value)?],
        "ip-src|port" | "ip-dst|port" => {
            let host = value.rsplit_once('|').map_or(value, |(h, _)| h);
            vec![address(host)?]
        }
        "domain" | "hostname" => vec![one(Domain, value)?],
        "hostname|port" => vec![one(Domain, value.rsplit_once('|').map_or(value, |(h, _)| h))?],
        "domain|ip" => match split(value) {
            Some((d, ip)) => vec![one(Domain, &d)?, address(&ip)?],
            None => return Err(RecordError::BadField { field: "value".into(), reason: "expected domain|ip".into() }),
        },
        "url" => vec![one(Url, value)?],
        "email" | "email-src" | "email-dst" | "email-reply-to" => vec![one(Email, value)?],
        "md5" => vec![one(Md5, value)?],
        "sha1" => vec![one(Sha1, value)?],
        "sha256" => vec![one(Sha256, value)?],
        "filename" => vec![one(FileName, value)?],
        "user-agent" => vec![one(UserAgent, value)?],
        "filename|md5" | "filename|sha1" | "filename|sha256" => match split(value) {
            Some((name, digest)) => {
                let hash_kind = match kind {
                    "filename|md5" => Md5,
                    "filename|sha1" => Sha1,
                    _ => Sha256,
                };
                vec![one(FileName, &name)?, one(hash_kind, &digest)?]
            }
            None => return Err(RecordError::BadField { field: "value".into(), reason: format!("expected {kind}") }),
        },
        _ => return Ok(None),
    };
    Ok(Some(found))
}

fn read_attribute(attribute: &Value, path: &str, event: &EventContext, batch: &mut Batch<'_>) {
    batch.record();
    let (Some(kind), Some(value)) = (
        attribute.get("type").and_then(Value::as_str),
        attribute.get("value").and_then(Value::as_str),
    ) else {
        batch.reject(RecordError::MissingField { field: format!("{path}.type/value") });
        return;
    };
    if attribute.get("deleted").and_then(as_bool_loose) == Some(true) {
        batch.report.context_terms += 1;
        return;
    }
    let observables = match observables(kind, value) {
        Ok(Some(found)) => found,
        Ok(None) => {
            batch.report.context_terms += 1;
            return;
        }
        Err(reason) => {
            batch.reject(RecordError::BadField { field: format!("{path}.value"), reason: reason.to_string() });
            return;
        }
    };
    if attribute.get("to_ids").and_then(as_bool_loose) == Some(false) {
        batch.report.context_terms += 1;
        return;
    }

    let (attribute_tags, attribute_tlp) = tags_of(attribute);
    for observable in observables {
        let mut sighting: Sighting = batch.sighting(&observable.value);
        if batch.options.defaults.provider.is_none()
            && let Some(provider) = &event.provider {
                sighting.source.provider.clone_from(provider);
            }
        for tag in event.tags.iter().chain(&attribute_tags) {
            if !sighting.source.tags.contains(tag) {
                sighting.source.tags.push(tag.clone());
            }
        }
        if let Some(category) = attribute.get("category").and_then(Value::as_str) {
            sighting.source.tags.push(format!("misp-category:{category}"));
        }
        if let Some(level) = attribute_tlp.or(event.tlp) {
            sighting.source.tlp = Some(level.as_str().to_owned());
        }
        sighting.severity = sighting.severity.or(event.severity);
        let comment = attribute.get("comment").and_then(Value::as_str).filter(|c| !c.is_empty());
        sighting.source.description = comment.map(str::to_owned).or_else(|| event.info.clone());
        sighting.first_seen = attribute.get("first_seen").and_then(Value::as_str).and_then(parse_time);
        sighting.last_seen = attribute
            .get("last_seen")
            .and_then(Value::as_str)
            .and_then(parse_time)
            .or_else(|| attribute.get("timestamp").and_then(as_u64_loose).and_then(|t| Timestamp::from_secs_nanos(t as i64, 0)));
        sighting.reported_at = event.date.or(sighting.reported_at);
        batch.add(observable, sighting);
    }
}

#[cfg(test)]
mod tests {
    use crate::load::{load_bytes, Format, LoadOptions};
    use crate::IndicatorKind;

    #[test]
    fn reads_attributes_objects_and_tags() {
        let doc = r#"{"Event": {"info": "campaign", "uuid": "u1", "Orgc": {"name": "CIRCL"}, "threat_level_id": "1",
            "Tag": [{"name": "tlp:amber"}, {"name": "malware:emotet"}],
            "Attribute": [
              {"type": "ip-dst", "value": "192.0.2.1", "to_ids": true, "category": "Network activity"},
              {"type": "domain|ip", "value": "evil.example|198.51.100.2", "to_ids": true},
              {"type": "url", "value": "http://x.example/", "to_ids": false},
              {"type": "text", "value": "hello"},
              {"type": "md5", "value": "zz", "to_ids": true}
            ],
            "Object": [{"name": "file", "Attribute": [{"type": "sha256", "value": "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB", "to_ids": "1", "Tag": [{"name": "tlp:red"}]}]}]
        }}"#;
        let options = LoadOptions { format: Some(Format::Misp), ..LoadOptions::default() };
        let report = load_bytes("event.json", doc.as_bytes(), &options).unwrap();
        let got: Vec<_> = report.indicators.iter().map(|i| (i.kind, i.value.as_str())).collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[3].0, IndicatorKind::Sha256);
        let first = &report.indicators[0].sightings[0];
        assert_eq!(first.source.provider, "CIRCL");
        assert_eq!(first.source.tlp.as_deref(), Some("amber"));
        assert!(first.source.tags.contains(&"malware:emotet".to_owned()));
        assert_eq!(report.indicators[3].sightings[0].source.tlp.as_deref(), Some("red"));
        assert_eq!(report.context_terms, 2);
        assert_eq!(report.rejections.len(), 1);
        assert!(report.rejections[0].to_string().contains("Attribute[4]"));
    }
}
