use clap::Parser;

fn main() -> std::process::ExitCode {
    onebox::cli::main("cflog-parse", || {
        cflog_parse::run(cflog_parse::Args::parse())
    })
}
