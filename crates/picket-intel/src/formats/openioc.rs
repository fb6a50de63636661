//! OpenIOC 1.0 (`<ioc>` with `<definition>`) and 1.1 (`<OpenIOC>` with
//! `<criteria>`): the `Indicator`/`IndicatorItem` tree.
//!
//! Network terms and file hashes become indicators: `PortItem/remoteIP`,
//! `DnsEntryItem/Host`, `DnsEntryItem/RecordName`, `Network/DNS`,
//! `Network/URI` (when it holds a whole URL), `UrlHistoryItem/URL`,
//! `UrlHistoryItem/HostName`, `Network/UserAgent` (`contains` matches as a
//! substring), `Email/From`, `FileItem/Md5sum`, `Sha1sum`, `Sha256sum` and
//! `FileItem/FileName` (with `is`). Every other term describes a host
//! (registry, processes, services, paths) and is counted as context. Under
//! an `AND` each network term becomes an indicator on its own. The
//! indicator's description names the tree it came from.
//!
//! The XML is read without a DTD: a document with `<!DOCTYPE` is rejected
//! whole, so entity expansion (billion laughs) and external entities (XXE)
//! cannot happen. Only the five predefined entities and character
//! references are resolved.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{IntelError, RecordError};
use crate::load::Batch;
use crate::normalize::{classify_observable, normalize_observable, Observable};
use crate::IndicatorKind;

/// One `IndicatorItem` while it is read.
#[derive(Default)]
struct Item {
    id: String,
    condition: String,
    negate: bool,
    search: String,
    content_type: String,
    content: String,
    in_content: bool,
}

/// Reads an OpenIOC document.
pub(crate) fn read(bytes: &[u8], batch: &mut Batch<'_>) -> Result<(), IntelError> {
    let invalid = |batch: &Batch<'_>, reason: String| IntelError::InvalidDocument {
        path: batch.file.to_string().into(),
        format: "OpenIOC",
        reason,
    };
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes))
        .map_err(|e| invalid(batch, format!("not UTF-8: {e}")))?;
    // Text is not trimmed by the reader: entity references split text
    // events, and trimming each part would eat the spaces around them.
    let mut reader = Reader::from_str(text);

    let mut stack: Vec<String> = Vec::new();
    let mut operators: Vec<String> = Vec::new();
    let mut item: Option<Item> = None;
    let mut root_seen = false;
    let mut description = String::new();
    let mut in_description = false;

    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| invalid(batch, format!("at byte {position}: {e}")))?;
        match event {
            Event::DocType(_) => {
                return Err(invalid(
                    batch,
                    "a DOCTYPE is not accepted (entity expansion and external entities are off)".into(),
                ))
            }
            Event::Start(start) => {
                let name = local(&start);
                if !root_seen {
                    root_seen = true;
                    if name != "ioc" && name != "OpenIOC" {
                        return Err(invalid(batch, format!("root element <{name}> is not <ioc> or <OpenIOC>")));
                    }
                    if let Some(id) = attribute(&start, "id", batch)? {
                        batch.report.notes.push(format!("ioc {id}"));
                    }
                }
                if stack.len() >= batch.options.max_depth {
                    return Err(invalid(batch, format!("elements nested deeper than {}", batch.options.max_depth)));
                }
                open(&start, &name, &mut operators, &mut item, batch)?;
                in_description = name == "short_description";
                stack.push(name);
            }
            Event::Empty(start) => {
                let name = local(&start);
                if !root_seen {
                    return Err(invalid(batch, format!("root element <{name}/> is empty")));
                }
                open(&start, &name, &mut operators, &mut item, batch)?;
                close(&name, &mut operators, &mut item, &description, batch);
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else {
                    return Err(invalid(batch, "closing tag without an opening one".into()));
                };
                in_description = false;
                close(&name, &mut operators, &mut item, &description, batch);
            }
            Event::Text(t) => {
                let t: &str = t.as_ref();
                if let Some(item) = item.as_mut().filter(|i| i.in_content) {
                    item.content.push_str(t);
                } else if in_description {
                    description.push_str(t);
                }
            }
            Event::CData(t) => {
                if let Some(item) = item.as_mut().filter(|i| i.in_content) {
                    item.content.push_str(t.as_ref());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    match r.as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        _ => None,
                    }
                };
                let Some(c) = resolved else {
                    let name: &str = r.as_ref();
                    return Err(invalid(batch, format!("undefined entity &{name}; (no DTD is read)")));
                };
                if let Some(item) = item.as_mut().filter(|i| i.in_content) {
                    item.content.push(c);
                } else if in_description {
                    description.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(invalid(batch, "no root element".into()));
    }
    if !stack.is_empty() {
        return Err(invalid(batch, format!("document ends inside <{}>", stack.join("><"))));
    }
    Ok(())
}

