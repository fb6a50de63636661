//! The reader loop every line-oriented format shares.
//!
//! A format module implements [`LineParser`]: it turns one line into an
//! event, a skip (comment, header, blank) or a [`RecordError`]. [`LogReader`]
//! does the rest: line splitting, the length cap, UTF-8 checks, locations,
//! counting and the final rejection when the input ends early.

use std::collections::VecDeque;
use std::sync::Arc;

use picket_event::{
    Event, EventReader, EventView, RecordVisitor, Rejection, SourceLocation, SourceStats,
};

use crate::config::{ReaderConfig, Utf8Policy};
use crate::error::RecordError;
use crate::fields::check_text;
use crate::input::{LineSource, RawLine};

mod scan;

/// Where the line being parsed sits.
pub(crate) struct LineCtx<'a> {
    /// Input name.
    pub file: &'a Arc<str>,
    /// Line number, from 1.
    pub line: u64,
    /// Byte offset of the line.
    pub offset: u64,
}

impl LineCtx<'_> {
    /// The location of this line.
    pub fn location(&self) -> SourceLocation {
        SourceLocation::line(self.file.clone(), self.line, self.offset)
    }

    /// Makes `location` this line's, cloning the file name only when it
    /// names another input.
    pub fn set_location(&self, location: &mut SourceLocation) {
        if !Arc::ptr_eq(&location.file, self.file) {
            location.file = self.file.clone();
        }
        location.line = Some(self.line);
        location.offset = Some(self.offset);
        location.packet = None;
    }
}

/// The result of parsing one line.
// The event is moved straight into the output queue; boxing it would add an
// allocation per line on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Parsed {
    /// A comment, header or blank line.
    Skipped,
    /// One event.
    Event(Event),
    /// A record whose events, if any, the parser pushed to the output queue
    /// (or holds back to pair with a later record).
    Consumed,
    /// One event, written into the slot given to
    /// [`LineParser::parse_line_into`]; never returned by
    /// [`LineParser::parse_line`].
    Filled,
}

/// Queue of results waiting to be handed out, for parsers that emit more
/// or fewer than one event per line.
pub(crate) type Output = VecDeque<Result<Event, Rejection>>;

/// One log format's line parser.
pub(crate) trait LineParser: Send {
    /// The format name reported by [`EventReader::format_name`].
    fn format_name(&self) -> &'static str;

    /// Parses one line (without its newline).
    fn parse_line(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        out: &mut Output,
    ) -> Result<Parsed, RecordError>;

    /// Parses one line like [`LineParser::parse_line`], and may write the
    /// event into `slot`, reusing its buffers, and return
    /// [`Parsed::Filled`]. On an error `slot` is left in an unspecified
    /// state.
    fn parse_line_into(
        &mut self,
        line: &str,
        ctx: &LineCtx<'_>,
        out: &mut Output,
        _slot: &mut Event,
    ) -> Result<Parsed, RecordError> {
        self.parse_line(line, ctx, out)
    }

    /// Reads one line into a view that borrows from it, without building
    /// an event. `None` leaves the line to [`LineParser::parse_line_into`].
    ///
    /// `Some` is a promise that the line parses into exactly one event
    /// whose [`Event::view`] equals this view. For a line where the parser
    /// cannot promise that (a comment, an invalid field, a host to
    /// lower-case), it returns `None`, and the full parse reports any error.
    fn parse_view<'a>(&mut self, _line: &'a str) -> Option<EventView<'a>> {
        None
    }

    /// Flushes events held back for pairing, at the end of input.
    fn finish(&mut self, _out: &mut Output) {}
}

/// The outcome of reading lines, besides what went to the queue.
// As for `Parsed`: boxing the event would add an allocation per line.
#[allow(clippy::large_enum_variant)]
enum Got {
    /// Nothing; look at the queue.
    Nothing,
    /// An event to hand out.
    Event(Event),
    /// The caller's slot contains the next event.
    Filled,
    /// A record read as a view, which the caller's `keep` declined.
    Declined,
    /// A record read as a view, which the caller's `keep` accepted. The
    /// caller's slot contains its event.
    Kept,
}

