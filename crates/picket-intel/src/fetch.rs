//! Downloading a feed: HTTP(S) with conditional GET, a timeout, retries
//! and a size cap, or a local file.

use std::path::Path;
use std::time::Duration;

use crate::error::IntelError;
use crate::rules::FeedRule;

/// What the last successful download said about its content, for the
/// next conditional request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` response header.
    pub etag: Option<String>,
    /// The `Last-Modified` response header (for a local file, its
    /// modification time in seconds).
    pub last_modified: Option<String>,
}

/// The result of a download.
#[derive(Debug)]
pub enum Fetched {
    /// New content, with its validators.
    Body {
        /// The bytes, at most the feed's `max-bytes`.
        bytes: Vec<u8>,
        /// For the next conditional request.
        validators: Validators,
    },
    /// The server returned 304 Not Modified, or the local file is unchanged.
    NotModified,
}

/// Settings of one download.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Extra attempts after a failure (network error or 5xx).
    pub retries: u32,
    /// Pause before the first retry. Doubled for each further one.
    pub retry_delay: Duration,
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Redirects followed. Default 5.
    pub max_redirects: u32,
}

impl FetchOptions {
    /// Builds the options of a feed rule, with a 1-second first retry delay.
    pub fn from_rule(rule: &FeedRule) -> Self {
        FetchOptions {
            timeout: rule.timeout,
            retries: rule.retries,
            retry_delay: Duration::from_secs(1),
            max_bytes: rule.max_bytes,
            max_redirects: 5,
        }
    }
}

/// Downloads `remote` (an http(s) URL or a local path), sending the
/// validators of the last success so an unchanged feed costs a 304.
pub fn fetch(remote: &str, previous: &Validators, options: &FetchOptions) -> Result<Fetched, IntelError> {
    if !remote.starts_with("http://") && !remote.starts_with("https://") {
        return fetch_file(Path::new(remote), previous, options);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(options.timeout))
        .http_status_as_error(false)
        .max_redirects(options.max_redirects)
        .user_agent(concat!("picket/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut delay = options.retry_delay;
    let mut attempt = 0;
    loop {
        match fetch_once(&agent, remote, previous, options) {
            Ok(fetched) => return Ok(fetched),
            Err(Attempt::Final(reason)) => return Err(IntelError::Download { url: remote.to_owned(), reason }),
            Err(Attempt::Retry(reason)) if attempt >= options.retries => {
                return Err(IntelError::Download {
                    url: remote.to_owned(),
                    reason: format!("{reason} (after {} attempts)", attempt + 1),
                })
            }
            Err(Attempt::Retry(reason)) => {
                tracing::warn!(url = remote, attempt = attempt + 1, %reason, "feed download failed; retrying");
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}

/// Why one attempt failed, and whether another may help.
enum Attempt {
    Retry(String),
    Final(String),
}

fn fetch_once(agent: &ureq::Agent, url: &str, previous: &Validators, options: &FetchOptions) -> Result<Fetched, Attempt> {
    let mut request = agent.get(url);
    if let Some(etag) = &previous.etag {
        request = request.header("If-None-Match", etag);
    }
    if let Some(modified) = &previous.last_modified {
        request = request.header("If-Modified-Since", modified);
    }
    let mut response = request.call().map_err(|e| Attempt::Retry(e.to_string()))?;
    let status = response.status().as_u16();
    match status {
        304 => return Ok(Fetched::NotModified),
        200..=299 => {}
        500..=599 | 429 => return Err(Attempt::Retry(format!("HTTP {status}"))),
        _ => return Err(Attempt::Final(format!("HTTP {status}"))),
    }
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let validators = Validators { etag: header("etag"), last_modified: header("last-modified") };
    let bytes = response
        .body_mut()
        .with_config()
        .limit(options.max_bytes)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(limit) => Attempt::Final(format!("body exceeds the limit of {limit} bytes")),
            other => Attempt::Retry(other.to_string()),
        })?;
    Ok(Fetched::Body { bytes, validators })
}

fn fetch_file(path: &Path, previous: &Validators, options: &FetchOptions) -> Result<Fetched, IntelError> {
    let meta = std::fs::metadata(path).map_err(|source| IntelError::Io { path: path.to_owned(), source })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()));
    if modified.is_some() && modified == previous.last_modified {
        return Ok(Fetched::NotModified);
    }
    let bytes = crate::load::read_capped(path, options.max_bytes)?;
    Ok(Fetched::Body { bytes, validators: Validators { etag: None, last_modified: modified } })
}
