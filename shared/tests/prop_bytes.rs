//! Property tests of the byte-level layers every tool stands on: TSV escaping and the block
//! reader.

use std::io::{self, Read};

use onebox::chunk::{lines, BufferPool, Chunker, HeaderRule};
use onebox::input::{open_whole, Opened};
use onebox::tsv::{cells, escape_into, unescape_into};
use proptest::prelude::*;

/// A reader that hands out the input in reads of the given sizes (cycling), like a pipe.
struct Uneven<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Uneven<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Bytes rich in line ends, CRs, TABs and `#`, the bytes the reader and headers care about.
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(b'\t'),
            1 => Just(b'#'),
            6 => any::<u8>(),
        ],
        0..600,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tsv_escape_round_trips(value in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut cell = Vec::new();
        escape_into(&value, &mut cell);
        // An escaped value never breaks a row or a cell.
        prop_assert!(!cell.contains(&b'\t') && !cell.contains(&b'\n') && !cell.contains(&b'\r'));
        prop_assert_eq!(cells(&cell).count(), 1);
        let mut back = Vec::new();
        unescape_into(&cell, &mut back);
        prop_assert_eq!(back, value);
    }

    #[test]
    fn tsv_unescape_of_anything_is_total(cell in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        unescape_into(&cell, &mut out);
        // Unescaping only ever shortens (each escape is two bytes for one).
        prop_assert!(out.len() <= cell.len());
    }

    #[test]
    fn tsv_row_of_escaped_values_splits_back(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 1..6)) {
        let mut row = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                row.push(b'\t');
            }
            escape_into(v, &mut row);
        }
        let back: Vec<Vec<u8>> = cells(&row)
            .map(|c| {
                let mut t = Vec::new();
                unescape_into(c, &mut t);
                t
            })
            .collect();
        prop_assert_eq!(back, values);
    }

    #[test]
    fn chunker_keeps_every_byte_and_numbers_lines(
        input in line_bytes(),
        block_size in 1usize..64,
        reads in prop::collection::vec(1usize..40, 1..5),
        eager in any::<bool>(),
        rule in prop_oneof![
            Just(HeaderRule::None),
            Just(HeaderRule::FirstDataLine),
            Just(HeaderRule::LastWithPrefix(b"#F")),
        ],
    ) {
        let reader = Uneven { data: &input, sizes: reads, turn: 0 };
        let mut chunker = Chunker::new(reader, block_size, rule).eager(eager);
        let mut joined = Vec::new();
        let mut next_line = 1;
        let mut numbered = Vec::new();
        while let Some(block) = chunker.next_block().unwrap() {
            prop_assert!(!block.data.is_empty(), "no empty blocks");
            prop_assert_eq!(block.first_line, next_line, "blocks number lines consecutively");
            let in_block: Vec<(u64, Vec<u8>)> =
                lines(&block.data, block.first_line).map(|(n, l)| (n, l.to_vec())).collect();
            prop_assert_eq!(Some(in_block.len() as u64), block.lines);
            next_line += in_block.len() as u64;
            numbered.extend(in_block);
            joined.extend_from_slice(&block.data);
            // Every block but the last ends at a line end (no line is ever split).
            if joined.len() < input.len() {
                prop_assert_eq!(block.data.last(), Some(&b'\n'));
            }
        }
        prop_assert_eq!(&joined, &input);
        // The lines seen through blocks are exactly the lines of the whole input.
        let whole: Vec<(u64, Vec<u8>)> = lines(&input, 1).map(|(n, l)| (n, l.to_vec())).collect();
        prop_assert_eq!(numbered, whole);
    }
}

/// Reads a whole source the way tools do: gzip detected by magic, then the block reader.
fn read_through_chunker(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    let reader = onebox::input::decompress_if_gzip(Box::new(io::Cursor::new(bytes)))?;
    blocks_joined(Chunker::new(reader, 4096, HeaderRule::None))
}

/// The same through the whole-file path (small gzip decoded at once by libdeflate, streamed
/// when libdeflate refuses it).
fn read_whole_through_chunker(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    let pool = BufferPool::new(2, 1 << 20);
    let chunker = Chunker::new(
        Box::new(io::empty()) as Box<dyn Read + Send>,
        4096,
        HeaderRule::None,
    );
    let chunker = match open_whole(Box::new(io::Cursor::new(bytes)), 1 << 20, &pool)? {
        Opened::Decoded(data) => chunker.preloaded(data),
        Opened::Stream(reader) => Chunker::new(reader, 4096, HeaderRule::None),
    };
    blocks_joined(chunker)
}

fn blocks_joined(mut chunker: Chunker<Box<dyn Read + Send>>) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(block) = chunker.next_block()? {
        out.extend_from_slice(&block.data);
    }
    Ok(out)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn gzip_members_read_back_and_damage_is_an_error(
        members in prop::collection::vec(line_bytes(), 1..4),
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let whole: Vec<u8> = members.concat();
        let gz: Vec<u8> = members.iter().flat_map(|m| gzip(m)).collect();
        prop_assert_eq!(read_through_chunker(gz.clone()).unwrap(), whole.clone());
        prop_assert_eq!(read_whole_through_chunker(gz.clone()).unwrap(), whole.clone());
        // A truncated file is an error (or, cut at a member boundary, a shorter read); never a
        // panic and never more data than was there. Both paths agree.
        // (A cut before the second byte leaves no gzip magic: that one byte is plain text.)
        let at = cut.index(gz.len()).max(2);
        let streamed = read_through_chunker(gz[..at].to_vec());
        let at_once = read_whole_through_chunker(gz[..at].to_vec());
        prop_assert_eq!(streamed.as_ref().ok(), at_once.as_ref().ok());
        if let Ok(got) = streamed {
            prop_assert!(whole.starts_with(&got), "cut at {}: {:?}", at, got);
        }
        // A flipped byte: an error or some data, never a panic.
        let mut damaged = gz;
        let i = flip.0.index(damaged.len());
        damaged[i] ^= flip.1 | 1;
        let _ = read_through_chunker(damaged.clone());
        let _ = read_whole_through_chunker(damaged);
    }
}
