//! The group table: distinct keys with their count and sums, spilled to sorted runs on disk
//! when it outgrows its share of `--mem-limit`.
//!
//! A key is the group's field values, each TSV-escaped, joined by TAB: unambiguous, cheap to
//! build, and already the TSV output. Keys are owned copies, so no kept key pins an input block.
//!
//! A run is a named temporary file, closed until it is merged, so any number of runs costs no
//! open files; runs are merged at most [`MAX_FAN_IN`] at a time, in several passes if need be.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use anyhow::Context;
use hashbrown::HashMap;

use crate::spill::Run;
use crate::sum::Sum;

/// Bytes a group costs beyond its key: the map slot, the boxed key header and allocator slack.
const ENTRY_OVERHEAD: usize = 64;

/// The most runs merged at once (each open file reads through a 64 KiB buffer).
const MAX_FAN_IN: usize = 64;

/// A stream of `(key, totals)` groups, read back from memory or from spill runs.
pub type Groups = Box<dyn Iterator<Item = anyhow::Result<(Vec<u8>, Agg)>>>;

/// One group's totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Agg {
    pub count: u64,
    pub sums: Vec<Sum>,
}

impl Agg {
    /// Adds `other` in. Counts come from `--merge` input too, so two huge partial counts can
    /// pass u64: that is an error, never a silent wrap-around (release) or a panic (debug).
    /// Found by the property test `counts_past_u64_do_not_panic`.
    pub fn add(&mut self, other: &Agg) -> anyhow::Result<()> {
        self.count = self
            .count
            .checked_add(other.count)
            .context("a group's count passes 18446744073709551615 (2^64 - 1)")?;
        if self.sums.len() < other.sums.len() {
            self.sums.resize(other.sums.len(), Sum::default());
        }
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            a.add(b);
        }
        Ok(())
    }
}

/// Distinct keys and their totals, with spill runs once over `limit` bytes.
pub struct Table {
    map: HashMap<Box<[u8]>, Agg>,
    nsums: usize,
    bytes: usize,
    limit: usize,
    runs: Vec<Run>,
    /// Runs merged at a time.
    fan_in: usize,
}

impl Table {
    /// `limit` is this table's memory budget in bytes (`usize::MAX` for none).
    pub fn new(nsums: usize, limit: usize) -> Table {
        Table {
            map: HashMap::new(),
            nsums,
            bytes: 0,
            limit,
            runs: Vec::new(),
            fan_in: fan_in(),
        }
    }

    /// Sets the number of sums, which `--merge` learns from the first input's header.
    pub fn set_sum_count(&mut self, nsums: usize) {
        self.nsums = nsums;
    }

    /// Adds one record to the group `key`: its count and its sum values (`None` adds nothing).
    #[inline]
    pub fn add_one(&mut self, key: &[u8], sums: &[Option<Sum>]) -> anyhow::Result<()> {
        let agg = match self.map.get_mut(key) {
            Some(agg) => agg,
            None => self.insert_new(key)?,
        };
        agg.count += 1;
        for (total, v) in agg.sums.iter_mut().zip(sums) {
            if let Some(v) = v {
                total.add(v);
            }
        }
        Ok(())
    }

    /// Adds a partial total to the group `key`.
    pub fn add_agg(&mut self, key: &[u8], agg: &Agg) -> anyhow::Result<()> {
        match self.map.get_mut(key) {
            Some(total) => total.add(agg),
            None => self.insert_new(key)?.add(agg),
        }
    }

    fn insert_new(&mut self, key: &[u8]) -> anyhow::Result<&mut Agg> {
        if self.bytes >= self.limit && !self.map.is_empty() {
            self.spill()?;
        }
        self.bytes += key.len() + ENTRY_OVERHEAD + self.nsums * std::mem::size_of::<Sum>();
        let agg = Agg {
            count: 0,
            sums: vec![Sum::default(); self.nsums],
        };
        Ok(self.map.entry(key.into()).or_insert(agg))
    }

    /// Moves another table's groups into this one (the end-of-run reduce).
    pub fn absorb(&mut self, mut other: Table) -> anyhow::Result<()> {
        if other.map.len() > self.map.len() && self.runs.is_empty() && other.runs.is_empty() {
            std::mem::swap(self, &mut other);
        }
        self.runs.append(&mut other.runs);
        for (key, agg) in other.map.drain() {
            self.add_agg(&key, &agg)?;
        }
        Ok(())
    }

    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Writes the groups, sorted by key, to a new run file and empties the map.
    fn spill(&mut self) -> anyhow::Result<()> {
        let mut entries: Vec<(Box<[u8]>, Agg)> = self.map.drain().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let run = write_run(entries.into_iter().map(|(k, a)| Ok((k.into_vec(), a))))?;
        self.runs.push(run);
        self.map = HashMap::new(); // give the memory back, not just the entries
        self.bytes = 0;
        Ok(())
    }

