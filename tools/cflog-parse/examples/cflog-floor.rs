//! The benchmark floor for cflog-parse: read and decompress the inputs with the same shared
//! input layer (same gzip library, same buffers) and do nothing else. scripts/bench-cflog.sh
//! runs one of these per core over a share of the files.
//!
//!     cargo build --release -p cflog-parse --example cflog-floor
//!     target/release/examples/cflog-floor FILE...

use std::io::Read;

fn main() -> std::process::ExitCode {
    onebox::cli::main("cflog-floor", || {
        let args: Vec<_> = std::env::args_os().skip(1).collect();
        let sources = onebox::input::collect(&args, None, false)?;
        let mut buf = vec![0u8; 2 << 20];
        let (mut bytes, mut newlines) = (0u64, 0u64);
        for source in &sources.sources {
            let mut reader = onebox::input::open(source)?;
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
                newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            }
        }
        onebox::cli::note(&format!("{bytes} bytes, {newlines} lines"));
        Ok(())
    })
}
