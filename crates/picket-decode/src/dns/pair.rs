//! Pairing of DNS queries with their responses into [`DnsEvent`]s.

use std::collections::VecDeque;
use std::net::IpAddr;

use hashbrown::HashMap;
use picket_event::dns::{DnsProtocol, Transport};
use picket_event::{Anomaly, DnsEvent, DnsExchange, SourceLocation, Timestamp};

use super::limits::PairerConfig;
use super::message::DnsMessage;

/// Capture facts of one DNS message: the time, endpoints and place of the
/// packet (or of the TCP segment that completed the message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// Capture time of the packet.
    pub timestamp: Timestamp,
    /// Source address of the packet.
    pub src_ip: IpAddr,
    /// Source port of the packet.
    pub src_port: u16,
    /// Destination address of the packet.
    pub dst_ip: IpAddr,
    /// Destination port of the packet.
    pub dst_port: u16,
    /// UDP or TCP.
    pub transport: Transport,
    /// DNS, mDNS or LLMNR, as the capture layer identified it (usually from
    /// the port: 53, 5353 or 5355).
    pub protocol: DnsProtocol,
    /// The packet's place in the capture.
    pub location: SourceLocation,
}

/// The receiver of the events a [`DnsPairer`] finishes, in order.
pub trait DnsSink {
    /// Takes one finished event.
    fn emit(&mut self, event: DnsEvent);
}

impl DnsSink for Vec<DnsEvent> {
    fn emit(&mut self, event: DnsEvent) {
        self.push(event);
    }
}

/// Counters of a [`DnsPairer`], for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairerStats {
    /// Queries pushed (QR bit clear).
    pub queries: u64,
    /// Responses pushed (QR bit set).
    pub responses: u64,
    /// Messages shorter than a header, emitted on their own.
    pub headerless: u64,
    /// Events with both halves.
    pub complete: u64,
    /// Queries emitted without a response (timed out, evicted or flushed).
    pub query_only: u64,
    /// Responses emitted without a query.
    pub response_only: u64,
    /// Queries emitted early because the table was full, by count or by
    /// estimated bytes.
    pub evicted: u64,
    /// Maximum number of queries waiting at once.
    pub max_pending: u64,
}

/// The pairing key: a response matches the query with the same transaction
/// id sent from its destination to its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PairKey {
    id: u16,
    client_ip: IpAddr,
    client_port: u16,
    server_ip: IpAddr,
    server_port: u16,
}

/// A query waiting for its response.
struct Pending {
    message: DnsMessage,
    meta: PacketMeta,
    /// Arrival number, to tell this query's entry in the arrival queue from
    /// a stale one.
    seq: u64,
    /// The query's estimated heap bytes (see [`message_weight`]).
    weight: usize,
}

/// The queries waiting under one key, oldest first. The first sits inline,
/// so the usual single query per key costs no queue allocation.
struct PendingSlot {
    first: Box<Pending>,
    later: VecDeque<Box<Pending>>,
}

impl PendingSlot {
    fn contains(&self, seq: u64) -> bool {
        self.first.seq == seq || self.later.iter().any(|query| query.seq == seq)
    }
}

/// Pairs queries with responses by (transaction id, client address and
/// port, server address and port) and emits one [`DnsEvent`] per exchange.
///
/// A response takes the oldest waiting query with its key. A query waits
/// until its response arrives, until [`PairerConfig::query_timeout`] of
/// packet time passes (checked whenever a message is pushed), until the
/// table is full and it is the oldest, or until [`DnsPairer::flush`]. A
/// response with no waiting query is emitted as response-only with
/// `DnsUnsolicitedResponse`, except for mDNS, whose responses go to the
/// multicast group and are not answers to one querier (RFC 6762 section 6).
///
/// Events come out in the order their exchanges complete, which is not
/// always timestamp order. State is bounded by
/// [`PairerConfig::max_pending_queries`] queries and keyed by client and
/// server, so flows can be split across pairers by that key.
pub struct DnsPairer {
    config: PairerConfig,
    pending: HashMap<PairKey, PendingSlot>,
    pending_count: usize,
    /// Estimated heap bytes of the waiting queries (see [`message_weight`]).
    pending_bytes: usize,
    /// Waiting queries in arrival order; entries whose query has been
    /// answered stay here until they reach the front or a compaction.
    arrivals: VecDeque<(Timestamp, PairKey, u64)>,
    next_seq: u64,
    stats: PairerStats,
}

