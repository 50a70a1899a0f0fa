//! Finding the TABs of a line, only as far as needed.
//!
//! Most lines are dropped by a filter that looks at a few early fields (the path is the 8th).
//! So a line's TABs are counted in one SIMD pass (the field count is checked on every line),
//! only the first few are located, and the rest only for lines that are kept.

/// The TAB positions of one line, found lazily.
#[derive(Default)]
pub struct Tabs {
    positions: Vec<usize>,
    /// Where the search for the next TAB resumes; `None` once the line is exhausted.
    resume: Option<usize>,
}

impl Tabs {
    /// Starts on a new line: returns its number of TABs, and locates those that end fields
    /// `0..=field`.
    #[inline]
    pub fn start(&mut self, line: &[u8], field: usize) -> usize {
        self.positions.clear();
        let count = memchr::memchr_iter(b'\t', line).count();
        let mut from = 0;
        while self.positions.len() <= field {
            match memchr::memchr(b'\t', &line[from..]) {
                Some(i) => {
                    self.positions.push(from + i);
                    from += i + 1;
                }
                None => break,
            }
        }
        self.resume = match self.positions.last() {
            _ if self.positions.len() == count => None,
            Some(&p) => Some(p + 1),
            None => Some(0),
        };
        count
    }

    /// Locates every TAB of the line (after [`Tabs::start`]).
    #[inline]
    pub fn locate_all(&mut self, line: &[u8]) {
        if let Some(from) = self.resume.take() {
            self.positions
                .extend(memchr::memchr_iter(b'\t', &line[from..]).map(|i| from + i));
        }
    }

    /// The positions located so far.
    #[inline]
    pub fn get(&self) -> &[usize] {
        &self.positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(line: &[u8]) -> Vec<usize> {
        line.iter()
            .enumerate()
            .filter(|(_, &c)| c == b'\t')
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn finds_every_tab_at_every_offset() {
        let mut line: Vec<u8> = Vec::new();
        for i in 0..200u32 {
            line.push(match i % 7 {
                0 | 3 => b'\t',
                1 => 0x08,
                2 => 0x0a,
                4 => 0x89,
                _ => (i % 256) as u8,
            });
        }
        let mut tabs = Tabs::default();
        for start in 0..16 {
            for end in (start..line.len()).step_by(5) {
                let l = &line[start..end];
                let want = naive(l);
                assert_eq!(tabs.start(l, 2), want.len());
                assert_eq!(tabs.get(), &want[..want.len().min(3)]);
                tabs.locate_all(l);
                assert_eq!(tabs.get(), want, "{start}..{end}");
            }
        }
        assert_eq!(tabs.start(b"", 3), 0);
        tabs.locate_all(b"");
        assert!(tabs.get().is_empty());
        assert_eq!(tabs.start(b"a\tb\t", 0), 2);
        assert_eq!(tabs.get(), [1]);
        tabs.locate_all(b"a\tb\t");
        assert_eq!(tabs.get(), [1, 3]);
        let many = vec![b'\t'; 8 * 600 + 3];
        assert_eq!(tabs.start(&many, 1), many.len());
        assert_eq!(tabs.get(), [0, 1]);
    }
}
