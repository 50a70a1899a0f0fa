//! The block reader: cuts a byte stream into big blocks of whole lines.
//!
//! Threads are handed blocks of MiBs, never single lines, so the cost of passing work between
//! threads is paid once per block. A block ends at its last newline; the partial line after it
//! is carried into the next block. A line longer than a block grows that one block until the
//! line is whole, so no line is ever split. The last block of a stream may lack a final newline.
//!
//! Each block knows the number of its first line (for `file:line` in reject messages) and the
//! header in force where it starts (see [`HeaderRule`]), so a worker can interpret it alone.

use std::io::{self, Read};
use std::sync::Arc;

/// Default block size: big enough to amortise hand-offs, small enough to bound memory.
pub const DEFAULT_BLOCK_SIZE: usize = 2 << 20;

/// A UTF-8 byte order mark, dropped from the start of a source.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The first read of a block asks for at most this much (see `Chunker::fill`).
const FIRST_WINDOW: usize = 64 << 10;

/// A line that gives meaning to the lines after it (a TSV header, a CloudFront `#Fields:` line).
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    /// 1-based line number of the header line in its source.
    pub line: u64,
    /// The line without its line end.
    pub text: Vec<u8>,
}

/// Which lines of a source are headers that later blocks must know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderRule {
    /// No headers: every block stands alone.
    None,
    /// The first line that is neither blank nor a `#` comment (a TSV header, or the first
    /// NDJSON record, from which the format is detected).
    FirstDataLine,
    /// The latest line starting with this prefix (CloudFront's `#Fields:`).
    LastWithPrefix(&'static [u8]),
}

/// One block of whole lines from one source.
#[derive(Debug)]
pub struct Block {
    pub data: Vec<u8>,
    /// 1-based number of the first line in `data`.
    pub first_line: u64,
    /// Number of lines in `data` (a final line without newline counts); None when the
    /// caller counts them ([`Chunker::numbered_by_caller`]).
    pub lines: Option<u64>,
    /// The header in force at the start of the block, if the rule found one before it.
    pub header: Option<Arc<Header>>,
}

/// Recycled buffers, so a long run does not allocate (and page-fault in) a fresh MiB buffer
/// for every block. Bounded: at most `keep` buffers wait here; the rest are freed.
#[derive(Clone)]
pub struct BufferPool {
    tx: crossbeam_channel::Sender<Vec<u8>>,
    rx: crossbeam_channel::Receiver<Vec<u8>>,
    /// Buffers that grew past this (a giant line) are freed, not kept.
    max_capacity: usize,
}

impl BufferPool {
    pub fn new(keep: usize, max_capacity: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(keep);
        BufferPool {
            tx,
            rx,
            max_capacity,
        }
    }