/// The caller's test of a record read as a view, in
/// [`EventReader::next_into_if`].
type Keep<'w> = &'w mut dyn FnMut(&EventView<'_>) -> bool;

/// Outcome of [`LogReader::next_with`] for a record it returned.
enum Seen {
    /// The caller's slot contains the event, which `keep` has not seen.
    Built,
    /// `keep` declined the record's view.
    Declined,
    /// `keep` accepted the record's view, and the slot contains its event.
    Kept,
}

/// A line-oriented log reader: lines in, events and rejections out.
pub(crate) struct LogReader<P> {
    lines: LineSource,
    parser: P,
    file: Arc<str>,
    queue: Output,
    stats: SourceStats,
    utf8: Utf8Policy,
    max_line_len: usize,
    done: bool,
    /// The event that [`EventReader::visit_batch`] builds kept records into.
    scratch: Event,
}

impl<P: LineParser> LogReader<P> {
    /// Reads `lines` with `parser`, naming the input `file` in locations.
    pub fn new(lines: LineSource, parser: P, file: Arc<str>, config: &ReaderConfig) -> Self {
        LogReader {
            lines,
            parser,
            file,
            queue: VecDeque::new(),
            stats: SourceStats::default(),
            utf8: config.utf8,
            max_line_len: config.max_line_len,
            done: false,
            scratch: Event::from(picket_event::HttpEvent::default()),
        }
    }

    /// Reads lines until something is ready to hand out or the input ends.
    /// The first item comes back directly rather than through the queue,
    /// which saves moving a large event twice on the common path.
    fn advance(&mut self) -> Option<Result<Event, Rejection>> {
        let got = self.fill_queue(None, None);
        self.stats.bytes = self.lines.bytes_consumed();
        match got {
            Got::Event(event) => Some(Ok(event)),
            Got::Nothing | Got::Filled | Got::Declined | Got::Kept => self.queue.pop_front(),
        }
    }

    /// Reads the next item into `event`, offering views to `keep` when
    /// given, and counts it.
    fn next_with(
        &mut self,
        event: &mut Event,
        keep: Option<Keep<'_>>,
    ) -> Option<Result<Seen, Rejection>> {
        let item = match self.queue.pop_front() {
            Some(item) => item.map(|next| {
                *event = next;
                Seen::Built
            }),
            None => {
                let got = self.fill_queue(Some(event), keep);
                self.stats.bytes = self.lines.bytes_consumed();
                match got {
                    Got::Filled => Ok(Seen::Built),
                    Got::Declined => Ok(Seen::Declined),
                    Got::Kept => Ok(Seen::Kept),
                    Got::Event(next) => {
                        *event = next;
                        Ok(Seen::Built)
                    }
                    Got::Nothing => self.queue.pop_front()?.map(|next| {
                        *event = next;
                        Seen::Built
                    }),
                }
            }
        };
        match &item {
            Ok(_) => self.stats.events += 1,
            Err(_) => self.stats.rejected += 1,
        }
        Some(item)
    }

    /// Reads lines until something is ready or the input ends. With a
    /// `slot`, the parser may write the event into it ([`Got::Filled`]).
    /// With `keep` too, a line the parser reads as a view is handed to it
    /// first, and parsed in full only when it returns true.
    fn fill_queue(&mut self, mut slot: Option<&mut Event>, mut keep: Option<Keep<'_>>) -> Got {
        while self.queue.is_empty() && !self.done {
            let Some(raw) = self.lines.next_line() else {
                self.parser.finish(&mut self.queue);
                self.done = true;
                break;
            };
            match raw {
                RawLine::Line {
                    bytes,
                    line,
                    offset,
                } => {
                    // With `keep`, a line read as a view is parsed in full
                    // only when `keep` takes it.
                    let mut kept = false;
                    if let Some(keep) = keep.as_deref_mut()
                        && let Some(view) = read_view(&mut self.parser, bytes)
                    {
                        if !keep(&view) {
                            self.stats.records += 1;
                            return Got::Declined;
                        }
                        kept = true;
                    }

                    let ctx = LineCtx {
                        file: &self.file,
                        line,
                        offset,
                    };
                    let got = handle_line(
                        &mut self.parser,
                        &mut self.stats,
                        &mut self.queue,
                        self.utf8,
                        bytes,
                        &ctx,
                        slot.as_deref_mut(),
                    );
                    // Returning `got` whole would copy an event's worth of
                    // bytes on every line, even for `Filled`. A kept view
                    // promised one event, so `Filled` is what follows it.
                    match (got, kept) {
                        (Got::Nothing | Got::Declined | Got::Kept, _) => {}
                        (Got::Filled, false) => return Got::Filled,
                        (Got::Filled, true) => return Got::Kept,
                        (Got::Event(event), true) if let Some(slot) = slot.as_deref_mut() => {
                            *slot = event;
                            return Got::Kept;
                        }
                        (Got::Event(event), _) => return Got::Event(event),
                    }
                }
                RawLine::TooLong { line, offset, len } => {
                    self.reject_problem(Problem::TooLong { line, offset, len });
                }
                RawLine::Error {
                    line,
                    offset,
                    error,
                } => self.reject_problem(Problem::Error {
                    line,
                    offset,
                    error,
                }),
            }
        }
        Got::Nothing
    }

    /// Queues the rejection of a line that could not be read. A read error
    /// ends the input.
    fn reject_problem(&mut self, problem: Problem) {
        match problem {
            Problem::TooLong { line, offset, len } => {
                self.stats.records += 1;
                let location = SourceLocation::line(self.file.clone(), line, offset);
                let reason = RecordError::LineTooLong {
                    len,
                    limit: self.max_line_len,
                };
                self.queue.push_back(Err(Rejection::new(location, reason)));
            }
            Problem::Error {
                line,
                offset,
                error,
            } => {
                let location = SourceLocation::line(self.file.clone(), line, offset);
                let reason = RecordError::Truncated {
                    message: error.to_string(),
                };
                tracing::warn!(file = %self.file, line, offset, %error, "input ends early");
                self.parser.finish(&mut self.queue);
                self.queue.push_back(Err(Rejection::new(location, reason)));
                self.done = true;
            }
        }
    }
}

/// A line that [`LineSource`] could not return: the non-line cases of
/// [`RawLine`], owned.
enum Problem {
    TooLong {
        line: u64,
        offset: u64,
        len: u64,
    },
    Error {
        line: u64,
        offset: u64,
        error: std::io::Error,
    },
}

/// Reads a non-empty line of valid UTF-8 as a view, when the parser can.
#[inline]
fn read_view<'a, P: LineParser>(parser: &mut P, bytes: &'a [u8]) -> Option<EventView<'a>> {
    if bytes.is_empty() {
        return None;
    }
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    parser.parse_view(text)
}

