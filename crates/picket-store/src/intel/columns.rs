//! The columns the bulk path of an import writes for a chunk, copied out
//! of its indicators into a few compact buffers.
//!
//! The store thread writes a chunk's new values in digest order, while
//! each indicator's value, sightings, source and tags lie on separate heap
//! blocks. Read from the indicators in that order, each of those reads
//! waited on memory. The parse thread, which has time to spare while the
//! store writes, copies the columns here in the order the indicators came,
//! so its own reads follow one another. It then copies them once more in
//! row order ([`Columns::copy_in_order`]), from compact buffers where a
//! row's columns lie together.

use std::ops::Range;

use picket_event::Timestamp;
use picket_intel::{Indicator, IndicatorKind, Lifetimes, Sighting};

use super::bulk::Cell;
use super::import::{SIGHTING_COLUMNS_WRITTEN, tags_text};
use super::severity_text;

/// The maximum length, in bytes, of a value [`Columns::add_value`]
/// copies. Addresses, domains and hashes are all shorter, and most URLs.
pub(super) const COPIED_VALUE_MAX: usize = 256;

/// A piece of [`Columns`]' text, as byte positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    start: usize,
    end: usize,
}

/// The columns of one sighting, as the bulk path writes them. Times are
/// nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub(super) struct SightingColumns {
    /// Position of the provider and feed in [`Columns::sources`].
    pub(super) source: usize,
    confidence: u8,
    severity: Option<&'static str>,
    tlp: Option<Span>,
    tags: Span,
    assessment: Option<Span>,
    /// Whether the sighting has a description or a reference, which are
    /// not copied ([`Columns`]).
    pub(super) uncopied_text: bool,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    reported_at: i64,
    valid_until: Option<i64>,
    expires_at: i64,
}

/// The text, sightings and sources of a chunk's rows.
///
/// Text that can be long is not copied, so that a feed of long values or
/// descriptions does not take twice its memory: a value longer than
/// [`COPIED_VALUE_MAX`], and every description and reference. The store
/// thread reads those from the indicator.
#[derive(Debug, Default)]
pub(super) struct Columns {
    text: String,
    sightings: Vec<SightingColumns>,
    /// Provider and feed of each source the sightings name, in the order
    /// they first appear. A feed names one or a few.
    sources: Vec<(Span, Span)>,
}

