//! The benchmark floor for cflog-parse: read and decompress the inputs with the same shared
//! input layer (same gzip libraries, same buffers, small files decoded whole with libdeflate as
//! the pipeline does) and do nothing else: not even count lines, which cflog-parse does not
//! do apart from parsing either. scripts/bench-cflog.sh runs one of these per core
//! over a share of the files. `--stream` decodes everything with the streaming zlib-rs decoder
//! instead (the floor before whole-file decoding).
//!
//!     cargo build --release -p cflog-parse --example cflog-floor
//!     target/release/examples/cflog-floor [--stream] FILE...

use std::io::Read;

use onebox::chunk::{BufferPool, DEFAULT_BLOCK_SIZE};
use onebox::input::{self, Opened};

fn main() -> std::process::ExitCode {
    onebox::cli::main("cflog-floor", || {
        let mut args: Vec<_> = std::env::args_os().skip(1).collect();
        let stream = args.first().is_some_and(|a| a == "--stream");
        if stream {
            args.remove(0);
        }
        let sources = input::collect(&args, None, false)?;
        let pool = BufferPool::new(4, 4 * DEFAULT_BLOCK_SIZE);
        let mut buf = vec![0u8; DEFAULT_BLOCK_SIZE];
        let mut bytes = 0u64;
        for source in &sources.sources {
            let raw = input::open_raw(source)?;
            let opened = if stream {
                Opened::Stream(input::decompress_if_gzip(raw)?)
            } else {
                input::open_for_blocks(source, raw, 2 * DEFAULT_BLOCK_SIZE, &pool)?
            };
            match opened {
                Opened::Decoded(data) => {
                    bytes += data.len() as u64;
                    pool.put(data);
                }
                Opened::Stream(mut reader) => loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    bytes += n as u64;
                },
            }
        }
        onebox::cli::note(&format!("{bytes} bytes"));
        Ok(())
    })
}