    /// An empty buffer with room for at least `capacity` bytes.
    pub fn get(&self, capacity: usize) -> Vec<u8> {
        match self.rx.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf.reserve(capacity);
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// A buffer with room for at least `capacity` bytes that keeps the length it had: its
    /// bytes are stale but initialised, so a reader can overwrite them without zeroing them
    /// first (zeroing every block before reading into it cost 2% of cflog-parse).
    pub fn get_for_overwrite(&self, capacity: usize) -> Vec<u8> {
        match self.rx.try_recv() {
            Ok(mut buf) => {
                buf.reserve(capacity.saturating_sub(buf.len()));
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// Gives a buffer back for reuse.
    pub fn put(&self, buf: Vec<u8>) {
        if buf.capacity() > 0 && buf.capacity() <= self.max_capacity {
            let _ = self.tx.try_send(buf);
        }
    }
}

/// Reads a stream into [`Block`]s.
pub struct Chunker<R> {
    reader: R,
    block_size: usize,
    carry: Vec<u8>,
    eof: bool,
    next_line: u64,
    rule: HeaderRule,
    header: Option<Arc<Header>>,
    /// `FirstDataLine` stops looking once found.
    header_done: bool,
    /// Hand out what a short read brought instead of waiting for a full block (pipes).
    eager: bool,
    pool: Option<BufferPool>,
    /// A read error, returned once the whole lines read before it have gone out as a block.
    failed: Option<io::Error>,
    /// Count each block's lines (else the caller does, see [`Chunker::numbered_by_caller`]).
    count: bool,
}

impl<R: Read> Chunker<R> {
    pub fn new(reader: R, block_size: usize, rule: HeaderRule) -> Self {
        Chunker {
            reader,
            block_size: block_size.max(1),
            carry: Vec::new(),
            eof: false,
            next_line: 1,
            rule,
            header: None,
            header_done: rule == HeaderRule::None,
            eager: false,
            pool: None,
            failed: None,
            count: true,
        }
    }

    /// Leaves counting each block's lines to the caller, who walks them anyway and reports
    /// the count with [`Chunker::lines_done`] before it asks for the next block (a pass over
    /// every block only to count its lines cost cflog-parse 2%). Blocks then have no `lines`,
    /// and their `first_line` is right as long as every count is reported. Only for
    /// [`HeaderRule::None`]: the other rules number header lines as blocks are cut.
    pub fn numbered_by_caller(mut self) -> Self {
        self.count = self.rule != HeaderRule::None;
        self
    }

    /// The number of lines of the last block, from a caller that counts them (see
    /// [`Chunker::numbered_by_caller`]); ignored when the chunker counts them itself.
    pub fn lines_done(&mut self, lines: u64) {
        if !self.count {
            self.next_line += lines;
        }
    }

    /// Takes block buffers from `pool` (give them back with [`BufferPool::put`]).
    pub fn pool(mut self, pool: BufferPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// For a slow live source (`tail -f | tool`): when a read returns less than asked and
    /// complete lines are at hand, end the block there, so lines flow as they arrive. A fast
    /// producer still fills whole pipe buffers (64 KiB and up) per read.
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }

    /// Hands out `data`, the whole stream already in memory (a small gzip file decoded at
    /// once), as one block without copying it; the reader is not read.
    pub fn preloaded(mut self, data: Vec<u8>) -> Self {
        self.carry = data;
        self.eof = true;
        self
    }

    /// Returns the next block, or `None` at the end of the stream.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        if let Some(err) = self.failed.take() {
            // The line the error cut off is incomplete: it is not passed off as a line.
            self.carry.clear();
            return Err(err);
        }
        if self.eof {
            // Only preloaded data is left over at the end of a stream (a block read from the
            // reader takes everything up to its end). An emptied carry is not a block buffer:
            // it must not reach the pool.
            if self.carry.is_empty() {
                return Ok(None);
            }
            let buf = std::mem::take(&mut self.carry);
            return Ok(self.seal(buf));
        }
        let capacity = self.block_size.max(self.carry.len() * 2);
        // The block's data is `buf[..len]`; past it, `buf` may hold stale bytes of an earlier
        // block, which reads overwrite (see `fill`).
        let mut buf = match &self.pool {
            Some(pool) => pool.get_for_overwrite(capacity),
            None => Vec::with_capacity(capacity),
        };
        let mut len = self.carry.len();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf[..len].copy_from_slice(&self.carry);
        self.carry.clear();
        // Everything before `scanned` is known to hold no newline.
        let mut scanned = 0;
        let mut target = self.block_size;
        let cut = loop {
            if !self.eof && len < target {
                len = self.fill(&mut buf, len, target);
            }
            if self.failed.is_some() {
                // Only the whole lines before the error (a truncated gzip file's last line
                // is cut off at a random byte).
                break memchr::memrchr(b'\n', &buf[..len]).map_or(0, |i| i + 1);
            }
            if self.eof {
                break len;
            }
            match memchr::memrchr(b'\n', &buf[scanned..len]) {
                Some(i) => break scanned + i + 1,
                None => {
                    // One line is longer than a block: grow this block until it ends.
                    scanned = len;
                    target = len * 2;
                }
            }
        };
        self.carry.extend_from_slice(&buf[cut..len]);
        buf.truncate(cut);
        match self.seal(buf) {
            None if self.failed.is_some() => self.next_block(),
            block => Ok(block),
        }
    }

    /// Makes `buf` (whole lines) the next block: numbers its lines and notes its headers.
    fn seal(&mut self, mut buf: Vec<u8>) -> Option<Block> {
        if self.next_line == 1 && buf.starts_with(UTF8_BOM) {
            // Editors and exports on Windows start text with a byte order mark; left in, it
            // would make the first JSON line invalid and the first TSV column misnamed.
            buf.drain(..UTF8_BOM.len());
        }
        if buf.is_empty() {
            if let Some(pool) = &self.pool {
                pool.put(buf);
            }
            return None;
        }
        let first_line = self.next_line;
        let lines = self.count.then(|| count_lines(&buf));
        self.next_line += lines.unwrap_or(0);
        let at_start = self.header.clone();
        self.scan_headers(&buf, first_line);
        // A first-data-line header also belongs to the block that holds it (its lines need
        // it); a prefixed header is the one in force where the block starts.
        let header = match self.rule {
            HeaderRule::FirstDataLine => self.header.clone(),
            _ => at_start,
        };
        Some(Block {
            data: buf,
            first_line,
            lines,
            header,
        })
    }

    /// Reads into `buf` after its first `filled` bytes of data until there are `target`
    /// bytes or the stream ends; returns the new amount of data. Bytes of `buf` past
    /// `filled` are overwritten, not kept. A read error ends the stream like its end does,
    /// and is kept in `failed` for [`Chunker::next_block`], so the data read before it is
    /// not lost with it.
    fn fill(&mut self, buf: &mut Vec<u8>, mut filled: usize, target: usize) -> usize {
        let start = filled;
        let end = target.max(start + 1);
        // The window `read` writes into grows with the data (64 KiB, then doubling) instead
        // of spanning the block from the start: a directory of 20,000 tiny files paid 2 MiB
        // of zeroing per file (40 GB in all) before this (RELIABILITY.md, tiny files), and an
        // eager reader's first read should not be a block's worth. `read` writes over
        // initialised bytes: a reused buffer's stale ones, zeroes only where it is shorter.
        let mut window = end.min(start + FIRST_WINDOW);
        while filled < end {
            if filled == window {
                window = end.min(window * 2);
            }
            if buf.len() < window {
                buf.resize(window, 0);
            }
            match self.reader.read(&mut buf[filled..window]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    let short = filled + n < window;
                    filled += n;
                    if self.eager && short && memchr::memchr(b'\n', &buf[start..filled]).is_some() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = Some(e);
                    self.eof = true;
                    break;
                }
            }
        }
        filled
    }

    /// Updates the header in force after `block`, per the rule.
    fn scan_headers(&mut self, data: &[u8], first_line: u64) {
        if self.header_done {
            return;
        }
        match self.rule {
            HeaderRule::None => {}
            HeaderRule::FirstDataLine => {
                for (line_no, line) in lines(data, first_line) {
                    if !line.is_empty() && line[0] != b'#' {
                        self.header = Some(Arc::new(Header {
                            line: line_no,
                            text: line.to_vec(),
                        }));
                        self.header_done = true;
                        break;
                    }
                }
            }
            HeaderRule::LastWithPrefix(prefix) => {
                if let Some((line, text)) = last_line_with_prefix(data, prefix) {
                    self.header = Some(Arc::new(Header {
                        line: first_line + line,
                        text: text.to_vec(),
                    }));
                }
            }
        }
    }
}

/// Finds the last line starting with `prefix`: its 0-based index in `data` and its text.
fn last_line_with_prefix<'a>(data: &'a [u8], prefix: &[u8]) -> Option<(u64, &'a [u8])> {
    let mut needle = Vec::with_capacity(prefix.len() + 1);
    needle.push(b'\n');
    needle.extend_from_slice(prefix);
    // A forward search: memmem's reverse search is not vectorised and was a profile hot spot.
    let start = match memchr::memmem::find_iter(data, &needle).last() {
        Some(i) => i + 1,
        None if data.starts_with(prefix) => 0,
        None => return None,
    };
    let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
    let index = memchr::memchr_iter(b'\n', &data[..start]).count() as u64;
    Some((index, trim_cr(&data[start..end])))
}

