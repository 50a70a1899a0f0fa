//! Command line of onebox-gen: one subcommand per data set, sharing the output options.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use onebox_gen::cloudfront::{CloudFront, Layout, Options};
use onebox_gen::output::{self, Dest, Generator, Plan, Summary};
use onebox_gen::size::parse_size;
use onebox_gen::telemetry::Telemetry;

#[derive(Parser)]
#[command(
    name = "onebox-gen",
    version,
    about = "Generate deterministic sample data for the onebox tools",
    long_about = "Generate deterministic sample data for the onebox tools. The same \
                  options and --seed always produce byte-identical uncompressed output."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Telemetry queue exports: '#' header block, then nested NDJSON events
    Telemetry(TelemetryArgs),
    /// CloudFront standard access logs (W3C, TAB-separated)
    Cloudfront(CloudfrontArgs),
}

/// Options every data set shares.
#[derive(Args)]
struct OutputArgs {
    /// Output directory (created if missing), or '-' for one stream on stdout
    #[arg(long, value_name = "DIR|-")]
    out: PathBuf,
    /// Number of files (with '-': header blocks concatenated in one stream)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    files: u32,
    /// Total uncompressed bytes over all files, approximately: 64K, 500M, 1G, ...
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = parse_size)]
    size: u64,
    /// Random seed; same options and seed give the same bytes
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of lines replaced by malformed ones (0.001 = one in a thousand)
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_rate)]
    bad_rate: f64,
    /// Gzip each file (adds .gz to file names)
    #[arg(long)]
    gzip: bool,
    /// Worker threads, each writing whole files [default: available cores]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Also write two broken files among the others: a truncated gzip file and a plain-text
    /// file named .gz (to exercise readers' error paths; needs a directory --out)
    #[arg(long)]
    broken_files: bool,
}

#[derive(Args)]
struct TelemetryArgs {
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct CloudfrontArgs {
    #[command(flatten)]
    output: OutputArgs,
    /// Distribution id used in file names
    #[arg(long, default_value = "E2ABCDEF", value_parser = parse_distribution)]
    distribution: String,
    /// UTC day the logs cover; files are spread over its 24 hours
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2017-01-15",
          value_parser = parse_day)]
    date: i64,
    /// Number of fields per line: 33 (2019+), 26 (2018, with FLE) or 24 (before)
    #[arg(long, default_value = "33", value_parser = ["33", "26", "24"])]
    layout: String,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("{s:?} is not a fraction between 0 and 1")),
    }
}

fn parse_distribution(s: &str) -> Result<String, String> {
    // It becomes part of file names: keep it to what CloudFront ids use.
    if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a distribution id (letters and digits)"
        ))
    }
}

fn parse_day(s: &str) -> Result<i64, String> {
    onebox_gen::clock::parse_date(s).ok_or_else(|| format!("{s:?} is not a date YYYY-MM-DD"))
}

impl OutputArgs {
    fn plan(&self) -> Plan {
        let dest = if self.out.as_os_str() == "-" {
            Dest::Stdout
        } else {
            Dest::Dir(self.out.clone())
        };
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Plan {
            dest,
            files: self.files as usize,
            total_bytes: self.size,
            gzip: self.gzip,
            threads,
        }
    }
}

fn generate<G: Generator>(what: &str, gen: &G, args: &OutputArgs) -> Result<()> {
    let plan = args.plan();
    let started = Instant::now();
    let sum = output::run(gen, &plan)?;
    if let Dest::Dir(dir) = &plan.dest {
        report(what, &sum, &dir.display().to_string(), started);
        if args.broken_files {
            for path in output::write_broken_files(gen, dir, plan.files)? {
                eprintln!("onebox-gen {what}: broken file {}", path.display());
            }
        }
    } else if args.broken_files {
        anyhow::bail!("--broken-files needs a directory --out");
    }
    Ok(())
}

/// One summary line on stderr; stdout stays clean for the data.
fn report(what: &str, s: &Summary, dest: &str, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "onebox-gen {what}: {} files, {} lines ({} bad), {:.1} MiB uncompressed to {dest} in {secs:.2}s ({:.0} MiB/s)",
        s.files,
        s.lines,
        s.bad_lines,
        s.bytes as f64 / 1048576.0,
        s.bytes as f64 / 1048576.0 / secs.max(1e-9),
    );
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Telemetry(a) => generate(
            "telemetry",
            &Telemetry::new(a.output.seed, a.output.bad_rate),
            &a.output,
        ),
        Command::Cloudfront(a) => {
            let layout = match a.layout.as_str() {
                "24" => Layout::F24,
                "26" => Layout::F26,
                _ => Layout::F33,
            };
            let gen = CloudFront::new(&Options {
                seed: a.output.seed,
                bad_rate: a.output.bad_rate,
                distribution: a.distribution.clone(),
                day: a.date,
                layout,
                files: a.output.files as usize,
            });
            generate("cloudfront", &gen, &a.output)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`onebox-gen ... --out - | head`) is a normal way to stop.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onebox-gen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
