//! Finding the log objects of a range: S3 listings narrowed by key prefix, or a directory.
//!
//! In S3 every (distribution, hour) pair is one key prefix, `PREFIX/DIST.YYYY-MM-DD-HH.`, so
//! a day of one distribution is 24 small listings run in parallel instead of one long listing
//! of the bucket. Without --distribution, the distributions are found first with one listing
//! that uses `.` as delimiter (its common prefixes are `PREFIX/DIST.`).

use std::ffi::{OsStr, OsString};
use std::fs::{DirEntry, Metadata};
use std::io::ErrorKind;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::Context;
use onebox::s3::{self, S3Uri};

use crate::hours;
use crate::name;

/// Above this many prefixes, a range is listed per distribution and filtered instead.
const MAX_PREFIXES: usize = 20_000;

/// Which log objects to keep.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// First and last hour, inclusive (hours since the epoch); either side may be open.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Distribution IDs (empty: all), sorted.
    pub distributions: Vec<String>,
}

impl Filter {
    /// Whether a name (after the listing prefix) is a log object this filter keeps.
    pub fn keeps(&self, file_name: &str) -> bool {
        let Some(log) = name::parse(file_name) else {
            return false;
        };
        self.from.is_none_or(|f| log.hour >= f)
            && self.to.is_none_or(|t| log.hour <= t)
            && (self.distributions.is_empty()
                || self.distributions.iter().any(|d| d == log.distribution))
    }

    /// The hours of a closed range.
    fn hours(&self) -> Option<std::ops::RangeInclusive<i64>> {
        Some(self.from?..=self.to?)
    }
}

/// One listed log object. The URI and key are bytes: a local file name need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `s3://bucket/key`, or the local path.
    pub uri: Vec<u8>,
    /// The S3 key, or the file name.
    pub key: Vec<u8>,
    pub size: u64,
    pub last_modified: Option<String>,
    pub etag: Option<String>,
}

/// Key prefixes that cover the filter below `base`, in key order.
pub fn plan(base: &str, distributions: &[String], filter: &Filter) -> Vec<String> {
    let hours = filter.hours();
    let per_hour = hours
        .clone()
        .is_some_and(|h| (h.end() - h.start() + 1) as usize * distributions.len() <= MAX_PREFIXES);
    let mut prefixes = Vec::new();
    for dist in distributions {
        match (&hours, per_hour) {
            (Some(h), true) => {
                for hour in h.clone() {
                    prefixes.push(format!("{base}{dist}.{}.", hours::format_hour(hour)));
                }
            }
            _ => prefixes.push(format!("{base}{dist}.")),
        }
    }
    prefixes
}

/// Lists the log objects under an S3 prefix that the filter keeps, in key order.
pub fn list_s3(location: &S3Uri, filter: &Filter) -> anyhow::Result<Vec<Entry>> {
    let s3 = s3::client()?;
    let base = &location.key;
    let distributions = if !filter.distributions.is_empty() {
        filter.distributions.clone()
    } else if filter.hours().is_some() {
        discover_distributions(s3, location)?
    } else {
        Vec::new()
    };
    let prefixes = if distributions.is_empty() {
        if filter.hours().is_some() {
            return Ok(Vec::new()); // no distribution has logs here
        }
        vec![base.clone()]
    } else {
        plan(base, &distributions, filter)
    };
    let listings = s3.list_many(&location.bucket, &prefixes)?;
    let mut out = Vec::new();
    for listing in listings {
        for obj in listing.objects {
            let file_name = obj.key.get(base.len()..).unwrap_or("");
            if !filter.keeps(file_name) {
                continue;
            }
            out.push(Entry {
                uri: format!("s3://{}/{}", location.bucket, obj.key).into_bytes(),
                key: obj.key.into_bytes(),
                size: obj.size,
                last_modified: obj.last_modified,
                etag: obj.etag,
            });
        }
    }
    Ok(out)
}

