//! Keep/drop decisions on a parsed line, cheapest first. Each filter that drops a line names
//! the counter it is tallied under (`filtered_<name>`).

use regex::bytes::Regex;

use crate::time::Stamp;

/// Extensions `--drop-static` treats as static assets unless `--static-ext` replaces them.
pub const DEFAULT_STATIC_EXT: &str = "css,js,mjs,map,png,jpg,jpeg,gif,svg,ico,webp,avif,bmp,\
woff,woff2,ttf,otf,eot,mp4,webm,m4v,mov,mp3,ogg,wav,txt,xml,webmanifest";

/// Why a line was dropped; the index of its tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    Static,
    Status,
    Method,
    ResultType,
    Time,
    Path,
    ExcludePath,
    NoEvent,
}

impl Drop {
    pub const ALL: [Drop; 8] = [
        Drop::Static,
        Drop::Status,
        Drop::Method,
        Drop::ResultType,
        Drop::Time,
        Drop::Path,
        Drop::ExcludePath,
        Drop::NoEvent,
    ];

    pub fn counter(self) -> &'static str {
        match self {
            Drop::Static => "filtered_static",
            Drop::Status => "filtered_status",
            Drop::Method => "filtered_method",
            Drop::ResultType => "filtered_result_type",
            Drop::Time => "filtered_time",
            Drop::Path => "filtered_path",
            Drop::ExcludePath => "filtered_exclude_path",
            Drop::NoEvent => "filtered_no_event",
        }
    }
}

/// Static-asset detection by the extension of the last path segment, case-insensitive.
#[derive(Clone, Debug)]
pub struct StaticExt {
    /// Extensions of up to [`PACKED_MAX`] bytes, lowercase, as [`packed`] keys: one compare
    /// each instead of a byte-by-byte one (this runs on every line).
    packed: Vec<u128>,
    /// Longer extensions, lowercase, without the dot.
    long: Vec<Vec<u8>>,
    longest: usize,
}

/// The longest extension [`packed`] takes (the 16th byte holds the length).
const PACKED_MAX: usize = 15;

/// An extension of up to [`PACKED_MAX`] bytes, lowercased, with its length, as one number.
#[inline]
fn packed(ext: &[u8]) -> u128 {
    // Built in registers: bytes stored one at a time and read back as one number make the
    // read wait for the stores (they cannot be forwarded); a profile put a tenth of the line
    // parser's time on that read.
    let mut key = (ext.len() as u128) << 120;
    for (i, &c) in ext.iter().take(PACKED_MAX).enumerate() {
        key |= u128::from(c.to_ascii_lowercase()) << (8 * i);
    }
    key
}

impl StaticExt {
    pub fn parse(list: &str) -> Result<StaticExt, String> {
        let exts: Vec<Vec<u8>> = list
            .split(',')
            .map(|e| {
                e.trim()
                    .trim_start_matches('.')
                    .to_ascii_lowercase()
                    .into_bytes()
            })
            .filter(|e| !e.is_empty())
            .collect();
        if exts.is_empty() {
            return Err("--static-ext needs at least one extension".into());
        }
        let longest = exts.iter().map(Vec::len).max().unwrap_or(0);
        let (short, long): (Vec<_>, Vec<_>) = exts.into_iter().partition(|e| e.len() <= PACKED_MAX);
        Ok(StaticExt {
            packed: short.iter().map(|e| packed(e)).collect(),
            long,
            longest,
        })
    }

    #[inline]
    pub fn matches(&self, path: &[u8]) -> bool {
        // The last dot of the last segment, looked for from the end: a `/` first means no
        // extension, and no dot within `longest + 1` bytes one too long to match.
        let stop = path.len().saturating_sub(self.longest + 1);
        let mut i = path.len();
        let dot = loop {
            if i == stop {
                return false;
            }
            i -= 1;
            match path[i] {
                b'.' => break i,
                b'/' => return false,
                _ => {}
            }
        };
        let ext = &path[dot + 1..];
        match ext.len() {
            0 => false,
            n if n <= PACKED_MAX => self.packed.contains(&packed(ext)),
            _ => self.long.iter().any(|e| e.eq_ignore_ascii_case(ext)),
        }
    }
}

