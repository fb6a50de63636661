//! The server name of a TLS ClientHello (RFC 8446 section 4.1.2, RFC 6066
//! section 3), gathered over as many records and segments as it spans.

/// Outcome of reading a ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hello {
    /// More bytes are needed.
    NeedMore,
    /// A ClientHello, with its server name if it had one.
    ServerName(Option<String>),
    /// The bytes are TLS but the ClientHello does not parse (or is larger
    /// than the limit).
    Malformed,
    /// The bytes are not a TLS handshake.
    NotTls,
}

/// Collects the client's first bytes until the ClientHello is whole.
#[derive(Debug, Default)]
pub struct ClientHelloReader {
    buf: Vec<u8>,
    done: bool,
}

/// Record content type of handshake messages.
const HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 1;
/// Extension number of server_name.
const SERVER_NAME: u16 = 0;

/// Reports whether `data` starts like a TLS handshake record (SSL 3.0 to TLS 1.3
/// all put 3 in the version's first byte).
pub fn looks_like_tls(data: &[u8]) -> bool {
    matches!(data, [HANDSHAKE, 3, minor, ..] if *minor <= 4)
        || matches!(data, [HANDSHAKE] | [HANDSHAKE, 3])
}

impl ClientHelloReader {
    /// Reports whether a result was already given (later bytes are ignored).
    pub fn done(&self) -> bool {
        self.done
    }

    /// Adds client bytes; gives a result once, then `NeedMore` forever.
    pub fn feed(&mut self, data: &[u8], max_bytes: usize) -> Hello {
        if self.done {
            return Hello::NeedMore;
        }
        let outcome = if self.buf.is_empty() {
            parse(data)
        } else {
            Hello::NeedMore
        };
        let outcome = match outcome {
            Hello::NeedMore => {
                let room = max_bytes.saturating_sub(self.buf.len());
                self.buf.extend_from_slice(&data[..data.len().min(room)]);
                match parse(&self.buf) {
                    Hello::NeedMore if self.buf.len() >= max_bytes => Hello::Malformed,
                    other => other,
                }
            }
            other => other,
        };
        if outcome != Hello::NeedMore {
            self.done = true;
            self.buf = Vec::new();
        }
        outcome
    }

    /// Gives up at the end of the stream: a partial ClientHello is malformed.
    pub fn finish(&mut self) -> Hello {
        if self.done || self.buf.is_empty() {
            return Hello::NeedMore;
        }
        self.done = true;
        Hello::Malformed
    }
}

/// Parses records from the start of the stream into one handshake message.
fn parse(data: &[u8]) -> Hello {
    // Records: content type (1), version (2), length (2), fragment.
    let mut handshake = Vec::new();
    let mut at = 0;
    loop {
        let Some(header) = data.get(at..at + 5) else {
            return if at == 0 && !looks_like_tls(data) {
                Hello::NotTls
            } else {
                Hello::NeedMore
            };
        };
        if header[0] != HANDSHAKE || header[1] != 3 {
            return if at == 0 {
                Hello::NotTls
            } else {
                Hello::Malformed
            };
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some(fragment) = data.get(at + 5..at + 5 + len) else {
            // The rest of this record has not arrived; parse what has when
            // it is the only record, to finish early for large hellos.
            let partial = &data[at + 5..];
            handshake.extend_from_slice(partial);
            return match client_hello(&handshake) {
                Some(result) => result,
                None => Hello::NeedMore,
            };
        };
        handshake.extend_from_slice(fragment);
        at += 5 + len;
        if let Some(result) = client_hello(&handshake) {
            return result;
        }
    }
}

/// Parses a ClientHello handshake message; `None` when it is incomplete.
fn client_hello(msg: &[u8]) -> Option<Hello> {
    // Handshake header: type (1), length (3).
    let header = msg.get(..4)?;
    if header[0] != CLIENT_HELLO {
        return Some(Hello::Malformed);
    }
    let len = usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
    let body = msg.get(4..4 + len)?;
    Some(match server_name(body) {
        Some(name) => Hello::ServerName(name),
        None => Hello::Malformed,
    })
}

/// Reads the ClientHello body to its server_name extension. `None` when the
/// body is malformed, `Some(None)` when it has no server name.
fn server_name(body: &[u8]) -> Option<Option<String>> {
    let mut r = Cursor { data: body, at: 0 };

    // legacy_version (2), random (32).
    r.skip(2 + 32)?;
    // legacy_session_id <0..32>.
    let n = usize::from(r.u8()?);
    r.skip(n)?;
    // cipher_suites <2..2^16-2>.
    let n = usize::from(r.u16()?);
    r.skip(n)?;
    // legacy_compression_methods <1..2^8-1>.
    let n = usize::from(r.u8()?);
    r.skip(n)?;
    // extensions <8..2^16-1>, absent in old clients.
    if r.at == body.len() {
        return Some(None);
    }
    let n = usize::from(r.u16()?);
    let mut ext = Cursor {
        data: r.take(n)?,
        at: 0,
    };

    while ext.at < ext.data.len() {
        let kind = ext.u16()?;
        let len = usize::from(ext.u16()?);
        let data = ext.take(len)?;
        if kind != SERVER_NAME {
            continue;
        }
        // ServerNameList: length (2), then name_type (1), length (2), name.
        let mut list = Cursor { data, at: 0 };
        let n = usize::from(list.u16()?);
        let mut names = Cursor {
            data: list.take(n)?,
            at: 0,
        };
        while names.at < names.data.len() {
            let name_type = names.u8()?;
            let n = usize::from(names.u16()?);
            let name = names.take(n)?;
            if name_type == 0 {
                let text = String::from_utf8_lossy(name);
                return Some(Some(picket_event::dns::normalize_name(&text)));
            }
        }
        return Some(None);
    }
    Some(None)
}

/// A bounds-checked reader over a byte slice.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Builds a minimal ClientHello record carrying `sni`, for tests and the
/// capture generator.
pub fn build_client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni_ext.push(0);
    sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni_ext.extend_from_slice(name);

    let mut exts = Vec::new();
    exts.extend_from_slice(&SERVER_NAME.to_be_bytes());
    exts.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
    exts.extend_from_slice(&sni_ext);

    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);

    let mut hs = vec![CLIENT_HELLO];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);

    let mut record = vec![HANDSHAKE, 3, 1];
    record.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    record.extend_from_slice(&hs);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_hello() {
        let mut r = ClientHelloReader::default();
        let hello = build_client_hello("Www.Example.COM.");
        assert_eq!(
            r.feed(&hello, 16384),
            Hello::ServerName(Some("www.example.com".into()))
        );
    }

    #[test]
    fn hello_split_across_segments() {
        let hello = build_client_hello("split.example");
        for cut in 1..hello.len() {
            let mut r = ClientHelloReader::default();
            assert_eq!(
                r.feed(&hello[..cut], 16384),
                Hello::NeedMore,
                "cut at {cut}"
            );
            assert_eq!(
                r.feed(&hello[cut..], 16384),
                Hello::ServerName(Some("split.example".into()))
            );
        }
    }

    #[test]
    fn not_tls_and_truncations() {
        let mut r = ClientHelloReader::default();
        assert_eq!(r.feed(b"GET / HTTP/1.1\r\n", 16384), Hello::NotTls);
        let hello = build_client_hello("a.example");
        for cut in 0..hello.len() {
            let mut broken = hello.clone();
            broken[cut] ^= 0xff;
            let mut r = ClientHelloReader::default();
            let _ = r.feed(&broken, 16384);
            let _ = r.finish();
        }
    }
}
