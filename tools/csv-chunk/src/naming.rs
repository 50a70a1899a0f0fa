//! Output file names: `DIR/PREFIX[-FAMILY]-000001.csv[.gz]`, and family names made safe.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Longest family name kept before it is cut and given a hash suffix.
const MAX_FAMILY: usize = 64;

/// The `--out` name split into where files go and how they are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutName {
    /// `DIR/PREFIX` without any `.csv`/`.gz` ending.
    pub prefix: PathBuf,
    /// The name ended in `.gz` (so gzip is the default).
    pub gz_suffix: bool,
}

impl OutName {
    /// Splits `--out`: a trailing `.csv.gz`, `.gz` or `.csv` is dropped from the prefix (the
    /// files get their own endings), and a `.gz` ending asks for gzip.
    pub fn parse(out: &Path) -> Result<OutName, String> {
        let bytes = out.as_os_str().as_bytes();
        let (stem, gz) = if let Some(s) = bytes.strip_suffix(b".csv.gz") {
            (s, true)
        } else if let Some(s) = bytes.strip_suffix(b".gz") {
            (s, true)
        } else if let Some(s) = bytes.strip_suffix(b".csv") {
            (s, false)
        } else {
            (bytes, false)
        };
        let prefix = PathBuf::from(OsString::from_vec(stem.to_vec()));
        let has_name = prefix
            .file_name()
            .is_some_and(|n| !n.is_empty() && !stem.ends_with(b"/"));
        if !has_name {
            return Err(format!(
                "--out {}: needs a file name prefix after the directory, e.g. out/views",
                out.display()
            ));
        }
        Ok(OutName {
            prefix,
            gz_suffix: gz,
        })
    }

