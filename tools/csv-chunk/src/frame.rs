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

/// Appends one rows frame per family: `names[f]` is family f's name; the rows are laid end
/// to end in `bytes`, each described in `rows` by (family, length). Each frame holds its
/// family's rows in order. A counting sort groups them, so the cost stays linear however
/// many families a block has.
pub fn put_rows_by_family(names: &[String], rows: &[(u32, u32)], bytes: &[u8], out: &mut Vec<u8>) {
    // first[f]..first[f + 1]: where family f's rows are in `order`.
    let mut first = vec![0usize; names.len() + 1];
    for &(f, _) in rows {
        first[f as usize + 1] += 1;
    }
    for f in 0..names.len() {
        first[f + 1] += first[f];
    }
    let mut next = first.clone();
    let mut order = vec![(0usize, 0u32); rows.len()];
    let mut at = 0;
    for &(f, len) in rows {
        order[next[f as usize]] = (at, len);
        next[f as usize] += 1;
        at += len as usize;
    }
    out.reserve(bytes.len() + 4 * rows.len());
    for (f, name) in names.iter().enumerate() {
        let family = &order[first[f]..first[f + 1]];
        out.push(b'R');
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(family.len() as u32).to_le_bytes());
        let mut total = 0u64;
        for &(_, len) in family {
            out.extend_from_slice(&len.to_le_bytes());
            total += u64::from(len);
        }
        out.extend_from_slice(&total.to_le_bytes());
        for &(start, len) in family {
            out.extend_from_slice(&bytes[start..start + len as usize]);
        }
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
        let names = ["views".to_string(), "other".to_string()];
        put_rows_by_family(&names, &rows, b"1,2\nzz\n\"x\ny\"\n", &mut buf);
        let other = buf.split_off(buf.len() - 29);
        assert_eq!(
            next(&other).unwrap().unwrap().0,
            Frame::Rows {
                family: "other",
                lens: vec![3],
                bytes: b"zz\n"
            }
        );
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
