//! The top-level members of an NDJSON object, in order, as borrowed values.
//!
//! Used when the columns are "the first record's fields": every record is walked once, each
//! member's key looked up among the columns and its value kept as a span of the line. Values
//! are skipped (and validated) with the shared [`Extractor`], so a line that is not one valid
//! JSON object is reported with the same reason tokens as everywhere else.

use onebox::json::{self, Extractor, JsonValue, Kind};

/// Calls `member(key, value)` for each top-level member of the object on `line`. `key` is
/// decoded (escapes resolved). Returns the reject reason when the line is not one valid JSON
/// object.
pub fn for_each_member<'a>(
    extractor: &mut Extractor,
    key_buf: &mut Vec<u8>,
    line: &'a [u8],
    mut member: impl FnMut(&[u8], JsonValue<'a>),
) -> Result<(), &'static str> {
    if std::str::from_utf8(line).is_err() {
        return Err("invalid_utf8");
    }
    let mut pos = skip_ws(line, 0);
    if line.get(pos) != Some(&b'{') {
        // Valid JSON that is not an object has its own reason.
        let end = extractor.skip_value(line, pos).map_err(|e| e.reason)?;
        return Err(if skip_ws(line, end) == line.len() {
            "not_object"
        } else {
            "invalid_json"
        });
    }
    pos = skip_ws(line, pos + 1);
    if line.get(pos) == Some(&b'}') {
        return finish(line, pos + 1);
    }
    loop {
        if line.get(pos) != Some(&b'"') {
            return Err("invalid_json");
        }
        let key_end = extractor.skip_value(line, pos).map_err(|e| e.reason)?;
        let raw_key = &line[pos + 1..key_end - 1];
        let key: &[u8] = if memchr::memchr(b'\\', raw_key).is_some() {
            key_buf.clear();
            json::unescape_into(raw_key, key_buf);
            key_buf
        } else {
            raw_key
        };
        pos = skip_ws(line, key_end);
        if line.get(pos) != Some(&b':') {
            return Err("invalid_json");
        }
        pos = skip_ws(line, pos + 1);
        let end = extractor.skip_value(line, pos).map_err(|e| e.reason)?;
        member(key, value_of(&line[pos..end]));
        pos = skip_ws(line, end);
        match line.get(pos) {
            Some(b',') => pos = skip_ws(line, pos + 1),
            Some(b'}') => return finish(line, pos + 1),
            _ => return Err("invalid_json"),
        }
    }
}

/// Only whitespace may follow the object.
fn finish(line: &[u8], pos: usize) -> Result<(), &'static str> {
    if skip_ws(line, pos) == line.len() {
        Ok(())
    } else {
        Err("invalid_json")
    }
}

/// A validated value's span as a [`JsonValue`] (strings without their quotes).
fn value_of(span: &[u8]) -> JsonValue<'_> {
    let kind = match span[0] {
        b'"' => Kind::String,
        b'{' => Kind::Object,
        b'[' => Kind::Array,
        b't' | b'f' => Kind::Bool,
        b'n' => Kind::Null,
        _ => Kind::Number,
    };
    if kind == Kind::String {
        let raw = &span[1..span.len() - 1];
        JsonValue {
            kind,
            raw,
            escaped: memchr::memchr(b'\\', raw).is_some(),
        }
    } else {
        JsonValue {
            kind,
            raw: span,
            escaped: false,
        }
    }
}

fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(pos) {
        pos += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(line: &str) -> Result<Vec<(String, String)>, &'static str> {
        let mut ex = Extractor::default();
        let mut key_buf = Vec::new();
        let mut got = Vec::new();
        for_each_member(&mut ex, &mut key_buf, line.as_bytes(), |k, v| {
            let mut text = Vec::new();
            v.write_text(&mut text);
            got.push((
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(text).unwrap(),
            ));
        })?;
        Ok(got)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn members_in_order_with_decoded_keys_and_values() {
        assert_eq!(
            members(r#" { "a" : 1, "b\"k": "x\ny", "n": null, "o": {"p": [1, 2]}, "t": true } "#)
                .unwrap(),
            pairs(&[
                ("a", "1"),
                ("b\"k", "x\ny"),
                ("n", ""),
                ("o", r#"{"p":[1,2]}"#),
                ("t", "true")
            ])
        );
        assert_eq!(members("{}").unwrap(), pairs(&[]));
    }

    #[test]
    fn invalid_lines_have_reasons() {
        assert_eq!(members("[1,2]").unwrap_err(), "not_object");
        assert_eq!(members("\"s\"").unwrap_err(), "not_object");
        for bad in [
            "{",
            "{\"a\"}",
            "{\"a\":1,}",
            "{\"a\":1} x",
            "{a:1}",
            "",
            "{\"a\":1]",
        ] {
            assert_eq!(members(bad).unwrap_err(), "invalid_json", "{bad}");
        }
        let mut ex = Extractor::default();
        let err = for_each_member(&mut ex, &mut Vec::new(), b"{\"a\":\"\xff\"}", |_, _| {});
        assert_eq!(err.unwrap_err(), "invalid_utf8");
    }
}
