//! cflog-parse: CloudFront standard access logs to NDJSON or TSV records.
//!
//! Every file's own `#Fields:` line decides its columns ([`schema`]); a data line is split on
//! TABs into byte slices, filtered ([`filter`]) on the few fields the filters need, and only
//! then percent-decoded ([`decode`]) and written field by field ([`parse`]). The shared
//! pipeline runs one file per task on every core, keeps output in input order, and counts
//! every line as kept, filtered, rejected or skipped.

pub mod decode;
pub mod extract;
pub mod filter;
pub mod list_fields;
pub mod memo;
pub mod parse;
pub mod schema;
pub mod split;
pub mod text_memo;
pub mod time;
pub mod worker;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use onebox::chunk::HeaderRule;
use onebox::cli::{usage, InputArgs, RunArgs};
use onebox::par::Pipeline;
use onebox::record::{write_tsv_header, Format};
use regex::bytes::Regex;

use extract::{Events, Extract};
use filter::{Filters, StaticExt, StatusSet, WordSet, DEFAULT_STATIC_EXT};
use parse::{Column, Config};
use schema::{default_fields, kind_of, known_fields, TIMESTAMP};
use worker::ParseWorker;

const LONG_ABOUT: &str = "\
Turn CloudFront standard (access) log files into NDJSON or TSV records.

Reads gzip'd or plain log files from arguments, directories (walked recursively, sorted),
--files-from lists or stdin; gzip is recognised by its magic bytes, including multi-member files.
Each file's own #Fields: line decides its columns, so the older 12..26-field layouts and the
current 33-field one can be mixed in one run; data lines before any #Fields line use the current
33-field layout. Field names derive from the header: lowercase, `(` -> `_`, `)` dropped, `-` ->
`_` (cs(User-Agent) -> cs_user_agent). `timestamp` is derived from date and time as
YYYY-MM-DDTHH:MM:SSZ. Integer fields (sc_status, sc_bytes, cs_bytes, c_port, sc_content_len,
sc_range_start, sc_range_end, fle_encrypted_fields) and float fields (time_taken,
time_to_first_byte) are JSON numbers; CloudFront's `-` is null (an empty TSV cell).

Values are percent-decoded once, the way CloudFront encodes them (so a logged `%2520` in a path
or query is the `%20` the client sent); the user agent, referer and cookie first undo the
double encoding CloudFront used before 2020 (%2520, %2522, %255C). `+` stays a plus; invalid
escapes and bytes stay as logged (NDJSON output replaces invalid UTF-8 with U+FFFD; TSV keeps the
bytes). --raw turns decoding off.

