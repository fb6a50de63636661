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

/// Reads a score or share setting and rejects a value outside [0, 1]. NaN
/// is outside: every comparison with it is false, so a NaN threshold would
/// silently turn a detector off or on.
pub(crate) fn fraction<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_f64(FloatIn {
        min: 0.0,
        min_included: true,
        expected: "a number from 0 to 1",
    })
}

/// Reads a scale setting (seconds or bytes) that divides a measure, and
/// rejects zero, negative, NaN and infinite values.
pub(crate) fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_f64(FloatIn {
        min: 0.0,
        min_included: false,
        expected: "a finite number above 0",
    })
}

/// Accepts a finite number in `[min, 1]` when `min_included` (fractions),
/// or above `min` otherwise.
struct FloatIn {
    min: f64,
    min_included: bool,
    expected: &'static str,
}

impl Visitor<'_> for FloatIn {
    type Value = f64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.expected)
    }

    fn visit_f64<E: Error>(self, value: f64) -> Result<f64, E> {
        let above_min = if self.min_included {
            value >= self.min && value <= 1.0
        } else {
            value > self.min
        };
        if value.is_finite() && above_min {
            Ok(value)
        } else {
            Err(E::invalid_value(Unexpected::Float(value), &self))
        }
    }

    #[allow(clippy::cast_precision_loss, reason = "settings are small numbers")]
    fn visit_i64<E: Error>(self, value: i64) -> Result<f64, E> {
        self.visit_f64(value as f64)
    }

    #[allow(clippy::cast_precision_loss, reason = "settings are small numbers")]
    fn visit_u64<E: Error>(self, value: u64) -> Result<f64, E> {
        self.visit_f64(value as f64)
    }
}