fn local(start: &BytesStart<'_>) -> String {
    start.local_name().as_ref().to_owned()
}

/// One attribute's value with the predefined entities resolved.
fn attribute(start: &BytesStart<'_>, name: &str, batch: &Batch<'_>) -> Result<Option<String>, IntelError> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| IntelError::InvalidDocument {
            path: batch.file.to_string().into(),
            format: "OpenIOC",
            reason: format!("bad attribute: {e}"),
        })?;
        if attr.key.local_name().as_ref() == name {
            let value = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| IntelError::InvalidDocument {
                path: batch.file.to_string().into(),
                format: "OpenIOC",
                reason: format!("attribute {name}: {e}"),
            })?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

fn open(
    start: &BytesStart<'_>,
    name: &str,
    operators: &mut Vec<String>,
    item: &mut Option<Item>,
    batch: &Batch<'_>,
) -> Result<(), IntelError> {
    match name {
        "Indicator" => operators.push(attribute(start, "operator", batch)?.unwrap_or_else(|| "OR".into()).to_ascii_uppercase()),
        "IndicatorItem" => {
            *item = Some(Item {
                id: attribute(start, "id", batch)?.unwrap_or_default(),
                condition: attribute(start, "condition", batch)?.unwrap_or_default().to_ascii_lowercase(),
                negate: attribute(start, "negate", batch)?.is_some_and(|n| n == "true"),
                ..Item::default()
            });
        }
        "Context" => {
            if let Some(item) = item.as_mut() {
                item.search = attribute(start, "search", batch)?.unwrap_or_default();
            }
        }
        "Content" => {
            if let Some(item) = item.as_mut() {
                item.content_type = attribute(start, "type", batch)?.unwrap_or_default();
                item.in_content = true;
            }
        }
        _ => {}
    }
    Ok(())
}

fn close(name: &str, operators: &mut Vec<String>, item: &mut Option<Item>, description: &str, batch: &mut Batch<'_>) {
    match name {
        "Indicator" => {
            operators.pop();
        }
        "Content" => {
            if let Some(item) = item.as_mut() {
                item.in_content = false;
            }
        }
        "IndicatorItem" => {
            if let Some(done) = item.take() {
                batch.record();
                use_item(&done, operators, description, batch);
            }
        }
        _ => {}
    }
}

/// What a term means for picket.
enum Term {
    /// Becomes an indicator of this kind.
    Indicator(IndicatorKind),
    /// A user agent matched as a substring.
    UserAgentSubstring,
    /// A URL or a domain, decided by the content.
    UrlOrHost,
    /// About a host, kept as context.
    Context,
}