Rejected lines (counted as rejected_<reason>, kept with --reject FILE): field_count (a field
count that differs from the header's; one extra empty trailing field is accepted),
bad_number (an output integer/float field that is not a number), bad_timestamp (unparseable
date/time when the timestamp is output or filtered on), not_web_log (every line under a #Fields
line that is not a web access log, e.g. RTMP streaming logs; one note per file). Lines dropped by
a filter are counted as filtered_<name>: static, status, method, result_type, time, path,
exclude_path, no_event. Header lines are counted as skipped_header, other # lines as
skipped_comment, blank lines as skipped_blank.

Memory: about 8 x threads x block size (default 2M): blocks being read and output waiting to
be written, independent of the input size. With --event or --extract over the path, each thread
also remembers the rules' answers for up to 4096 recent paths (1-2 MiB), since logs repeat
their popular paths. Likewise each thread keeps what it wrote for up to 1024 recent
percent-encoded values per text column (user agents above all; at most 1.5 MiB a column).";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    cflog-parse logs/ > requests.ndjson
    cflog-parse --drop-static --status 2xx,304 --fields timestamp,c_ip,cs_uri_stem,sc_status logs/
    find logs -name '*.gz' -print0 | cflog-parse -0 --files-from - -o tsv --since 2024-10-11T22:00
    cflog-parse --extract '^/models/(?P<model_id>[^/]+)' \\
        --event 'download=/resolve/' --event 'view=^/models/' --events-only logs/
    cflog-parse --list-fields E2ABCDEF.2024-10-11-22.a1b2c3d4.gz

EXIT STATUS:
    0  success (rejected lines are counted and reported, not errors, unless --strict)
    1  an input could not be read, a runtime error, or --strict and a rejected line
    2  usage error";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "cflog-parse",
    version,
    about = "CloudFront standard access logs to NDJSON/TSV records, filtered",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", default_value = "ndjson")]
    pub output_format: Format,

    /// Fields to write, comma-separated, in this order [default: timestamp and the 33 standard
    /// fields]. --extract groups and `event` are appended unless named here.
    #[arg(short, long, value_name = "LIST", value_delimiter = ',')]
    pub fields: Option<Vec<String>>,

    /// Keep values exactly as logged (no percent-decoding).
    #[arg(long)]
    pub raw: bool,

    /// Print the columns of FILE's first #Fields line and the field names they map to, then exit.
    #[arg(long, value_name = "FILE")]
    pub list_fields: Option<PathBuf>,

    /// Drop requests for static assets, by the extension of cs_uri_stem's last path segment
    /// (case-insensitive). Default list: css js mjs map png jpg jpeg gif svg ico webp avif bmp
    /// woff woff2 ttf otf eot mp4 webm m4v mov mp3 ogg wav txt xml webmanifest.
    #[arg(long)]
    pub drop_static: bool,

    /// Replace the --drop-static extension list (comma-separated); implies --drop-static.
    #[arg(long, value_name = "LIST")]
    pub static_ext: Option<String>,

    /// Keep only these statuses: classes (2xx) and codes (304, 000), comma-separated.
    #[arg(long, value_name = "LIST")]
    pub status: Option<String>,

    /// Keep only these methods (GET,POST; case-insensitive).
    #[arg(long, value_name = "LIST")]
    pub method: Option<String>,

    /// Keep only requests whose cs_uri_stem matches REGEX.
    #[arg(long, value_name = "REGEX")]
    pub path: Option<String>,

    /// Drop requests whose cs_uri_stem matches REGEX.
    #[arg(long, value_name = "REGEX")]
    pub exclude_path: Option<String>,

    /// Keep requests at or after this UTC time (YYYY-MM-DD[THH:MM[:SS]][Z]).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Keep requests before this UTC time (exclusive; same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Keep only these x-edge-result-type values (Hit,RefreshHit,Miss,Error,...; case-insensitive).
    #[arg(long, value_name = "LIST")]
    pub result_type: Option<String>,

    /// Named groups of REGEX over cs_uri_stem (or over FIELD) become fields; null when it does
    /// not match. Repeatable. Example: '^/models/(?P<model_id>[0-9a-f-]+)'. A REGEX whose text
    /// before its first ':' looks like a field name is written cs_uri_stem:REGEX.
    #[arg(long = "extract", value_name = "[FIELD:]REGEX")]
    pub extracts: Vec<String>,

    /// Set the `event` field to NAME for requests whose cs_uri_stem matches REGEX; the first
    /// matching --event wins, null when none does. Repeatable.
    #[arg(long = "event", value_name = "NAME=REGEX")]
    pub events: Vec<String>,

    /// Drop requests that match no --event (counted as filtered_no_event).
    #[arg(long, requires = "events")]
    pub events_only: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

/// The clap command, for man pages.
pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(path) = &args.list_fields {
        let (mut stdout, _) = onebox::cli::stdout();
        return list_fields::list_fields(path, &mut stdout);
    }
    let config = Arc::new(build_config(&args)?);
    let sources = args.input.sources()?;
    // With one thread, or one task per file, a worker sees each file's blocks in order and
    // follows its #Fields: lines itself. Only one stream cut into blocks for several threads
    // needs the block reader to hand each block the header in force at its start.
    let follows_sources = args.run.thread_count() <= 1 || sources.sources.len() != 1;
    let rule = if follows_sources {
        HeaderRule::None
    } else {
        HeaderRule::LastWithPrefix(b"#Fields:")
    };
    let pipeline = Pipeline::start("cflog-parse", &args.run, rule)?.lines_counted_by_workers();
    let (mut stdout, tty) = onebox::cli::stdout();
    if config.format == Format::Tsv {
        let mut header = Vec::new();
        write_tsv_header(&config.names, &mut header);
        stdout.write_all(&header)?;
    }
    let noted = worker::Noted::default();
    let records_out = pipeline.counters.records_out.clone();
    pipeline.run(
        sources,
        || {
            Ok(ParseWorker::new(
                config.clone(),
                noted.clone(),
                records_out.clone(),
                follows_sources,
            ))
        },
        &mut stdout,
        tty,
    )?;
    pipeline.finish()
}