impl DnsPairer {
    /// Creates an empty pairer.
    pub fn new(config: PairerConfig) -> Self {
        DnsPairer {
            config,
            pending: HashMap::new(),
            pending_count: 0,
            pending_bytes: 0,
            arrivals: VecDeque::new(),
            next_seq: 0,
            stats: PairerStats::default(),
        }
    }

    /// Takes one decoded message and appends every event it completes to
    /// `out`: its own exchange when it is a response, a headerless message,
    /// or an evicted query, and any queries whose timeout passed.
    pub fn push(&mut self, message: DnsMessage, meta: PacketMeta, out: &mut impl DnsSink) {
        self.expire(meta.timestamp, out);

        let Some(header) = message.header else {
            self.stats.headerless += 1;
            out.emit(headerless_event(message, meta));
            return;
        };

        if header.flags.qr {
            self.stats.responses += 1;
            let key = PairKey {
                id: header.id,
                client_ip: meta.dst_ip,
                client_port: meta.dst_port,
                server_ip: meta.src_ip,
                server_port: meta.src_port,
            };
            match self.take_pending(&key) {
                Some(query) => {
                    self.stats.complete += 1;
                    let Pending {
                        message: query_message,
                        meta: query_meta,
                        ..
                    } = *query;
                    out.emit(build_event(
                        Some((query_message, query_meta)),
                        (message, meta),
                        true,
                    ));
                }
                None => {
                    self.stats.response_only += 1;
                    let mut event = build_event(None, (message, meta), true);
                    if event.protocol != DnsProtocol::Mdns {
                        add_anomaly(&mut event, Anomaly::DnsUnsolicitedResponse);
                    }
                    out.emit(event);
                }
            }
            return;
        }

        self.stats.queries += 1;
        if self.pending_count >= self.config.max_pending_queries.max(1) {
            self.evict_oldest(out);
        }
        let weight = message_weight(&message);
        while self.pending_count > 0 && self.pending_bytes + weight > self.config.max_pending_bytes
        {
            self.evict_oldest(out);
        }
        let key = PairKey {
            id: header.id,
            client_ip: meta.src_ip,
            client_port: meta.src_port,
            server_ip: meta.dst_ip,
            server_port: meta.dst_port,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.arrivals.push_back((meta.timestamp, key, seq));
        let query = Box::new(Pending {
            message,
            meta,
            seq,
            weight,
        });
        match self.pending.get_mut(&key) {
            Some(slot) => slot.later.push_back(query),
            None => {
                let slot = PendingSlot {
                    first: query,
                    later: VecDeque::new(),
                };
                self.pending.insert(key, slot);
            }
        }
        self.pending_count += 1;
        self.pending_bytes += weight;
        self.stats.max_pending = self.stats.max_pending.max(self.pending_count as u64);
        self.compact_arrivals();
    }

    /// Emits every waiting query as query-only with `DnsNoResponse`, oldest
    /// first; call at the end of the input.
    pub fn flush(&mut self, out: &mut impl DnsSink) {
        while let Some((_, key, seq)) = self.arrivals.pop_front() {
            if let Some(query) = self.remove_pending(&key, seq) {
                self.emit_query_only(query, true, out);
            }
        }
        self.pending.clear();
        self.pending_count = 0;
        self.pending_bytes = 0;
    }

    /// Queries waiting for a response now.
    pub fn pending(&self) -> usize {
        self.pending_count
    }

    /// Returns the counters so far.
    pub fn stats(&self) -> PairerStats {
        self.stats
    }

    /// Emits the queries that have waited longer than the timeout at `now`.
    fn expire(&mut self, now: Timestamp, out: &mut impl DnsSink) {
        let timeout = i64::try_from(self.config.query_timeout.as_nanos()).unwrap_or(i64::MAX);
        while let Some(&(sent, key, seq)) = self.arrivals.front() {
            if now.nanos_since(sent) <= timeout {
                break;
            }
            self.arrivals.pop_front();
            if let Some(query) = self.remove_pending(&key, seq) {
                self.emit_query_only(query, true, out);
            }
        }
    }

    /// Emits the oldest waiting query to make room for a new one.
    fn evict_oldest(&mut self, out: &mut impl DnsSink) {
        while let Some((_, key, seq)) = self.arrivals.pop_front() {
            if let Some(query) = self.remove_pending(&key, seq) {
                self.stats.evicted += 1;
                self.emit_query_only(query, false, out);
                return;
            }
        }
    }

    /// Drops answered queries' entries from the arrival queue once it holds
    /// more than twice the waiting queries, so it stays bounded by the table.
    fn compact_arrivals(&mut self) {
        if self.arrivals.len() <= 2 * self.pending_count.max(1024) {
            return;
        }
        let pending = &self.pending;
        self.arrivals
            .retain(|(_, key, seq)| pending.get(key).is_some_and(|slot| slot.contains(*seq)));
    }

    /// Removes and returns the oldest query waiting under `key`.
    fn take_pending(&mut self, key: &PairKey) -> Option<Box<Pending>> {
        let slot = self.pending.get_mut(key)?;
        let query = match slot.later.pop_front() {
            Some(next) => std::mem::replace(&mut slot.first, next),
            None => self.pending.remove(key)?.first,
        };
        self.pending_count -= 1;
        self.pending_bytes -= query.weight;
        Some(query)
    }

    /// Removes and returns the query with arrival number `seq`, if it still waits.
    fn remove_pending(&mut self, key: &PairKey, seq: u64) -> Option<Box<Pending>> {
        let slot = self.pending.get_mut(key)?;
        if slot.first.seq == seq {
            return self.take_pending(key);
        }
        let index = slot.later.iter().position(|query| query.seq == seq)?;
        let query = slot.later.remove(index)?;
        self.pending_count -= 1;
        self.pending_bytes -= query.weight;
        Some(query)
    }

    fn emit_query_only(&mut self, query: Box<Pending>, no_response: bool, out: &mut impl DnsSink) {
        self.stats.query_only += 1;
        let Pending { message, meta, .. } = *query;
        let mut event = build_event(None, (message, meta), false);
        if no_response {
            add_anomaly(&mut event, Anomaly::DnsNoResponse);
        }
        out.emit(event);
    }
}

/// Estimates the heap bytes a waiting query holds: its names and record
/// data plus a fixed cost per question and record for the structs.
fn message_weight(message: &DnsMessage) -> usize {
    const PER_ENTRY: usize = 64;
    let questions: usize = message
        .questions
        .iter()
        .map(|q| q.name.len() + PER_ENTRY)
        .sum();
    let records: usize = message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals)
        .map(|r| r.name.len() + r.data.len() + PER_ENTRY)
        .sum();
    std::mem::size_of::<Pending>() + questions + records
}

