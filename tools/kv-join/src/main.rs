use clap::Parser;

fn main() -> std::process::ExitCode {
    onebox::cli::main("kv-join", || kv_join::run(kv_join::Args::parse()))
}
