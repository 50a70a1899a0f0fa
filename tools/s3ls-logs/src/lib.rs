//! s3ls-logs: lists the CloudFront log objects of a date/hour range (and distributions), in S3
//! or in a local directory, as input lists for the other tools.
//!
//! [`list`] finds the objects (S3 listings narrowed by key prefix, run in parallel; or a
//! directory), [`name`] reads CloudFront log names, [`hours`] does the UTC hour arithmetic.

pub mod hours;
pub mod list;
pub mod name;

use std::io::Write;

use clap::{CommandFactory, Parser};
use onebox::cli::usage;
use onebox::record::{Format, Row};
use onebox::s3::{S3Args, S3Uri};

use list::{Entry, Filter};

const LONG_ABOUT: &str = "\
List the CloudFront standard-log objects, named PREFIX<DISTRIBUTION>.<YYYY-MM-DD-HH>.<unique>.gz,
whose UTC hour falls in a range, in S3 (s3://bucket/prefix/) or in a local directory (DIR/).
The output, one URI per line, is what --files-from, xargs and GNU parallel take:
    s3ls-logs s3://logs/cf/ --date 2017-01-15 | cflog-parse --files-from - > views.ndjson

In S3 the listing is narrowed by key prefix: each distribution and hour of the range is one
prefix (PREFIX<DIST>.<YYYY-MM-DD-HH>.), listed in parallel (--fetch-threads at once), every
ListObjectsV2 page followed to the end; the bucket is never listed whole. Without
--distribution the distributions are found first by one listing with '.' as delimiter. Without
a range, every log object under the prefix is listed. Keys that are not CloudFront log names
are left out. Output is in key order.

--from and --to take YYYY-MM-DDTHH (or a date, meaning its hour 00) and are inclusive: --from
2017-01-15T00 --to 2017-01-16T06 is 31 hours. Either may be given alone.

A local directory is listed alone (not its subdirectories, as log keys sit right under an S3
prefix); a symbolic link counts as the file it names, and one that names nothing is reported
and left out. Paths are written as the file system's bytes, UTF-8 or not.

--long writes a record per object (uri, key, size, last_modified, etag) as NDJSON or, with
-o tsv, TSV with a header; local files have their modification time and no etag. --total
prints the number of objects and their bytes on stderr.

Credentials, region and endpoint come from the usual AWS settings (environment, ~/.aws
profiles, instance or container roles) or the S3 options below. Memory: the listed entries
(about 200 bytes per object).";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    s3ls-logs s3://my-logs/cf/ --date 2017-01-15 --total
    s3ls-logs s3://my-logs/cf/ --from 2017-01-15T00 --to 2017-01-16T06 --distribution E2ABCDEF
    s3ls-logs s3://my-logs/cf/ --date 2017-01-15 | cflog-parse --files-from - | pivot-count ...
    s3ls-logs s3://my-logs/cf/ --date 2017-01-15 -0 | xargs -0 -n 500 -P 4 cflog-parse -j1 ...
    s3ls-logs logs/ --date 2017-01-15 --long -o tsv

EXIT STATUS:
    0  success (also when nothing matched, or stdout was closed early)
    1  the listing failed (missing bucket, denied access, network) after retries, or a
       local log file could not be read (a broken symbolic link; the rest are listed)
    2  usage error";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "s3ls-logs",
    version,
    about = "List CloudFront log objects of a date/hour range, in S3 or a local directory",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    /// Where the logs are: s3://bucket/prefix/ or a local DIR/ (a trailing name part is a
    /// literal key prefix, as CloudFront's log prefix is).
    #[arg(value_name = "LOCATION")]
    pub location: String,

    /// One UTC day, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["from", "to"])]
    pub date: Option<String>,

    /// First hour, YYYY-MM-DDTHH (inclusive).
    #[arg(long, value_name = "HOUR")]
    pub from: Option<String>,

    /// Last hour, YYYY-MM-DDTHH (inclusive).
    #[arg(long, value_name = "HOUR")]
    pub to: Option<String>,

    /// Only these distribution IDs (repeat or comma-separate).
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub distribution: Vec<String>,

    /// End each URI with NUL instead of newline (for xargs -0).
    #[arg(short = '0', long = "null", conflicts_with = "long")]
    pub null: bool,

    /// Write a record per object: uri, key, size, last_modified, etag.
    #[arg(long)]
    pub long: bool,

    /// Format of --long records.
    #[arg(
        short = 'o',
        long,
        value_name = "FORMAT",
        default_value = "ndjson",
        requires = "long"
    )]
    pub output_format: Format,

    /// Print the number of objects and their total size on stderr.
    #[arg(long)]
    pub total: bool,

    #[command(flatten)]
    pub s3: S3Args,
}