    /// Every group, sorted by count (descending) then key, as `(key, agg)`.
    ///
    /// In memory when nothing was spilled; otherwise the runs are merged by key (adding up a
    /// key's partial totals), re-cut into runs sorted by count within the memory budget, and
    /// those are merged again; each merge takes at most `fan_in` runs at a time.
    pub fn into_sorted(mut self) -> anyhow::Result<Groups> {
        if self.runs.is_empty() {
            let mut entries: Vec<(Vec<u8>, Agg)> =
                self.map.drain().map(|(k, a)| (k.into_vec(), a)).collect();
            entries.sort_unstable_by(by_count_then_key);
            return Ok(Box::new(entries.into_iter().map(Ok)));
        }
        self.spill()?;
        let (nsums, fan_in) = (self.nsums, self.fan_in);
        let key_runs = reduce_runs(std::mem::take(&mut self.runs), nsums, Order::Key, fan_in)?;
        let by_key = merge_runs(key_runs, nsums, Order::Key)?;
        let mut count_runs = Vec::new();
        let mut batch: Vec<(Vec<u8>, Agg)> = Vec::new();
        let mut batch_bytes = 0;
        let mut flush = |batch: &mut Vec<(Vec<u8>, Agg)>| -> anyhow::Result<()> {
            batch.sort_unstable_by(by_count_then_key);
            count_runs.push(write_run(batch.drain(..).map(Ok))?);
            Ok(())
        };
        for item in combine_equal_keys(by_key) {
            let (key, agg) = item?;
            batch_bytes += key.len() + ENTRY_OVERHEAD;
            batch.push((key, agg));
            if batch_bytes >= self.limit {
                flush(&mut batch)?;
                batch_bytes = 0;
            }
        }
        if !batch.is_empty() {
            flush(&mut batch)?;
        }
        let count_runs = reduce_runs(count_runs, nsums, Order::CountThenKey, fan_in)?;
        Ok(Box::new(merge_runs(
            count_runs,
            nsums,
            Order::CountThenKey,
        )?))
    }
}

fn by_count_then_key(a: &(Vec<u8>, Agg), b: &(Vec<u8>, Agg)) -> std::cmp::Ordering {
    b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0))
}

/// Runs merged at a time: at most [`MAX_FAN_IN`], and few enough to stay well within the
/// limit on open files (the merge also holds its output and the standard streams open).
fn fan_in() -> usize {
    let limit = open_files_limit().unwrap_or(u64::MAX);
    (limit / 2).clamp(2, MAX_FAN_IN as u64) as usize
}

/// The soft limit on open files (`ulimit -n`), from Linux's /proc; `None` where unknown.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Merges runs `fan_in` at a time, oldest first, into new runs, until at most `fan_in` are
/// left (merged by key, a key's partial totals are added up on the way).
fn reduce_runs(
    runs: Vec<Run>,
    nsums: usize,
    order: Order,
    fan_in: usize,
) -> anyhow::Result<Vec<Run>> {
    let mut runs = VecDeque::from(runs);
    while runs.len() > fan_in {
        let merged = merge_runs(runs.drain(..fan_in).collect(), nsums, order)?;
        let run = match order {
            Order::Key => write_run(combine_equal_keys(merged))?,
            Order::CountThenKey => write_run(merged)?,
        };
        runs.push_back(run);
    }
    Ok(runs.into())
}

/// Writes entries as `key<TAB>count<TAB>sum...` lines to a new temporary file in TMPDIR.
fn write_run(entries: impl Iterator<Item = anyhow::Result<(Vec<u8>, Agg)>>) -> anyhow::Result<Run> {
    let (file, run) = Run::create().context("creating a spill file in TMPDIR")?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut text = String::new();
    for entry in entries {
        let (key, agg) = entry?;
        w.write_all(&key)?;
        w.write_all(b"\t")?;
        w.write_all(itoa::Buffer::new().format(agg.count).as_bytes())?;
        for s in &agg.sums {
            text.clear();
            s.write(&mut text);
            w.write_all(b"\t")?;
            w.write_all(text.as_bytes())?;
        }
        w.write_all(b"\n")?;
    }
    w.flush().context("writing a spill file")?;
    Ok(run)
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    Key,
    CountThenKey,
}

/// A sorted run being read back.
struct RunReader {
    lines: std::io::Split<BufReader<File>>,
    nsums: usize,
}

impl RunReader {
    fn next_entry(&mut self) -> anyhow::Result<Option<(Vec<u8>, Agg)>> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        let mut line = line.context("reading a spill file")?;
        let mut agg = Agg {
            count: 0,
            sums: vec![Sum::default(); self.nsums],
        };
        // The key holds TABs itself, so the totals are taken from the right.
        for i in (0..=self.nsums).rev() {
            let tab = memchr::memrchr(b'\t', &line).context("corrupt spill file")?;
            let field = &line[tab + 1..];
            if i == 0 {
                agg.count = std::str::from_utf8(field)?.parse()?;
            } else {
                agg.sums[i - 1] = Sum::parse_any(field).context("corrupt spill file")?;
            }
            line.truncate(tab);
        }
        Ok(Some((line, agg)))
    }
}