/// Strips one trailing `\r` (CRLF files).
pub fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The lines of a stream read one at a time into one reused buffer (`BufRead::split` would
/// allocate one per line, and a table has millions), numbered from 1, without line ends
/// (`\n` or `\r\n`). For the small side inputs tools read whole (tables, partial counts,
/// headers); the data itself goes through [`Chunker`].
pub struct ReadLines<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: u64,
}

impl<R: io::BufRead> ReadLines<R> {
    pub fn new(reader: R) -> Self {
        ReadLines {
            reader,
            buf: Vec::new(),
            line_no: 0,
        }
    }

    /// The next line's number and text; None at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.buf.clear();
        if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        let mut line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        if self.line_no == 1 {
            line = line.strip_prefix(UTF8_BOM).unwrap_or(line); // as Chunker does
        }
        Ok(Some((self.line_no, trim_cr(line))))
    }
}

/// The number of lines in `data`: its newlines, and a last line without one.
pub fn count_lines(data: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    newlines + u64::from(data.last().is_some_and(|&c| c != b'\n'))
}

/// Iterates the lines of a block as `(line_number, line)`, without line ends (`\n` or `\r\n`).
pub fn lines(data: &[u8], first_line: u64) -> Lines<'_> {
    Lines {
        rest: data,
        next_line: first_line,
    }
}

