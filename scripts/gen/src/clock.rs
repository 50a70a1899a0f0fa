//! UTC calendar arithmetic and fast timestamp formatting (no time crate needed: the
//! generators only ever count seconds forward from a fixed start).

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil, re-derived here).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // 0..=399
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
    era * 146_097 + doe - 719_468
}

/// (year, month, day) for days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parse `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = s[0..4].parse().ok()?;
    let month: u32 = s[5..7].parse().ok()?;
    let day: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject 2017-02-30 and friends by round-tripping.
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

#[inline]
fn push2(v: u32, out: &mut Vec<u8>) {
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Formats unix seconds; caches the date part, which changes once a day at most.
#[derive(Debug, Default)]
pub struct Stamp {
    day: i64,
    date: [u8; 10],
    valid: bool,
}

impl Stamp {
    fn date_of(&mut self, secs: i64) -> &[u8; 10] {
        let day = secs.div_euclid(86_400);
        if !self.valid || day != self.day {
            let (y, m, d) = civil_from_days(day);
            let mut v = Vec::with_capacity(10);
            push2((y / 100) as u32, &mut v);
            push2((y % 100) as u32, &mut v);
            v.push(b'-');
            push2(m, &mut v);
            v.push(b'-');
            push2(d, &mut v);
            self.date.copy_from_slice(&v);
            self.day = day;
            self.valid = true;
        }
        &self.date
    }

    /// `YYYY-MM-DD`
    pub fn push_date(&mut self, secs: i64, out: &mut Vec<u8>) {
        out.extend_from_slice(self.date_of(secs));
    }

    /// `HH:MM:SS`
    pub fn push_time(&mut self, secs: i64, out: &mut Vec<u8>) {
        let sod = secs.rem_euclid(86_400) as u32;
        push2(sod / 3600, out);
        out.push(b':');
        push2(sod / 60 % 60, out);
        out.push(b':');
        push2(sod % 60, out);
    }

    /// `YYYY-MM-DD` + `sep` + `HH:MM:SS`
    pub fn push_datetime(&mut self, secs: i64, sep: u8, out: &mut Vec<u8>) {
        self.push_date(secs, out);
        out.push(sep);
        self.push_time(secs, out);
    }
}

/// Milliseconds as seconds with three decimals (`1234` -> `1.234`), the way CloudFront
/// logs time-taken.
pub fn push_millis(ms: u64, out: &mut Vec<u8>) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(ms / 1000).as_bytes());
    out.push(b'.');
    let frac = (ms % 1000) as u32;
    out.push(b'0' + (frac / 100) as u8);
    push2(frac % 100, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(16_629), (2015, 7, 13));
        for d in -1000..30_000 {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
        }
        assert_eq!(parse_date("2017-01-15"), Some(days_from_civil(2017, 1, 15)));
        assert_eq!(parse_date("2017-02-30"), None);
        assert_eq!(parse_date("2016-02-29"), Some(days_from_civil(2016, 2, 29)));
        assert_eq!(parse_date("17-01-15"), None);
    }

    #[test]
    fn formatting() {
        let mut s = Stamp::default();
        let mut out = Vec::new();
        // 2015-07-13 18:37:00 UTC
        s.push_datetime(1_436_812_620, b' ', &mut out);
        assert_eq!(out, b"2015-07-13 18:37:00");
        out.clear();
        s.push_datetime(1_436_812_620 + 86_400 + 1, b'T', &mut out);
        assert_eq!(out, b"2015-07-14T18:37:01");
        out.clear();
        push_millis(5, &mut out);
        out.push(b' ');
        push_millis(12_345, &mut out);
        assert_eq!(out, b"0.005 12.345");
    }
}
