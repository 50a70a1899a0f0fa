//! The line parser: one CloudFront log line to one output record, or a reason it is not one.
//!
//! Fields are byte slices of the line between TABs; nothing is allocated per line. A
//! [`Plan`] (built once per distinct `#Fields:` line) says where each needed field sits, so the
//! per-line work is: find the TABs, check the count, run the filters on the few fields they
//! need, and only for kept lines decode and write the selected fields straight into the
//! output buffer.

use onebox::bytescan::{append_span, copy_until, Stops};
use onebox::json;
use onebox::record::Format;
use onebox::tsv;

use crate::decode::{decode_free_text, decode_once};
use crate::extract::{Events, Extract, ExtractState};
use crate::filter::{Drop, Filters, Subject};
use crate::memo::{Answer, PathMemo};
use crate::schema::{kind_of, Columns, Kind, TIMESTAMP};
use crate::split::Tabs;
use crate::text_memo::TextMemo;
use crate::time::{self, Stamp};

/// One output column.
#[derive(Clone, Debug)]
pub enum Column {
    /// The derived ISO 8601 UTC time.
    Timestamp,
    /// A log field by its output name.
    Field { name: String, kind: Kind },
    /// Named group `group` of `--extract` number `extract`.
    Group { extract: usize, group: usize },
    /// The `--event` name.
    Event,
}

/// Everything that decides the output, fixed for the run.
#[derive(Clone, Debug)]
pub struct Config {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    pub format: Format,
    /// Keep values exactly as logged (no percent-decoding).
    pub raw: bool,
    pub filters: Filters,
    pub extracts: Vec<Extract>,
    pub events: Events,
    pub events_only: bool,
}

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Kept,
    Dropped(Drop),
    Rejected(&'static str),
}

/// Where the fields a run needs sit in the lines of one `#Fields:` layout.
#[derive(Clone, Debug)]
pub struct Plan {
    pub columns: Columns,
    /// False for layouts that are not web access logs (RTMP): their lines are rejected.
    pub web: bool,
    pub width: usize,
    /// How many of a line's TABs the filters need found: one past the last field they read.
    filter_tabs: usize,
    /// How many of a kept line's TABs must be found: one past the last field this plan reads
    /// (the TABs after it are only counted).
    pub tabs_needed: usize,
    date: Option<usize>,
    time: Option<usize>,
    epoch: Option<usize>,
    stem: Option<usize>,
    status: Option<usize>,
    method: Option<usize>,
    result_type: Option<usize>,
    /// Per output column: the index of its field in the line, for `Column::Field`.
    sources: Vec<Option<usize>>,
    /// Per extract: the index and kind of the field it runs on.
    extract_sources: Vec<Option<(usize, Kind)>>,
    /// Per extract: whether it runs on cs_uri_stem (so its outcome can be remembered by path).
    on_path: Vec<bool>,
    /// Whether any rule answers by path alone (an event, an extract over the path).
    path_rules: bool,
}

impl Plan {
    pub fn new(columns: Columns, config: &Config) -> Plan {
        let pos = |n: &str| columns.position(n);
        let (date, time) = (pos("date"), pos("time"));
        let epoch = if date.is_some() && time.is_some() {
            None
        } else {
            pos(TIMESTAMP)
        };
        let sources: Vec<Option<usize>> = config
            .columns
            .iter()
            .map(|c| match c {
                Column::Field { name, .. } => pos(name),
                _ => None,
            })
            .collect();
        let extract_sources = config
            .extracts
            .iter()
            .map(|ex| pos(&ex.field).map(|i| (i, kind_of(&ex.field))))
            .collect::<Vec<_>>();
        let (stem, status, method, result_type) = (
            pos("cs_uri_stem"),
            pos("sc_status"),
            pos("cs_method"),
            pos("x_edge_result_type"),
        );
        let on_path: Vec<bool> = extract_sources
            .iter()
            .map(|s| s.is_some_and(|(i, _)| Some(i) == stem))
            .collect();
        let path_rules = !config.events.is_empty() || on_path.contains(&true);
        // Field i ends at TAB i, so reading field i needs i + 1 TABs.
        let f = &config.filters;
        let time_fields = if f.needs_time() {
            [date, time, epoch]
        } else {
            [None; 3]
        };
        let filter_read = time_fields
            .into_iter()
            .chain([stem])
            .chain([f.status.is_some().then_some(status).flatten()])
            .chain([f.methods.is_some().then_some(method).flatten()])
            .chain([f.result_types.is_some().then_some(result_type).flatten()])
            .flatten()
            .max();
        let last_read = [date, time, epoch, stem, status, method, result_type]
            .into_iter()
            .chain(sources.iter().copied())
            .chain(extract_sources.iter().map(|s| s.map(|(i, _)| i)))
            .flatten()
            .max();
        Plan {
            web: columns.is_web_log(),
            width: columns.names.len(),
            filter_tabs: filter_read.map_or(0, |i| i + 1),
            tabs_needed: last_read.map_or(0, |i| i + 1),
            date,
            time,
            epoch,
            stem,
            status,
            method,
            result_type,
            sources,
            extract_sources,
            on_path,
            path_rules,
            columns,
        }
    }
}

