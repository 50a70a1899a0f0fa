//! kv-join: add the columns of a look-up table's matching row to NDJSON or TSV records.

pub mod join;
pub mod store;
pub mod table;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use onebox::append::HeaderOnce;
use onebox::chunk::HeaderRule;
use onebox::cli::{InputArgs, RecordFormatArgs, RunArgs};
use onebox::par::Pipeline;

use join::{Join, JoinWorker, Missing};
use table::{Duplicates, TableFormat};

const LONG_ABOUT: &str = "\
Add the columns of a look-up table's matching row to NDJSON or TSV records: for every record,
the table row whose --table-key equals the record's --key field. Every record is written again
in input order with the new fields at its end (NDJSON members spliced in before the closing
brace; TSV cells appended, and the names to the header).

The table is TSV (with a header line), CSV (with a header row) or NDJSON (one object per line;
--add names top-level members or dotted paths), gzip allowed; the format comes from the file
name (.tsv, .csv, .ndjson/.jsonl, optionally .gz) or its first byte (`{` is NDJSON), or
--table-format. Empty TSV/CSV cells and JSON nulls are written as null; NDJSON table values keep
their JSON type, TSV/CSV values are strings. Keys compare as text (a JSON number 42 matches the
cell 42).

A record whose key is missing, null or not in the table gets null fields and is counted
`not_found`; --drop-missing leaves it out instead, counted filtered_missing, and
--reject-missing rejects it (rejected_not_found). A key that appears twice in the table is an error naming it, unless --first or --last.
The new fields are written once: a record that already has a top-level field of a new field's
name is rejected (field_exists), and a TSV header with such a column is an error (--prefix
renames the new fields).

Memory: the table, loaded once and shared by all threads (about 50 bytes per row plus the key
and the added values, kept rendered for JSON and for TSV: a million rows of short ids take
about 95 MiB), plus O(threads x block size) for the records.";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    kv-join --table creators.tsv --key model_id --table-key id --add creator_id events.ndjson
    cflog-parse logs/ | kv-join --table owners.csv.gz --key cs_uri_stem --table-key path
    kv-join --table models.ndjson --key model_id --table-key id --add owner.id,tier --drop-missing

COUNTERS (--stats):
    records_out, found, not_found, filtered_missing, rejected_<reason>, skipped_<why>

EXIT STATUS:
    0  success (rejected lines are counted and reported, not errors, unless --strict)
    1  the table or an input could not be read, a duplicate table key, a runtime error, or
       --strict and a rejected line
    2  usage error";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "kv-join",
    version,
    about = "Add columns from a look-up table (TSV, CSV or NDJSON) to NDJSON/TSV records by key",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// The look-up table (TSV, CSV or NDJSON; gzip allowed).
    #[arg(long, value_name = "FILE")]
    pub table: PathBuf,

    /// The table's format [default: from the file name, else its first byte].
    #[arg(long, value_name = "FORMAT")]
    pub table_format: Option<TableFormat>,

    /// The record field holding the key (dotted path or TSV column).
    #[arg(long, value_name = "FIELD")]
    pub key: String,

    /// The table column holding the key [default: the same name as --key].
    #[arg(long, value_name = "COLUMN")]
    pub table_key: Option<String>,

    /// Table columns to add, comma-separated [default: every column but the key].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub add: Vec<String>,

    /// Prefix of the added fields' names.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub prefix: String,

    /// Leave out records whose key is not in the table (counted filtered_missing).
    #[arg(long, conflicts_with = "reject_missing")]
    pub drop_missing: bool,

    /// Reject records whose key is not in the table (reason not_found).
    #[arg(long)]
    pub reject_missing: bool,

    /// When the table has a key twice, keep the first row.
    #[arg(long, conflicts_with = "last")]
    pub first: bool,

    /// When the table has a key twice, keep the last row.
    #[arg(long)]
    pub last: bool,

    #[command(flatten)]
    pub formats: RecordFormatArgs,

    #[command(flatten)]
    pub run: RunArgs,
}

/// The clap command, for man pages.
pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.add.iter().any(|a| a.trim().is_empty()) {
        return Err(onebox::cli::usage("--add: empty column name"));
    }
    let add: Vec<String> = args.add.iter().map(|a| a.trim().to_string()).collect();
    if let Some(twice) = onebox::cli::first_repeated(&add) {
        return Err(onebox::cli::usage(format!(
            "--add: the column '{twice}' is named twice"
        )));
    }
    let table_key = args.table_key.as_deref().unwrap_or(&args.key);
    let spec = table::Spec {
        path: &args.table,
        format: args.table_format,
        key: table_key,
        add: &add,
        prefix: &args.prefix,
        duplicates: match (args.first, args.last) {
            (true, _) => Duplicates::First,
            (_, true) => Duplicates::Last,
            _ => Duplicates::Error,
        },
    };
    // The table loads (and fails) before any input is read.
    let table = table::load(&spec, args.formats.output_format)?;
    if let Some(name) = table.appender.name_over(&args.key) {
        return Err(onebox::cli::usage(format!(
            "--add: the new field '{name}' is the field --key {} reads; give the new fields \
             other names (--prefix)",
            args.key
        )));
    }
    let join = Arc::new(Join {
        table,
        key: args.key.clone(),
        missing: match (args.drop_missing, args.reject_missing) {
            (true, _) => Missing::Drop,
            (_, true) => Missing::Reject,
            _ => Missing::Keep,
        },
        input_format: args.formats.input.input_format,
    });
    JoinWorker::new(Arc::clone(&join))?;

    let sources = args.input.sources()?;
    let pipeline = Pipeline::start("kv-join", &args.run, HeaderRule::FirstDataLine)?;
    pipeline
        .counters
        .counter("table_rows")
        .add(join.table.len() as u64);
    let (stdout, tty) = onebox::cli::stdout();
    let mut sink = HeaderOnce::new(stdout);
    pipeline.run(
        sources,
        || JoinWorker::new(Arc::clone(&join)),
        &mut sink,
        tty,
    )?;
    sink.flush()?;
    pipeline.finish()
}