/// Iterator returned by [`lines`].
pub struct Lines<'a> {
    rest: &'a [u8],
    next_line: u64,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        let n = self.next_line;
        self.next_line += 1;
        Some((n, trim_cr(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(input: &[u8], size: usize, rule: HeaderRule) -> Vec<Block> {
        let mut c = Chunker::new(input, size, rule);
        let mut out = Vec::new();
        while let Some(b) = c.next_block().unwrap() {
            out.push(b);
        }
        out
    }

    #[test]
    fn blocks_end_at_newlines_and_keep_every_byte() {
        let input = b"aaa\nbb\ncccccc\nd\n";
        let got = blocks(input, 5, HeaderRule::None);
        let joined: Vec<u8> = got.iter().flat_map(|b| b.data.clone()).collect();
        assert_eq!(joined, input);
        for b in &got {
            assert_eq!(*b.data.last().unwrap(), b'\n');
        }
        let firsts: Vec<u64> = got.iter().map(|b| b.first_line).collect();
        let counts: u64 = got.iter().map(|b| b.lines.unwrap()).sum();
        assert_eq!(firsts[0], 1);
        assert_eq!(counts, 4);
    }

    #[test]
    fn line_longer_than_a_block_stays_whole() {
        let long = vec![b'x'; 1000];
        let mut input = b"a\n".to_vec();
        input.extend(&long);
        input.extend(b"\nb\n");
        let got = blocks(&input, 16, HeaderRule::None);
        let all: Vec<(u64, Vec<u8>)> = got
            .iter()
            .flat_map(|b| lines(&b.data, b.first_line).map(|(n, l)| (n, l.to_vec())))
            .collect();
        assert_eq!(all, vec![(1, b"a".to_vec()), (2, long), (3, b"b".to_vec())]);
    }

    #[test]
    fn reused_buffers_stale_bytes_never_reach_a_block() {
        // Lines of varied length, one longer than a block, read in small pieces; every block
        // goes back to the pool before the next is cut, so each is cut in a buffer that
        // still holds an earlier block's bytes.
        let mut input = Vec::new();
        for i in 0..300u32 {
            let width = if i == 150 { 700 } else { (i * 7 % 23) as usize };
            input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, width));
            input.push(b'\n');
        }
        input.extend(b"last line without newline");
        for size in [1, 16, 64, 100] {
            let pool = BufferPool::new(2, 1 << 20);
            let reader = SmallReads(&input, 0);
            let mut c = Chunker::new(reader, size, HeaderRule::None).pool(pool.clone());
            let (mut joined, mut lines) = (Vec::new(), 0);
            while let Some(b) = c.next_block().unwrap() {
                assert_eq!(b.first_line, lines + 1, "block size {size}");
                lines += b.lines.unwrap();
                joined.extend_from_slice(&b.data);
                pool.put(b.data);
            }
            assert_eq!(joined, input, "block size {size}");
            assert_eq!(lines, 301);
        }
    }

    /// A reader that returns at most 37 bytes a read.
    struct SmallReads<'a>(&'a [u8], usize);

    impl Read for SmallReads<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(37).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn no_trailing_newline_and_crlf() {
        let got = blocks(b"a\r\nb", 1 << 20, HeaderRule::None);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].lines, Some(2));
        let ls: Vec<&[u8]> = lines(&got[0].data, 1).map(|(_, l)| l).collect();
        assert_eq!(ls, [&b"a"[..], &b"b"[..]]);
    }

    /// Gives at most 3 bytes per read, like a slow pipe.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn eager_mode_hands_out_lines_as_they_arrive() {
        let mut c = Chunker::new(Trickle(b"ab\ncd\nef\n"), 1 << 20, HeaderRule::None).eager(true);
        let first = c.next_block().unwrap().unwrap();
        assert_eq!(first.data, b"ab\n");
        let mut lazy = Chunker::new(Trickle(b"ab\ncd\nef\n"), 1 << 20, HeaderRule::None);
        assert_eq!(lazy.next_block().unwrap().unwrap().data, b"ab\ncd\nef\n");
    }

    #[test]
    fn empty_input_has_no_blocks() {
        assert!(blocks(b"", 8, HeaderRule::None).is_empty());
    }

    #[test]
    fn first_data_line_header_reaches_later_blocks() {
        let got = blocks(b"# c\n\na\tb\n1\t2\n3\t4\n", 6, HeaderRule::FirstDataLine);
        assert!(got.len() > 2);
        let last = got.last().unwrap();
        let h = last.header.as_ref().unwrap();
        assert_eq!((h.line, h.text.as_slice()), (3, &b"a\tb"[..]));
        assert!(got[0].header.is_none());
        let one = blocks(b"a\tb\n1\t2\n", 1 << 20, HeaderRule::FirstDataLine);
        assert_eq!(
            one[0].header.as_ref().unwrap().line,
            1,
            "the block holding it has it"
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_dropped() {
        let with_bom = b"\xEF\xBB\xBFa\tb\n1\t2\n\xEF\xBB\xBFkept\n";
        for size in [2, 5, 1 << 20] {
            let got = blocks(with_bom, size, HeaderRule::FirstDataLine);
            let joined: Vec<u8> = got.iter().flat_map(|b| b.data.clone()).collect();
            assert_eq!(
                joined,
                &with_bom[3..],
                "only the first one, block size {size}"
            );
            assert_eq!(got[0].header.as_ref().unwrap().text, b"a\tb");
        }
        let mut c = Chunker::new(io::empty(), 2, HeaderRule::None).preloaded(with_bom.to_vec());
        assert_eq!(c.next_block().unwrap().unwrap().data, &with_bom[3..]);
    }

    #[test]
    fn preloaded_data_is_one_block_like_a_big_read() {
        let input = b"#Fields: a b\n1 2\n3 4".to_vec();
        let rule = HeaderRule::LastWithPrefix(b"#Fields:");
        let preloaded = input.clone();
        let at = preloaded.as_ptr();
        let mut c = Chunker::new(io::empty(), 2, rule).preloaded(preloaded);
        let block = c.next_block().unwrap().unwrap();
        assert_eq!(block.data.as_ptr(), at, "handed out without a copy");
        assert_eq!((block.first_line, block.lines), (1, Some(3)));
        assert_eq!(block.data, blocks(&input, 1 << 20, rule)[0].data);
        assert!(c.next_block().unwrap().is_none());
        let mut empty = Chunker::new(io::empty(), 2, rule).preloaded(Vec::new());
        assert!(empty.next_block().unwrap().is_none());
    }

    #[test]
    fn latest_prefixed_header_is_in_force() {
        let input = b"#Fields: a b\n1 2\n#Fields: x y\r\n3 4\n5 6\n";
        let got = blocks(input, 4, HeaderRule::LastWithPrefix(b"#Fields:"));
        let last = got.last().unwrap();
        let h = last.header.as_ref().unwrap();
        assert_eq!((h.line, h.text.as_slice()), (3, &b"#Fields: x y"[..]));
        let one = blocks(input, 1 << 20, HeaderRule::LastWithPrefix(b"#Fields:"));
        assert!(
            one[0].header.is_none(),
            "header is the one in force at the block's start"
        );
    }

    #[test]
    fn read_lines_numbers_every_line_and_strips_line_ends() {
        // A byte order mark is dropped from the first line only.
        let mut r = ReadLines::new(&b"\xEF\xBB\xBFa\r\n\n# c\nlast"[..]);
        let mut got = Vec::new();
        while let Some((n, line)) = r.next_line().unwrap() {
            got.push((n, line.to_vec()));
        }
        let want: Vec<(u64, Vec<u8>)> = vec![
            (1, b"a".to_vec()),
            (2, b"".to_vec()),
            (3, b"# c".to_vec()),
            (4, b"last".to_vec()),
        ];
        assert_eq!(got, want);
    }
}
