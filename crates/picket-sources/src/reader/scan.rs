//! [`picket_event::EventReader::visit_batch`] for line logs: a batch of lines read as views
//! before the first is decided.
//!
//! The lines of a batch are taken from what [`LineSource`] has buffered
//! without reading more input, so they stay in place while the batch is
//! handled. The parser reads each line into a view borrowed from the
//! buffer, and the visitor receives each view some lines before it decides
//! on it ([`RecordVisitor::ahead`]). A matcher that prefetches there overlaps the
//! cache misses of several lines instead of waiting for each in turn.

use std::ops::Range;

use picket_event::{Event, EventView, RecordVisitor};

use super::{Got, LineCtx, LineParser, LogReader, Output, Problem, handle_line, read_view};
use crate::input::{LineSource, RawLine};

/// A buffered line of the batch.
struct Span {
    range: Range<usize>,
    line: u64,
    offset: u64,
}

impl<P: LineParser> LogReader<P> {
    /// Reads up to `max` lines and passes their records to `visitor`; see
    /// [`picket_event::EventReader::visit_batch`].
    pub(super) fn scan_batch(&mut self, max: usize, visitor: &mut dyn RecordVisitor) -> bool {
        self.pass_queue(visitor);
        let was_open = !self.done;
        let (spans, problem) = self.take_spans(max.max(1));

        let LogReader {
            lines,
            parser,
            file,
            queue,
            stats,
            utf8,
            scratch,
            ..
        } = self;
        let views = read_views(parser, lines, &spans);

        let distance = visitor.ahead_distance();
        for (i, span) in spans.iter().enumerate() {
            if distance > 0
                && let Some(Some(view)) = views.get(i.saturating_add(distance))
            {
                visitor.ahead(view);
            }

            let ctx = LineCtx {
                file,
                line: span.line,
                offset: span.offset,
            };
            let bytes = lines.buffered(span.range.clone());
            // A kept view promised one event, which the full parse builds.
            let kept = match &views[i] {
                Some(view) if !visitor.keep(view) => {
                    stats.records += 1;
                    stats.events += 1;
                    continue;
                }
                Some(_) => true,
                None => false,
            };
            let got = handle_line(parser, stats, queue, *utf8, bytes, &ctx, Some(scratch));
            pass_built(got, kept, scratch, stats, visitor);
            drain(queue, stats, visitor);
        }

        match problem {
            Some(problem) => self.reject_problem(problem),
            // Events a parser holds back for pairing come after the last
            // line, as with `next_into`.
            None if was_open && self.done => self.parser.finish(&mut self.queue),
            None => {}
        }
        self.pass_queue(visitor);
        self.stats.bytes = self.lines.bytes_consumed();
        !self.done
    }

    /// Takes up to `max` lines from the buffer, reading more input only
    /// for the first. A line that could not be read ends the batch and is
    /// returned too. Marks the reader done at the end of input, and leaves
    /// flushing the parser to the caller, after the lines taken.
    fn take_spans(&mut self, max: usize) -> (Vec<Span>, Option<Problem>) {
        // `max` may be any number, such as `usize::MAX` for every buffered
        // line, so the reservation is capped: the buffer bounds the batch.
        let mut spans = Vec::with_capacity(max.min(1024));
        while !self.done && spans.len() < max {
            // Reading more input would move the lines taken so far.
            if !spans.is_empty() && !self.lines.has_complete_line() {
                break;
            }
            let Some(raw) = self.lines.next_line() else {
                self.done = true;
                break;
            };
            let problem = match raw {
                RawLine::Line { line, offset, .. } => {
                    let range = self.lines.last_line_range();
                    spans.push(Span {
                        range,
                        line,
                        offset,
                    });
                    continue;
                }
                RawLine::TooLong { line, offset, len } => Problem::TooLong { line, offset, len },
                RawLine::Error {
                    line,
                    offset,
                    error,
                } => Problem::Error {
                    line,
                    offset,
                    error,
                },
            };
            return (spans, Some(problem));
        }
        (spans, None)
    }

    /// Passes every queued event and rejection to `visitor`.
    fn pass_queue(&mut self, visitor: &mut dyn RecordVisitor) {
        drain(&mut self.queue, &mut self.stats, visitor);
    }
}

/// Reads each line of `spans` as a view where the parser can.
///
/// The lines lie one after another in the buffer, so one UTF-8 check of
/// the whole run serves them all. Each line is then a slice of it, because
/// its ends sit next to a newline, which is never inside a character.
/// When the run holds invalid UTF-8, each line is checked on its own.
fn read_views<'b, P: LineParser>(
    parser: &mut P,
    lines: &'b LineSource,
    spans: &[Span],
) -> Vec<Option<EventView<'b>>> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Vec::new();
    };
    let base = first.range.start;
    let Ok(text) = simdutf8::basic::from_utf8(lines.buffered(base..last.range.end)) else {
        return spans
            .iter()
            .map(|span| read_view(parser, lines.buffered(span.range.clone())))
            .collect();
    };

    spans
        .iter()
        .map(|span| {
            let line = text.get(span.range.start - base..span.range.end - base)?;
            if line.is_empty() {
                return None;
            }
            parser.parse_view(line)
        })
        .collect()
}

/// Passes the event a full parse built, if any, to `visitor`, asking
/// `keep` first unless it already accepted the line's view (`kept`).
fn pass_built(
    got: Got,
    kept: bool,
    scratch: &mut Event,
    stats: &mut picket_event::SourceStats,
    visitor: &mut dyn RecordVisitor,
) {
    let built = match got {
        Got::Filled | Got::Kept => &*scratch,
        Got::Event(event) => {
            *scratch = event;
            &*scratch
        }
        Got::Nothing | Got::Declined => return,
    };
    stats.events += 1;
    if kept || visitor.keep(&built.view()) {
        visitor.event(built);
    }
}

/// Passes every queued item to `visitor`, counting it.
fn drain(
    queue: &mut Output,
    stats: &mut picket_event::SourceStats,
    visitor: &mut dyn RecordVisitor,
) {
    while let Some(item) = queue.pop_front() {
        match item {
            Ok(event) => {
                stats.events += 1;
                if visitor.keep(&event.view()) {
                    visitor.event(&event);
                }
            }
            Err(rejection) => {
                stats.rejected += 1;
                visitor.rejected(rejection);
            }
        }
    }
}