impl Columns {
    /// Empties the columns, keeping their memory.
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.sightings.clear();
        self.sources.clear();
    }

    /// Returns the text of `span`.
    pub(super) fn text(&self, span: Span) -> &str {
        &self.text[span.start..span.end]
    }

    /// Returns the sightings in `range`, as [`Columns::add_sightings`]
    /// returned it.
    pub(super) fn sightings(&self, range: Range<usize>) -> &[SightingColumns] {
        &self.sightings[range]
    }

    /// Copies the columns into `ordered`, which is emptied first, in the
    /// order of `rows`. Each row is its value and sightings as
    /// [`Columns::add_value`] and [`Columns::add_sightings`] returned them,
    /// and is pointed at their places in the copy. The store thread then
    /// reads the columns one after another.
    pub(super) fn copy_in_order<'r>(
        &self,
        rows: impl Iterator<Item = (&'r mut Option<Span>, &'r mut Range<usize>)>,
        ordered: &mut Columns,
    ) {
        ordered.clear();
        ordered.text.reserve(self.text.len());
        ordered.sightings.reserve(self.sightings.len());
        for &(provider, feed) in &self.sources {
            let source = (
                ordered.add_text(self.text(provider)),
                ordered.add_text(self.text(feed)),
            );
            ordered.sources.push(source);
        }

        for (value, sightings) in rows {
            *value = value.map(|span| ordered.add_text(self.text(span)));
            let start = ordered.sightings.len();
            for s in &self.sightings[sightings.clone()] {
                let mut copy = |span: Span| ordered.add_text(self.text(span));
                let moved = SightingColumns {
                    tlp: s.tlp.map(&mut copy),
                    tags: copy(s.tags),
                    assessment: s.assessment.map(&mut copy),
                    ..*s
                };
                ordered.sightings.push(moved);
            }
            *sightings = start..ordered.sightings.len();
        }
    }

    /// Returns the provider and feed of the source numbered `at`.
    pub(super) fn source(&self, at: usize) -> (&str, &str) {
        let (provider, feed) = self.sources[at];
        (self.text(provider), self.text(feed))
    }

    /// Returns the number of sources the sightings name.
    pub(super) fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Copies a value no longer than [`COPIED_VALUE_MAX`] and returns where
    /// it is. A longer value is not copied.
    pub(super) fn add_value(&mut self, value: &str) -> Option<Span> {
        (value.len() <= COPIED_VALUE_MAX).then(|| self.add_text(value))
    }

    /// Copies `text` and returns where it is.
    pub(super) fn add_text(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Copies the sightings of `indicator`, with the expiry and report time
    /// an import at `now` gives them, and returns where they are.
    pub(super) fn add_sightings(
        &mut self,
        indicator: &Indicator,
        lifetimes: &Lifetimes,
        now: Timestamp,
    ) -> Range<usize> {
        let start = self.sightings.len();
        for s in &indicator.sightings {
            let columns = self.sighting_columns(indicator.kind, s, lifetimes, now);
            self.sightings.push(columns);
        }
        start..self.sightings.len()
    }

    fn sighting_columns(
        &mut self,
        kind: IndicatorKind,
        s: &Sighting,
        lifetimes: &Lifetimes,
        now: Timestamp,
    ) -> SightingColumns {
        let source = self.source_of(&s.source.provider, &s.source.feed);
        let tags = self.add_text(&tags_text(&s.source.tags));
        SightingColumns {
            source,
            confidence: s.source.confidence,
            severity: s.severity.map(severity_text),
            tlp: s.source.tlp.as_deref().map(|t| self.add_text(t)),
            tags,
            assessment: s.assessment.as_deref().map(|t| self.add_text(t)),
            uncopied_text: s.source.description.is_some() || s.source.reference.is_some(),
            first_seen: s.first_seen.map(Timestamp::as_nanos),
            last_seen: s.last_seen.map(Timestamp::as_nanos),
            reported_at: s.reported_at.unwrap_or(now).as_nanos(),
            valid_until: s.valid_until.map(Timestamp::as_nanos),
            expires_at: lifetimes.expires_at(kind, s, now).as_nanos(),
        }
    }

    /// Returns the number of a provider and feed, adding them when new.
    fn source_of(&mut self, provider: &str, feed: &str) -> usize {
        let known = self
            .sources
            .iter()
            .position(|&(p, f)| self.text(p) == provider && self.text(f) == feed);
        known.unwrap_or_else(|| {
            let source = (self.add_text(provider), self.add_text(feed));
            self.sources.push(source);
            self.sources.len() - 1
        })
    }

    /// Returns the cells of `intel_sightings` for one sighting of the
    /// indicator `id` by the source `source_id`: its columns `s`, and the
    /// description and reference of the sighting they were copied from,
    /// which is needed only when `s.uncopied_text` is set.
    pub(super) fn cells<'a>(
        &'a self,
        id: i64,
        source_id: i64,
        s: &SightingColumns,
        original: Option<&'a Sighting>,
    ) -> [Cell<'a>; SIGHTING_COLUMNS_WRITTEN] {
        let reported = original.map(|sighting| &sighting.source);
        let text = |span: Option<Span>| Cell::text(span.map(|span| self.text(span)));
        [
            Cell::Integer(id),
            Cell::Integer(source_id),
            Cell::Integer(i64::from(s.confidence)),
            Cell::text(s.severity),
            text(s.tlp),
            Cell::Text(self.text(s.tags)),
            text(s.assessment),
            Cell::text(reported.and_then(|source| source.description.as_deref())),
            Cell::text(reported.and_then(|source| source.reference.as_deref())),
            Cell::integer(s.first_seen),
            Cell::integer(s.last_seen),
            Cell::Integer(s.reported_at),
            Cell::integer(s.valid_until),
            Cell::Integer(s.expires_at),
        ]
    }
}
