//! Rebuilding the matcher while `analyze` runs (`--reload-intel SECS`), for
//! long reads such as a log followed on standard input.
//!
//! A thread wakes every interval and reads a fingerprint of the
//! intelligence: the size and modification time of each `--intel` file, and
//! counts and sums over the store's intelligence tables. When it changed,
//! the thread builds a new matcher beside the one in force and swaps it in.
//! The rebuild runs on that thread, so matching goes on meanwhile with the
//! matcher in force.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use picket_match::SharedMatcher;
use picket_output::RunSummary;
use picket_store::Store;
use rusqlite::params;
use tracing::{info, warn};

/// The thread that rebuilds the matcher; stopped when dropped.
pub struct Reloader {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Reloader {
    /// Starts the thread. `files` are the `--intel` files and `store` the
    /// store whose indicators the matcher also contains.
    pub fn start(
        shared: Arc<SharedMatcher>,
        files: Vec<PathBuf>,
        store: Option<PathBuf>,
        interval: Duration,
    ) -> anyhow::Result<Self> {
        let reader = store
            .map(|path| {
                Store::open_read_only(&path).with_context(|| {
                    format!(
                        "cannot open the store {} to reload intelligence",
                        path.display()
                    )
                })
            })
            .transpose()?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("intel-reload".into())
            .spawn(move || run(&shared, &files, reader.as_ref(), interval, &stopped))
            .context("cannot start the intelligence reload thread")?;
        Ok(Reloader {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checks the fingerprint every `interval` and rebuilds on a change, until
/// the sender of `stopped` is dropped.
fn run(
    shared: &SharedMatcher,
    files: &[PathBuf],
    store: Option<&Store>,
    interval: Duration,
    stopped: &mpsc::Receiver<()>,
) {
    let mut state = ReloadState {
        last: fingerprint(files, store).ok(),
        problem: None,
    };
    loop {
        match stopped.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        reload_if_changed(shared, files, store, &mut state);
    }
}

/// State the reload thread keeps from one check to the next.
struct ReloadState {
    /// Fingerprint of the intelligence the matcher in force was built from.
    last: Option<Fingerprint>,
    /// The failed check or rebuild last warned about. A problem that
    /// persists is warned about once, not at every check.
    problem: Option<String>,
}

impl ReloadState {
    /// Warns about `problem` unless it is the one warned about last.
    fn warn_once(&mut self, problem: String, message: &str) {
        if self.problem.as_deref() != Some(problem.as_str()) {
            warn!(error = %problem, "{message}");
            self.problem = Some(problem);
        }
    }

    /// Logs that the last problem warned about is gone.
    fn clear_problem(&mut self) {
        if self.problem.take().is_some() {
            info!("intelligence readable again");
        }
    }
}

/// Rebuilds the matcher and swaps it in when the fingerprint differs from
/// the last one. Returns true when a new matcher was swapped in. A failed
/// check or rebuild is logged and leaves the matcher in force.
fn reload_if_changed(
    shared: &SharedMatcher,
    files: &[PathBuf],
    store: Option<&Store>,
    state: &mut ReloadState,
) -> bool {
    let current = match fingerprint(files, store) {
        Ok(current) => current,
        Err(error) => {
            state.warn_once(
                format!("{error:#}"),
                "cannot check the intelligence for changes; matching goes on with the indicators in force until it is readable again",
            );
            return false;
        }
    };
    if state.last.as_ref() == Some(&current) {
        state.clear_problem();
        return false;
    }

    let files_changed = state
        .last
        .as_ref()
        .is_none_or(|last| last.files != current.files);
    let mut scratch = RunSummary::new();
    match super::intel::build_matcher(files, store, &mut scratch) {
        Ok(matcher) => {
            let indicators = matcher.len();
            let replaced = shared.replace(matcher);
            state.last = Some(current);
            state.clear_problem();
            // Expiry of the store's last indicators also empties the
            // matcher, but there is no file to blame then.
            if indicators == 0 && !replaced.is_empty() && files_changed {
                // A file rewritten in place can be read empty or half
                // written. The next check after the write rebuilds again.
                warn!(
                    before = replaced.len(),
                    "the reloaded intelligence holds no indicator; if a file was being rewritten, write a temporary file and rename it over the old one"
                );
            }
            info!(indicators, "intelligence changed, matcher reloaded");
            true
        }
        Err(error) => {
            state.warn_once(
                format!("{error:#}"),
                "intelligence reload failed; matching goes on with the indicators in force until it succeeds",
            );
            false
        }
    }
}

/// Summary of the inputs of the matcher, compared between checks.
#[derive(Debug, PartialEq)]
struct Fingerprint {
    /// Size and modification time of each `--intel` file.
    files: Vec<(u64, Option<SystemTime>)>,
    /// Counts and sums over the store's intelligence tables, and the number
    /// of indicators expired by now, so that expiry also triggers a rebuild.
    store: Option<[f64; 7]>,
}

fn fingerprint(files: &[PathBuf], store: Option<&Store>) -> anyhow::Result<Fingerprint> {
    let mut sizes = Vec::with_capacity(files.len());
    for path in files {
        let metadata = std::fs::metadata(path)
            .with_context(|| format!("cannot read the metadata of {}", path.display()))?;
        sizes.push((metadata.len(), metadata.modified().ok()));
    }

    let tables = match store {
        None => None,
        Some(store) => {
            Some(store_fingerprint(store).context("cannot read the store's intelligence")?)
        }
    };
    Ok(Fingerprint {
        files: sizes,
        store: tables,
    })
}

/// Returns counts and sums over the intelligence tables that change with
/// every pull, expiry, allow entry and warninglist, and with an import that
/// adds values or changes their times or confidence. An import that only
/// rewrites tags or a description with text of the same length is missed.
/// A store without intelligence tables gives zeros.
fn store_fingerprint(store: &Store) -> rusqlite::Result<[f64; 7]> {
    let conn = store.connection();
    let has_tables: bool = conn.query_row(
        "SELECT count(*) = 5 FROM sqlite_master WHERE type = 'table' AND name IN
         ('intel_indicators', 'intel_sightings', 'intel_allow', 'intel_warninglists', 'intel_feeds')",
        [],
        |r| r.get(0),
    )?;
    if !has_tables {
        return Ok([0.0; 7]);
    }

    let now = picket_event::Timestamp::from_jiff(jiff::Timestamp::now()).as_nanos();
    conn.query_row(
        "SELECT (SELECT count(*) FROM intel_indicators),
                (SELECT count(*) FROM intel_indicators WHERE expires_at <= ?1),
                (SELECT total(expires_at) + total(confidence) + total(length(tags))
                        + total(length(description)) FROM intel_sightings),
                (SELECT count(*) FROM intel_sightings),
                (SELECT count(*) FROM intel_allow),
                (SELECT total(length(body)) + count(*) FROM intel_warninglists),
                (SELECT total(last_attempt) FROM intel_feeds)",
        params![now],
        |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ])
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_event::{Event, HttpEvent};

    fn hits(shared: &SharedMatcher) -> usize {
        let event = Event::from(HttpEvent {
            host: Some("www.evil.example".into()),
            ..HttpEvent::default()
        });
        let mut hits = Vec::new();
        shared.match_event(&event, &mut hits);
        hits.len()
    }

    #[test]
    fn changed_file_swaps_matcher() {
        let Watched {
            _dir,
            feed,
            files,
            shared,
            mut state,
        } = watching("good.example\n");

        assert!(!reload_if_changed(&shared, &files, None, &mut state));
        assert_eq!(hits(&shared), 0);

        std::fs::write(&feed, "good.example\nevil.example\n").unwrap();
        assert!(reload_if_changed(&shared, &files, None, &mut state));
        assert_eq!(hits(&shared), 1);
        assert!(!reload_if_changed(&shared, &files, None, &mut state));
    }

    #[test]
    fn unreadable_file_keeps_matcher() {
        let Watched {
            _dir,
            feed,
            files,
            shared,
            mut state,
        } = watching("evil.example\n");

        std::fs::remove_file(&feed).unwrap();
        assert!(!reload_if_changed(&shared, &files, None, &mut state));
        assert_eq!(hits(&shared), 1, "the indicators in force stay");
    }

    /// A file that stays missing is warned about once, not at every check,
    /// and a file that comes back clears the warning.
    #[test]
    fn persistent_problem_warned_once() {
        let Watched {
            _dir,
            feed,
            files,
            shared,
            mut state,
        } = watching("evil.example\n");

        std::fs::remove_file(&feed).unwrap();
        reload_if_changed(&shared, &files, None, &mut state);
        let first = state.problem.clone();
        assert!(first.as_deref().is_some_and(|p| p.contains("feed.txt")));
        reload_if_changed(&shared, &files, None, &mut state);
        assert_eq!(state.problem, first);

        std::fs::write(&feed, "evil.example\nother.example\n").unwrap();
        assert!(reload_if_changed(&shared, &files, None, &mut state));
        assert_eq!(state.problem, None);
    }

    /// Runs `check` and returns what it logged.
    fn logged(check: impl FnOnce()) -> String {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogBuffer(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::with_default(subscriber, check);
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for LogBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An intel file read empty warns, because it may be half written. The
    /// store's last indicators expiring empties the matcher without it.
    #[test]
    fn emptied_file_warns_but_expiry_not() {
        let Watched {
            _dir,
            feed,
            files,
            shared,
            mut state,
        } = watching("evil.example\n");

        std::fs::write(&feed, "").unwrap();
        let log = logged(|| assert!(reload_if_changed(&shared, &files, None, &mut state)));
        assert_eq!(hits(&shared), 0);
        assert!(log.contains("holds no indicator"), "{log}");

        // The matcher in force contains indicators from the store,
        // and only the store's part of the fingerprint changed.
        std::fs::write(&feed, "evil.example\n").unwrap();
        shared.replace(build(&files));
        std::fs::write(&feed, "").unwrap();
        state.last = Some(Fingerprint {
            files: fingerprint(&files, None).unwrap().files,
            store: Some([1.0; 7]),
        });
        let log = logged(|| assert!(reload_if_changed(&shared, &files, None, &mut state)));
        assert_eq!(hits(&shared), 0);
        assert!(!log.contains("holds no indicator"), "{log}");
    }

    /// An intel file with its matcher in force and the reload state taken
    /// after it, as at the start of a run.
    struct Watched {
        _dir: tempfile::TempDir,
        feed: PathBuf,
        files: Vec<PathBuf>,
        shared: SharedMatcher,
        state: ReloadState,
    }

    fn watching(contents: &str) -> Watched {
        let dir = tempfile::tempdir().unwrap();
        let feed = dir.path().join("feed.txt");
        std::fs::write(&feed, contents).unwrap();
        let files = vec![feed.clone()];
        let shared = SharedMatcher::new(build(&files));
        let state = ReloadState {
            last: fingerprint(&files, None).ok(),
            problem: None,
        };
        Watched {
            _dir: dir,
            feed,
            files,
            shared,
            state,
        }
    }

    fn build(files: &[PathBuf]) -> picket_match::Matcher {
        super::super::intel::build_matcher(files, None, &mut RunSummary::new()).unwrap()
    }

    #[test]
    fn store_fingerprint_follows_intel_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let store = Store::open(&path).unwrap();
        assert_eq!(store_fingerprint(&store).unwrap(), [0.0; 7]);

        picket_store::intel::create_schema(store.connection()).unwrap();
        let empty = store_fingerprint(&store).unwrap();
        let observable = picket_intel::classify_observable("evil.example").unwrap();
        picket_store::intel::add_allow(store.connection(), &observable, "test", None).unwrap();
        assert_ne!(store_fingerprint(&store).unwrap(), empty);
    }
}
