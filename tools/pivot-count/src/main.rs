use clap::Parser;

fn main() -> std::process::ExitCode {
    onebox::cli::main("pivot-count", || {
        pivot_count::run(pivot_count::Args::parse())
    })
}
