//! pivot-count: count unique combinations of fields in NDJSON or TSV records.
//!
//! The "cheap MapReduce": every worker thread counts the blocks it is given into its own table
//! (no locks on the hot path), the tables are merged at the end, and the groups are written
//! sorted by count, then key, so output never depends on thread timing. Outputs merge exactly
//! (`--merge`), so `parallel`, `xargs -P`, many hosts or Spark can each count a share.

pub mod count;
pub mod decimal;
pub mod merge;
pub mod output;
pub mod spill;
pub mod sum;
pub mod table;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use onebox::chunk::HeaderRule;
use onebox::cli::{InputArgs, InputFormatArg, RunArgs};
use onebox::input;
use onebox::par::Pipeline;

use count::{CountSpec, CountWorker};
use output::{GroupWriter, OutputFormat};
use table::Table;

const LONG_ABOUT: &str = "\
Count unique combinations of fields in NDJSON or TSV records.

Reads records from files, directories (walked recursively, sorted), --files-from lists or stdin
(gzip recognised by its magic bytes) and writes one row per distinct combination of the -f fields,
with a `count` column and a `sum_<field>` column per --sum, sorted by count (descending) then
key. Fields are dotted paths into nested NDJSON (App.Version; \"a.b\".c for a key with a dot) or
TSV column names. A missing field is an empty value (counted as missing_<field> in --stats); an
object or array is written as compact JSON; a line that is not valid JSON is rejected.

Sums are exact: every number (1234, 0.5, 2.5e3, 1e-10) is added as a decimal without rounding,
so a sum never depends on threads, block sizes or how the work was split and merged, and it is
written in full as a plain decimal (1e2 plus 1 is written 101). A value that is not a number,
is beyond the range of a double or has more than 400 decimals is left out of the sum and counted
as not_numeric_<field>. A sum beyond the range of a double (about 1.8e308) is an error naming
the column and group (exit 1), never written as inf.

Memory: O(threads x block size) for reading plus the group table (about 100 bytes + the key per
distinct combination). With --mem-limit the table spills sorted partial counts to temporary files
(in TMPDIR) and merges them, so a key set larger than memory still finishes exactly.

Outputs merge exactly: `pivot-count --merge a.csv b.csv` adds up counts and sums of earlier
outputs (CSV, TSV or NDJSON); with -f it keeps only those fields (a roll-up) and the sums named
by --sum; --sum alone keeps every field and only the sums named.";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    pivot-count -f App.Version,Region.Country logs/
    find logs -name '*.gz' -print0 | pivot-count -0 --files-from - -f App.Build --top 20
    ls logs/*.gz | parallel -j4 --xargs 'pivot-count -j1 -o tsv -f App.Version {} > part.{#}.tsv'
    pivot-count --merge part.*.tsv > total.csv
    pivot-count -f a,b --sum sc_bytes --stats stats.json big.ndjson.gz

EXIT STATUS:
    0  success (rejected lines are counted and reported, not errors, unless --strict)
    1  an input could not be read, a runtime error (a sum beyond the range of a double), or
       --strict and a rejected line
    2  usage error (also: two output columns with one name, as with -f count)";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "pivot-count",
    version,
    about = "Count unique combinations of fields in NDJSON/TSV records",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Fields to group by, comma-separated dotted paths (App.Version,Region.Country).
    #[arg(
        short,
        long,
        value_name = "LIST",
        value_delimiter = ',',
        required_unless_present = "merge"
    )]
    pub fields: Vec<String>,

    /// Also sum this numeric field per group, exactly, as column sum_FIELD (repeatable).
    #[arg(long = "sum", value_name = "FIELD")]
    pub sums: Vec<String>,

    /// Inputs are earlier pivot-count outputs: add up their counts and sums.
    #[arg(long)]
    pub merge: bool,

    #[command(flatten)]
    pub record_format: InputFormatArg,

    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", default_value = "csv")]
    pub output_format: OutputFormat,

    /// Do not write the header line (CSV and TSV).
    #[arg(long)]
    pub no_header: bool,

    /// Write only the N most frequent groups.
    #[arg(long, value_name = "N")]
    pub top: Option<u64>,

    /// Write only groups counted at least N times.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_count: u64,

    /// Spill partial counts to TMPDIR when the group table passes SIZE (e.g. 512M). SIZE bounds
    /// the table; reading blocks and the merge's buffers come on top (64 KiB per run, for at most
    /// 64 runs merged at a time, fewer under a low `ulimit -n`; more runs take more passes).
    #[arg(long, value_name = "SIZE", value_parser = onebox::size::parse_size)]
    pub mem_limit: Option<u64>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// The clap command, for man pages.
pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    output::check_column_names(&args.fields, &args.sums).map_err(onebox::cli::usage)?;
    // Before any other thread starts (see spill).
    spill::remove_runs_on_signal();
    let sources = args.input.sources()?;
    let pipeline = Pipeline::start("pivot-count", &args.run, HeaderRule::FirstDataLine)?;
    let limit = args.mem_limit.map_or(usize::MAX, |m| m as usize);

    let (table, fields, sums) = if args.merge {
        merge_inputs(&args, &pipeline, sources, limit)?
    } else {
        count_inputs(&args, &pipeline, sources, limit)?
    };

    let (stdout, _) = onebox::cli::stdout();
    let mut writer = GroupWriter::new(stdout, args.output_format, &fields, &sums);
    if !args.no_header {
        writer.header()?;
    }
    let groups = pipeline.counters.counter("groups_out");
    let mut written = 0;
    for item in table.into_sorted()? {
        let (key, agg) = item?;
        if agg.count < args.min_count || args.top.is_some_and(|top| written >= top) {
            break; // sorted by count: nothing after this qualifies
        }
        writer.row(&key, &agg)?;
        written += 1;
    }
    writer.finish()?;
    groups.add(written);
    pipeline.finish()
}

/// Counts records with the shared pipeline; returns the merged table.
fn count_inputs(
    args: &Args,
    pipeline: &Pipeline,
    sources: input::Sources,
    limit: usize,
) -> anyhow::Result<(Table, Vec<String>, Vec<String>)> {
    for f in args.fields.iter().chain(&args.sums) {
        onebox::json::split_path(f).map_err(onebox::cli::usage)?;
    }
    let threads = pipeline.threads();
    let counters = &pipeline.counters;
    counters.counter("records_counted");
    let spec = CountSpec {
        fields: args.fields.clone(),
        sums: args.sums.clone(),
        forced: args.record_format.input_format,
        table_limit: limit / threads.max(1),
        missing_counters: args
            .fields
            .iter()
            .map(|f| counters.counter(&format!("missing_{f}")))
            .collect(),
        not_numeric_counters: args
            .sums
            .iter()
            .map(|f| counters.counter(&format!("not_numeric_{f}")))
            .collect(),
    };
    // Counting writes nothing per block; the groups are written after the reduce.
    let mut sink = std::io::sink();
    let workers = pipeline.run(sources, || CountWorker::new(&spec), &mut sink, false)?;
    let mut tables = workers.into_iter().map(|w| w.table);
    let mut table = tables
        .next()
        .unwrap_or_else(|| Table::new(args.sums.len(), limit));
    for t in tables {
        table.absorb(t)?;
    }
    let sums = args.sums.iter().map(|s| format!("sum_{s}")).collect();
    Ok((table, args.fields.clone(), sums))
}

/// Reads earlier outputs one by one (they are small next to the raw records).
fn merge_inputs(
    args: &Args,
    pipeline: &Pipeline,
    sources: input::Sources,
    limit: usize,
) -> anyhow::Result<(Table, Vec<String>, Vec<String>)> {
    for err in &sources.errors {
        onebox::cli::fail(&format!("{err:#}"));
        pipeline.counters.files_failed.add(1);
    }
    let mut want = merge::Wanted::new(&args.fields, &args.sums);
    // The number of sums is known once the first header is read (see merge::read_into).
    let mut table = Table::new(0, limit);
    let rows = pipeline.counters.counter("rows_merged");
    for source in &sources.sources {
        let reader = match input::open(source) {
            Ok(r) => r,
            Err(e) => {
                pipeline.counters.files_failed.add(1);
                let msg = format!("{source}: {e}");
                if pipeline.strict() {
                    anyhow::bail!(msg);
                }
                onebox::cli::fail(&msg);
                continue;
            }
        };
        pipeline.counters.files.add(1);
        let n = merge::read_into(source, reader, &mut want, &mut table)
            .with_context(|| format!("merging {source}"))?;
        rows.add(n);
    }
    let want = want.into_columns();
    Ok((table, want.fields, want.sums))
}
