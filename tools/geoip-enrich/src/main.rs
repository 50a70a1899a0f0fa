use clap::Parser;

fn main() -> std::process::ExitCode {
    onebox::cli::main("geoip-enrich", || {
        geoip_enrich::run(geoip_enrich::Args::parse())
    })
}
