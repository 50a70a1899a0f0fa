//! Finding the log objects of a range: S3 listings narrowed by key prefix, or a directory.
//!
//! In S3 every (distribution, hour) pair is one key prefix, `PREFIX/DIST.YYYY-MM-DD-HH.`, so
//! a day of one distribution is 24 small listings run in parallel instead of one long listing
//! of the bucket. Without --distribution, the distributions are found first with one listing
//! that uses `.` as delimiter (its common prefixes are `PREFIX/DIST.`).

use std::path::{Path, PathBuf};

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

/// One listed log object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `s3://bucket/key`, or the local path.
    pub uri: String,
    /// The S3 key, or the file name.
    pub key: String,
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
                uri: format!("s3://{}/{}", location.bucket, obj.key),
                key: obj.key,
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
/// keeps, sorted by name.
pub fn list_local(location: &str, filter: &Filter) -> anyhow::Result<Vec<Entry>> {
    let path = Path::new(location);
    let (dir, name_prefix) = if location.ends_with('/') || path.is_dir() {
        (path.to_path_buf(), String::new())
    } else {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let prefix = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (dir, prefix)
    };
    let entries = std::fs::read_dir(&dir).with_context(|| dir.display().to_string())?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| dir.display().to_string())?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&name_prefix) else {
            continue;
        };
        if !filter.keeps(rest) {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| hours::format_rfc3339(d.as_secs() as i64));
        let uri = if location.ends_with('/') || name_prefix.is_empty() {
            format!("{}/{file_name}", location.trim_end_matches('/'))
        } else {
            dir.join(&file_name).to_string_lossy().into_owned()
        };
        out.push(Entry {
            uri,
            key: file_name,
            size: meta.len(),
            last_modified: mtime,
            etag: None,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
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
            .map(|e| e.key)
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
