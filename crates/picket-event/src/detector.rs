//! The interface every detector implements.

use crate::{Alert, Event, IntelHit};

/// An incremental detector.
///
/// A detector sees events one at a time in time order, keeps its own bounded
/// state and emits alerts when it has evidence. It reads time only from the
/// events, so replaying an old log behaves like the day it was written. The
/// same detector runs over a file (`picket analyze`) or a stream (a daemon).
pub trait Detector: Send {
    /// The stable id, such as `dns.tunnel`, that users filter and count by.
    fn id(&self) -> &'static str;

    /// Feeds one event with the intel hits the matcher found on it, and pushes
    /// any alerts it completes onto `alerts`.
    fn observe(&mut self, event: &Event, hits: &[IntelHit], alerts: &mut Vec<Alert>);

    /// Closes every open window at the end of the input and pushes the alerts
    /// that only the whole window could show (beacons, for example).
    fn finish(&mut self, alerts: &mut Vec<Alert>);
}