/// Checks the flags and builds the run's fixed configuration.
pub fn build_config(args: &Args) -> anyhow::Result<Config> {
    let source_fields: Vec<String> = known_fields()
        .into_iter()
        .filter(|n| n != TIMESTAMP)
        .collect();
    let extracts = args
        .extracts
        .iter()
        .map(|spec| Extract::parse(spec, &source_fields))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let events = Events::parse(&args.events).map_err(usage)?;

    // Names the extra columns may take, and every name --fields accepts.
    let mut valid = known_fields();
    let mut extra: Vec<(String, Column)> = Vec::new();
    for (e, ex) in extracts.iter().enumerate() {
        for (name, group) in &ex.groups {
            if valid.contains(name) || name == "event" {
                return Err(usage(format!(
                    "--extract group name '{name}' is already a field name; choose another"
                )));
            }
            valid.push(name.clone());
            extra.push((
                name.clone(),
                Column::Group {
                    extract: e,
                    group: *group,
                },
            ));
        }
    }
    if !events.is_empty() {
        valid.push("event".into());
        extra.push(("event".into(), Column::Event));
    }

    let mut names: Vec<String> = match &args.fields {
        Some(list) => list.iter().map(|s| s.trim().to_string()).collect(),
        None => default_fields(),
    };
    if names.is_empty() || names.iter().any(String::is_empty) {
        return Err(usage(
            "--fields needs a comma-separated list of field names",
        ));
    }
    for name in &names {
        if !valid.contains(name) {
            return Err(usage(format!(
                "unknown field '{name}' in --fields; valid names: {}",
                valid.join(", ")
            )));
        }
    }
    if let Some(name) = onebox::cli::first_repeated(&names) {
        return Err(usage(format!("field '{name}' is named twice in --fields")));
    }
    for (name, _) in &extra {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let columns = names
        .iter()
        .map(|name| {
            if name == TIMESTAMP {
                return Column::Timestamp;
            }
            match extra.iter().find(|(n, _)| n == name) {
                Some((_, column)) => column.clone(),
                None => Column::Field {
                    name: name.clone(),
                    kind: kind_of(name),
                },
            }
        })
        .collect();

    let filters = build_filters(args)?;
    Ok(Config {
        names,
        columns,
        format: args.output_format,
        raw: args.raw,
        filters,
        extracts,
        events,
        events_only: args.events_only,
    })
}

fn build_filters(args: &Args) -> anyhow::Result<Filters> {
    let regex = |flag: &str, re: &Option<String>| -> anyhow::Result<Option<Regex>> {
        re.as_deref()
            .map(|r| extract::compile(r).map_err(|e| usage(format!("{flag} '{r}': {e}"))))
            .transpose()
    };
    let static_ext = match (&args.static_ext, args.drop_static) {
        (Some(list), _) => Some(StaticExt::parse(list).map_err(usage)?),
        (None, true) => Some(StaticExt::parse(DEFAULT_STATIC_EXT).map_err(usage)?),
        (None, false) => None,
    };
    let words = |flag: &str, list: &Option<String>| {
        list.as_deref()
            .map(|list| WordSet::parse(flag, list).map_err(usage))
            .transpose()
    };
    let bound = |flag: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| time::parse_bound(t).map_err(|e| usage(format!("{flag}: {e}"))))
            .transpose()
    };
    Ok(Filters {
        static_ext,
        status: args
            .status
            .as_deref()
            .map(StatusSet::parse)
            .transpose()
            .map_err(usage)?,
        methods: words("--method", &args.method)?,
        result_types: words("--result-type", &args.result_type)?,
        since: bound("--since", &args.since)?,
        until: bound("--until", &args.until)?,
        path: regex("--path", &args.path)?,
        exclude_path: regex("--exclude-path", &args.exclude_path)?,
    })
}
