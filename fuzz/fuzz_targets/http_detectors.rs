//! Squid lines of any bytes, parsed and fed to every HTTP detector: no
//! panic, every score in [0, 1].
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_detect::http::{HttpConfig, detectors};
use picket_sources::{Format, ReaderConfig, read_all};

fuzz_target!(|data: &[u8]| {
    let (events, _, _) = read_all(data, Format::Squid, &ReaderConfig::default());
    let mut all = detectors(&HttpConfig::default());
    let mut alerts = Vec::new();
    for event in &events {
        for detector in &mut all {
            detector.observe(event, &[], &mut alerts);
        }
    }
    for detector in &mut all {
        detector.finish(&mut alerts);
    }
    assert!(alerts.iter().all(|a| (0.0..=1.0).contains(&a.score)));
});
