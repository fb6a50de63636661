//! Reading an input on a thread of its own, so that parsing overlaps
//! matching, detection and storing on the calling thread.

use std::sync::mpsc::sync_channel;

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
/// input order. Returns the reader's final counts, or the first error of
/// `consume`, which also stops the reading thread.
pub fn read_ahead(
    reader: Box<dyn EventReader>,
    mut consume: impl FnMut(Batch) -> anyhow::Result<()>,
) -> anyhow::Result<SourceStats> {
    let (sender, receiver) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);

    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut reader = reader;
            loop {
                let records: Vec<_> = reader.by_ref().take(BATCH_RECORDS).collect();
                let last = records.len() < BATCH_RECORDS;
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
        for batch in receiver.iter() {
            if let Err(error) = consume(batch) {
                outcome = Err(error);
                break;
            }
        }
        drop(receiver);

        let stats = producer
            .join()
            .map_err(|_| anyhow::anyhow!("the input reading thread panicked"))?;
        outcome.map(|()| stats)
    })
}
