//! DNS events gathered for passive DNS, bounded by count and by bytes.

use picket_event::DnsEvent;

/// DNS events gathered before they are folded into passive DNS. Larger
/// batches fold repeated names into fewer row updates and commit less
/// often. On 1 M Zeek DNS lines, 100,000 took 7.4 to 9.1 s where 20,000
/// took 10.3 to 10.5 s, for 37 MB more peak memory; 250,000 gained a
/// little more for another 70 MB.
const MAX_EVENTS: usize = 100_000;

/// Bytes of names and record data gathered before they are folded, so
/// that a log of large answers, such as the TXT records of a DNS tunnel
/// (up to 64 KiB a message), cannot hold [`MAX_EVENTS`] of them. On
/// 100,000 Zeek DNS lines of 8 KB TXT answers, `picket analyze` peaked at
/// 1.2 GB without this bound and 0.4 GB with it. Events under 335 bytes
/// of names and data each, such as a name with a few addresses, reach
/// [`MAX_EVENTS`] first.
const MAX_TEXT_BYTES: usize = 32 << 20;

/// DNS events waiting to be folded into passive DNS.
#[derive(Default)]
pub(super) struct PdnsBatch {
    events: Vec<DnsEvent>,
    /// Bytes of the names and record data of `events`.
    text_bytes: usize,
}

impl PdnsBatch {
    /// Adds a copy of an event. Returns true when the batch is full and
    /// should be folded.
    pub fn push(&mut self, event: &DnsEvent) -> bool {
        self.text_bytes = self.text_bytes.saturating_add(text_bytes(event));
        self.events.push(event.clone());
        self.events.len() >= MAX_EVENTS || self.text_bytes >= MAX_TEXT_BYTES
    }

    /// Returns the events gathered, in the order they came.
    pub fn events(&self) -> &[DnsEvent] {
        &self.events
    }

    /// Empties the batch, keeping its memory for the next one.
    pub fn clear(&mut self) {
        self.events.clear();
        self.text_bytes = 0;
    }
}

/// Bytes of the strings an event holds: its names and record data.
fn text_bytes(event: &DnsEvent) -> usize {
    let records = event
        .answers
        .iter()
        .chain(&event.authorities)
        .chain(&event.additionals)
        .map(|record| record.name.len() + record.data.len());
    let original = event.query_name_original.as_ref().map_or(0, String::len);
    records.fold(event.query_name.len() + original, usize::saturating_add)
}

#[cfg(test)]
mod tests {
    use picket_event::{RecordType, ResourceRecord};

    use super::*;

    fn event_with_answer(data: String) -> DnsEvent {
        DnsEvent {
            query_name: "t.tunnel.example".to_owned(),
            answers: vec![ResourceRecord {
                name: "t.tunnel.example".to_owned(),
                rtype: RecordType::TXT,
                class: 1,
                ttl: 60,
                data,
            }],
            ..DnsEvent::default()
        }
    }

    #[test]
    fn large_answers_fill_batch_by_bytes() {
        let event = event_with_answer("x".repeat(64 << 10));
        let mut batch = PdnsBatch::default();

        let mut pushed = 1;
        while !batch.push(&event) {
            pushed += 1;
        }

        assert_eq!(pushed, 512, "32 MiB of 64 KiB answers");
        assert_eq!(batch.events().len(), 512);
    }

    #[test]
    fn small_answers_fill_batch_by_count() {
        let event = event_with_answer("192.0.2.1".to_owned());
        let mut batch = PdnsBatch::default();

        let mut pushed = 1;
        while !batch.push(&event) {
            pushed += 1;
        }

        assert_eq!(pushed, MAX_EVENTS);
        batch.clear();
        assert!(batch.events().is_empty());
        assert!(!batch.push(&event), "cleared batch counts from zero");
    }
}