pub fn command() -> clap::Command {
    <Args as CommandFactory>::command()
}

/// The usage error for a --date/--from/--to value: one of the right shape names no real time
/// (`2017-02-30`), which "expected YYYY-MM-DD" would not explain.
fn bad_time(flag: &str, text: &str, expected: &str) -> anyhow::Error {
    let shaped = text.len() >= 10
        && text.bytes().zip(b"dddd-dd-dd?dd").all(|(c, &p)| match p {
            b'd' => c.is_ascii_digit(),
            b'?' => matches!(c, b'T' | b'-'),
            p => c == p,
        });
    let what = match (shaped, flag) {
        (false, _) => "",
        (true, "date") => "no such day; ",
        (true, _) => "no such hour; ",
    };
    usage(format!("--{flag} {text}: {what}expected {expected}"))
}

/// Builds the filter from the range and distribution flags.
pub fn filter(args: &Args) -> anyhow::Result<Filter> {
    let hour = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<i64>> {
        match text {
            None => Ok(None),
            Some(t) => hours::parse_hour(t)
                .map(Some)
                .ok_or_else(|| bad_time(flag, t, "YYYY-MM-DDTHH (UTC)")),
        }
    };
    let (from, to) = match &args.date {
        Some(d) => {
            let day = hours::parse_date(d).ok_or_else(|| bad_time("date", d, "YYYY-MM-DD"))?;
            (Some(day * 24), Some(day * 24 + 23))
        }
        None => (hour("from", &args.from)?, hour("to", &args.to)?),
    };
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(usage("--from is after --to"));
        }
    }
    let mut distributions: Vec<String> = args
        .distribution
        .iter()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    if let Some(bad) = distributions.iter().find(|d| {
        !d.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }) {
        return Err(usage(format!(
            "--distribution {bad}: IDs are upper-case letters and digits"
        )));
    }
    distributions.sort();
    distributions.dedup();
    Ok(Filter {
        from,
        to,
        distributions,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let filter = filter(&args)?;
    onebox::s3::configure(&args.s3);
    let entries = if args.location.starts_with("s3://") {
        let uri = S3Uri::parse(&args.location)
            .ok_or_else(|| usage(format!("{}: expected s3://bucket/prefix", args.location)))?;
        list::list_s3(&uri, &filter)?
    } else {
        list::list_local(&args.location, &filter)?
    };
    let (mut stdout, _) = onebox::cli::stdout();
    let mut buf = Vec::with_capacity(1 << 16);
    if args.long && args.output_format == Format::Tsv {
        onebox::record::write_tsv_header(
            &["uri", "key", "size", "last_modified", "etag"],
            &mut buf,
        );
    }
    for entry in &entries {
        write_entry(&args, entry, &mut buf);
        if buf.len() >= 1 << 16 {
            stdout.write_all(&buf)?;
            buf.clear();
        }
    }
    stdout.write_all(&buf)?;
    stdout.flush()?;
    if args.total {
        let bytes: u64 = entries.iter().map(|e| e.size).sum();
        onebox::cli::note(&format!(
            "{} objects, {bytes} bytes ({})",
            entries.len(),
            onebox::size::human_bytes(bytes)
        ));
    }
    Ok(())
}

fn write_entry(args: &Args, entry: &Entry, buf: &mut Vec<u8>) {
    if !args.long {
        buf.extend_from_slice(&entry.uri);
        buf.push(if args.null { b'\0' } else { b'\n' });
        return;
    }
    let mut row = Row::begin(buf, args.output_format);
    row.str("uri", &entry.uri)
        .str("key", &entry.key)
        .u64("size", entry.size);
    match &entry.last_modified {
        Some(t) => row.str("last_modified", t.as_bytes()),
        None => row.null("last_modified"),
    };
    match &entry.etag {
        Some(e) => row.str("etag", e.as_bytes()),
        None => row.null("etag"),
    };
    row.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: &[&str]) -> String {
        let args = Args::try_parse_from([&["s3ls-logs"], args, &["logs/"]].concat()).unwrap();
        filter(&args).unwrap_err().to_string()
    }

    #[test]
    fn a_time_of_the_right_shape_but_no_such_day_says_so() {
        assert_eq!(
            error_of(&["--date", "2017-02-30"]),
            "--date 2017-02-30: no such day; expected YYYY-MM-DD"
        );
        assert_eq!(
            error_of(&["--from", "2017-01-01T24"]),
            "--from 2017-01-01T24: no such hour; expected YYYY-MM-DDTHH (UTC)"
        );
        assert_eq!(
            error_of(&["--date", "2017-2-3"]),
            "--date 2017-2-3: expected YYYY-MM-DD"
        );
    }
}