fn term(search: &str, condition: &str) -> Term {
    let equality = matches!(condition, "is" | "equals");
    match search {
        "PortItem/remoteIP" | "PortItem/localIP" if equality => Term::Indicator(IndicatorKind::Ipv4),
        "DnsEntryItem/Host" | "DnsEntryItem/RecordName" | "Network/DNS" | "UrlHistoryItem/HostName" if equality => {
            Term::Indicator(IndicatorKind::Domain)
        }
        "Network/URI" | "UrlHistoryItem/URL" if equality => Term::UrlOrHost,
        "Network/UserAgent" if equality => Term::Indicator(IndicatorKind::UserAgent),
        "Network/UserAgent" if condition == "contains" => Term::UserAgentSubstring,
        "Email/From" if equality => Term::Indicator(IndicatorKind::Email),
        "FileItem/Md5sum" => Term::Indicator(IndicatorKind::Md5),
        "FileItem/Sha1sum" => Term::Indicator(IndicatorKind::Sha1),
        "FileItem/Sha256sum" => Term::Indicator(IndicatorKind::Sha256),
        "FileItem/FileName" if equality => Term::Indicator(IndicatorKind::FileName),
        _ => Term::Context,
    }
}

/// Whether a term is about the network (so a non-equality condition on it
/// is worth reporting rather than counting as context).
fn is_network_term(search: &str) -> bool {
    search.starts_with("PortItem/")
        || search.starts_with("DnsEntryItem/")
        || search.starts_with("Network/")
        || search.starts_with("UrlHistoryItem/")
}

