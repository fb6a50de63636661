//! Triage list and rule files of any bytes: building either fails with an
//! error or yields an engine that scores a line without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_detect::http::triage::{Triage, TriageConfig};
use picket_event::HttpEvent;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (list, value) = text
        .split_once('\u{0}')
        .unwrap_or((&text, "www.example.com"));

    let dir = std::env::temp_dir().join(format!("picket-fuzz-triage-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() || std::fs::write(dir.join("list.txt"), list).is_err()
    {
        return;
    }
    let kind = ["exact", "suffix", "cidr", "regex"][usize::from(selector % 4)];
    let field = ["domain", "client_ip", "url", "user_agent"][usize::from(selector / 4 % 4)];
    let config = serde_json::json!({
        "checks": [{"field": field, "list": "list.txt", "match": kind, "labels": selector % 5 + 1, "weight": -7}],
        "extract": [{"rules_file": "list.txt"}],
    });
    let Ok(config) = serde_json::from_value::<TriageConfig>(config) else {
        return;
    };
    if let Ok(triage) = Triage::build(&config, &dir) {
        let event = HttpEvent {
            host: Some(value.to_owned()),
            url: value.to_owned(),
            user_agent: Some(value.to_owned()),
            client_ip: value.parse().ok(),
            ..HttpEvent::default()
        };
        let scored = triage.score(&event, value);
        assert!(scored.score == 0 || scored.score == -7);
    }
});
