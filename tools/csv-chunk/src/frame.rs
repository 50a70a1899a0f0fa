//! The framing between the workers and the chunk router.
//!
//! A worker turns a block into CSV rows grouped by family; the pipeline hands its bytes to the
//! router in input order. The router must know where rows end (a quoted CSV field may hold a
//! newline, so it cannot split on `\n`), hence this small framing:
//!
//! * `H` u32:len bytes — the CSV header row for the columns (sent before rows; the first wins)
//! * `R` u32:family_len family u32:rows rows x u32:row_len u64:bytes_len bytes — rows of one
//!   family, in input order (a worker writes a block's rows end to end, then gathers each
//!   family's into its frame)
//!
//! Integers are little-endian. The format never leaves the process.

/// One decoded frame, borrowed from the byte stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Header(&'a [u8]),
    Rows {
        family: &'a str,
        lens: Vec<u32>,
        bytes: &'a [u8],
    },
}

pub fn put_header(row: &[u8], out: &mut Vec<u8>) {
    out.push(b'H');
    out.extend_from_slice(&(row.len() as u32).to_le_bytes());
    out.extend_from_slice(row);
}

/// Appends the rows frame of family `which` named `family`: of the rows laid end to end in
/// `bytes`, each described in `rows` by (family, length), those of that family, in order.
pub fn put_family_rows(
    family: &str,
    which: u32,
    rows: &[(u32, u32)],
    bytes: &[u8],
    out: &mut Vec<u8>,
) {
    out.push(b'R');
    out.extend_from_slice(&(family.len() as u32).to_le_bytes());
    out.extend_from_slice(family.as_bytes());
    let count_at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    let (mut count, mut total) = (0u32, 0u64);
    for &(f, len) in rows {
        if f == which {
            out.extend_from_slice(&len.to_le_bytes());
            count += 1;
            total += u64::from(len);
        }
    }
    out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.reserve(total as usize);
    let mut at = 0;
    for &(f, len) in rows {
        let end = at + len as usize;
        if f == which {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
}

/// Decodes the frame at the start of `buf`: `Ok(Some((frame, used)))`, `Ok(None)` when the
/// frame is not complete yet, `Err` for bytes that are not a frame (a bug).
pub fn next(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, &'static str> {
    let mut r = Reader { buf, pos: 1 };
    match buf.first() {
        None => Ok(None),
        Some(b'H') => {
            let Some(len) = r.u32() else { return Ok(None) };
            let Some(row) = r.take(len as usize) else {
                return Ok(None);
            };
            Ok(Some((Frame::Header(row), r.pos)))
        }
        Some(b'R') => {
            let Some(flen) = r.u32() else { return Ok(None) };
            let Some(family) = r.take(flen as usize) else {
                return Ok(None);
            };
            let family = std::str::from_utf8(family).map_err(|_| "bad family name")?;
            let Some(n) = r.u32() else { return Ok(None) };
            let mut lens = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let Some(len) = r.u32() else { return Ok(None) };
                lens.push(len);
            }
            let Some(blen) = r.u64() else { return Ok(None) };
            let Some(bytes) = r.take(blen as usize) else {
                return Ok(None);
            };
            Ok(Some((
                Frame::Rows {
                    family,
                    lens,
                    bytes,
                },
                r.pos,
            )))
        }
        Some(_) => Err("corrupt frame"),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_frames() {
        let mut buf = Vec::new();
        put_header(b"a,b\n", &mut buf);
        let rows = [(0, 4), (1, 3), (0, 6)];
        put_family_rows("views", 0, &rows, b"1,2\nzz\n\"x\ny\"\n", &mut buf);
        let (f, used) = next(&buf).unwrap().unwrap();
        assert_eq!(f, Frame::Header(b"a,b\n"));
        let rest = &buf[used..];
        for cut in 0..rest.len() {
            assert_eq!(next(&rest[..cut]).unwrap(), None, "cut {cut}");
        }
        let (f, used2) = next(rest).unwrap().unwrap();
        assert_eq!(used2, rest.len());
        assert_eq!(
            f,
            Frame::Rows {
                family: "views",
                lens: vec![4, 6],
                bytes: b"1,2\n\"x\ny\"\n"
            }
        );
        assert!(next(b"Z").is_err());
    }
}