fn use_item(item: &Item, operators: &[String], description: &str, batch: &mut Batch<'_>) {
    let path = format!("IndicatorItem[@id={}]/{}", item.id, item.search);
    let value = item.content.trim();
    if item.negate || item.condition.ends_with("not") || item.condition.starts_with("doesnot") {
        if is_network_term(&item.search) || item.search.contains("sum") {
            batch.reject(RecordError::Unsupported {
                path,
                what: "term",
                detail: format!("negated condition {} on {value:?}", item.condition),
            });
        } else {
            batch.report.context_terms += 1;
        }
        return;
    }
    let observable: Result<Observable, RecordError> = match term(&item.search, &item.condition) {
        Term::Context => {
            if is_network_term(&item.search) {
                batch.reject(RecordError::Unsupported {
                    path,
                    what: "term",
                    detail: format!("condition {} on {value:?} cannot be matched exactly", item.condition),
                });
            } else {
                batch.report.context_terms += 1;
            }
            return;
        }
        Term::Indicator(IndicatorKind::Ipv4) => {
            let kind = if value.contains('/') {
                IndicatorKind::Cidr
            } else if value.contains(':') {
                IndicatorKind::Ipv6
            } else {
                IndicatorKind::Ipv4
            };
            normalize_observable(kind, value).map_err(Into::into)
        }
        Term::Indicator(kind) => normalize_observable(kind, value).map_err(Into::into),
        Term::UserAgentSubstring => normalize_observable(IndicatorKind::UserAgent, value).map_err(Into::into),
        Term::UrlOrHost => match classify_observable(value) {
            Some(o) if matches!(o.kind, IndicatorKind::Url | IndicatorKind::Domain) => Ok(o),
            _ => Err(RecordError::Unsupported {
                path: path.clone(),
                what: "term",
                detail: format!("{value:?} is a URI path without a host"),
            }),
        },
    };
    match observable {
        Ok(observable) => {
            let substring = matches!(term(&item.search, &item.condition), Term::UserAgentSubstring);
            let mut sighting = batch.sighting(&observable.value);
            let tree = operators.join(">");
            let name = if description.trim().is_empty() { "OpenIOC" } else { description.trim() };
            sighting.source.description = Some(format!("{name}: {} ({tree})", item.search));
            sighting.source.tags.push("openioc".into());
            let key = (observable.kind, observable.value.clone());
            batch.add(observable, sighting);
            if substring
                && let Some(indicator) = batch
                    .report
                    .indicators
                    .iter_mut()
                    .rev()
                    .find(|i| i.kind == key.0 && i.value == key.1)
                {
                    indicator.match_substring = true;
                }
        }
        Err(reason) => batch.reject(match reason {
            RecordError::Unsupported { .. } => reason,
            other => RecordError::BadField { field: path, reason: other.to_string() },
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::load::{load_bytes, Format, LoadOptions};
    use crate::IndicatorKind;

    fn options() -> LoadOptions {
        LoadOptions { format: Some(Format::Openioc), ..LoadOptions::default() }
    }

    #[test]
    fn reads_network_terms_and_counts_host_terms() {
        let doc = r#"<?xml version="1.0"?>
<ioc xmlns="http://schemas.mandiant.com/2010/ioc" id="x1">
  <short_description>Test &amp; more</short_description>
  <definition>
    <Indicator operator="OR" id="a">
      <IndicatorItem id="1" condition="is"><Context document="PortItem" search="PortItem/remoteIP" type="mir"/><Content type="IP">192.0.2.7</Content></IndicatorItem>
      <Indicator operator="AND" id="b">
        <IndicatorItem id="2" condition="is"><Context search="DnsEntryItem/RecordName"/><Content type="string">Evil.Example</Content></IndicatorItem>
        <IndicatorItem id="3" condition="contains"><Context search="RegistryItem/Path"/><Content type="string">Run</Content></IndicatorItem>
        <IndicatorItem id="4" condition="contains"><Context search="Network/UserAgent"/><Content type="string">EvilBot/1.0</Content></IndicatorItem>
        <IndicatorItem id="5" condition="is"><Context search="Network/URI"/><Content type="string">/gate.php</Content></IndicatorItem>
        <IndicatorItem id="6" condition="is"><Context search="FileItem/Md5sum"/><Content type="md5">D41D8CD98F00B204E9800998ECF8427E</Content></IndicatorItem>
      </Indicator>
    </Indicator>
  </definition>
</ioc>"#;
        let report = load_bytes("t.ioc", doc.as_bytes(), &options()).unwrap();
        let got: Vec<_> = report.indicators.iter().map(|i| (i.kind, i.value.as_str())).collect();
        assert_eq!(
            got,
            [
                (IndicatorKind::Ipv4, "192.0.2.7"),
                (IndicatorKind::Domain, "evil.example"),
                (IndicatorKind::UserAgent, "EvilBot/1.0"),
                (IndicatorKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            ]
        );
        assert!(report.indicators[2].match_substring);
        assert_eq!(report.context_terms, 1);
        assert_eq!(report.rejections.len(), 1);
        assert!(report.indicators[1].sightings[0].source.description.as_deref().unwrap().starts_with("Test & more"));
    }

    #[test]
    fn rejects_billion_laughs_and_xxe() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ioc><definition><Indicator operator="OR"><IndicatorItem condition="is"><Context search="DnsEntryItem/Host"/><Content>&lol2;</Content></IndicatorItem></Indicator></definition></ioc>"#;
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE ioc [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ioc><definition><Indicator><IndicatorItem condition="is"><Context search="DnsEntryItem/Host"/><Content>&xxe;</Content></IndicatorItem></Indicator></definition></ioc>"#;
        let undeclared = r#"<ioc><definition><Indicator><IndicatorItem condition="is"><Context search="DnsEntryItem/Host"/><Content>&xxe;</Content></IndicatorItem></Indicator></definition></ioc>"#;
        for doc in [laughs, xxe] {
            let err = load_bytes("h.ioc", doc.as_bytes(), &options()).unwrap_err().to_string();
            assert!(err.contains("DOCTYPE"), "{err}");
        }
        let err = load_bytes("h.ioc", undeclared.as_bytes(), &options()).unwrap_err().to_string();
        assert!(err.contains("undefined entity"), "{err}");
    }

    #[test]
    fn rejects_broken_documents() {
        for doc in ["", "<ioc>", "<foo/>", "<ioc><a></b></ioc>", "not xml"] {
            assert!(load_bytes("b.ioc", doc.as_bytes(), &options()).is_err(), "{doc}");
        }
    }
}
