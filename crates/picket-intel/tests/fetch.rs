//! Downloads against a small HTTP server on 127.0.0.1 started by the test:
//! conditional GET, retries on 5xx, the size cap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use picket_intel::{fetch, FetchOptions, Fetched, Validators};

/// Serves forever on a background thread: `/list` with an ETag (304 when
/// it matches), `/flaky` failing twice with 503 then 200, `/big` 4 KiB,
/// `/gone` 404. Returns the base URL and the request counter.
fn serve() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        let mut flaky = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut if_none_match = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("if-none-match") {
                        if_none_match = Some(value.trim().to_owned());
                    }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let (status, headers, body): (&str, String, Vec<u8>) = match path.as_str() {
                "/list" if if_none_match.as_deref() == Some("\"v1\"") => ("304 Not Modified", String::new(), Vec::new()),
                "/list" => ("200 OK", "ETag: \"v1\"\r\n".into(), b"192.0.2.1\nevil.example\n".to_vec()),
                "/flaky" => {
                    flaky += 1;
                    if flaky <= 2 {
                        ("503 Service Unavailable", String::new(), Vec::new())
                    } else {
                        ("200 OK", String::new(), b"198.51.100.7\n".to_vec())
                    }
                }
                "/big" => ("200 OK", String::new(), vec![b'a'; 4096]),
                _ => ("404 Not Found", String::new(), Vec::new()),
            };
            let head = format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (base, count)
}

fn options() -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(10),
        retries: 2,
        retry_delay: Duration::from_millis(10),
        max_bytes: 1024,
        max_redirects: 0,
    }
}

#[test]
fn conditional_get_retries_and_cap() {
    let (base, count) = serve();

    let Fetched::Body { bytes, validators } = fetch(&format!("{base}/list"), &Validators::default(), &options()).unwrap() else {
        panic!("expected a body");
    };
    assert_eq!(bytes, b"192.0.2.1\nevil.example\n");
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    assert!(matches!(fetch(&format!("{base}/list"), &validators, &options()).unwrap(), Fetched::NotModified));

    let before = count.load(Ordering::SeqCst);
    let Fetched::Body { bytes, .. } = fetch(&format!("{base}/flaky"), &Validators::default(), &options()).unwrap() else {
        panic!("expected a body after retries");
    };
    assert_eq!(bytes, b"198.51.100.7\n");
    assert_eq!(count.load(Ordering::SeqCst) - before, 3);

    let err = fetch(&format!("{base}/big"), &Validators::default(), &options()).unwrap_err().to_string();
    assert!(err.contains("exceeds the limit"), "{err}");
    let err = fetch(&format!("{base}/gone"), &Validators::default(), &options()).unwrap_err().to_string();
    assert!(err.contains("HTTP 404"), "{err}");
}

#[test]
fn local_files_use_their_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.txt");
    std::fs::write(&path, "192.0.2.1\n").unwrap();
    let remote = path.display().to_string();
    let Fetched::Body { validators, .. } = fetch(&remote, &Validators::default(), &options()).unwrap() else {
        panic!("expected a body");
    };
    assert!(matches!(fetch(&remote, &validators, &options()).unwrap(), Fetched::NotModified));
}