    /// The directory the files go to (created if missing).
    pub fn dir(&self) -> PathBuf {
        match self.prefix.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The path of file number `seq` of `family` (`""` when there is no `--by`).
    pub fn file(&self, family: &str, seq: u64, gzip: bool) -> PathBuf {
        let mut name = self.prefix.as_os_str().to_os_string();
        if !family.is_empty() {
            name.push("-");
            name.push(family);
        }
        name.push(format!("-{seq:06}.csv"));
        if gzip {
            name.push(".gz");
        }
        PathBuf::from(name)
    }
}

impl OutName {
    /// Whether `name` (a file name in [`OutName::dir`]) is named the way this run names its
    /// files: `PREFIX-[FAMILY-]DIGITS.csv[.gz]`, with at least six digits.
    pub fn is_chunk_name(&self, name: &[u8]) -> bool {
        let Some(prefix) = self.prefix.file_name() else {
            return false;
        };
        let Some(rest) = name
            .strip_prefix(prefix.as_bytes())
            .and_then(|r| r.strip_prefix(b"-"))
        else {
            return false;
        };
        let stem = rest.strip_suffix(b".gz").unwrap_or(rest);
        let Some(stem) = stem.strip_suffix(b".csv") else {
            return false;
        };
        let digits = stem.iter().rev().take_while(|c| c.is_ascii_digit()).count();
        digits >= 6 && (digits == stem.len() || stem[stem.len() - digits - 1] == b'-')
    }
}

/// The family of the empty value (also null or missing).
const EMPTY_FAMILY: &str = "_";

/// A `--by` value made safe as part of a file name.
///
/// Kept: ASCII letters, digits and `_ - . + = @`. Any other byte (`/`, control bytes,
/// spaces, non-ASCII) becomes `_`, a `.` that starts the name or follows another `.` becomes
/// `_` (so no `..` and no hidden files), and the name is cut at 64 bytes. A value that had to
/// change gets `-` and 8 hex digits of its hash appended; so does a value that could be taken
/// for a changed one (see [`looks_changed`]). So distinct values give distinct names, barring
/// a hash collision. The empty value (also null or missing) is `_`.
pub fn sanitize_family(value: &[u8]) -> String {
    if value.is_empty() {
        return EMPTY_FAMILY.to_string();
    }
    let mut name = String::with_capacity(value.len().min(MAX_FAMILY) + 9);
    let mut changed = value.len() > MAX_FAMILY;
    let mut prev = 0u8;
    for &c in value.iter().take(MAX_FAMILY) {
        let keep = c.is_ascii_alphanumeric()
            || matches!(c, b'_' | b'-' | b'+' | b'=' | b'@')
            || (c == b'.' && prev != b'.' && prev != 0);
        let out = if keep { c } else { b'_' };
        changed |= out != c;
        name.push(out as char);
        prev = c;
    }
    if changed || looks_changed(&name) {
        name.push('-');
        name.push_str(&format!("{:08x}", fnv1a32(value)));
    }
    name
}

/// Whether a name could also be the result of changing some value: the empty value's family,
/// or a name ending in a hash suffix (`-` and 8 lowercase hex digits). Such a value is given a
/// suffix of its own, or `a/b` (`a_b-3a8e75c1`) and the value `a_b-3a8e75c1` would share files.
fn looks_changed(name: &str) -> bool {
    let ends_in_hash = name.len() >= 9 && {
        let (rest, hex) = name.split_at(name.len() - 8);
        rest.ends_with('-') && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    };
    name == EMPTY_FAMILY || ends_in_hash
}

/// FNV-1a (32 bit): a stable, dependency-free hash for name suffixes.
fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_of_a_run() {
        let n = OutName::parse(Path::new("out/views.csv.gz")).unwrap();
        for name in [
            "views-000001.csv.gz",
            "views-000007.csv",
            "views-dl-000002.csv.gz",
            "views-a-b-1234567.csv.gz",
        ] {
            assert!(n.is_chunk_name(name.as_bytes()), "{name}");
        }
        for name in [
            "views.manifest",
            "views-00001.csv.gz",
            "views-000001.csv.gz.tmp.12",
            "viewsx-000001.csv.gz",
            "other-000001.csv.gz",
            "views-dl000001.csv",
            "views-000001.tsv",
        ] {
            assert!(!n.is_chunk_name(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn out_names() {
        let n = OutName::parse(Path::new("out/views.csv.gz")).unwrap();
        assert_eq!(n.prefix, Path::new("out/views"));
        assert!(n.gz_suffix);
        assert_eq!(n.dir(), Path::new("out"));
        assert_eq!(n.file("", 1, true), Path::new("out/views-000001.csv.gz"));
        assert_eq!(
            n.file("dl", 1234567, false),
            Path::new("out/views-dl-1234567.csv")
        );
        let n = OutName::parse(Path::new("views")).unwrap();
        assert!(!n.gz_suffix);
        assert_eq!(n.dir(), Path::new("."));
        assert!(OutName::parse(Path::new("out/x.gz")).unwrap().gz_suffix);
        assert!(!OutName::parse(Path::new("out/x.csv")).unwrap().gz_suffix);
        assert!(OutName::parse(Path::new("out/")).is_err());
        assert!(OutName::parse(Path::new("out/.csv.gz")).is_err());
    }

    #[test]
    fn family_names_are_safe_and_distinct() {
        assert_eq!(sanitize_family(b"views"), "views");
        assert_eq!(sanitize_family(b"page_view-2.v1"), "page_view-2.v1");
        assert_eq!(sanitize_family(b""), "_");
        let hostile: [&[u8]; 8] = [
            b"../../x",
            b"a/b",
            b"..",
            b".hidden",
            b"a\0b\nc",
            b"caf\xc3\xa9",
            b"a b",
            &[b'z'; 300],
        ];
        let mut seen = std::collections::HashSet::new();
        for v in hostile {
            let name = sanitize_family(v);
            assert!(!name.contains('/') && !name.contains(".."), "{name}");
            assert!(!name.starts_with('.'), "{name}");
            assert!(name.bytes().all(|c| c.is_ascii_graphic()), "{name}");
            assert!(name.len() <= MAX_FAMILY + 9, "{name}");
            assert!(seen.insert(name));
        }
        assert_ne!(sanitize_family(b"a/b"), sanitize_family(b"a_b"));
        assert_ne!(sanitize_family(&[b'z'; 300]), sanitize_family(&[b'z'; 301]));
    }

    #[test]
    fn a_value_that_looks_changed_gets_a_suffix_too() {
        assert_eq!(sanitize_family(b"a/b"), "a_b-3a8e75c1");
        // Kept as they are, these would be the names of `a/b` and of the empty value.
        assert_eq!(
            sanitize_family(b"a_b-3a8e75c1"),
            format!("a_b-3a8e75c1-{:08x}", fnv1a32(b"a_b-3a8e75c1"))
        );
        assert_eq!(sanitize_family(b"_"), format!("_-{:08x}", fnv1a32(b"_")));
        assert_eq!(sanitize_family(b""), "_");
        // Not a suffix we make: kept as they are.
        for kept in ["a-3A8E75C1", "a-3a8e75c", "a_3a8e75c1", "a-3a8e75c1x", "__"] {
            assert_eq!(sanitize_family(kept.as_bytes()), kept);
        }
    }
}
