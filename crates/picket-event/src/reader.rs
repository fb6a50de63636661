//! What every source reports besides events: rejected records and counts.

use std::fmt;

use crate::SourceLocation;

/// A record a source could not turn into an event, with where and why.
///
/// Readers skip the record and go on with the next one.
#[derive(Debug)]
pub struct Rejection {
    /// Where the bad record starts.
    pub location: SourceLocation,
    /// Why it was rejected; the reader's own error type underneath.
    pub reason: Box<dyn std::error::Error + Send + Sync>,
}

impl Rejection {
    /// Builds a rejection from a location and any error.
    pub fn new(
        location: SourceLocation,
        reason: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Rejection {
            location,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.reason.as_ref())
    }
}

/// Counts a source keeps for the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Records read, good and bad (lines for logs, packets for captures).
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Comment, header and blank lines skipped on purpose.
    pub skipped: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
}

/// A stream of events from one input, log or capture.
///
/// Each item is an event or a rejected record; the reader skips a rejected
/// record and goes on. An error that ends the input early (an unreadable file,
/// a truncated gzip member) is reported as a final `Rejection` for the place
/// where reading stopped, and the iterator then ends.
pub trait EventReader: Iterator<Item = Result<crate::Event, Rejection>> + Send {
    /// Counts so far.
    fn stats(&self) -> SourceStats;

    /// Name of the input format, such as `squid`, `w3c`, `zeek-tsv` or `pcap`.
    fn format_name(&self) -> &'static str;

    /// Reads the next item like [`Iterator::next`], but writes an event
    /// into `event` instead of returning it: `Some(Ok(()))` when `event`
    /// now contains the next event, `Some(Err(_))` for a rejected record (with
    /// `event` left in an unspecified state), `None` at the end.
    ///
    /// A reader that overrides this copies the fields into `event`'s own
    /// string buffers, so that a caller handling one event at a time
    /// allocates nothing per record in the steady state.
    fn next_into(&mut self, event: &mut crate::Event) -> Option<Result<(), Rejection>> {
        let item = self.next()?;
        Some(item.map(|next| *event = next))
    }

    /// Tells whether the next call can return without reading more input:
    /// a record is ready or the input has ended. A caller that collects
    /// records in batches hands over what it has when this is false, so
    /// that a log followed as it grows is not held back until a batch
    /// fills. The default, `true`, suits readers that cannot tell.
    fn has_buffered_record(&self) -> bool {
        true
    }

    /// Reads the next item like [`EventReader::next_into`] and calls `keep`
    /// once with the event's fields.
    ///
    /// Returns `Some(Ok(true))` when `keep` returned true, and `event` then
    /// contains the event. `Some(Ok(false))` means that `keep` returned
    /// false, and `event` is left in an unspecified state. A rejected record
    /// gives `Some(Err(_))` without a call of `keep`.
    ///
    /// A reader that overrides this passes `keep` a view borrowed from the
    /// record itself, and builds the event only when `keep` returns true.
    /// A caller that keeps few events, such as indicator matching without a
    /// store, then skips building the others. Either way the view has the
    /// fields of [`crate::Event::view`] of the event, and every record
    /// counts in [`EventReader::stats`] as if it were built.
    fn next_into_if(
        &mut self,
        event: &mut crate::Event,
        keep: &mut dyn FnMut(&crate::EventView<'_>) -> bool,
    ) -> Option<Result<bool, Rejection>> {
        let item = self.next_into(event)?;
        Some(item.map(|()| keep(&event.view())))
    }

    /// Reads up to `max` records (at least one, so a `max` of 0 reads one)
    /// and passes each to `visitor`, in order:
    /// every record's view to [`RecordVisitor::keep`], each kept event to
    /// [`RecordVisitor::event`] and each rejected record to
    /// [`RecordVisitor::rejected`]. Returns false once the input has ended
    /// and everything read was passed on.
    ///
    /// It may return after fewer records when no more are buffered, so that
    /// a log followed as it grows is passed on as it arrives. The views and
    /// counts are those of [`EventReader::next_into_if`]. A reader that
    /// overrides this reads a batch of views before deciding the first, so
    /// that [`RecordVisitor::ahead`] receives each view some records before
    /// `keep` does.
    fn visit_batch(&mut self, max: usize, visitor: &mut dyn RecordVisitor) -> bool {
        let mut event = crate::Event::from(crate::HttpEvent::default());
        for read in 0..max.max(1) {
            if read > 0 && !self.has_buffered_record() {
                break;
            }
            let mut keep = |view: &crate::EventView<'_>| visitor.keep(view);
            match self.next_into_if(&mut event, &mut keep) {
                None => return false,
                Some(Ok(true)) => visitor.event(&event),
                Some(Ok(false)) => {}
                Some(Err(rejection)) => visitor.rejected(rejection),
            }
        }
        true
    }
}

/// The receiver of the records that [`EventReader::visit_batch`] reads.
pub trait RecordVisitor {
    /// Number of records between the view that [`RecordVisitor::ahead`]
    /// receives and the one that [`RecordVisitor::keep`] receives next;
    /// 0, the default, for none.
    fn ahead_distance(&self) -> usize {
        0
    }

    /// Receives a record's view before `keep` does, so that it can start
    /// loading what `keep` will read into the cache. A hint only: a reader
    /// may skip it for any record.
    fn ahead(&mut self, _view: &crate::EventView<'_>) {}

    /// Tells whether the record is kept: its event is built and passed to
    /// [`RecordVisitor::event`].
    fn keep(&mut self, view: &crate::EventView<'_>) -> bool;

    /// Receives a kept record's event, right after the `keep` call that
    /// accepted its view, so a visitor may keep what `keep` computed.
    fn event(&mut self, event: &crate::Event);

    /// Receives a rejected record.
    fn rejected(&mut self, rejection: Rejection);
}
