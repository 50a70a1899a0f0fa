//! UTC hours as plain numbers: hours since 1970-01-01T00, to and from `YYYY-MM-DD-HH`.
//!
//! CloudFront names each log object after the UTC hour its requests fall in, so a range of
//! hours is a range of integers, and every hour gives one key prefix.

use onebox::civil::{civil_from_days, days_from_civil, is_date};

fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Parses `YYYY-MM-DD` into a day number.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let y = number(parts.next()?, 4)?;
    let m = number(parts.next()?, 2)?;
    let d = number(parts.next()?, 2)?;
    if parts.next().is_some() {
        return None;
    }
    is_date(y.into(), m, d).then(|| days_from_civil(y.into(), m, d))
}

/// Parses an hour given as `YYYY-MM-DDTHH` (also `YYYY-MM-DD-HH`, as in log names, or a bare
/// date, meaning its first hour).
pub fn parse_hour(text: &str) -> Option<i64> {
    if text.len() == 10 {
        return parse_date(text).map(|d| d * 24);
    }
    if text.len() != 13 || !matches!(text.as_bytes()[10], b'T' | b'-') {
        return None;
    }
    let day = parse_date(&text[..10])?;
    let h = number(&text[11..], 2)?;
    (h < 24).then_some(day * 24 + h as i64)
}

/// An hour as CloudFront writes it in log names: `YYYY-MM-DD-HH`.
pub fn format_hour(hour: i64) -> String {
    let (y, m, d) = civil_from_days(hour.div_euclid(24));
    format!("{y:04}-{m:02}-{d:02}-{:02}", hour.rem_euclid(24))
}

/// Seconds since the epoch as RFC 3339 UTC (`2017-01-15T13:05:10Z`).
pub fn format_rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_and_format() {
        let h = parse_hour("2017-01-15T13").unwrap();
        assert_eq!(format_hour(h), "2017-01-15-13");
        assert_eq!(parse_hour("2017-01-15-13"), Some(h));
        assert_eq!(parse_hour("2017-01-15"), Some(h - 13));
        assert_eq!(format_hour(h + 11), "2017-01-16-00");
        for bad in [
            "2017-01-15T24",
            "2017-02-29",
            "2017-13-01",
            "17-01-15",
            "2017-01-15T1",
        ] {
            assert_eq!(parse_hour(bad), None, "{bad}");
        }
        assert!(parse_date("2016-02-29").is_some());
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_484_485_510), "2017-01-15T13:05:10Z");
    }
}
