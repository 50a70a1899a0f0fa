//! Input handling: bytes (gzip when they start with its magic) through the block reader. The
//! first byte picks a block size; plain input must come out byte for byte with lines numbered
//! in order; gzip input may fail to decode but must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onebox::chunk::{lines, Chunker, HeaderRule};

fuzz_target!(|data: &[u8]| {
    let Some((&size, input)) = data.split_first() else {
        return;
    };
    let reader: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(input.to_vec()));
    let Ok(reader) = onebox::input::decompress_if_gzip(reader) else {
        return;
    };
    let gzip = input.starts_with(&[0x1f, 0x8b]);
    let rule = match size % 3 {
        0 => HeaderRule::None,
        1 => HeaderRule::FirstDataLine,
        _ => HeaderRule::LastWithPrefix(b"#Fields:"),
    };
    let mut chunker = Chunker::new(reader, usize::from(size / 3) + 1, rule);
    let (mut joined, mut next_line) = (Vec::new(), 1);
    loop {
        match chunker.next_block() {
            Ok(Some(block)) => {
                assert_eq!(block.first_line, next_line);
                let n = lines(&block.data, block.first_line).count() as u64;
                assert_eq!(n, block.lines);
                next_line += n;
                joined.extend_from_slice(&block.data);
            }
            Ok(None) => break,
            Err(_) => {
                assert!(gzip, "plain input cannot fail to read");
                return;
            }
        }
    }
    if !gzip {
        assert_eq!(joined, input);
    }
});
