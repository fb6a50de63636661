//! DNS wire-format decoding (RFC 1035) and query/response pairing.
