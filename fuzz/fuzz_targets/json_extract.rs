//! The NDJSON path extractor on any bytes: never panics, and agrees with serde_json on which
//! lines are JSON objects (serde_json's extra range checks on numbers and surrogates aside).
#![no_main]

use libfuzzer_sys::fuzz_target;
use onebox::json::{Extractor, JsonValue, Paths};

#[derive(Clone, Copy, Default)]
struct Slot<'a>(Option<JsonValue<'a>>);

impl<'a> From<JsonValue<'a>> for Slot<'a> {
    fn from(v: JsonValue<'a>) -> Self {
        Slot(Some(v))
    }
}

fuzz_target!(|line: &[u8]| {
    let paths = Paths::new(&["a", "a.b", "b.0", "\"x.y\".z"]).unwrap();
    let mut slots = [Slot::default(); 4];
    let mut ex = Extractor::default();
    let ours = ex.extract(line, &paths, &mut slots);
    if ours.is_ok() {
        let mut text = Vec::new();
        for v in slots.iter().filter_map(|s| s.0) {
            v.write_text(&mut text);
            v.write_json(&mut text);
        }
    }
    let _ = ex.validate(line);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
        assert_eq!(ours.is_ok(), v.is_object(), "serde_json reads {v}");
    }
});
