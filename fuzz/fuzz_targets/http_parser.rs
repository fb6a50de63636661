//! The HTTP/1.x parsers: request and response heads, chunked and
//! compressed bodies, and whole sessions over TCP. The first byte picks
//! which; a session splits the rest at `|` bytes into segments sent by the
//! client and the server in turn.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use picket_decode::capture::Frame;
use picket_decode::http::body::{BodyLimits, BodyReader, ChunkState, Coding, Framing};
use picket_decode::http::head;
use picket_decode::{DecodeConfig, PacketDecoder};
use picket_event::Timestamp;

const LIMITS: BodyLimits = BodyLimits { max_hash: 1 << 16, max_decompressed: 1 << 16 };

/// Builds an IPv4 + TCP packet (LINKTYPE_RAW) carrying `payload`.
fn packet(from_client: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 80u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
    };
    let total = (40 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 5 {
        0 => {
            let _ = head::parse_request(rest);
        }
        1 => {
            let _ = head::parse_response(rest);
        }
        2 => {
            let mut body = BodyReader::new(Framing::Chunked(ChunkState::Size(Vec::new())), Coding::Identity, true, LIMITS);
            for piece in rest.chunks(7) {
                body.feed(piece);
            }
            let _ = body.finish(true);
        }
        3 => {
            // The first byte picks the coding and the size of the pieces the
            // body arrives in, so that decoder state crosses piece boundaries.
            let Some((&shape, body_bytes)) = rest.split_first() else { return };
            let coding = if shape & 1 == 0 { Coding::Gzip } else { Coding::Deflate };
            let piece = usize::from(shape >> 1).max(1);
            let mut body = BodyReader::new(Framing::Close, coding, true, LIMITS);
            for part in body_bytes.chunks(piece) {
                body.feed(part);
            }
            let _ = body.finish(true);
        }
        _ => {
            let mut decoder = PacketDecoder::new(DecodeConfig::default(), Arc::from("fuzz"));
            let mut seq = [1000u32, 5000u32];
            let mut frames = vec![packet(true, 999, 0x02, b""), packet(false, 4999, 0x12, b"")];
            for (i, piece) in rest.split(|&b| b == b'|').enumerate() {
                let side = i % 2;
                frames.push(packet(side == 0, seq[side], 0x18, piece));
                seq[side] = seq[side].wrapping_add(piece.len() as u32);
            }
            for (i, f) in frames.iter().enumerate() {
                decoder.frame(Frame { linktype: 101, timestamp: Timestamp::from_nanos(i as i64), number: i as u64 + 1, offset: 0, data: f });
            }
            decoder.finish();
            while decoder.pop().is_some() {}
        }
    }
});