/// `--status`: classes (`2xx`) and exact codes (`304`, `000`).
#[derive(Clone, Debug, Default)]
pub struct StatusSet {
    classes: [bool; 10],
    codes: Vec<[u8; 3]>,
}

impl StatusSet {
    pub fn parse(list: &str) -> Result<StatusSet, String> {
        let mut set = StatusSet::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let b = item.as_bytes();
            let ok_len = b.len() == 3 && b[0].is_ascii_digit();
            if ok_len && b[1..].eq_ignore_ascii_case(b"xx") {
                set.classes[usize::from(b[0] - b'0')] = true;
            } else if ok_len && b.iter().all(u8::is_ascii_digit) {
                set.codes.push([b[0], b[1], b[2]]);
            } else {
                return Err(format!(
                    "invalid --status item '{item}': expected a class like 2xx or a code like 304"
                ));
            }
        }
        if set.codes.is_empty() && !set.classes.contains(&true) {
            return Err(EMPTY_LIST.replace("{flag}", "--status"));
        }
        Ok(set)
    }

    #[inline]
    pub fn matches(&self, status: &[u8]) -> bool {
        if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
            return false;
        }
        self.classes[usize::from(status[0] - b'0')] || self.codes.iter().any(|c| c == status)
    }
}

/// A keep-list with nothing in it would drop every line: surely a mistake (an unset shell
/// variable), so a usage error.
const EMPTY_LIST: &str = "{flag}: the list is empty, which would drop every line";

/// A comma-separated list of words matched case-insensitively (methods, result types).
#[derive(Clone, Debug)]
pub struct WordSet(Vec<Vec<u8>>);

impl WordSet {
    /// Parses `list`, the value of `flag` (named in the error for an empty list).
    pub fn parse(flag: &str, list: &str) -> Result<WordSet, String> {
        let words: Vec<Vec<u8>> = list
            .split(',')
            .map(|s| s.trim().as_bytes().to_vec())
            .filter(|s| !s.is_empty())
            .collect();
        if words.is_empty() {
            return Err(EMPTY_LIST.replace("{flag}", flag));
        }
        Ok(WordSet(words))
    }

    #[inline]
    pub fn matches(&self, word: &[u8]) -> bool {
        self.0.iter().any(|w| w.eq_ignore_ascii_case(word))
    }
}

/// Every filter asked for. `None` means "not asked".
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub static_ext: Option<StaticExt>,
    pub status: Option<StatusSet>,
    pub methods: Option<WordSet>,
    pub result_types: Option<WordSet>,
    pub since: Option<Stamp>,
    pub until: Option<Stamp>,
    pub path: Option<Regex>,
    pub exclude_path: Option<Regex>,
}

/// The values the filters look at, for one line (`-` already mapped to empty).
pub struct Subject<'a> {
    /// The request path, decoded unless `--raw`.
    pub path: &'a [u8],
    pub status: &'a [u8],
    pub method: &'a [u8],
    pub result_type: &'a [u8],
    pub stamp: Option<&'a Stamp>,
}

