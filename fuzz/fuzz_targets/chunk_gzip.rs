//! Input handling: bytes (gzip when they start with its magic) through the block reader, streamed
//! or (small gzip) decoded whole. The first byte picks a block size, a header rule and the path;
//! plain input must come out byte for byte (less a leading byte order mark) with lines
//! numbered in order; gzip input may fail to decode but must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onebox::chunk::{lines, BufferPool, Chunker, HeaderRule};
use onebox::input::Opened;

fuzz_target!(|data: &[u8]| {
    let Some((&size, input)) = data.split_first() else {
        return;
    };
    let reader: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(input.to_vec()));
    let gzip = input.starts_with(&[0x1f, 0x8b]);
    let rule = match size % 3 {
        0 => HeaderRule::None,
        1 => HeaderRule::FirstDataLine,
        _ => HeaderRule::LastWithPrefix(b"#Fields:"),
    };
    let block_size = usize::from(size / 6) + 1;
    // An odd first byte takes the whole-file path (libdeflate, streamed if it refuses).
    let mut chunker = if size % 2 == 1 {
        let pool = BufferPool::new(2, 1 << 20);
        match onebox::input::open_whole(reader, 1 << 16, &pool) {
            Ok(Opened::Decoded(data)) => {
                let empty: Box<dyn std::io::Read + Send> = Box::new(std::io::empty());
                Chunker::new(empty, block_size, rule).preloaded(data)
            }
            Ok(Opened::Stream(reader)) => Chunker::new(reader, block_size, rule),
            Err(_) => return,
        }
    } else {
        let Ok(reader) = onebox::input::decompress_if_gzip(reader) else {
            return;
        };
        Chunker::new(reader, block_size, rule)
    };
    let (mut joined, mut next_line) = (Vec::new(), 1);
    loop {
        match chunker.next_block() {
            Ok(Some(block)) => {
                assert_eq!(block.first_line, next_line);
                let n = lines(&block.data, block.first_line).count() as u64;
                assert_eq!(Some(n), block.lines);
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
        // Byte for byte, but for a UTF-8 byte order mark at the start, which is dropped.
        let bom: &[u8] = b"\xEF\xBB\xBF";
        assert_eq!(joined, input.strip_prefix(bom).unwrap_or(input));
    }
});