/// The distribution IDs that have log objects directly under the prefix, sorted.
fn discover_distributions(s3: &s3::S3, location: &S3Uri) -> anyhow::Result<Vec<String>> {
    let listing = s3.list(&location.bucket, &location.key, Some("."))?;
    let mut found: Vec<String> = listing
        .prefixes
        .iter()
        .filter_map(|p| p.get(location.key.len()..)?.strip_suffix('.'))
        .filter(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// Lists the log files in a local directory (`DIR/` or `DIR/NAME_PREFIX`) that the filter
/// keeps, sorted by name. The directory is listed alone, not its subdirectories (as in S3,
/// where log keys sit right under the prefix). A symbolic link counts as what it names, as it
/// does for the tools that read the list; one that cannot be followed is reported (exit
/// status 1) and the rest are still listed.
pub fn list_local(location: &str, filter: &Filter) -> anyhow::Result<Vec<Entry>> {
    let (dir, name_prefix) = split_local(location);
    let entries = std::fs::read_dir(&dir).with_context(|| dir.display().to_string())?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| dir.display().to_string())?;
        let file_name = entry.file_name();
        let Some(rest) = file_name.as_bytes().strip_prefix(name_prefix.as_bytes()) else {
            continue;
        };
        // A log name is ASCII but for its unique part, which only has to be there, so
        // replacing bytes that are not UTF-8 changes no decision.
        if !filter.keeps(&String::from_utf8_lossy(rest)) {
            continue;
        }
        let uri = local_uri(location, &dir, &name_prefix, &file_name);
        if let Some(meta) = followed_file_metadata(&entry, &uri) {
            out.push(Entry {
                uri,
                key: file_name.into_vec(),
                size: meta.len(),
                last_modified: modification_time(&meta),
                etag: None,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Splits a local location into the directory to list and the prefix of the names to keep
/// (empty for `DIR/` or a directory).
fn split_local(location: &str) -> (PathBuf, OsString) {
    let path = Path::new(location);
    if location.ends_with('/') || path.is_dir() {
        return (path.to_path_buf(), OsString::new());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    (dir, path.file_name().unwrap_or_default().to_os_string())
}

/// The path printed for a listed file, as raw bytes (a name need not be UTF-8, and the next
/// tool must be able to open it): `DIR/NAME` as the location was written.
fn local_uri(location: &str, dir: &Path, name_prefix: &OsStr, file_name: &OsStr) -> Vec<u8> {
    if !name_prefix.is_empty() {
        return dir.join(file_name).into_os_string().into_vec();
    }
    let mut uri = location.trim_end_matches('/').as_bytes().to_vec();
    uri.push(b'/');
    uri.extend_from_slice(file_name.as_bytes());
    uri
}

/// The metadata of a directory entry, a symbolic link followed; `None` for anything but a
/// file, and for an entry that cannot be read, which is reported.
fn followed_file_metadata(entry: &DirEntry, uri: &[u8]) -> Option<Metadata> {
    match std::fs::metadata(entry.path()) {
        Ok(meta) => meta.is_file().then_some(meta),
        Err(err) => {
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            let why = if is_link && err.kind() == ErrorKind::NotFound {
                "a symbolic link to nothing".to_string()
            } else {
                err.to_string()
            };
            let path = String::from_utf8_lossy(uri);
            onebox::cli::fail(&format!("{path}: {why}; left out"));
            None
        }
    }
}

/// A file's modification time, RFC 3339 in UTC.
fn modification_time(meta: &Metadata) -> Option<String> {
    let since_epoch = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(hours::format_rfc3339(since_epoch.as_secs() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(from: &str, to: &str, dists: &[&str]) -> Filter {
        Filter {
            from: hours::parse_hour(from),
            to: hours::parse_hour(to),
            distributions: dists.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn a_range_becomes_one_prefix_per_distribution_and_hour() {
        let f = filter("2017-01-15T22", "2017-01-16T01", &["E1", "E2"]);
        let p = plan("logs/", &f.distributions, &f);
        assert_eq!(p.len(), 8);
        assert_eq!(p[0], "logs/E1.2017-01-15-22.");
        assert_eq!(p[3], "logs/E1.2017-01-16-01.");
        assert_eq!(p[4], "logs/E2.2017-01-15-22.");
        // Open ranges list each distribution whole and filter.
        let open = Filter {
            to: None,
            ..f.clone()
        };
        assert_eq!(plan("", &open.distributions, &open), ["E1.", "E2."]);
    }

    #[test]
    fn the_filter_checks_hour_and_distribution() {
        let f = filter("2017-01-15T00", "2017-01-15T23", &["E2ABC"]);
        assert!(f.keeps("E2ABC.2017-01-15-00.x.gz"));
        assert!(f.keeps("E2ABC.2017-01-15-23.x.gz"));
        assert!(!f.keeps("E2ABC.2017-01-16-00.x.gz"));
        assert!(!f.keeps("E9XYZ.2017-01-15-05.x.gz"));
        assert!(!f.keeps("notes.txt"));
    }

    #[test]
    fn local_directories_are_filtered_and_sorted() {
        let dir = tempfile_dir();
        for name in [
            "E2.2017-01-15-05.b.gz",
            "E2.2017-01-15-05.a.gz",
            "E1.2017-01-15-05.a.gz",
            "E2.2017-01-16-05.a.gz",
            "other.txt",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let loc = format!("{}/", dir.display());
        let f = filter("2017-01-15T00", "2017-01-15T23", &[]);
        let got: Vec<String> = list_local(&loc, &f)
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.key).unwrap())
            .collect();
        assert_eq!(
            got,
            [
                "E1.2017-01-15-05.a.gz",
                "E2.2017-01-15-05.a.gz",
                "E2.2017-01-15-05.b.gz"
            ]
        );
        let loc = format!("{}/E2", dir.display());
        let got = list_local(&loc, &f).unwrap();
        assert_eq!(got.len(), 0, "a name prefix is glued to the log name");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn symbolic_links_count_as_what_they_name() {
        use std::os::unix::fs::symlink;
        let dir = tempfile_dir();
        std::fs::create_dir(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/E1.2017-01-15-00.a.gz"), b"xyz").unwrap();
        symlink(
            "real/E1.2017-01-15-00.a.gz",
            dir.join("E1.2017-01-15-01.b.gz"),
        )
        .unwrap();
        symlink("missing", dir.join("E1.2017-01-15-02.c.gz")).unwrap();
        symlink("real", dir.join("E1.2017-01-15-03.d.gz")).unwrap();
        let loc = format!("{}/", dir.display());
        let got = list_local(&loc, &Filter::default()).unwrap();
        let keys: Vec<&[u8]> = got.iter().map(|e| e.key.as_slice()).collect();
        // The file through its link; the broken link is reported, the directory left out.
        assert_eq!(keys, [b"E1.2017-01-15-01.b.gz"]);
        assert_eq!(got[0].size, 3);
        assert_eq!(
            got[0].uri,
            format!("{loc}E1.2017-01-15-01.b.gz").into_bytes()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_that_are_not_utf8_are_kept_as_bytes() {
        let dir = tempfile_dir();
        // Listed as DIR/ and as DIR/NAME_PREFIX: either way the path is the name's bytes.
        let cases: [(&str, &[u8]); 2] = [
            ("/", b"E1.2017-01-15-00.\xff.gz"),
            ("/cf-", b"cf-E1.2017-01-15-00.\xfe.gz"),
        ];
        for (_, name) in cases {
            std::fs::write(dir.join(OsStr::from_bytes(name)), b"x").unwrap();
        }
        for (suffix, name) in cases {
            let got =
                list_local(&format!("{}{suffix}", dir.display()), &Filter::default()).unwrap();
            let mut uri = dir.clone().into_os_string().into_vec();
            uri.push(b'/');
            uri.extend_from_slice(name);
            assert_eq!(got.len(), 1, "{suffix}");
            assert_eq!(got[0].key, name);
            assert_eq!(got[0].uri, uri);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "s3ls-logs-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