fn handle_line<P: LineParser>(
    parser: &mut P,
    stats: &mut SourceStats,
    queue: &mut Output,
    utf8: Utf8Policy,
    bytes: &[u8],
    ctx: &LineCtx<'_>,
    slot: Option<&mut Event>,
) -> Got {
    if bytes.is_empty() {
        stats.skipped += 1;
        return Got::Nothing;
    }
    let lossy;
    // Nearly every line is valid: the vector check passes it, and only a
    // failing line is checked again by `std` for the error's position.
    let checked = simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes));
    let text = match checked {
        Ok(text) => text,
        Err(e) => match utf8 {
            Utf8Policy::Reject => {
                stats.records += 1;
                let reason = RecordError::InvalidUtf8 {
                    position: e.valid_up_to(),
                };
                queue.push_back(Err(Rejection::new(ctx.location(), reason)));
                return Got::Nothing;
            }
            Utf8Policy::Lossy => {
                lossy = String::from_utf8_lossy(bytes);
                &*lossy
            }
        },
    };
    let parsed = match slot {
        Some(slot) => match parser.parse_line_into(text, ctx, queue, slot) {
            Ok(Parsed::Filled) => {
                stats.records += 1;
                if queue.is_empty() {
                    return Got::Filled;
                }
                // An event held back by a pairing parser must come out first.
                let event = std::mem::replace(slot, Event::Http(Default::default()));
                queue.push_back(Ok(event));
                return Got::Nothing;
            }
            other => other,
        },
        None => parser.parse_line(text, ctx, queue),
    };
    match parsed {
        Ok(Parsed::Skipped) => stats.skipped += 1,
        Ok(Parsed::Event(event)) => {
            stats.records += 1;
            // An event held back by a pairing parser must come out first.
            if queue.is_empty() {
                return Got::Event(event);
            }
            queue.push_back(Ok(event));
        }
        // `Filled` comes only from `parse_line_into`, handled above.
        Ok(Parsed::Consumed | Parsed::Filled) => stats.records += 1,
        Err(reason) => {
            stats.records += 1;
            // A line of control bytes is garbage whatever column failed.
            let reason = check_text(text).err().unwrap_or(reason);
            tracing::debug!(location = %ctx.location(), %reason, "line rejected");
            queue.push_back(Err(Rejection::new(ctx.location(), reason)));
        }
    }
    Got::Nothing
}

impl<P: LineParser> Iterator for LogReader<P> {
    type Item = Result<Event, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match self.queue.pop_front() {
            Some(item) => item,
            None => self.advance()?,
        };
        match &item {
            Ok(_) => self.stats.events += 1,
            Err(_) => self.stats.rejected += 1,
        }
        Some(item)
    }
}

impl<P: LineParser> EventReader for LogReader<P> {
    fn stats(&self) -> SourceStats {
        self.stats.clone()
    }

    fn format_name(&self) -> &'static str {
        self.parser.format_name()
    }

    fn has_buffered_record(&self) -> bool {
        !self.queue.is_empty() || self.done || self.lines.has_complete_line()
    }

    fn next_into(&mut self, event: &mut Event) -> Option<Result<(), Rejection>> {
        self.next_with(event, None).map(|item| item.map(drop))
    }

    fn visit_batch(&mut self, max: usize, visitor: &mut dyn RecordVisitor) -> bool {
        self.scan_batch(max, visitor)
    }

    fn next_into_if(
        &mut self,
        event: &mut Event,
        keep: &mut dyn FnMut(&EventView<'_>) -> bool,
    ) -> Option<Result<bool, Rejection>> {
        let item = self.next_with(event, Some(&mut *keep))?;
        Some(item.map(|seen| match seen {
            Seen::Declined => false,
            Seen::Kept => true,
            Seen::Built => keep(&event.view()),
        }))
    }
}
