//! Reading the address out of a field: plain, bracketed, or one element of a list such as
//! `X-Forwarded-For: 203.0.113.9, 10.0.0.1`.

use std::net::IpAddr;

/// Which address of a comma-separated list to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Pick {
    /// The first (for X-Forwarded-For: the original client, as the client claims it).
    First,
    /// The last (the address the nearest proxy saw).
    Last,
}

/// Parses the address in `text`, picking one element of a list. IPv4-mapped IPv6 addresses
/// (`::ffff:1.2.3.4`) become IPv4, so they resolve in IPv4-only databases too. `None` when
/// the text holds no valid address (empty included).
pub fn parse(text: &[u8], pick: Pick) -> Option<IpAddr> {
    let item = if memchr::memchr(b',', text).is_some() {
        let mut items = text.split(|&c| c == b',');
        match pick {
            Pick::First => items.next()?,
            Pick::Last => items.next_back()?,
        }
    } else {
        text
    };
    let item = item.trim_ascii();
    let item = item
        .strip_prefix(b"[")
        .and_then(|s| s.strip_suffix(b"]"))
        .unwrap_or(item);
    let ip: IpAddr = std::str::from_utf8(item).ok()?.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, pick: Pick) -> Option<String> {
        parse(s.as_bytes(), pick).map(|ip| ip.to_string())
    }

    #[test]
    fn addresses_and_lists() {
        assert_eq!(p("89.160.20.112", Pick::First).unwrap(), "89.160.20.112");
        assert_eq!(p(" 2001:db8::1 ", Pick::First).unwrap(), "2001:db8::1");
        assert_eq!(p("[2001:db8::1]", Pick::First).unwrap(), "2001:db8::1");
        assert_eq!(p("::ffff:81.2.69.142", Pick::First).unwrap(), "81.2.69.142");
        assert_eq!(p("1.2.3.4, 5.6.7.8", Pick::First).unwrap(), "1.2.3.4");
        assert_eq!(p("1.2.3.4, 5.6.7.8", Pick::Last).unwrap(), "5.6.7.8");
        for bad in [
            "",
            "-",
            "1.2.3",
            "1.2.3.4.5",
            "x",
            "1.2.3.4,",
            "::ffff:1.2.3.4:80",
        ] {
            assert_eq!(p(bad, Pick::Last), None, "{bad}");
        }
    }
}