impl Filters {
    pub fn needs_time(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// The first filter that drops the line, if any. Cheap byte tests run before regexes.
    #[inline]
    pub fn check(&self, s: &Subject<'_>) -> Option<Drop> {
        if self.static_ext.as_ref().is_some_and(|f| f.matches(s.path)) {
            return Some(Drop::Static);
        }
        if self.status.as_ref().is_some_and(|f| !f.matches(s.status)) {
            return Some(Drop::Status);
        }
        if self.methods.as_ref().is_some_and(|f| !f.matches(s.method)) {
            return Some(Drop::Method);
        }
        if self
            .result_types
            .as_ref()
            .is_some_and(|f| !f.matches(s.result_type))
        {
            return Some(Drop::ResultType);
        }
        if self.needs_time() {
            let Some(stamp) = s.stamp else {
                return Some(Drop::Time);
            };
            if self.since.is_some_and(|b| stamp < &b) || self.until.is_some_and(|b| stamp >= &b) {
                return Some(Drop::Time);
            }
        }
        if self.path.as_ref().is_some_and(|re| !re.is_match(s.path)) {
            return Some(Drop::Path);
        }
        if self
            .exclude_path
            .as_ref()
            .is_some_and(|re| re.is_match(s.path))
        {
            return Some(Drop::ExcludePath);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_by_last_segment_extension() {
        let f = StaticExt::parse(DEFAULT_STATIC_EXT).unwrap();
        assert!(f.matches(b"/assets/app.CSS"));
        assert!(f.matches(b"/a/b/logo.min.png"));
        assert!(f.matches(b"/favicon.ico"));
        assert!(!f.matches(b"/static.css/page"));
        assert!(!f.matches(b"/models/x.safetensors"));
        assert!(!f.matches(b"/"));
        assert!(!f.matches(b"/file."));
        assert!(f.matches(b"/site.WebManifest") && f.matches(b"/.css") && f.matches(b"x.mp4"));
        assert!(!f.matches(b"/x.cs") && !f.matches(b"/x.csss") && !f.matches(b"css"));
        assert!(!f.matches(b"/x.c\0s") && !f.matches(b"/x.cs\0") && !f.matches(b""));
        let own = StaticExt::parse(".Gz, tar").unwrap();
        assert!(own.matches(b"/x.tar") && own.matches(b"/x.gz") && !own.matches(b"/x.css"));
        // Extensions past the packed length are compared byte by byte.
        let long = StaticExt::parse("averyveryverylongext,js").unwrap();
        assert!(long.matches(b"/a.AveryVeryVeryLongExt") && long.matches(b"/a.js"));
        assert!(!long.matches(b"/a.veryverylongext") && !long.matches(b"/a.xaveryveryverylongext"));
        assert!(StaticExt::parse(" , ").is_err());
    }

    #[test]
    fn status_classes_and_codes() {
        let f = StatusSet::parse("2xx,304,000").unwrap();
        assert!(f.matches(b"200") && f.matches(b"206") && f.matches(b"304") && f.matches(b"000"));
        assert!(!f.matches(b"301") && !f.matches(b"-") && !f.matches(b"20"));
        assert!(StatusSet::parse("2x").is_err());
        assert!(StatusSet::parse("abc").is_err());
        for empty in ["", " ", ",", " , "] {
            assert!(StatusSet::parse(empty).is_err(), "{empty:?}");
            assert!(WordSet::parse("--method", empty).is_err(), "{empty:?}");
        }
    }

    fn subject<'a>(path: &'a [u8], stamp: Option<&'a Stamp>) -> Subject<'a> {
        Subject {
            path,
            status: b"200",
            method: b"GET",
            result_type: b"Hit",
            stamp,
        }
    }

    #[test]
    fn first_drop_reason_wins() {
        let f = Filters {
            static_ext: Some(StaticExt::parse("css").unwrap()),
            methods: Some(WordSet::parse("--method", "post").unwrap()),
            path: Some(Regex::new("^/api").unwrap()),
            ..Filters::default()
        };
        assert_eq!(f.check(&subject(b"/a.css", None)), Some(Drop::Static));
        assert_eq!(f.check(&subject(b"/api/x", None)), Some(Drop::Method));
        let f = Filters {
            path: Some(Regex::new("^/api").unwrap()),
            exclude_path: Some(Regex::new("health").unwrap()),
            ..Filters::default()
        };
        assert_eq!(f.check(&subject(b"/web", None)), Some(Drop::Path));
        assert_eq!(
            f.check(&subject(b"/api/health", None)),
            Some(Drop::ExcludePath)
        );
        assert_eq!(f.check(&subject(b"/api/x", None)), None);
    }

    #[test]
    fn time_window_is_half_open() {
        let f = Filters {
            since: Some(*b"2024-10-11T22:00:00Z"),
            until: Some(*b"2024-10-11T23:00:00Z"),
            ..Filters::default()
        };
        let at = |s: &[u8; 20]| f.check(&subject(b"/", Some(s)));
        assert_eq!(at(b"2024-10-11T22:00:00Z"), None);
        assert_eq!(at(b"2024-10-11T22:59:59Z"), None);
        assert_eq!(at(b"2024-10-11T23:00:00Z"), Some(Drop::Time));
        assert_eq!(at(b"2024-10-11T21:59:59Z"), Some(Drop::Time));
        assert_eq!(f.check(&subject(b"/", None)), Some(Drop::Time));
    }
}