/// Builds the event of one exchange from `main`, the response (`is_response`)
/// or a query without response, and the query that `main` answers, if any.
fn build_event(
    query: Option<(DnsMessage, PacketMeta)>,
    main: (DnsMessage, PacketMeta),
    is_response: bool,
) -> DnsEvent {
    let exchange = match (&query, is_response) {
        (Some(_), _) => DnsExchange::Complete,
        (None, true) => DnsExchange::ResponseOnly,
        (None, false) => DnsExchange::QueryOnly,
    };

    let mut anomalies = Vec::new();
    let mut query_question = None;
    let mut query_time = None;
    if let Some((mut message, meta)) = query {
        anomalies.append(&mut message.anomalies);
        query_question = message.questions.into_iter().next();
        query_time = Some(meta.timestamp);
    }

    let (mut message, meta) = main;
    let client_is_source = !is_response;
    let response_time = is_response.then_some(meta.timestamp);
    if !is_response {
        query_time = Some(meta.timestamp);
    }
    anomalies.append(&mut message.anomalies);
    anomalies.sort_unstable();
    anomalies.dedup();

    let (client_ip, client_port, server_ip, server_port) = if client_is_source {
        (meta.src_ip, meta.src_port, meta.dst_ip, meta.dst_port)
    } else {
        (meta.dst_ip, meta.dst_port, meta.src_ip, meta.src_port)
    };

    // The question: the response's, else the query's; a response without
    // one (mDNS announcements) is named after its first answer, as Zeek does.
    let question = std::mem::take(&mut message.questions)
        .into_iter()
        .next()
        .or(query_question);
    let (original, query_type, query_class) = match question {
        Some(question) => (question.name, Some(question.qtype), Some(question.qclass)),
        None => (
            message
                .answers
                .first()
                .map(|record| record.name.clone())
                .unwrap_or_default(),
            None,
            None,
        ),
    };
    let (query_name, query_name_original) = split_original(original);

    let header = message.header.unwrap_or_default();
    let rtt = match (query_time, response_time) {
        (Some(sent), Some(received)) => Some(received.nanos_since(sent) as f64 / 1e9),
        _ => None,
    };

    DnsEvent {
        timestamp: query_time.or(response_time).unwrap_or_default(),
        location: meta.location,
        client_ip: Some(client_ip),
        client_port: Some(client_port),
        server_ip: Some(server_ip),
        server_port: Some(server_port),
        transport: Some(meta.transport),
        protocol: meta.protocol,
        exchange,
        id: Some(header.id),
        query_name,
        query_name_original,
        query_type,
        query_class,
        opcode: Some(header.opcode),
        rcode: if is_response { message.rcode() } else { None },
        flags: header.flags,
        answers: std::mem::take(&mut message.answers),
        authorities: std::mem::take(&mut message.authorities),
        additionals: std::mem::take(&mut message.additionals),
        response_size: if is_response {
            u32::try_from(message.size).ok()
        } else {
            None
        },
        rtt,
        anomalies,
    }
}

