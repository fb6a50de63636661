//! [`SharedMatcher`]: the current matcher, swapped atomically on reload.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::Matcher;

/// The matcher every worker reads, replaced whole on reload.
///
/// Readers call [`SharedMatcher::current`] (a lock-free load) and keep the
/// returned `Arc` for as long as they need a stable view, such as one batch
/// of events. A reload calls [`SharedMatcher::replace`] with a matcher built
/// beside the old one. Readers never wait, and the old matcher is freed when
/// its last reader lets go.
#[derive(Debug)]
pub struct SharedMatcher {
    current: ArcSwap<Matcher>,
}

impl SharedMatcher {
    /// Starts with `matcher`.
    pub fn new(matcher: Matcher) -> Self {
        SharedMatcher {
            current: ArcSwap::from_pointee(matcher),
        }
    }

    /// Returns the matcher in force now.
    pub fn current(&self) -> Arc<Matcher> {
        self.current.load_full()
    }

    /// Matches `event` with the matcher in force now, as
    /// [`Matcher::match_event`] does. The load takes no lock and, in the
    /// common case, no reference count, so a reader may call this per event.
    pub fn match_event(&self, event: &picket_event::Event, hits: &mut Vec<picket_event::IntelHit>) {
        self.current.load().match_event(event, hits);
    }

    /// Starts loading the filter words that matching `event` reads into the
    /// cache, as [`Matcher::prefetch`] does, with the matcher in force now.
    pub fn prefetch(&self, event: &picket_event::Event) {
        self.current.load().prefetch(event);
    }

    /// Puts `matcher` in force and returns the one it replaces.
    pub fn replace(&self, matcher: Matcher) -> Arc<Matcher> {
        let old = self.current.swap(Arc::new(matcher));
        tracing::info!(
            indicators = self.current.load().len(),
            "swapped in a new indicator matcher"
        );
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MatcherBuilder;

    #[test]
    fn readers_keep_their_view_across_a_swap() {
        let shared = SharedMatcher::new(MatcherBuilder::new().build());
        let before = shared.current();
        let mut builder = MatcherBuilder::new();
        builder
            .add(&picket_intel::Indicator {
                kind: picket_intel::IndicatorKind::Ipv4,
                value: "192.0.2.1".into(),
                include_subdomains: false,
                match_substring: false,
                sightings: Vec::new(),
            })
            .unwrap();
        let old = shared.replace(builder.build());
        assert!(Arc::ptr_eq(&before, &old));
        assert_eq!(before.len(), 0);
        assert_eq!(shared.current().len(), 1);
    }

    #[test]
    fn matcher_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Matcher>();
        check::<SharedMatcher>();
    }
}
