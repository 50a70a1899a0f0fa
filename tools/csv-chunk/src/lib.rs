//! csv-chunk: records to N-row (gzip'd) CSV files for warehouse bulk loads.
//!
//! Data path: the shared pipeline's workers turn blocks of records into CSV rows grouped by
//! family ([`worker`], framed by [`frame`]); the router ([`router`]) receives them in input
//! order, cuts every family's rows into files of exactly `--rows` rows and each file into
//! 1 MiB pieces; the backend ([`backend`]) compresses pieces on a thread pool ([`gz`], the
//! pigz layout) and one writer ([`files`]) appends them in order, renames finished files into
//! place and lists them on stdout and in the manifest ([`manifest`]).

pub mod backend;
pub mod csvrow;
pub mod files;
pub mod frame;
pub mod gz;
pub mod interrupt;
pub mod manifest;
pub mod naming;
pub mod router;
pub mod schema;
pub mod upload;
pub mod worker;

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use onebox::chunk::{Chunker, HeaderRule};
use onebox::cli::{usage, InputArgs, InputFormatArg, RunArgs};
use onebox::input::{self, Source, Sources};
use onebox::par::Pipeline;

use backend::Backend;
use csvrow::CsvStyle;
use files::FileWriter;
use naming::OutName;
use router::{Limits, Router};
use schema::ColumnSpec;
use worker::{ChunkWorker, WorkerSpec};

const LONG_ABOUT: &str = "\
Write NDJSON or TSV records as CSV files of a fixed number of rows (gzip'd when asked), ready for
a warehouse bulk load (Redshift COPY, Snowflake, BigQuery, ClickHouse, DuckDB).

