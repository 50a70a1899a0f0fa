use clap::Parser;

fn main() -> std::process::ExitCode {
    onebox::cli::main("csv-chunk", || csv_chunk::run(csv_chunk::Args::parse()))
}
