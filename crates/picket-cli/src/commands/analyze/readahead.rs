//! Reading an input on a thread of its own, so that parsing overlaps
//! matching, detection and storing on the calling thread.

use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::Duration;

use picket_event::{Event, EventReader, Rejection, SourceStats};

/// Records per batch handed from the reading thread.
const BATCH_RECORDS: usize = 1024;

/// Batches in flight. With `BATCH_RECORDS` this bounds how far the reader
/// runs ahead: about 8,000 events.
const BATCHES_IN_FLIGHT: usize = 8;

/// Records read together, and the input bytes read up to their end.
pub struct Batch {
    /// Events and rejections in input order.
    pub records: Vec<Result<Event, Rejection>>,
    /// Bytes of the input read so far, for the progress bar.
    pub bytes_read: u64,
}

/// Reads `reader` on a scoped thread and calls `consume` with every batch in
/// input order. With `idle_after`, `consume` is also called with `None`
/// each time no batch came for that long, so that a caller following a
/// quiet input can commit what it has. Returns the reader's final counts,
/// or the first error of `consume`, which also stops the reading thread.
///
/// Batches go back to the reading thread once consumed, and their events
/// are refilled in place (`EventReader::next_into`): a reader that reuses
/// an event's string buffers then allocates nothing per record.
pub fn read_ahead(
    reader: Box<dyn EventReader>,
    idle_after: Option<Duration>,
    mut consume: impl FnMut(Option<&Batch>) -> anyhow::Result<()>,
) -> anyhow::Result<SourceStats> {
    let (sender, receiver) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (recycle, recycled) = sync_channel::<Vec<Result<Event, Rejection>>>(BATCHES_IN_FLIGHT + 1);

    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut reader = reader;
            loop {
                let mut records = recycled.try_recv().unwrap_or_default();
                let last = refill(reader.as_mut(), &mut records);
                let batch = Batch {
                    records,
                    bytes_read: reader.stats().bytes,
                };
                // A closed channel means the consumer stopped on an error.
                if sender.send(batch).is_err() || last {
                    break;
                }
            }
            reader.stats()
        });

        let mut outcome = Ok(());
        loop {
            let batch = match idle_after {
                Some(wait) => match receiver.recv_timeout(wait) {
                    Ok(batch) => Some(batch),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match receiver.recv() {
                    Ok(batch) => Some(batch),
                    Err(_) => break,
                },
            };
            if let Err(error) = consume(batch.as_ref()) {
                outcome = Err(error);
                break;
            }
            // The reader may have stopped; a batch it will not take is dropped.
            if let Some(batch) = batch {
                let _ = recycle.try_send(batch.records);
            }
        }
        drop(receiver);

        let stats = producer
            .join()
            .map_err(|_| anyhow::anyhow!("the input reading thread panicked"))?;
        outcome.map(|()| stats)
    })
}

/// Reads up to [`BATCH_RECORDS`] records into `records`, refilling the
/// events already there, and returns whether the input ended. A batch is
/// handed over early when the next record would wait for input, so that a
/// log followed as it grows is matched as its lines arrive.
fn refill(reader: &mut dyn EventReader, records: &mut Vec<Result<Event, Rejection>>) -> bool {
    let mut filled = 0;
    let mut ended = false;
    while filled < BATCH_RECORDS {
        if filled > 0 && !reader.has_buffered_record() {
            break;
        }
        let read = match records.get_mut(filled) {
            Some(Ok(event)) => match reader.next_into(event) {
                Some(Ok(())) => true,
                Some(Err(rejection)) => {
                    records[filled] = Err(rejection);
                    true
                }
                None => false,
            },
            Some(slot) => match reader.next() {
                Some(record) => {
                    *slot = record;
                    true
                }
                None => false,
            },
            None => match reader.next() {
                Some(record) => {
                    records.push(record);
                    true
                }
                None => false,
            },
        };
        if !read {
            ended = true;
            break;
        }
        filled += 1;
    }
    records.truncate(filled);
    ended
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Writes a Squid log of `lines` lines, every 300th one malformed.
    fn squid_log(lines: usize) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for i in 0..lines {
            if i % 300 == 7 {
                writeln!(file, "not a squid line {i}").unwrap();
            } else {
                writeln!(
                    file,
                    "1700000000.{i:03} 12 10.0.0.{} TCP_MISS/200 512 GET http://h{i}.example.com/p{i} - HIER_DIRECT/192.0.2.1 text/html",
                    i % 250
                )
                .unwrap();
            }
        }
        file
    }

    /// Describes a record as a comparable line: the event's line and URL,
    /// or the rejection's line.
    fn describe(record: &Result<Event, Rejection>) -> String {
        match record {
            Ok(Event::Http(http)) => format!("{:?} {}", http.location.line, http.url),
            Ok(other) => format!("{other:?}"),
            Err(rejection) => format!("rejected {:?}", rejection.location.line),
        }
    }

    #[test]
    fn recycled_batches_match_plain_reading() {
        // Over three batches, so that refilled events and slots that held a
        // rejection are read into again.
        let log = squid_log(BATCH_RECORDS * 3 + 100);
        let options = picket_sources::OpenOptions::default();
        let plain: Vec<String> = picket_sources::open(log.path(), &options)
            .unwrap()
            .map(|record| describe(&record))
            .collect();

        let mut seen = Vec::new();
        let stats = read_ahead(
            picket_sources::open(log.path(), &options).unwrap(),
            None,
            |batch| {
                seen.extend(batch.unwrap().records.iter().map(describe));
                Ok(())
            },
        )
        .unwrap();

        assert_eq!(seen.len(), plain.len());
        assert_eq!(seen, plain);
        assert_eq!(stats.records, plain.len() as u64);
        assert_eq!(stats.rejected, 11);
    }

    /// Serves one chunk of bytes per read, as a pipe does when a followed
    /// log grows, and counts the reads.
    struct Chunks {
        chunks: std::collections::VecDeque<Vec<u8>>,
        reads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl std::io::Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Some(mut chunk) = self.chunks.pop_front() else {
                return Ok(0);
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            if n < chunk.len() {
                self.chunks.push_front(chunk.split_off(n));
            }
            Ok(n)
        }
    }

    #[test]
    fn batch_handed_over_before_waiting() {
        let line = |i: usize| {
            format!(
                "1700000000.{i:03} 12 10.0.0.1 TCP_MISS/200 512 GET http://h{i}.example/ - HIER_DIRECT/192.0.2.1 text/html\n"
            )
        };
        let first: String = (0..3).map(line).collect();
        let second: String = (3..5).map(line).collect();
        let reads = std::sync::Arc::default();
        let input = Chunks {
            chunks: [first.into_bytes(), second.into_bytes()].into(),
            reads: std::sync::Arc::clone(&reads),
        };
        let options = picket_sources::OpenOptions {
            format: Some(picket_sources::Format::Squid),
            ..picket_sources::OpenOptions::default()
        };
        let mut reader = picket_sources::open_reader(Box::new(input), "-", &options).unwrap();
        let reads_before = reads.load(std::sync::atomic::Ordering::SeqCst);

        let mut records = Vec::new();
        let ended = refill(reader.as_mut(), &mut records);

        // The three lines of the first chunk, without a read that would
        // wait for the second.
        assert_eq!(records.len(), 3);
        assert!(!ended);
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            reads_before + 1
        );

        let ended = refill(reader.as_mut(), &mut records);
        assert_eq!(records.len(), 2);
        assert!(!ended);
        let ended = refill(reader.as_mut(), &mut records);
        assert!(records.is_empty());
        assert!(ended);
    }
}
