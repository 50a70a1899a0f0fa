//! `--size` values: a number with an optional binary suffix (64K, 500M, 1G, 1.5GiB).

/// Bytes for `s`; K/M/G/T are powers of 1024, optionally followed by `B` or `iB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    if num.is_empty() {
        return Err(format!(
            "invalid size {s:?}: expected a number like 64K, 500M or 1G"
        ));
    }
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("invalid size {s:?}: unknown unit {unit:?}")),
    };
    if let Ok(n) = num.parse::<u64>() {
        return n
            .checked_mul(1 << shift)
            .ok_or_else(|| format!("size {s:?} is too large"));
    }
    let f: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: bad number {num:?}"))?;
    // Scaling by a power of two is exact, so fractional sizes are deterministic too.
    let bytes = f * (1u64 << shift) as f64;
    if !(0.0..1.8e19).contains(&bytes) {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("2MB"), Ok(2 << 20));
        assert!(parse_size("").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("1.2.3K").is_err());
    }
}
