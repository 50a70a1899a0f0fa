//! Database values as geoip-enrich writes them: a borrowed scalar decoded straight from the
//! mapped database, rendered once as JSON and as a TSV cell.

use std::fmt;

use onebox::json;
use onebox::tsv;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Any value found at a record path. Strings are borrowed from the database; maps and arrays
/// (only reached by `--add` paths that stop early) are kept as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Any<'a> {
    Str(&'a str),
    Owned(String),
    U64(u64),
    U128(u128),
    I64(i64),
    F64(f64),
    F32(f32),
    Bool(bool),
    Json(serde_json::Value),
}

impl Any<'_> {
    /// Appends the value as JSON text; `false` when it has no JSON form (a NaN).
    pub fn write_json(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Any::Str(s) => json::write_string(s.as_bytes(), out),
            Any::Owned(s) => json::write_string(s.as_bytes(), out),
            Any::Json(v) => out.extend_from_slice(v.to_string().as_bytes()),
            _ => return self.write_scalar(out),
        }
        true
    }

    /// Appends the value as an escaped TSV cell.
    pub fn write_tsv(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Any::Str(s) => tsv::escape_into(s.as_bytes(), out),
            Any::Owned(s) => tsv::escape_into(s.as_bytes(), out),
            Any::Json(serde_json::Value::String(s)) => tsv::escape_into(s.as_bytes(), out),
            Any::Json(v) => tsv::escape_into(v.to_string().as_bytes(), out),
            _ => return self.write_scalar(out),
        }
        true
    }

    fn write_scalar(&self, out: &mut Vec<u8>) -> bool {
        match *self {
            Any::U64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Any::U128(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Any::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Any::F64(f) if f.is_finite() => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes())
            }
            Any::F32(f) if f.is_finite() => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes())
            }
            Any::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            _ => return false,
        }
        true
    }
}

impl<'de> Deserialize<'de> for Any<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MaxMind DB value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Any<'de>, E> {
        Ok(Any::Str(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Any<'de>, E> {
        Ok(Any::Owned(v.to_string()))
    }
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Any<'de>, E> {
        Ok(Any::Owned(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Any<'de>, E> {
        Ok(Any::Owned(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Any<'de>, E> {
        Ok(Any::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Any<'de>, E> {
        Ok(Any::U64(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Any<'de>, E> {
        Ok(Any::U128(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Any<'de>, E> {
        Ok(Any::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Any<'de>, E> {
        Ok(Any::F64(v))
    }
    fn visit_f32<E: de::Error>(self, v: f32) -> Result<Any<'de>, E> {
        Ok(Any::F32(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Any<'de>, A::Error> {
        serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Any::Json)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Any<'de>, A::Error> {
        serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Any::Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(v: Any<'_>) -> (String, String) {
        let (mut j, mut t) = (Vec::new(), Vec::new());
        v.write_json(&mut j);
        v.write_tsv(&mut t);
        (String::from_utf8(j).unwrap(), String::from_utf8(t).unwrap())
    }

    #[test]
    fn renders_each_kind() {
        assert_eq!(both(Any::Str("a\tb")), ("\"a\\tb\"".into(), "a\\tb".into()));
        assert_eq!(
            both(Any::F64(58.4167)),
            ("58.4167".into(), "58.4167".into())
        );
        assert_eq!(both(Any::F32(1.1)), ("1.1".into(), "1.1".into()));
        assert_eq!(both(Any::U64(29518)), ("29518".into(), "29518".into()));
        let obj = Any::Json(serde_json::json!({"en": "x"}));
        assert_eq!(
            both(obj),
            ("{\"en\":\"x\"}".into(), "{\"en\":\"x\"}".into())
        );
        assert!(!Any::F64(f64::NAN).write_json(&mut Vec::new()));
    }
}