/// Returns the lower-case query name and, when it differs, the name as seen.
/// A decoded name has no root dot, so a final `.` is escaped (`end\.`) and kept.
fn split_original(original: String) -> (String, Option<String>) {
    if !original.bytes().any(|b| b.is_ascii_uppercase()) {
        return (original, None);
    }
    let name = original.to_ascii_lowercase();
    (name, Some(original))
}

/// Builds the event of a message too short to hold a header. Such a message
/// does not show whether it is a query or a response, so the side on a
/// well-known DNS port is taken as the server.
fn headerless_event(message: DnsMessage, meta: PacketMeta) -> DnsEvent {
    const SERVER_PORTS: [u16; 3] = [53, 5353, 5355];
    let from_server =
        SERVER_PORTS.contains(&meta.src_port) && !SERVER_PORTS.contains(&meta.dst_port);

    let (client_ip, client_port, server_ip, server_port, exchange) = if from_server {
        (
            meta.dst_ip,
            meta.dst_port,
            meta.src_ip,
            meta.src_port,
            DnsExchange::ResponseOnly,
        )
    } else {
        (
            meta.src_ip,
            meta.src_port,
            meta.dst_ip,
            meta.dst_port,
            DnsExchange::QueryOnly,
        )
    };

    DnsEvent {
        timestamp: meta.timestamp,
        location: meta.location,
        client_ip: Some(client_ip),
        client_port: Some(client_port),
        server_ip: Some(server_ip),
        server_port: Some(server_port),
        transport: Some(meta.transport),
        protocol: meta.protocol,
        exchange,
        response_size: from_server
            .then(|| u32::try_from(message.size).ok())
            .flatten(),
        anomalies: message.anomalies,
        ..DnsEvent::default()
    }
}

