//! Compression of event blocks on a thread of its own, so that the thread
//! that reads, matches and stores events does not also compress them.
//!
//! Blocks come back in the order they were handed over, so the writer
//! stores them in that order and numbers them as it would have without the
//! thread.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

/// Blocks a writer leaves out for compression before it waits for one.
/// Each holds up to a block of records and its compressed body, so this
/// bounds the memory of blocks in flight.
pub(super) const BLOCKS_IN_FLIGHT: usize = 4;

/// A block of records and what the writer needs to store it.
pub(super) struct Block {
    pub day: i64,
    pub ingest: Option<i64>,
    pub events: u32,
    pub ts_min: i64,
    pub ts_max: i64,
    pub records: Vec<u8>,
}

/// A block back from the compression thread with its zstd body, or the
/// reason it has none.
pub(super) struct Compressed {
    pub block: Block,
    pub body: Result<Vec<u8>, String>,
}

/// A thread that compresses blocks at one zstd level, with one context
/// for its whole life.
pub(super) struct BlockCompressor {
    jobs: Option<Sender<Block>>,
    done: Receiver<Compressed>,
    in_flight: usize,
    worker: Option<JoinHandle<()>>,
}

impl BlockCompressor {
    /// Starts the thread.
    pub fn start(level: i32) -> std::io::Result<Self> {
        let (jobs, inbox) = channel::<Block>();
        let (outbox, done) = channel::<Compressed>();
        let worker = std::thread::Builder::new()
            .name("picket-zstd".to_owned())
            .spawn(move || compress_all(level, &inbox, &outbox))?;
        Ok(BlockCompressor {
            jobs: Some(jobs),
            done,
            in_flight: 0,
            worker: Some(worker),
        })
    }

    /// Returns the number of blocks handed over and not yet taken back.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Hands a block over. Returns it when the thread has stopped.
    pub fn submit(&mut self, block: Block) -> Result<(), Block> {
        let Some(jobs) = &self.jobs else {
            return Err(block);
        };
        jobs.send(block).map_err(|refused| refused.0)?;
        self.in_flight += 1;
        Ok(())
    }

    /// Takes back the oldest block if it is compressed, without waiting.
    pub fn ready(&mut self) -> Option<Compressed> {
        let compressed = self.done.try_recv().ok()?;
        self.in_flight -= 1;
        Some(compressed)
    }

    /// Waits for the oldest block. `None` when no block is out or the
    /// thread has stopped.
    pub fn wait(&mut self) -> Option<Compressed> {
        if self.in_flight == 0 {
            return None;
        }
        let compressed = self.done.recv().ok()?;
        self.in_flight -= 1;
        Some(compressed)
    }
}

impl Drop for BlockCompressor {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has finished the blocks
        // it holds, whose bodies are then dropped.
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Compresses each block handed over, in order, on the thread, until
/// the queue closes or the writer stops taking blocks back.
fn compress_all(level: i32, inbox: &Receiver<Block>, outbox: &Sender<Compressed>) {
    let mut compressor = zstd::bulk::Compressor::new(level);
    for block in inbox {
        let body = match &mut compressor {
            Ok(compressor) => compressor
                .compress(&block.records)
                .map_err(|e| format!("compression failed: {e}")),
            Err(e) => Err(format!("cannot start compression: {e}")),
        };
        if outbox.send(Compressed { block, body }).is_err() {
            return;
        }
    }
}
