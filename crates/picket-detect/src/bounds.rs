//! Ranges of detector settings that the detectors cannot run outside of,
//! checked while the configuration is read. The check runs inside the
//! deserializer's visit of the value, so serde_yaml_ng's error names the
//! key's path, line and column.

use std::fmt;

use serde::de::{Deserializer, Error, Unexpected, Visitor};

/// Reads a `usize` setting and rejects a value outside `MIN..=MAX`.
pub(crate) fn usize_in<'de, D, const MIN: usize, const MAX: usize>(
    deserializer: D,
) -> Result<usize, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_u64(UsizeIn::<MIN, MAX>)
}

/// Accepts an integer in `MIN..=MAX`.
struct UsizeIn<const MIN: usize, const MAX: usize>;

impl<const MIN: usize, const MAX: usize> Visitor<'_> for UsizeIn<MIN, MAX> {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "an integer from {MIN} to {MAX}")
    }

    fn visit_u64<E: Error>(self, value: u64) -> Result<usize, E> {
        match usize::try_from(value) {
            Ok(value) if (MIN..=MAX).contains(&value) => Ok(value),
            _ => Err(E::invalid_value(Unexpected::Unsigned(value), &self)),
        }
    }

    fn visit_i64<E: Error>(self, value: i64) -> Result<usize, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(value), &self)),
        }
    }
}