Files are named DIR/PREFIX-000001.csv[.gz], DIR/PREFIX-000002..., or with --by FIELD one family
per value, DIR/PREFIX-VALUE-000001.csv.gz, each numbered on its own; DIR is created if missing.
--out DIR/PREFIX.csv.gz (or .gz) means gzip; --out DIR/PREFIX.csv or DIR/PREFIX means plain CSV
unless --gzip. Existing files of the same names are replaced; other files named like the run's
(say, an earlier run's higher numbers) are left as they are, with a note on stderr.

Columns: --columns fixes them and their order (dotted paths into nested NDJSON, or TSV column
names; a missing field is a null cell, other fields are left out, and a key a record holds twice
gives its last value, as in jq). Without it, the columns are the first record's top-level
fields (or the TSV header), and a later record with a field not among them is rejected
(new_field) rather than silently dropped, as is one holding a field twice (duplicate_key). A TSV
header naming a column twice is an error. With several inputs and no --columns, the first input
is read twice (so it must be a regular file).

CSV (RFC 4180): fields are quoted only when they hold the delimiter, a quote, CR or LF, or equal
the null text; quotes are doubled; rows end in \\n. Null and missing values are written as
--null-as (default: empty), so null is an unquoted empty field and the empty string is \"\".
Strings are decoded, numbers and booleans written as they are, objects and arrays as compact JSON.
The CSV is UTF-8 (warehouses reject other bytes): bytes of TSV input that are not UTF-8 are
written as U+FFFD, and each cell so repaired is counted as utf8_repaired.

--by values are made safe for file names: ASCII letters, digits and _-.+=@ are kept, any other
byte becomes _, no name starts with . or holds .., names are cut at 64 bytes, and a value that
had to change gets a hash suffix so distinct values stay distinct (a/b -> a_b-3a8e75c1). An
empty, null or missing value is the family _. A value that could be taken for a changed one
(_ itself, or one ending in - and 8 hex digits like a_b-3a8e75c1) gets a hash suffix too.

Each file is written as NAME.tmp.<pid> beside its final name and renamed when complete. Only then
is its path printed on stdout (one per line, flushed at once, in the order files complete: a
family's files in number order), so `| xargs -n1` or `| parallel` can load files while the job
runs. --manifest lists exactly the completed files; it is written (atomically) only when the
whole run succeeded. On an error (unwritable directory, disk full) csv-chunk stops with exit
status 1, removes its unfinished temporary files and writes no manifest; files already listed
are complete. If stdout is closed early (| head) it stops the same way, with status 0.

Parallelism: workers convert records to CSV rows; each file is cut into 1 MiB pieces that a pool
of -j threads compresses independently (as pigz does: the pieces form one gzip stream), so
compression scales with cores even for one family, and the output is byte-identical whatever
-j is. -j1 does everything in one thread.

Memory: about 4 x threads x --block-size for reading, plus (3 x threads + --max-open) MiB of
CSV pieces in flight; with the defaults and 2 threads about 56 MiB at most. A family holds at
most one partial piece: its file is closed when --max-open files are open and it is the least
recently used, or when no row came for --max-open-secs (checked as input arrives); its next row
then starts a new, shorter file.";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    cflog-parse logs/ | csv-chunk --out out/views.csv.gz --rows 50000
    csv-chunk --out load/ev.csv.gz --by event --columns ts,event,c_ip,sc_bytes events.ndjson.gz
    csv-chunk --out load/ev.csv.gz --manifest load/ev.manifest --url-prefix s3://bucket/load/ \\
        events.ndjson
    csv-chunk --out /tmp/stage/v.csv.gz --to s3://bucket/load/ --manifest v.manifest views.ndjson
    csv-chunk --out out/t.csv --delimiter tab --null-as '\\N' --no-header records.tsv

EXIT STATUS:
    0  success (rejected lines are counted and reported, not errors, unless --strict);
       also when stdout is closed early (| head)
    1  an input could not be read (or its TSV header names a column twice), an output could
       not be written (unwritable directory, disk full), or --strict and a rejected line
    2  usage error";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "csv-chunk",
    version,
    about = "Records to N-row (gzip'd) CSV files for warehouse loading, streaming and parallel",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output files' directory and name prefix: DIR/PREFIX gives DIR/PREFIX-000001.csv; a name
    /// ending in .gz (DIR/PREFIX.csv.gz) also turns on gzip.
    #[arg(long, value_name = "DIR/PREFIX")]
    pub out: PathBuf,

    /// Rows per file (the last file of a family may have fewer).
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub rows: u64,

    /// Also cap a file's uncompressed size, header included (e.g. 100M). A single row larger
    /// than SIZE gets a file of its own.
    #[arg(long, value_name = "SIZE", value_parser = onebox::size::parse_size)]
    pub bytes: Option<u64>,

    /// Compress the files with gzip (the default when --out ends in .gz).
    #[arg(long)]
    pub gzip: bool,

    /// gzip level, 0 (store) to 9 (smallest).
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: u32,

    /// Columns and their order, comma-separated dotted paths [default: the first record's
    /// fields].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,

    /// One family of files per value of FIELD.
    #[arg(long, value_name = "FIELD")]
    pub by: Option<String>,

    /// Write a Redshift COPY manifest of the completed files to FILE.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// URL base of the manifest's entries (e.g. s3://bucket/load/) [default: the local paths].
    #[arg(long, value_name = "URL", requires = "manifest", conflicts_with = "to")]
    pub url_prefix: Option<String>,

    /// Upload each finished file to S3 as PREFIX + its name (with retries); stdout and the
    /// manifest then list s3:// URIs, and the local copy is removed after its upload.
    #[arg(long, value_name = "s3://BUCKET/PREFIX/")]
    pub to: Option<String>,

    /// With --to, keep the local files too.
    #[arg(long, requires = "to")]
    pub keep_local: bool,

    /// Write the column names as the first row of every file (the default).
    #[arg(long, overrides_with = "no_header")]
    pub header: bool,

    /// Do not write a header row.
    #[arg(long, overrides_with = "header")]
    pub no_header: bool,

    /// Text written for null and missing values (e.g. '\N'). (Not --null: that is -0, for
    /// --files-from lists.)
    #[arg(long, value_name = "STR", default_value = "")]
    pub null_as: String,

    /// Field delimiter: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub delimiter: String,

    /// Files open at once; opening one more closes the least recently used family's file.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_open: u64,

    /// Close a family's file when no row came for it for SECS seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub max_open_secs: u64,

    #[command(flatten)]
    pub record_format: InputFormatArg,

    #[command(flatten)]
    pub run: RunArgs,
}

/// The clap command, for man pages.
pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let out = OutName::parse(&args.out).map_err(usage)?;
    let gzip = args.gzip || out.gz_suffix;
    let style = csv_style(&args)?;
    if args.rows == 0 {
        return Err(usage("--rows must be at least 1"));
    }
    if let Some(cols) = &args.columns {
        if cols.is_empty() || cols.iter().any(|c| c.is_empty()) {
            return Err(usage(
                "--columns needs a comma-separated list of field names",
            ));
        }
        onebox::record::FieldReader::new(cols).map_err(usage)?;
    }
    if let Some(by) = &args.by {
        onebox::json::split_path(by).map_err(usage)?;
    }
    let upload = match &args.to {
        Some(to) => Some(upload::Upload::parse(to, args.keep_local).map_err(usage)?),
        None => None,
    };
    let sources = args.input.sources()?;
    let columns = column_spec(&args, &sources)?;
    let pipeline = Pipeline::start("csv-chunk", &args.run, HeaderRule::FirstDataLine)?;
    let dir = out.dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the output directory {}", dir.display()))?;
    ignore_file_size_signal();
    interrupt::install();

    let counters = &pipeline.counters;
    let writer = FileWriter::new(
        gzip,
        files::stdout(),
        counters.counter("files_out"),
        counters.counter("bytes_out"),
    )
    .upload_to(upload);
    let backend = Backend::new(pipeline.threads(), gzip.then_some(args.level), writer)?;
    let limits = Limits {
        out: out.clone(),
        gzip,
        rows: args.rows,
        bytes: args.bytes,
        header: !args.no_header,
        max_open: args.max_open as usize,
        idle: (args.max_open_secs > 0).then(|| Duration::from_secs(args.max_open_secs)),
    };
    let mut router = Router::new(limits, backend);
    let spec = Arc::new(WorkerSpec {
        columns,
        forced: args.record_format.input_format,
        by: args.by.clone(),
        style,
    });
    let result = pipeline.run(
        sources,
        || ChunkWorker::new(spec.clone()),
        &mut router,
        false,
    );
    // A SIGINT/SIGTERM stops the router (see `interrupt`); unfinished files are removed by
    // `abort`, then the process ends by that signal.
    if let Some(signal) = interrupt::received() {
        let err = router.abort(interrupt::error(signal));
        interrupt::exit_by(signal, &err);
    }
    let completed = match result {
        Ok(_) => router.finish()?,
        Err(e) => return Err(router.abort(e)),
    };
    if args.to.is_none() {
        note_stale_files(&out, &dir, &completed);
    }
    if let Some(path) = &args.manifest {
        if onebox::cli::failed() {
            onebox::cli::note(&format!(
                "not writing {}: some input failed",
                path.display()
            ));
        } else {
            let text = manifest::render(&completed, args.url_prefix.as_deref());
            files::write_atomically(path, &text)?;
        }
    }
    pipeline.finish()
}

