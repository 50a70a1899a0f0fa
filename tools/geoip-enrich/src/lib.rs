//! geoip-enrich: add where each request came from (MaxMind GeoIP2/GeoLite2 databases) to
//! NDJSON or TSV records, passing every record through in order.

pub mod addresses;
pub mod db;
pub mod enrich;
pub mod fields;
pub mod ip;
pub mod value;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use onebox::append::{Appender, HeaderOnce};
use onebox::chunk::HeaderRule;
use onebox::cli::{usage, InputArgs, RecordFormatArgs, RunArgs};
use onebox::par::Pipeline;

use db::Db;
use enrich::{EnrichWorker, Enricher};
use ip::Pick;

const LONG_ABOUT: &str = "\
Add where each request came from to NDJSON or TSV records, using MaxMind GeoIP2/GeoLite2 (or any
MaxMind DB format) databases. Every record is written again, in input order, with the new fields
at its end: NDJSON members spliced in before the closing brace (the record is not re-serialised),
TSV cells appended to the row and names to the header.

The address comes from --ip-field (a dotted path in NDJSON, a column in TSV): IPv4, IPv6 and
IPv4-mapped IPv6 (::ffff:a.b.c.d, looked up as IPv4). A list such as X-Forwarded-For
(\"203.0.113.9, 10.0.0.1\") gives its first or last address (--ip-pick). An address that no
database holds (private ranges among them) gets null fields and is counted `not_found`; an
empty or invalid one gets null fields and is counted `invalid_ip` (--reject-invalid rejects it
instead). Records that are not valid JSON, or TSV rows of the wrong width, are rejected, and so
is a record that already has a top-level field of a new field's name (field_exists: the output
would name it twice; a TSV header with such a column is an error; --prefix renames the new
fields).

Fields (named with --prefix, default geo_): country_iso, country, continent, continent_code,
registered_country_iso, subdivision_iso, subdivision, city, postal, lat, lon, accuracy_radius,
timezone, asn, as_org, isp, org. Names follow --lang (a list: the first language a record has).
Each field comes from the first --db whose record holds it. Without --fields the databases'
types choose: City: country_iso, subdivision_iso, city, lat, lon; Country: country_iso; ASN:
asn, as_org; ISP: asn, as_org, isp, org. --add NAME=path adds any other value after those
(--add region=subdivisions.0.iso_code; numbers index arrays, -1 is the last element; an
empty path, --add geo=, adds the whole record as JSON); a path the record does not have, or
whose shape differs (an index into a map, a key into a list or a number), gives null. With
--add, --fields '' adds no named fields, and a database of a type with no usual fields
adds none.

Databases are memory-mapped once and shared by all threads (the page cache holds one copy), and
checked before any input is read: a missing, truncated or corrupt file is one error line and
exit status 1. Replace a database by renaming a new file over it, never by rewriting it in place
while a run uses it.

Memory: O(threads x block size) for the records, plus the mapped databases, plus per thread at
most --cache rendered results and where the last 16,384 address texts led (about 1 MiB).";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    cflog-parse logs/ | geoip-enrich --db GeoLite2-City.mmdb --db GeoLite2-ASN.mmdb
    geoip-enrich --db City.mmdb --fields country_iso,city --prefix '' -o tsv events.tsv
    geoip-enrich --db City.mmdb --ip-field x_forwarded_for --ip-pick first --fields country_iso
    geoip-enrich --db City.mmdb --add region=subdivisions.0.iso_code --lang de,en
    geoip-enrich --db City.mmdb --fields '' --add region=subdivisions.0.iso_code
    geoip-enrich --info GeoLite2-City.mmdb

COUNTERS (--stats):
    records_out, ip_found, not_found, invalid_ip, rejected_<reason>, skipped_<why>

EXIT STATUS:
    0  success (rejected lines are counted and reported, not errors, unless --strict)
    1  a database or an input could not be read, a runtime error, or --strict and a rejected line
    2  usage error";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "geoip-enrich",
    version,
    about = "Add GeoIP fields (country, city, ASN...) from MaxMind databases to NDJSON/TSV records",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// A MaxMind DB file (.mmdb); repeat for several (City and ASN, say).
    #[arg(long = "db", value_name = "FILE", required_unless_present = "info")]
    pub dbs: Vec<PathBuf>,

    /// The field holding the address (dotted path or TSV column).
    #[arg(long, value_name = "FIELD", default_value = "c_ip")]
    pub ip_field: String,

    /// Named fields to add, comma-separated ('' for none) [default: chosen by the database
    /// types].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub fields: Option<Vec<String>>,

    /// Prefix of the named fields' output names.
    #[arg(long, value_name = "TEXT", default_value = "geo_")]
    pub prefix: String,

    /// Also add the value at a record path as field NAME (repeatable).
    #[arg(long = "add", value_name = "NAME=PATH")]
    pub add: Vec<String>,

    /// Languages for names, in order of preference (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "en")]
    pub lang: Vec<String>,

    /// Which address of a comma-separated list to use.
    #[arg(long, value_name = "WHICH", default_value = "first")]
    pub ip_pick: Pick,

    /// Reject records whose address is empty or invalid (reason invalid_ip).
    #[arg(long)]
    pub reject_invalid: bool,

    /// Rendered results kept per thread (0 turns off this memo and that of recent addresses).
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub cache: usize,

    /// Check each whole database (search tree and data) when opening it, not just a probe.
    #[arg(long)]
    pub verify: bool,

    /// Print the metadata of a database and exit.
    #[arg(long, value_name = "DB", conflicts_with = "dbs")]
    pub info: Option<PathBuf>,

    #[command(flatten)]
    pub formats: RecordFormatArgs,

    #[command(flatten)]
    pub run: RunArgs,
}

