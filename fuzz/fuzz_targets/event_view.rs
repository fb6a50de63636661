//! The borrowed event view on arbitrary stored-record bytes. A record the
//! view reads is also decoded whole, as a hunt does for a hit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_event::{Event, codec, decode_view};

fuzz_target!(|data: &[u8]| {
    if let Ok(view) = decode_view(data) {
        let _ = view.timestamp();
        let _ = view.forwarded_addresses().count();
        let _ = view.answer_values().count();
        let _ = codec::decode::<Event>(data);
    }
});