/// Merges sorted runs into one sorted stream (taking the smallest of the runs' heads).
fn merge_runs(
    runs: Vec<Run>,
    nsums: usize,
    order: Order,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<(Vec<u8>, Agg)>>> {
    let mut readers = Vec::with_capacity(runs.len());
    for run in runs {
        let file = File::open(run.path()).context("opening a spill file")?;
        // The open file keeps its data; dropping the name frees the disk once it is read.
        drop(run);
        readers.push(RunReader {
            lines: BufReader::with_capacity(64 << 10, file).split(b'\n'),
            nsums,
        });
    }
    let mut heads: Vec<Option<(Vec<u8>, Agg)>> = Vec::with_capacity(readers.len());
    for r in &mut readers {
        heads.push(r.next_entry()?);
    }
    let before = move |a: &(Vec<u8>, Agg), b: &(Vec<u8>, Agg)| match order {
        Order::Key => a.0 < b.0,
        Order::CountThenKey => by_count_then_key(a, b).is_lt(),
    };
    // Few runs in practice: a linear scan for the smallest head is simpler than a heap and
    // costs nothing next to the I/O.
    Ok(std::iter::from_fn(move || {
        let mut best: Option<usize> = None;
        for (i, head) in heads.iter().enumerate() {
            if let Some(h) = head {
                if best.is_none_or(|b| before(h, heads[b].as_ref().unwrap())) {
                    best = Some(i);
                }
            }
        }
        let i = best?;
        let item = heads[i].take().unwrap();
        match readers[i].next_entry() {
            Ok(next) => heads[i] = next,
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(item))
    }))
}

/// Adds up consecutive entries with the same key (from a key-ordered merge).
fn combine_equal_keys(
    mut sorted: impl Iterator<Item = anyhow::Result<(Vec<u8>, Agg)>>,
) -> impl Iterator<Item = anyhow::Result<(Vec<u8>, Agg)>> {
    let mut pending: Option<(Vec<u8>, Agg)> = None;
    std::iter::from_fn(move || loop {
        match sorted.next() {
            Some(Ok((key, agg))) => match pending.as_mut() {
                Some((k, total)) if *k == key => {
                    if let Err(e) = total.add(&agg) {
                        return Some(Err(e));
                    }
                }
                _ => {
                    if let Some(done) = pending.replace((key, agg)) {
                        return Some(Ok(done));
                    }
                }
            },
            Some(Err(e)) => return Some(Err(e)),
            None => return pending.take().map(Ok),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(table: Table) -> Vec<(String, u64, Vec<String>)> {
        table
            .into_sorted()
            .unwrap()
            .map(|r| {
                let (k, a) = r.unwrap();
                let sums = a.sums.iter().map(|s| s.to_text()).collect();
                (String::from_utf8(k).unwrap(), a.count, sums)
            })
            .collect()
    }

    fn fill(limit: usize) -> Table {
        fill_table(Table::new(1, limit))
    }

    fn fill_table(mut t: Table) -> Table {
        for i in 0..5000u64 {
            let key = format!("k{}\tx", i % 700);
            let v = Sum::parse(format!("{}.5", i % 3).as_bytes());
            t.add_one(key.as_bytes(), &[v]).unwrap();
        }
        t
    }

    #[test]
    fn spilling_gives_the_same_result_as_memory() {
        let in_memory = fill(usize::MAX);
        assert!(!in_memory.spilled());
        let spilled = fill(2000);
        assert!(spilled.spilled());
        let a = collect(in_memory);
        let b = collect(spilled);
        assert_eq!(a.len(), 700);
        assert_eq!(a, b);
        assert!(a
            .windows(2)
            .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
    }

    #[test]
    fn many_runs_merge_a_few_at_a_time() {
        let mut few = Table::new(1, 300);
        few.fan_in = 3;
        let few = fill_table(few);
        // Several passes: runs of runs by key, then again for the runs cut by count.
        assert!(few.runs.len() > 3 * 3 * 3, "{} runs", few.runs.len());
        assert_eq!(collect(few), collect(fill(usize::MAX)));
    }

    #[test]
    fn the_fan_in_stays_within_the_open_files_limit() {
        let fan_in = fan_in();
        assert!((2..=MAX_FAN_IN).contains(&fan_in));
        if let Some(limit) = open_files_limit() {
            assert!(fan_in as u64 <= limit / 2);
        }
    }

    #[test]
    fn absorb_adds_up_tables() {
        let mut a = Table::new(0, usize::MAX);
        let mut b = Table::new(0, 100);
        for _ in 0..3 {
            a.add_one(b"x", &[]).unwrap();
        }
        for i in 0..50 {
            b.add_one(format!("y{i}").as_bytes(), &[]).unwrap();
            b.add_one(b"x", &[]).unwrap();
        }
        a.absorb(b).unwrap();
        let got = collect(a);
        assert_eq!(got[0], ("x".to_string(), 53, vec![]));
        assert_eq!(got.len(), 51);
    }
}
