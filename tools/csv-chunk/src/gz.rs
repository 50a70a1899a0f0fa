//! gzip files built from independently compressed pieces, so one file's data can be
//! compressed by several threads at once (the pigz layout).
//!
//! Each piece is raw deflate from a fresh compressor. Every piece but the last ends with a sync
//! flush (byte-aligned, not final); the last ends the stream. Back-references never reach
//! before a piece's start, so the pieces concatenate into one valid deflate stream. The CRC-32
//! of each piece is computed beside it and combined in order for the trailer. Cutting the data
//! at fixed sizes makes the output depend only on the data and the level, not on threads.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Raw bytes per independently compressed piece: large enough that the lost context costs
/// well under 1% of ratio, small enough to keep memory and latency low.
pub const PIECE: usize = 1 << 20;

/// The fixed 10-byte gzip header: no name, no mtime (so reruns are byte-identical), OS unknown.
pub const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A compressed piece and the checksum of its raw bytes.
pub struct Piece {
    pub data: Vec<u8>,
    pub crc: Crc,
}

/// Per-thread compressor state, reused across pieces.
pub struct Deflater {
    compress: Compress,
}

impl Deflater {
    pub fn new(level: u32) -> Deflater {
        Deflater {
            compress: Compress::new(Compression::new(level), false),
        }
    }

    /// Compresses `raw` as one piece; `last` ends the deflate stream.
    pub fn piece(&mut self, raw: &[u8], last: bool) -> std::io::Result<Piece> {
        let mut crc = Crc::new();
        crc.update(raw);
        let c = &mut self.compress;
        c.reset();
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        let mut data = Vec::with_capacity(raw.len() / 3 + 1024);
        loop {
            let consumed = c.total_in() as usize;
            if data.capacity() - data.len() < 4096 {
                data.reserve(data.capacity().max(64 * 1024));
            }
            let status = c
                .compress_vec(&raw[consumed..], &mut data, flush)
                .map_err(std::io::Error::other)?;
            let done_input = c.total_in() as usize == raw.len();
            let room_left = data.len() < data.capacity();
            match status {
                Status::StreamEnd => break,
                // A sync flush is complete when all input is in and output space remains.
                Status::Ok | Status::BufError if !last && done_input && room_left => break,
                Status::Ok | Status::BufError => {}
            }
        }
        Ok(Piece { data, crc })
    }
}

/// The 8-byte gzip trailer for the whole file's checksum.
pub fn trailer(crc: &Crc) -> [u8; 8] {
    let mut t = [0u8; 8];
    t[..4].copy_from_slice(&crc.sum().to_le_bytes());
    t[4..].copy_from_slice(&crc.amount().to_le_bytes());
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn build(pieces: &[&[u8]], level: u32) -> Vec<u8> {
        let mut d = Deflater::new(level);
        let mut file = HEADER.to_vec();
        let mut crc = Crc::new();
        for (i, raw) in pieces.iter().enumerate() {
            let p = d.piece(raw, i + 1 == pieces.len()).unwrap();
            file.extend_from_slice(&p.data);
            crc.combine(&p.crc);
        }
        file.extend_from_slice(&trailer(&crc));
        file
    }

    #[test]
    fn pieces_concatenate_into_one_valid_gzip_file() {
        let a: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let b = b"hello, hello, hello\n".repeat(5000);
        let pieces: [&[u8]; 4] = [&a, b"", &b, b"tail"];
        for level in [0, 1, 6, 9] {
            let file = build(&pieces, level);
            assert_eq!(gunzip(&file), pieces.concat(), "level {level}");
        }
        // An empty file is a valid empty gzip stream; the same input gives the same bytes.
        assert_eq!(gunzip(&build(&[b""], 6)), b"");
        assert_eq!(build(&pieces, 6), build(&pieces, 6));
    }
}