fn add_anomaly(event: &mut DnsEvent, anomaly: Anomaly) {
    if !event.anomalies.contains(&anomaly) {
        event.anomalies.push(anomaly);
        event.anomalies.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::dns::{DnsLimits, parse_message};

    const CLIENT: &str = "10.0.0.1";
    const SERVER: &str = "10.0.0.53";

    /// Builds a query (or its response) for `name` A with transaction id `id`.
    fn message(id: u16, response: bool, name: &str) -> DnsMessage {
        let mut bytes = id.to_be_bytes().to_vec();
        bytes.extend_from_slice(if response {
            &[0x81, 0x80]
        } else {
            &[0x01, 0x00]
        });
        bytes.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
        for label in name.split('.') {
            bytes.push(label.len() as u8);
            bytes.extend_from_slice(label.as_bytes());
        }
        bytes.extend_from_slice(&[0, 0, 1, 0, 1]);
        if response {
            bytes.extend_from_slice(
                b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01",
            );
        }
        parse_message(&bytes, &DnsLimits::default())
    }

    /// Packet metadata at `millis` from the client port `port` (or back to it).
    fn meta(millis: i64, port: u16, response: bool, protocol: DnsProtocol) -> PacketMeta {
        let (client, server) = (CLIENT.parse().unwrap(), SERVER.parse().unwrap());
        PacketMeta {
            timestamp: Timestamp::from_millis(millis).unwrap(),
            src_ip: if response { server } else { client },
            src_port: if response { 53 } else { port },
            dst_ip: if response { client } else { server },
            dst_port: if response { port } else { 53 },
            transport: Transport::Udp,
            protocol,
            location: SourceLocation::packet(Arc::from("test.pcap"), millis as u64, 0),
        }
    }

    fn dns(millis: i64, port: u16, response: bool) -> PacketMeta {
        meta(millis, port, response, DnsProtocol::Dns)
    }

    #[test]
    fn query_and_response_pair() {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        pairer.push(
            message(7, false, "WWW.Example.com"),
            dns(1000, 4000, false),
            &mut out,
        );
        assert!(out.is_empty());
        pairer.push(
            message(7, true, "WWW.Example.com"),
            dns(1250, 4000, true),
            &mut out,
        );

        assert_eq!(out.len(), 1);
        let event = &out[0];
        assert_eq!(event.exchange, DnsExchange::Complete);
        assert_eq!(event.query_name, "www.example.com");
        assert_eq!(
            event.query_name_original.as_deref(),
            Some("WWW.Example.com")
        );
        assert_eq!(event.client_port, Some(4000));
        assert_eq!(event.server_port, Some(53));
        assert_eq!(event.rtt, Some(0.25));
        assert_eq!(event.timestamp, Timestamp::from_millis(1000).unwrap());
        assert_eq!(event.location.packet, Some(1250));
        assert_eq!(event.answers[0].data, "192.0.2.1");
        assert!(event.flags.qr);
        assert!(event.flags.ra);
        assert!(event.response_size.is_some());
        assert!(event.anomalies.is_empty());
        assert_eq!(pairer.pending(), 0);
    }

    #[test]
    fn escaped_final_dot_kept_in_query_name() {
        // One label "End." and one label ".": their final dots are escaped
        // label bytes, not the root, and stay in the normalised name.
        let mut bytes = vec![0, 9, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(b"\x04End.\x01.\x00\x00\x01\x00\x01");
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        pairer.push(
            parse_message(&bytes, &DnsLimits::default()),
            dns(0, 4000, false),
            &mut out,
        );
        pairer.flush(&mut out);

        assert_eq!(out[0].query_name, "end\\..\\.");
        assert_eq!(out[0].query_name_original.as_deref(), Some("End\\..\\."));
    }

    #[test]
    fn response_without_query() {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        pairer.push(message(7, true, "a.example"), dns(0, 4000, true), &mut out);
        assert_eq!(out[0].exchange, DnsExchange::ResponseOnly);
        assert_eq!(out[0].anomalies, vec![Anomaly::DnsUnsolicitedResponse]);
        assert_eq!(out[0].client_ip, Some(CLIENT.parse().unwrap()));

        // mDNS answers go to the group and are not flagged.
        pairer.push(
            message(0, true, "b.local"),
            meta(0, 5353, true, DnsProtocol::Mdns),
            &mut out,
        );
        assert!(out[1].anomalies.is_empty());
    }

    #[test]
    fn other_port_does_not_pair() {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        pairer.push(
            message(7, false, "a.example"),
            dns(0, 4000, false),
            &mut out,
        );
        pairer.push(message(7, true, "a.example"), dns(5, 4001, true), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].exchange, DnsExchange::ResponseOnly);
        pairer.flush(&mut out);
        assert_eq!(out[1].exchange, DnsExchange::QueryOnly);
    }

    #[test]
    fn timeout_in_packet_time() {
        let config = PairerConfig {
            query_timeout: Duration::from_secs(2),
            ..PairerConfig::default()
        };
        let mut pairer = DnsPairer::new(config);
        let mut out = Vec::new();
        pairer.push(
            message(1, false, "slow.example"),
            dns(0, 4000, false),
            &mut out,
        );
        pairer.push(
            message(2, false, "other.example"),
            dns(1500, 4001, false),
            &mut out,
        );
        assert!(out.is_empty());

        // 2.5 s later the first query is past its timeout, the second not.
        pairer.push(
            message(3, false, "third.example"),
            dns(2500, 4002, false),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].query_name, "slow.example");
        assert_eq!(out[0].exchange, DnsExchange::QueryOnly);
        assert_eq!(out[0].anomalies, vec![Anomaly::DnsNoResponse]);
        assert_eq!(out[0].rcode, None);

        // A late response is unsolicited now.
        pairer.push(
            message(1, true, "slow.example"),
            dns(2600, 4000, true),
            &mut out,
        );
        assert_eq!(out[1].exchange, DnsExchange::ResponseOnly);
        assert_eq!(pairer.pending(), 2);
    }

    #[test]
    fn full_table_evicts_oldest() {
        let config = PairerConfig {
            max_pending_queries: 2,
            ..PairerConfig::default()
        };
        let mut pairer = DnsPairer::new(config);
        let mut out = Vec::new();
        for (index, name) in ["one.example", "two.example", "three.example"]
            .iter()
            .enumerate()
        {
            pairer.push(
                message(index as u16, false, name),
                dns(index as i64, 4000, false),
                &mut out,
            );
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].query_name, "one.example");
        assert!(out[0].anomalies.is_empty());
        assert_eq!(pairer.stats().evicted, 1);
        assert_eq!(pairer.pending(), 2);

        pairer.flush(&mut out);
        let names: Vec<&str> = out.iter().map(|e| e.query_name.as_str()).collect();
        assert_eq!(names, ["one.example", "two.example", "three.example"]);
        assert_eq!(pairer.stats().max_pending, 2);
    }

    #[test]
    fn pending_bytes_bound_evicts() {
        let weight = message_weight(&message(0, false, "one.example"));
        let config = PairerConfig {
            max_pending_bytes: 2 * weight + weight / 2,
            ..PairerConfig::default()
        };
        let mut pairer = DnsPairer::new(config);
        let mut out = Vec::new();
        for (index, name) in ["one.example", "two.example", "six.example"]
            .iter()
            .enumerate()
        {
            pairer.push(
                message(index as u16, false, name),
                dns(index as i64, 4000, false),
                &mut out,
            );
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].query_name, "one.example");
        assert_eq!(pairer.stats().evicted, 1);

        pairer.flush(&mut out);
        assert_eq!(pairer.pending_bytes, 0);
    }

    #[test]
    fn retransmitted_query_pairs_with_first() {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        pairer.push(
            message(9, false, "a.example"),
            dns(0, 4000, false),
            &mut out,
        );
        pairer.push(
            message(9, false, "a.example"),
            dns(1000, 4000, false),
            &mut out,
        );
        pairer.push(
            message(9, true, "a.example"),
            dns(1100, 4000, true),
            &mut out,
        );
        assert_eq!(out[0].rtt, Some(1.1));
        pairer.flush(&mut out);
        assert_eq!(out[1].exchange, DnsExchange::QueryOnly);
        assert_eq!(out[1].timestamp, Timestamp::from_millis(1000).unwrap());
    }

    #[test]
    fn headerless_message() {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        let short = parse_message(b"\x00\x01", &DnsLimits::default());
        pairer.push(short, dns(0, 4000, true), &mut out);
        assert_eq!(out[0].exchange, DnsExchange::ResponseOnly);
        assert_eq!(out[0].anomalies, vec![Anomaly::DnsTruncatedHeader]);
        assert_eq!(out[0].server_port, Some(53));
        assert_eq!(pairer.stats().headerless, 1);
    }

    #[test]
    fn arrival_queue_stays_bounded() {
        let mut pairer = DnsPairer::new(PairerConfig::default());
        let mut out = Vec::new();
        for index in 0..20_000u16 {
            let port = 1024 + index % 30_000;
            pairer.push(
                message(index, false, "a.example"),
                dns(0, port, false),
                &mut out,
            );
            pairer.push(
                message(index, true, "a.example"),
                dns(0, port, true),
                &mut out,
            );
        }
        assert_eq!(out.len(), 20_000);
        assert!(
            pairer.arrivals.len() <= 2 * 1024 + 1,
            "{}",
            pairer.arrivals.len()
        );
    }
}