/// Sets `answer` (the event) and the states of the extracts over the path for `path`, from
/// the memo when it remembers the path, else by running the rules (and remembering).
fn answer_by_path(
    config: &Config,
    plan: &Plan,
    path: &[u8],
    memo: &mut PathMemo,
    answer: &mut Answer,
    states: &mut [ExtractState],
) {
    let on_path = || {
        config
            .extracts
            .iter()
            .zip(plan.on_path.iter())
            .enumerate()
            .filter(|(_, (_, &on))| on)
            .map(|(i, (ex, _))| (i, ex))
    };
    if let Some(known) = memo.recall(path) {
        answer.event = known.event;
        // A line of a path without an event under --events-only is dropped before its
        // extracts are read, so they were not run for the memo (lens is empty).
        if !known.lens.is_empty() {
            for (k, (i, _)) in on_path().enumerate() {
                states[i].recall(path, known.extract(k));
            }
        }
        return;
    }
    answer.clear();
    answer.event = config.events.classify(path);
    if !(config.events_only && answer.event.is_none()) {
        for (i, ex) in on_path() {
            states[i].run(ex, Some(path));
            answer.spans.extend_from_slice(states[i].spans());
            answer.lens.push(states[i].spans().len());
        }
    }
    memo.remember(path, answer);
}

/// The fields of one line, as TAB positions.
struct Fields<'l, 't> {
    line: &'l [u8],
    /// At least the TABs that end the fields read (all when the line has fewer).
    tabs: &'t [usize],
}

impl<'l> Fields<'l, '_> {
    /// Where field `i` starts and ends in the line (the field count was checked: a missing
    /// field reads as empty).
    #[inline]
    fn span(&self, i: usize) -> (usize, usize) {
        if i > self.tabs.len() {
            return (0, 0);
        }
        let start = if i == 0 { 0 } else { self.tabs[i - 1] + 1 };
        let end = self.tabs.get(i).copied().unwrap_or(self.line.len());
        (start, end)
    }

    /// Field `i`.
    #[inline]
    fn get(&self, i: usize) -> &'l [u8] {
        let (start, end) = self.span(i);
        &self.line[start..end]
    }

    /// The field at `i` of the plan, with CloudFront's `-` (no value) as `None`.
    #[inline]
    fn value(&self, i: Option<usize>) -> Option<&'l [u8]> {
        i.map(|i| self.get(i)).filter(|v| *v != b"-")
    }
}

/// A thread's parser: reused buffers, so lines allocate nothing.
pub struct LineParser {
    config: std::sync::Arc<Config>,
    /// JSON key prefixes (`{"name":` / `,"name":`) or TSV separators, per column.
    keys: Vec<Key>,
    /// TAB positions for [`LineParser::parse`] (the worker brings its own).
    tabs: Tabs,
    path_scratch: Vec<u8>,
    value_scratch: Vec<u8>,
    extract_states: Vec<ExtractState>,
    memo: PathMemo,
    /// What was written for recent encoded values, per column.
    text_memo: TextMemo,
    last_stamp: LastStamp,
    /// The path rules' answer for the current line.
    answer: Answer,
}

