//! The pipeline worker: walks a block's lines, follows `#Fields:` headers, and hands data lines
//! to the [`LineParser`] under the layout in force.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use hashbrown::HashMap;
use onebox::chunk::trim_cr;
use onebox::counters::Counter;
use onebox::par::{BlockRef, Out, Worker};

use crate::filter::Drop;
use crate::parse::{Config, LineParser, Outcome, Plan};
use crate::schema::{known_fields, Columns};
use crate::split::{split_line, Tabs};

/// What the workers have given a note about, so each gets one: a source that is not a web
/// log (`not_web\tSOURCE`), a header with columns that have no field (`columns\tHEADER`).
pub type Noted = Arc<Mutex<HashSet<String>>>;

pub struct ParseWorker {
    parser: LineParser,
    /// Layouts seen so far; 0 is the current 33-field layout (lines before any header).
    plans: Vec<Plan>,
    by_header: HashMap<Vec<u8>, usize>,
    noted: Noted,
    records_out: Counter,
    /// True when this worker is handed every block of a source, in order (see [`crate::run`]):
    /// it then follows `#Fields:` lines itself from one block to the next, instead of
    /// relying on the block reader to find them (which costs a search of every block).
    follows_sources: bool,
    /// The layout in force at the end of the last block, and its header's line number.
    carried: (usize, u64),
    /// The TAB positions of the current line.
    tabs: Tabs,
}

impl ParseWorker {
    pub fn new(
        config: Arc<Config>,
        noted: Noted,
        records_out: Counter,
        follows_sources: bool,
    ) -> ParseWorker {
        let standard = Plan::new(Columns::standard(), &config);
        ParseWorker {
            parser: LineParser::new(config),
            plans: vec![standard],
            by_header: HashMap::new(),
            noted,
            records_out,
            follows_sources,
            carried: (0, 0),
            tabs: Tabs::default(),
        }
    }

    /// The plan of a `#Fields:` line (line `line` of `source`), parsed once per distinct
    /// header text.
    fn plan_for(&mut self, header: &[u8], source: &str, line: u64) -> usize {
        if let Some(&i) = self.by_header.get(header) {
            return i;
        }
        let columns = Columns::parse(header);
        self.note_unknown_columns(&columns, header, source, line);
        let plan = Plan::new(columns, self.parser.config());
        self.plans.push(plan);
        let i = self.plans.len() - 1;
        self.by_header.insert(header.to_vec(), i);
        i
    }

    /// One note per distinct `#Fields:` line of a web log that names columns no output field
    /// stands for: they are left out of every record, which should not go unsaid.
    fn note_unknown_columns(&self, columns: &Columns, header: &[u8], source: &str, line: u64) {
        if !columns.is_web_log() {
            return; // all its lines are rejected, with a note of their own
        }
        let known = known_fields();
        let unknown: Vec<&str> = columns
            .logged
            .iter()
            .zip(&columns.names)
            .filter(|(_, name)| !known.contains(name))
            .map(|(logged, _)| logged.as_str())
            .collect();
        if unknown.is_empty() {
            return;
        }
        let key = format!("columns\t{}", String::from_utf8_lossy(header));
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        if noted.insert(key) {
            onebox::cli::note(&format!(
                "{source}: the #Fields line at line {line} names columns cflog-parse has no \
                 field for ({}); they are left out of the output",
                unknown.join(", ")
            ));
        }
    }

    /// One note per source whose `#Fields:` line is not a web access log.
    fn note_not_web(&self, source: &str, header_line: u64, plan: &Plan) {
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        if !noted.insert(format!("not_web\t{source}")) {
            return;
        }
        let what = if plan.columns.position("x_event").is_some() {
            "an RTMP streaming log (x-event, x-sname...), not a web distribution's access log"
        } else {
            "not a web access log (no date/time, cs-uri-stem or sc-status)"
        };
        onebox::cli::note(&format!(
            "{source}: the #Fields line at line {header_line} is {what}; its lines are rejected \
             as not_web_log"
        ));
    }
}

impl Worker for ParseWorker {
    fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
        let (mut plan, mut header_line) = match block.header {
            Some(h) => (self.plan_for(&h.text, block.source, h.line), h.line),
            None if self.follows_sources && block.first_line > 1 => self.carried,
            None => (0, 0),
        };
        let (mut kept, mut blank, mut comment, mut headers) = (0u64, 0u64, 0u64, 0u64);
        let mut dropped = [0u64; Drop::ALL.len()];
        let mut noted_here = false;
        let mut lines = 0;
        let result = (|| {
            let data = block.data;
            let mut start = 0;
            for line_no in block.first_line.. {
                if start >= data.len() {
                    break;
                }
                lines += 1;
                // The line's end and its TABs, in one pass (see crate::split).
                let end = split_line(data, start, &mut self.tabs);
                let line = trim_cr(&data[start..end]);
                start = end + 1;
                // Only spaces make a blank line: a line of TABs is a record with empty fields
                // (and so, in a log, a malformed one).
                if line.iter().all(|&c| c == b' ') {
                    blank += 1;
                    continue;
                }
                if line[0] == b'#' {
                    if line.starts_with(b"#Fields:") {
                        plan = self.plan_for(line, block.source, line_no);
                        header_line = line_no;
                        headers += 1;
                    } else {
                        comment += 1;
                    }
                    continue;
                }
                match self.parser.parse_split(
                    &self.plans[plan],
                    line,
                    &mut self.tabs,
                    &mut out.data,
                ) {
                    Outcome::Kept => kept += 1,
                    Outcome::Dropped(why) => dropped[why as usize] += 1,
                    Outcome::Rejected(reason) => {
                        if !self.plans[plan].web && !noted_here {
                            noted_here = true;
                            self.note_not_web(block.source, header_line, &self.plans[plan]);
                        }
                        out.reject(block, line_no, reason, line)?;
                    }
                }
            }
            Ok(())
        })();
        out.lines_counted(lines);
        self.carried = (plan, header_line);
        self.records_out.add(kept);
        out.tally("skipped_blank", blank);
        out.tally("skipped_comment", comment);
        out.tally("skipped_header", headers);
        for (why, n) in Drop::ALL.iter().zip(dropped) {
            out.tally(why.counter(), n);
        }
        result
    }
}
