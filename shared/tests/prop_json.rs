//! Property tests of the NDJSON path extractor against serde_json, the reference parser.
//!
//! Random documents are built as `serde_json::Value`s, written out (compact or pretty, so
//! whitespace varies), and every path the extractor is asked for must be found exactly where
//! serde_json finds it, with the same value. Mutated documents check that the extractor rejects
//! what serde_json rejects, and arbitrary bytes check that nothing panics.

use onebox::json::{Extractor, JsonValue, Kind, Paths};
use proptest::prelude::*;
use serde_json::Value;

/// Keys drawn from a small alphabet so that random paths often hit; some need JSON escapes,
/// one holds a dot (addressed with a quoted path segment), one is non-ASCII.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[abc]{1,2}",
        Just("a.b".to_string()),
        Just("tab\there".to_string()),
        Just("é€".to_string()),
        Just("0".to_string()),
        Just("1".to_string()),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        // Strings with quotes, backslashes, controls and astral characters (surrogate pairs).
        "[a-z\"\\\\\u{0}-\u{1f}é😀 ]{0,8}".prop_map(Value::String),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    let value = scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::vec((key(), value), 0..6).prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// A path of up to 3 segments, as the user would type it (dotted segments quoted).
fn path() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(key(), 1..4)
}

fn path_text(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| {
            if s.contains('.') {
                format!("\"{s}\"")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// What serde_json finds at `segments`: object members by key, array elements by their
/// decimal index written without leading zeros (as the extractor compares them).
fn lookup<'v>(doc: &'v Value, segments: &[String]) -> Option<&'v Value> {
    let mut at = doc;
    for s in segments {
        at = match at {
            Value::Object(m) => m.get(s)?,
            Value::Array(a) => {
                let i: usize = s.parse().ok()?;
                if i.to_string() != *s {
                    return None;
                }
                a.get(i)?
            }
            _ => return None,
        };
    }
    Some(at)
}

#[derive(Clone, Copy, Default)]
struct Slot<'a>(Option<JsonValue<'a>>);

impl<'a> From<JsonValue<'a>> for Slot<'a> {
    fn from(v: JsonValue<'a>) -> Self {
        Slot(Some(v))
    }
}

/// The extracted value read back as a serde_json value.
fn as_serde(v: &JsonValue<'_>) -> Value {
    let mut text = Vec::new();
    v.write_json(&mut text);
    serde_json::from_slice(&text).expect("an extracted value is valid JSON")
}

/// A byte-level mutation of a valid document: delete, insert or replace one byte.
fn mutate(mut text: Vec<u8>, op: u8, at: usize, byte: u8) -> Vec<u8> {
    if text.is_empty() {
        return vec![byte];
    }
    let at = at % text.len();
    match op % 3 {
        0 => {
            text.remove(at);
        }
        1 => text.insert(at, byte),
        _ => text[at] = byte,
    }
    text
}

/// Lines serde_json rejects for reasons the extractor deliberately does not check (it only
/// validates syntax): numbers beyond f64's range and lone UTF-16 surrogates in `\u` escapes.
fn serde_only_rejection(err: &serde_json::Error) -> bool {
    let msg = err.to_string();
    msg.contains("number out of range") || msg.contains("surrogate")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn extractor_finds_what_serde_json_finds(
        doc in document(),
        pretty in any::<bool>(),
        mut paths in prop::collection::vec(path(), 1..6),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        // Add paths that exist in the document, so hits are not left to chance.
        let obj = doc.as_object().unwrap();
        for pick in picks {
            if !obj.is_empty() {
                let (k, v) = obj.iter().nth(pick.index(obj.len())).unwrap();
                let mut p = vec![k.clone()];
                if let Some((k2, _)) = v.as_object().and_then(|m| m.iter().next()) {
                    p.push(k2.clone());
                }
                paths.push(p);
            }
        }
        let line = if pretty {
            serde_json::to_vec_pretty(&doc).unwrap()
        } else {
            serde_json::to_vec(&doc).unwrap()
        };
        // The reference is the line as serde_json reads it back (its float parsing is not
        // always round-trip exact, which is no concern of the extractor: it keeps the text).
        let doc: Value = serde_json::from_slice(&line).unwrap();
        let texts: Vec<String> = paths.iter().map(|p| path_text(p)).collect();
        let compiled = Paths::new(&texts).unwrap();
        let mut slots = vec![Slot::default(); texts.len()];
        Extractor::default().extract(&line, &compiled, &mut slots).unwrap();
        for (segments, slot) in paths.iter().zip(&slots) {
            let expected = lookup(&doc, segments);
            match (expected, slot.0) {
                (None, None) => {}
                (Some(want), Some(got)) => {
                    prop_assert_eq!(&as_serde(&got), want, "path {:?}", segments);
                    if let Value::String(s) = want {
                        prop_assert_eq!(got.kind, Kind::String);
                        let mut decoded = Vec::new();
                        got.write_text(&mut decoded);
                        prop_assert_eq!(decoded, s.as_bytes());
                    }
                }
                (want, got) => prop_assert!(false, "path {:?}: serde {:?}, extractor {:?}", segments, want, got),
            }
        }
    }

    #[test]
    fn extractor_rejects_what_serde_json_rejects(
        doc in document(),
        op in any::<u8>(),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let line = mutate(serde_json::to_vec(&doc).unwrap(), op, at, byte);
        let paths = Paths::new(&["a", "b.c"]).unwrap();
        let mut slots = vec![Slot::default(); 2];
        let ours = Extractor::default().extract(&line, &paths, &mut slots);
        let reference = serde_json::from_slice::<Value>(&line);
        match (&ours, &reference) {
            (Ok(()), Ok(v)) => prop_assert!(v.is_object()),
            (Err(e), Ok(v)) => prop_assert!(
                e.reason == "not_object" && !v.is_object(),
                "serde_json accepts {:?} but the extractor says {}", String::from_utf8_lossy(&line), e
            ),
            (Ok(()), Err(e)) => prop_assert!(
                serde_only_rejection(e),
                "the extractor accepts {:?} but serde_json says {}", String::from_utf8_lossy(&line), e
            ),
            (Err(_), Err(_)) => {}
        }
        // validate() agrees with extract() on whether the text is JSON at all.
        let valid = Extractor::default().validate(&line);
        prop_assert_eq!(valid.is_ok(), ours.is_ok() || ours.unwrap_err().reason == "not_object");
    }

    #[test]
    fn arbitrary_bytes_never_panic(line in prop::collection::vec(any::<u8>(), 0..256)) {
        let paths = Paths::new(&["a", "a.b", "0"]).unwrap();
        let mut slots = vec![Slot::default(); 3];
        let mut ex = Extractor::default();
        if ex.extract(&line, &paths, &mut slots).is_ok() {
            for v in slots.iter().filter_map(|s| s.0) {
                let mut text = Vec::new();
                v.write_text(&mut text);
            }
        }
        let _ = ex.validate(&line);
        let mut out = Vec::new();
        onebox::json::write_string(&line, &mut out);
        let back: String = serde_json::from_slice(&out).expect("write_string writes a JSON string");
        prop_assert_eq!(back, String::from_utf8_lossy(&line));
    }
}
