//! The derived `timestamp` field (`YYYY-MM-DDTHH:MM:SSZ`) and `--since`/`--until` bounds.
//!
//! Timestamps of this one fixed shape sort as text in time order, so filters compare bytes.

use onebox::civil::civil_from_days;

/// A timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
pub type Stamp = [u8; 20];

/// Builds the timestamp from CloudFront's `date` (YYYY-MM-DD) and `time` (HH:MM:SS); `None`
/// when either is not of that shape.
#[inline]
pub fn from_date_time(date: &[u8], time: &[u8]) -> Option<Stamp> {
    if !shape(date, b"dddd-dd-dd") || !shape(time, b"dd:dd:dd") {
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
    if t.len() < 10 || !shape(&t[..10], b"dddd-dd-dd") {
        return Err(bad());
    }
    s[..10].copy_from_slice(&t[..10]);
    let rest = &t[10..];
    match rest.len() {
        0 => {}
        6 | 9 if matches!(rest[0], b'T' | b't' | b' ') => {
            let hms = &rest[1..];
            let ok = if hms.len() == 5 {
                shape(hms, b"dd:dd")
            } else {
                shape(hms, b"dd:dd:dd")
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
    }
}
