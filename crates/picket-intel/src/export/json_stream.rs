//! A pretty-printed JSON document whose one large array is written element
//! by element, so that the document is never held in memory whole.
//!
//! The bytes are those of `serde_json::to_writer_pretty` on the finished
//! document: the same serializer writes the frame, taken from a template
//! value (so keys keep the order of `serde_json::Map`), and each element.

use std::cell::RefCell;
use std::io::Write;

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::IntelError;

/// Sink of the streamed array, called once per element.
pub(crate) type Element<'e> = dyn FnMut(&Value) -> Result<(), IntelError> + 'e;

/// Producer of the streamed array's elements, which it passes to the sink in order.
pub(crate) type Elements<'e> = dyn FnMut(&mut Element<'_>) -> Result<(), IntelError> + 'e;

/// Writes `template` pretty-printed with a newline after it, with the array
/// at the object keys `path` (empty in the template) filled by `elements`.
pub(crate) fn write_pretty(out: &mut dyn Write, template: &Value, path: &[&str], elements: &mut Elements<'_>) -> Result<(), IntelError> {
    let stream = Stream { elements: RefCell::new(elements), failure: RefCell::new(None) };
    let written = serde_json::to_writer_pretty(&mut *out, &Framed { template, path, stream: &stream });
    if let Some(failure) = stream.failure.into_inner() {
        return Err(failure);
    }
    written.map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(())
}

/// Producer of the elements, and the first error it returned that was not
/// a serializer error.
struct Stream<'s, 'e> {
    elements: RefCell<&'s mut Elements<'e>>,
    failure: RefCell<Option<IntelError>>,
}

/// A part of the template, with the streamed array somewhere under `path`.
struct Framed<'t, 's, 'e> {
    template: &'t Value,
    path: &'t [&'t str],
    stream: &'t Stream<'s, 'e>,
}

impl Serialize for Framed<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some((key, rest)) = self.path.split_first() else {
            return self.stream_array(serializer);
        };

        // Serializes the object as `Value::Object` does, as a map of known length.
        let Value::Object(map) = self.template else {
            return Err(S::Error::custom(format!("invalid path of the streamed array: the template has no object at key {key:?}")));
        };
        let mut entries = serializer.serialize_map(Some(map.len()))?;
        for (name, value) in map {
            if name == key {
                entries.serialize_entry(name, &Framed { template: value, path: rest, stream: self.stream })?;
            } else {
                entries.serialize_entry(name, value)?;
            }
        }
        entries.end()
    }
}

impl Framed<'_, '_, '_> {
    /// Serializes the streamed array. A sequence of unknown length prints as
    /// one of known length does, and as `[]` when empty.
    fn stream_array<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut serializer_failure: Option<S::Error> = None;
        let walked = (self.stream.elements.borrow_mut())(&mut |element| {
            seq.serialize_element(element).map_err(|e| {
                let stop = IntelError::Write(std::io::Error::other(e.to_string()));
                serializer_failure = Some(e);
                stop
            })
        });
        if let Some(e) = serializer_failure {
            return Err(e);
        }
        if let Err(failure) = walked {
            *self.stream.failure.borrow_mut() = Some(failure);
            // `write_pretty` returns the stored failure instead of this message.
            return Err(S::Error::custom("failed to read the elements of the streamed array"));
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn streamed(template: &Value, path: &[&str], items: &[Value]) -> String {
        let mut out = Vec::new();
        write_pretty(&mut out, template, path, &mut |sink| items.iter().try_for_each(sink)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn whole(value: &Value) -> String {
        let mut text = serde_json::to_string_pretty(value).unwrap();
        text.push('\n');
        text
    }

    #[test]
    fn streamed_bytes_match_whole_document() {
        let items = vec![json!({"b": 1, "a": [1, 2]}), json!("x"), json!({})];
        let template = json!({"z": 1, "outer": {"list": [], "k": "v"}, "a": null});
        let mut full = template.clone();
        full["outer"]["list"] = Value::Array(items.clone());
        assert_eq!(streamed(&template, &["outer", "list"], &items), whole(&full));
    }

    #[test]
    fn empty_array_prints_as_brackets() {
        let template = json!({"objects": [], "type": "bundle"});
        assert_eq!(streamed(&template, &["objects"], &[]), whole(&template));
    }

    #[test]
    fn element_failure_is_returned() {
        let template = json!({"objects": []});
        let mut out = Vec::new();
        let mut failing = |_: &mut Element<'_>| Err(IntelError::Write(std::io::Error::other("store gone")));

        let result = write_pretty(&mut out, &template, &["objects"], &mut failing);
        assert!(matches!(result, Err(IntelError::Write(e)) if e.to_string() == "store gone"));
    }
}