impl LineParser {
    pub fn new(config: std::sync::Arc<Config>) -> LineParser {
        let keys = config
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| match config.format {
                Format::Ndjson => {
                    let mut k = vec![if i == 0 { b'{' } else { b',' }];
                    json::write_string(name.as_bytes(), &mut k);
                    k.push(b':');
                    Key::new(k)
                }
                Format::Tsv if i == 0 => Key::new(Vec::new()),
                Format::Tsv => Key::new(b"\t".to_vec()),
            })
            .collect();
        let extract_states = config.extracts.iter().map(ExtractState::new).collect();
        LineParser {
            config,
            keys,
            tabs: Tabs::default(),
            path_scratch: Vec::new(),
            value_scratch: Vec::new(),
            extract_states,
            memo: PathMemo::default(),
            text_memo: TextMemo::default(),
            last_stamp: LastStamp::default(),
            answer: Answer::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Parses one data line of layout `plan`, appending its record to `out` when kept.
    pub fn parse(&mut self, plan: &Plan, line: &[u8], out: &mut Vec<u8>) -> Outcome {
        // The block reader strips CRLF line ends; a lone CR left by other callers goes too.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut tabs = std::mem::take(&mut self.tabs);
        crate::split::split_line(line, 0, &mut tabs);
        let outcome = self.parse_split(plan, line, &mut tabs, out);
        self.tabs = tabs;
        outcome
    }

    /// [`LineParser::parse`] of a line whose TAB positions the caller found already
    /// ([`crate::split::split_line`]).
    pub fn parse_split(
        &mut self,
        plan: &Plan,
        line: &[u8],
        tabs: &mut Tabs,
        out: &mut Vec<u8>,
    ) -> Outcome {
        if !plan.web {
            return Outcome::Rejected("not_web_log");
        }
        let count = tabs.total() + 1;
        if count != plan.width {
            // One extra, empty, trailing field (a trailing TAB) is accepted (DESIGN 8).
            if count != plan.width + 1 || line.last() != Some(&b'\t') {
                return Outcome::Rejected("field_count");
            }
        }
        // Without an accepted trailing TAB the last field ends at the line's end.
        let line = if count == plan.width {
            line
        } else {
            &line[..line.len() - 1]
        };
        let config = &*self.config;

        // Most lines are dropped by a filter: only the TABs before its fields are read for
        // them.
        let fields = Fields {
            line,
            tabs: tabs.positions(plan.filter_tabs),
        };
        let mut stamp: Option<Stamp> = None;
        if config.filters.needs_time() {
            stamp = stamp_of(plan, &fields, &mut self.last_stamp);
            if stamp.is_none() {
                return Outcome::Rejected("bad_timestamp");
            }
        }
        let stem_value = fields.value(plan.stem);
        let stem = stem_value.unwrap_or(b"");
        let path = if config.raw {
            stem
        } else {
            decode_once(stem, &mut self.path_scratch)
        };
        // Each filter reads its field only when it is on.
        let f = &config.filters;
        let wanted = |on: bool, i: Option<usize>| if on { fields.value(i) } else { None };
        let subject = Subject {
            path,
            status: wanted(f.status.is_some(), plan.status).unwrap_or(b""),
            method: wanted(f.methods.is_some(), plan.method).unwrap_or(b""),
            result_type: wanted(f.result_types.is_some(), plan.result_type).unwrap_or(b""),
            stamp: stamp.as_ref(),
        };
        if let Some(drop) = config.filters.check(&subject) {
            return Outcome::Dropped(drop);
        }
        let fields = Fields {
            line,
            tabs: tabs.positions(plan.tabs_needed),
        };
        // A path that is `-` is no subject for extracts, so it is not remembered.
        let remembered = plan.path_rules && stem_value.is_some();
        if remembered {
            answer_by_path(
                config,
                plan,
                path,
                &mut self.memo,
                &mut self.answer,
                &mut self.extract_states,
            );
        } else {
            self.answer.event = config.events.classify(path);
        }
        let event = self.answer.event.map(|i| config.events.name(i));
        if config.events_only && event.is_none() {
            return Outcome::Dropped(Drop::NoEvent);
        }

        if stamp.is_none()
            && config
                .columns
                .iter()
                .any(|c| matches!(c, Column::Timestamp))
        {
            stamp = stamp_of(plan, &fields, &mut self.last_stamp);
            if stamp.is_none() {
                return Outcome::Rejected("bad_timestamp");
            }
        }
        for (((ex, state), source), &on_path) in config
            .extracts
            .iter()
            .zip(&mut self.extract_states)
            .zip(&plan.extract_sources)
            .zip(&plan.on_path)
        {
            if remembered && on_path {
                continue; // answer_by_path did this one
            }
            let value = match source {
                Some((i, kind)) => fields
                    .value(Some(*i))
                    .map(|v| decoded(v, *kind, config.raw, &mut self.value_scratch)),
                None => None,
            };
            state.run(ex, value);
        }

        let start = out.len();
        for (i, column) in config.columns.iter().enumerate() {
            self.keys[i].write(out);
            let ok = match column {
                Column::Timestamp => {
                    write_stamp(out, config.format, stamp.as_ref());
                    true
                }
                Column::Field { kind, .. } => write_field(
                    out,
                    config,
                    (i, *kind),
                    &fields,
                    plan.sources[i],
                    (&mut self.value_scratch, &mut self.text_memo),
                ),
                Column::Group { extract, group } => {
                    write_str(
                        out,
                        config.format,
                        self.extract_states[*extract].group(*group),
                    );
                    true
                }
                Column::Event => {
                    write_str(out, config.format, event.map(str::as_bytes));
                    true
                }
            };
            if !ok {
                out.truncate(start);
                return Outcome::Rejected("bad_number");
            }
        }
        out.extend_from_slice(match config.format {
            Format::Ndjson => b"}\n",
            Format::Tsv => b"\n",
        });
        Outcome::Kept
    }
}

/// The record's timestamp, from date + time or a v2 epoch column.
#[inline]
fn stamp_of(plan: &Plan, fields: &Fields<'_, '_>, last: &mut LastStamp) -> Option<Stamp> {
    match (plan.date, plan.time, plan.epoch) {
        (Some(d), Some(t), _) => last.make(fields.get(d), fields.get(t)),
        (_, _, Some(e)) => time::from_epoch(fields.get(e)),
        _ => None,
    }
}

/// The last line's date and time and the timestamp made of them. A log's lines come in time
/// order, many to a second, so most lines repeat the last one's: a compare of 18 bytes then
/// stands for checking that the date and time are real.
#[derive(Default)]
struct LastStamp {
    date_time: [u8; 18],
    /// None until a valid date and time was seen.
    stamp: Option<Stamp>,
}

impl LastStamp {
    #[inline]
    fn make(&mut self, date: &[u8], time: &[u8]) -> Option<Stamp> {
        if date.len() == 10 && time.len() == 8 {
            if self.stamp.is_some()
                && self.date_time[..10] == *date
                && self.date_time[10..] == *time
            {
                return self.stamp;
            }
            let stamp = time::from_date_time(date, time)?;
            self.date_time[..10].copy_from_slice(date);
            self.date_time[10..].copy_from_slice(time);
            self.stamp = Some(stamp);
            return self.stamp;
        }
        time::from_date_time(date, time)
    }
}

/// A field's text as output (percent-decoded per its kind unless raw).
#[inline]
fn decoded<'a>(value: &'a [u8], kind: Kind, raw: bool, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    match kind {
        _ if raw => value,
        Kind::Text => decode_once(value, scratch),
        Kind::FreeText => decode_free_text(value, scratch),
        Kind::Int | Kind::Float => value,
    }
}

