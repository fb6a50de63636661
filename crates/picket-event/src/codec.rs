//! The compact binary form of events and alerts, for the store and the bus.
//!
//! The form is MessagePack with named fields and human-readable leaf values
//! (addresses and timestamps as strings). Named fields keep old records
//! readable after fields are added; human-readable leaves are needed because
//! serde loses the binary/text distinction inside flattened and internally
//! tagged types, which [`Event`](crate::Event) uses.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes a value into the compact binary form.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut buffer = Vec::with_capacity(256);
    encode_into(value, &mut buffer)?;
    Ok(buffer)
}

/// Appends the compact binary form of a value to `buffer`, so that a
/// writer of many records needs no buffer per record. On error, `buffer`
/// may hold part of the record after its earlier contents.
pub fn encode_into<T: Serialize>(value: &T, buffer: &mut Vec<u8>) -> Result<(), CodecError> {
    let mut serializer = rmp_serde::Serializer::new(buffer)
        .with_struct_map()
        .with_human_readable();
    value.serialize(&mut serializer).map_err(CodecError::Encode)
}

/// Decodes a value from the compact binary form.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes).with_human_readable();
    T::deserialize(&mut deserializer).map_err(CodecError::Decode)
}

/// A value that could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Encoding failed (a map key that is not a string, for example).
    #[error("cannot encode record: {0}")]
    Encode(#[source] rmp_serde::encode::Error),
    /// The bytes are not a record of the expected type.
    #[error("cannot decode record: {0}")]
    Decode(#[source] rmp_serde::decode::Error),
}
