//! The derived `timestamp` field (`YYYY-MM-DDTHH:MM:SSZ`) and `--since`/`--until` bounds.
//!
//! Timestamps of this one fixed shape sort as text in time order, so filters compare bytes.

use onebox::civil::{civil_from_days, is_date};

/// A timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
pub type Stamp = [u8; 20];

/// Builds the timestamp from CloudFront's `date` (YYYY-MM-DD) and `time` (HH:MM:SS); `None`
/// when either is not of that shape or not a real date and time of day.
#[inline]
pub fn from_date_time(date: &[u8], time: &[u8]) -> Option<Stamp> {
    if !is_real_date(date) || !is_real_time(date, time) {
        return None;
    }
    let mut s = *b"0000-00-00T00:00:00Z";
    s[..10].copy_from_slice(date);
    s[11..19].copy_from_slice(time);
    Some(s)
}

/// Builds the timestamp from epoch seconds (v2 logs' `timestamp` column; a fraction is cut).
pub fn from_epoch(text: &[u8]) -> Option<Stamp> {
    let whole = text.split(|&c| c == b'.').next()?;
    if whole.is_empty() || whole.len() > 12 || !whole.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs: i64 = std::str::from_utf8(whole).ok()?.parse().ok()?;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let text = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    text.as_bytes().try_into().ok()
}

/// Whether `date` is `YYYY-MM-DD` and a day of the calendar (not `2017-02-30`).
#[inline]
fn is_real_date(date: &[u8]) -> bool {
    shape(date, b"dddd-dd-dd")
        && is_date(
            number(&date[..4]).into(),
            number(&date[5..7]),
            number(&date[8..10]),
        )
}

/// Whether `time` is `HH:MM:SS` and a time of `date` (a real date). Second 60 exists only as
/// a leap second, 23:59:60 at the end of June or December (the only days UTC inserts one);
/// anywhere else it is no time, and readers downstream (DuckDB, Python) refuse it.
#[inline]
fn is_real_time(date: &[u8], time: &[u8]) -> bool {
    if !shape(time, b"dd:dd:dd") || number(&time[..2]) >= 24 || number(&time[3..5]) >= 60 {
        return false;
    }
    match number(&time[6..8]) {
        0..=59 => true,
        60 => &time[..5] == b"23:59" && matches!(&date[5..], b"06-30" | b"12-31"),
        _ => false,
    }
}

/// The value of a run of ASCII digits (checked by [`shape`]).
#[inline]
fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
}

/// Whether `s` matches `pattern`, where `d` is any ASCII digit and other bytes are literal.
fn shape(s: &[u8], pattern: &[u8]) -> bool {
    s.len() == pattern.len()
        && s.iter().zip(pattern).all(|(&c, &p)| match p {
            b'd' => c.is_ascii_digit(),
            p => c == p,
        })
}

/// Parses a `--since`/`--until` bound: `YYYY-MM-DD`, optionally followed by `T` or a space and
/// `HH:MM` or `HH:MM:SS`, optionally ending in `Z` (times are UTC). Missing parts are zero.
pub fn parse_bound(text: &str) -> Result<Stamp, String> {
    let bad = || {
        format!(
            "invalid time '{text}': expected UTC YYYY-MM-DD[THH:MM[:SS]][Z], e.g. 2024-10-11T22:00:00Z"
        )
    };
    let t = text.trim();
    let t = t.strip_suffix('Z').unwrap_or(t).as_bytes();
    let mut s = *b"0000-00-00T00:00:00Z";
    if t.len() < 10 || !is_real_date(&t[..10]) {
        return Err(bad());
    }
    s[..10].copy_from_slice(&t[..10]);
    let rest = &t[10..];
    match rest.len() {
        0 => {}
        6 | 9 if matches!(rest[0], b'T' | b't' | b' ') => {
            let hms = &rest[1..];
            let ok = if hms.len() == 5 {
                is_real_time(&t[..10], &[hms, b":00"].concat())
            } else {
                is_real_time(&t[..10], hms)
            };
            if !ok {
                return Err(bad());
            }
            s[11..11 + hms.len()].copy_from_slice(hms);
        }
        _ => return Err(bad()),
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_and_time_make_a_timestamp() {
        assert_eq!(
            &from_date_time(b"2019-12-04", b"21:02:31").unwrap(),
            b"2019-12-04T21:02:31Z"
        );
        assert!(from_date_time(b"2019-12-4", b"21:02:31").is_none());
        assert!(from_date_time(b"2019-12-04", b"-").is_none());
        // The shape is not enough: the date and time must exist.
        assert!(from_date_time(b"2020-02-29", b"23:59:59").is_some());
        assert!(from_date_time(b"2016-12-31", b"23:59:60").is_some());
        assert!(from_date_time(b"2015-06-30", b"23:59:60").is_some());
        for (date, time) in [
            ("2024-01-02", "12:30:60"),
            ("2020-02-29", "23:59:60"),
            ("2016-12-31", "23:58:60"),
            ("2017-13-45", "00:00:00"),
            ("2017-02-29", "00:00:00"),
            ("2017-04-31", "00:00:00"),
            ("2017-00-10", "00:00:00"),
            ("2017-01-15", "24:00:00"),
            ("2017-01-15", "99:99:99"),
            ("2017-01-15", "12:60:00"),
            ("2017-01-15", "12:00:61"),
        ] {
            assert!(
                from_date_time(date.as_bytes(), time.as_bytes()).is_none(),
                "{date} {time}"
            );
        }
    }

    #[test]
    fn epoch_seconds() {
        assert_eq!(&from_epoch(b"0").unwrap(), b"1970-01-01T00:00:00Z");
        assert_eq!(
            &from_epoch(b"1738469045.123").unwrap(),
            b"2025-02-02T04:04:05Z"
        );
        assert_eq!(&from_epoch(b"951782400").unwrap(), b"2000-02-29T00:00:00Z");
        assert!(from_epoch(b"x").is_none());
    }

    #[test]
    fn bounds() {
        assert_eq!(&parse_bound("2024-10-11").unwrap(), b"2024-10-11T00:00:00Z");
        assert_eq!(
            &parse_bound("2024-10-11T22:33").unwrap(),
            b"2024-10-11T22:33:00Z"
        );
        assert_eq!(
            &parse_bound("2024-10-11 22:33:27Z").unwrap(),
            b"2024-10-11T22:33:27Z"
        );
        assert!(parse_bound("2024-10-11T22").is_err());
        assert!(parse_bound("2024-10-11T22:33:27+02:00").is_err());
        assert!(parse_bound("yesterday").is_err());
        assert!(parse_bound("2017-99-99").is_err());
        assert!(parse_bound("2017-02-30").is_err());
        assert!(parse_bound("2017-01-15T25:00").is_err());
        assert!(parse_bound("2016-12-31T23:59:60").is_ok());
        assert!(parse_bound("2017-01-15T23:59:60").is_err());
        assert!(parse_bound("2024-01-02T12:30:60").is_err());
    }
}