/// Writes a string value, or null / an empty cell.
#[inline]
fn write_str(out: &mut Vec<u8>, format: Format, value: Option<&[u8]>) {
    match (format, value) {
        (Format::Ndjson, Some(v)) => json::write_string(v, out),
        (Format::Ndjson, None) => out.extend_from_slice(b"null"),
        (Format::Tsv, Some(v)) => tsv::escape_into(v, out),
        (Format::Tsv, None) => {}
    }
}

/// The timestamp: plain ASCII, so copied without a scan.
#[inline]
fn write_stamp(out: &mut Vec<u8>, format: Format, stamp: Option<&Stamp>) {
    match (format, stamp) {
        (Format::Ndjson, Some(s)) => {
            out.push(b'"');
            out.extend_from_slice(s);
            out.push(b'"');
        }
        (Format::Tsv, Some(s)) => out.extend_from_slice(s),
        (_, None) => write_str(out, format, None),
    }
}

/// Writes log field `index` of `fields` as output column `column` of kind `kind`; false when
/// a numeric field holds something else.
#[inline]
fn write_field(
    out: &mut Vec<u8>,
    config: &Config,
    (column, kind): (usize, Kind),
    fields: &Fields<'_, '_>,
    index: Option<usize>,
    (scratch, memo): (&mut Vec<u8>, &mut TextMemo),
) -> bool {
    let (start, end) = index.map_or((0, 0), |i| fields.span(i));
    let v = &fields.line[start..end];
    if index.is_none() || v == b"-" {
        write_str(out, config.format, None);
        return true;
    }
    match kind {
        Kind::Int if v.is_empty() => write_str(out, config.format, None),
        Kind::Int => match parse_u64(v) {
            // Without leading zeros the number is written as logged.
            Some(_) if v[0] != b'0' || v.len() == 1 => {
                append_span::<16>(out, fields.line, start, end)
            }
            Some(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            None => return false,
        },
        Kind::Float if v.is_empty() => write_str(out, config.format, None),
        Kind::Float if is_json_number(v) => append_span::<16>(out, fields.line, start, end),
        Kind::Float => return false,
        Kind::Text | Kind::FreeText => {
            // Most values hold nothing to decode or escape: copied as they are scanned. The
            // TAB or line end that ends the field is a stop too (a control byte), so the
            // copy reaching `end` means the value was plain.
            const JSON_VERBATIM: Stops = Stops::new(b"%\"\\").control().non_ascii();
            const TSV_VERBATIM: Stops = Stops::new(b"%\\").control();
            let mark = out.len();
            let plain = match config.format {
                Format::Ndjson => {
                    out.push(b'"');
                    let plain = copy_until(fields.line, start, &JSON_VERBATIM, out) == end;
                    out.push(b'"');
                    plain
                }
                Format::Tsv => copy_until(fields.line, start, &TSV_VERBATIM, out) == end,
            };
            if plain {
                return true;
            }
            out.truncate(mark);
            let remember = match memo.recall(column, v) {
                Ok(written) => {
                    out.extend_from_slice(written);
                    return true;
                }
                Err(remember) => remember,
            };
            let text = decoded(v, kind, config.raw, scratch);
            write_str(out, config.format, Some(text));
            if remember {
                memo.remember(column, v, &out[mark..]);
            }
        }
    }
    true
}

/// A column's key (or TSV separator), padded so that writing it is one fixed-size copy.
struct Key {
    padded: [u8; 32],
    text: Vec<u8>,
}

impl Key {
    fn new(text: Vec<u8>) -> Key {
        let mut padded = [0; 32];
        if text.len() <= padded.len() {
            padded[..text.len()].copy_from_slice(&text);
        }
        Key { padded, text }
    }

    #[inline(always)]
    fn write(&self, out: &mut Vec<u8>) {
        if self.text.len() <= self.padded.len() {
            append_span::<32>(out, &self.padded, 0, self.text.len());
        } else {
            out.extend_from_slice(&self.text);
        }
    }
}

/// A run of ASCII digits as a number (leading zeros allowed: status `000` is 0).
#[inline]
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Whether `s` is a number in JSON's grammar (so it can be written as it was logged).
#[inline]
fn is_json_number(s: &[u8]) -> bool {
    // Logged times (`0.870`) pass the quick test; anything else is checked the long way.
    short_decimal(s) || is_json_number_slow(s)
}

/// Whether `s` is up to 8 digits with at most one inner `.` and no leading zero (so a JSON
/// number), tested eight bytes at once. False means "not judged here", not "invalid".
#[inline]
fn short_decimal(s: &[u8]) -> bool {
    let n = s.len();
    if n == 0 || n > 8 {
        return false;
    }
    let mut bytes = [b'0'; 8];
    bytes[..n].copy_from_slice(s);
    // Digits become 0..=9. A byte left above 9 gets its top bit set by adding 0x76 (which
    // never carries out of a byte below 0x80); one with the top bit set already, by `| y`.
    let y = u64::from_le_bytes(bytes) ^ 0x3030_3030_3030_3030;
    let odd = (y.wrapping_add(0x7676_7676_7676_7676) | y) & 0x8080_8080_8080_8080;
    let leading_zero = s[0] == b'0' && n > 1 && s[1] != b'.';
    if leading_zero {
        return false;
    }
    if odd == 0 {
        return true;
    }
    let at = odd.trailing_zeros() as usize / 8;
    odd & (odd - 1) == 0 && s[at] == b'.' && at > 0 && at + 1 < n
}

fn is_json_number_slow(s: &[u8]) -> bool {
    let mut i = usize::from(s.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && s[int_start] == b'0') {
        return false;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