/// Warns of files in the output directory named like this run's files that it did not write:
/// left by an earlier run that made more files (or other families), they are not in the
/// manifest, but a load by prefix (`COPY ... FROM 's3://b/load/views'`) would take them too.
fn note_stale_files(out: &OutName, dir: &Path, completed: &[files::Completed]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let written: HashSet<&std::ffi::OsStr> = completed
        .iter()
        .filter_map(|c| c.path.file_name())
        .collect();
    let mut stale: Vec<std::ffi::OsString> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|name| out.is_chunk_name(name.as_bytes()) && !written.contains(name.as_os_str()))
        .collect();
    if stale.is_empty() {
        return;
    }
    stale.sort();
    onebox::cli::note(&format!(
        "{}: {} file(s) named like this run's output were not written by it (first: {}); \
         they are not in the manifest, but a load by prefix would take them: remove them \
         if they are left from an earlier run",
        dir.display(),
        stale.len(),
        dir.join(&stale[0]).display()
    ));
}

fn csv_style(args: &Args) -> anyhow::Result<CsvStyle> {
    let delimiter = match args.delimiter.as_str() {
        "tab" | "\\t" | "\t" => b'\t',
        d if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\n" | "\r") => d.as_bytes()[0],
        d => {
            return Err(usage(format!(
                "--delimiter {d:?}: needs one ASCII character other than a quote or line end"
            )))
        }
    };
    let null = args.null_as.as_bytes().to_vec();
    if null
        .iter()
        .any(|&c| c == delimiter || c == b'"' || c == b'\n' || c == b'\r')
    {
        return Err(usage(
            "--null-as must not hold the delimiter, a quote or a line end",
        ));
    }
    Ok(CsvStyle { delimiter, null })
}

/// How the columns are found: `--columns`; the first record of the one input (each worker
/// sees it as the block header); or, with several inputs, read up front from the first input
/// that has a record.
fn column_spec(args: &Args, sources: &Sources) -> anyhow::Result<ColumnSpec> {
    if let Some(cols) = &args.columns {
        return Ok(ColumnSpec::Fixed(cols.clone()));
    }
    if sources.sources.len() <= 1 {
        return Ok(ColumnSpec::FromBlockHeader);
    }
    for source in &sources.sources {
        match source {
            Source::Stdin => {
                return Err(usage(
                    "with stdin among several inputs, name the columns with --columns",
                ))
            }
            Source::Path(path) if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) => {
                return Err(usage(format!(
                    "{}: not a regular file, so the columns cannot be read ahead; name them with --columns",
                    path.display()
                )));
            }
            // S3 objects can be read twice.
            Source::Path(_) | Source::S3(_) => {}
        }
        let reader = input::open(source).with_context(|| source.display_name())?;
        let mut chunker = Chunker::new(reader, 64 * 1024, HeaderRule::FirstDataLine);
        while let Some(block) = chunker
            .next_block()
            .with_context(|| source.display_name())?
        {
            if let Some(h) = &block.header {
                let names = schema::names_from_header(h, args.record_format.input_format)
                    .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
                return Ok(ColumnSpec::Named(names));
            }
        }
    }
    Ok(ColumnSpec::Named(Vec::new())) // no records at all: nothing will be written
}

/// A write past `ulimit -f` must be an error we report and clean up after, not SIGXFSZ
/// killing the process with temporary files left behind.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code; it runs
    // before any thread that could write a file is started.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
