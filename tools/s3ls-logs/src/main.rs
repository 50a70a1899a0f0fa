use clap::Parser;

fn main() -> std::process::ExitCode {
    onebox::cli::main("s3ls-logs", || s3ls_logs::run(s3ls_logs::Args::parse()))
}