/// The clap command, for man pages.
pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(mut args: Args) -> anyhow::Result<()> {
    if let Some(path) = &args.info {
        let db = Db::open_for("--info", path, args.verify)?;
        let (mut stdout, _) = onebox::cli::stdout();
        stdout.write_all(db::info(&db).as_bytes())?;
        stdout.flush()?;
        return Ok(());
    }
    let (named, added) = compile_fields(&args)?;
    // Databases open (and fail) before any input is read.
    let dbs = args
        .dbs
        .iter()
        .map(|p| Db::open(p, args.verify))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // --lang as the databases spell it (`EN` is `en`, `pt-br` is `pt-BR`).
    let named = match spelled_as_in(&args.lang, &dbs) {
        Some(langs) => {
            args.lang = langs;
            compile_fields(&args)?.0
        }
        None => named,
    };
    let mut fields = match named {
        Some(f) => f,
        None => default_fields(&args, &dbs)?,
    };
    fields.extend(added);
    if fields.is_empty() {
        return Err(usage("no fields to add (--fields is empty and no --add)"));
    }
    check_unique(&fields)?;
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let appender = Appender::new(&names, args.formats.output_format);
    if let Some(name) = appender.name_over(&args.ip_field) {
        return Err(usage(format!(
            "the new field '{name}' is the field --ip-field {} reads; give the new fields other \
             names (--prefix)",
            args.ip_field
        )));
    }
    let enricher = Arc::new(Enricher {
        appender,
        dbs,
        fields,
        ip_field: args.ip_field.clone(),
        pick: args.ip_pick,
        reject_invalid: args.reject_invalid,
        cache: args.cache,
        input_format: args.formats.input.input_format,
    });
    // Compile --ip-field once up front so a bad path is a usage error before input.
    EnrichWorker::new(Arc::clone(&enricher))?;

    let sources = args.input.sources()?;
    let pipeline = Pipeline::start("geoip-enrich", &args.run, HeaderRule::FirstDataLine)?;
    let (stdout, tty) = onebox::cli::stdout();
    let mut sink = HeaderOnce::new(stdout);
    pipeline.run(
        sources,
        || EnrichWorker::new(Arc::clone(&enricher)),
        &mut sink,
        tty,
    )?;
    sink.flush()?;
    pipeline.finish()
}

/// The named fields of --fields (`None` when not given: the databases choose) and the fields
/// of --add.
fn compile_fields(args: &Args) -> anyhow::Result<(Option<Vec<fields::Field>>, Vec<fields::Field>)> {
    if args.lang.iter().any(String::is_empty) {
        return Err(usage("--lang: empty language"));
    }
    let named = match &args.fields {
        Some(list) => Some(named_fields(field_names(list), args)?),
        None => None,
    };
    let added = args
        .add
        .iter()
        .map(|spec| fields::added(spec).map_err(usage))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((named, added))
}

/// The --lang list as the databases spell the languages, matched ignoring ASCII case; `None`
/// when it is spelled so already. A language no database has names in gets a note (its
/// names would be null, which should not go unsaid).
fn spelled_as_in(langs: &[String], dbs: &[Db]) -> Option<Vec<String>> {
    let known: Vec<&String> = dbs
        .iter()
        .flat_map(|db| &db.reader.metadata().languages)
        .collect();
    if known.is_empty() {
        return None; // no database says which languages it has
    }
    let spelled: Vec<String> = langs
        .iter()
        .map(
            |lang| match known.iter().find(|k| k.eq_ignore_ascii_case(lang)) {
                Some(k) => k.to_string(),
                None => {
                    let mut have: Vec<&str> = known.iter().map(|k| k.as_str()).collect();
                    have.sort_unstable();
                    have.dedup();
                    onebox::cli::note(&format!(
                        "--lang {lang}: no database has names in it (they have {})",
                        have.join(", ")
                    ));
                    lang.clone()
                }
            },
        )
        .collect();
    (spelled != langs).then_some(spelled)
}

/// The names in a --fields list; `--fields ''` is the empty list.
fn field_names(list: &[String]) -> Vec<&str> {
    match list {
        [only] if only.trim().is_empty() => Vec::new(),
        _ => list.iter().map(|n| n.trim()).collect(),
    }
}

/// Compiles named fields with the prefix and languages.
fn named_fields(names: Vec<&str>, args: &Args) -> anyhow::Result<Vec<fields::Field>> {
    names
        .into_iter()
        .map(|n| fields::named(n, &args.prefix, &args.lang).map_err(usage))
        .collect()
}

/// The named fields the databases' types choose. With --add the user has said what else to
/// take, so a database of a type with no usual fields adds none instead of being an error.
fn default_fields(args: &Args, dbs: &[Db]) -> anyhow::Result<Vec<fields::Field>> {
    let mut types: Vec<&str> = dbs.iter().map(Db::database_type).collect();
    if !args.add.is_empty() {
        types.retain(|t| fields::defaults_of(t).is_some());
    }
    let names = fields::defaults(&types).map_err(usage)?;
    named_fields(names, args)
}

fn check_unique(fields: &[fields::Field]) -> anyhow::Result<()> {
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    match onebox::cli::first_repeated(&names) {
        Some(name) => Err(usage(format!("field '{name}' is named twice"))),
        None => Ok(()),
    }
}
