//! CloudFront standard-log object names: `<DISTRIBUTION>.<YYYY-MM-DD-HH>.<unique>.gz`.

use crate::hours;

/// The parts of a log object's name that filters look at.
#[derive(Debug, PartialEq, Eq)]
pub struct LogName<'a> {
    pub distribution: &'a str,
    /// Hours since the epoch (UTC).
    pub hour: i64,
}

/// Parses the file-name part of a key (after the listing prefix); `None` if it is not a
/// CloudFront log name.
pub fn parse(name: &str) -> Option<LogName<'_>> {
    let mut parts = name.splitn(3, '.');
    let distribution = parts.next()?;
    let hour = parts.next()?;
    let unique = parts.next()?;
    let dist_ok = !distribution.is_empty()
        && distribution
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !dist_ok || unique.is_empty() || hour.len() != 13 || hour.as_bytes()[10] != b'-' {
        return None;
    }
    Some(LogName {
        distribution,
        hour: hours::parse_hour(hour)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_key_shapes() {
        let n = parse("EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz").unwrap();
        assert_eq!(n.distribution, "EMLARXS9EXAMPLE");
        assert_eq!(hours::format_hour(n.hour), "2019-11-14-20");
        assert!(parse("EHLMG1T8SOX48.2025-02-02-04.87bd7256.gz").is_some());
        for bad in [
            "E2ABC.2017-01-15.x.gz",
            "e2abc.2017-01-15-13.x.gz",
            "E2ABC.2017-01-15-13.",
            "E2ABC.2017-01-15-25.x.gz",
            "README",
            ".2017-01-15-13.x.gz",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
