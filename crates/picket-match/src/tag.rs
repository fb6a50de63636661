//! Entry tags: a source-list id in the low 30 bits and two flags on top.

/// A source-list id with flags.
pub(crate) type Tag = u32;

/// The entry also covers what lies below it: subdomains of a domain, longer
/// URLs under a host-and-path prefix, user agents containing the value.
pub(crate) const SUFFIX: Tag = 1 << 31;

/// The entry is a whitelist entry: it suppresses hits instead of raising them.
pub(crate) const ALLOW: Tag = 1 << 30;

/// The flags that make two entries with the same value distinct.
pub(crate) const KEY_FLAGS: Tag = SUFFIX | ALLOW;

/// Mask of the source-list id.
pub(crate) const ID: Tag = ALLOW - 1;

/// Returns the source-list id of `tag`.
#[inline]
pub(crate) fn id(tag: Tag) -> u32 {
    tag & ID
}

/// True for a whitelist entry.
#[inline]
pub(crate) fn is_allow(tag: Tag) -> bool {
    tag & ALLOW != 0
}

/// True for an entry that covers what lies below it.
#[inline]
pub(crate) fn is_suffix(tag: Tag) -> bool {
    tag & SUFFIX != 0
}
