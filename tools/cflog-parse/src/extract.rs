//! `--extract` (named regex groups become fields) and `--event` (the first matching rule names
//! the request's event).

use regex::bytes::{CaptureLocations, Regex};

/// One `--extract [FIELD:]REGEX`.
#[derive(Clone, Debug)]
pub struct Extract {
    /// The field the regex runs on (`cs_uri_stem` unless named).
    pub field: String,
    pub re: Regex,
    /// The named groups: (field name, group index).
    pub groups: Vec<(String, usize)>,
}

impl Extract {
    /// Parses `FIELD:REGEX` when the text before the first `:` is one of `fields`, else `REGEX`
    /// over `cs_uri_stem` (so a regex holding `:` needs no escaping). Text before the first `:`
    /// that has the shape of a field name (`cs_uri_qery`) but is none is an error, not a
    /// regex that would match nothing and give null on every line.
    pub fn parse(spec: &str, fields: &[String]) -> Result<Extract, String> {
        let (field, pattern) = match spec.split_once(':') {
            Some((f, re)) if fields.iter().any(|k| k == f) => (f.to_string(), re),
            Some((f, _)) if looks_like_field(f) => {
                let why = if f == "timestamp" {
                    "the derived timestamp is not a log field; use date or time".to_string()
                } else {
                    format!("unknown field '{f}' (see --list-fields)")
                };
                return Err(format!(
                    "--extract '{spec}': {why}; a regex over cs_uri_stem that holds ':' is \
                     written cs_uri_stem:REGEX"
                ));
            }
            _ => ("cs_uri_stem".to_string(), spec),
        };
        let re = compile(pattern).map_err(|e| format!("--extract '{spec}': {e}"))?;
        let groups: Vec<(String, usize)> = re
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (n.to_string(), i)))
            .collect();
        if groups.is_empty() {
            return Err(format!(
                "--extract '{spec}' has no named group; write one like (?P<model_id>[^/]+)"
            ));
        }
        Ok(Extract { field, re, groups })
    }
}

/// Whether `text` has the shape of an output field name: a lowercase letter, then lowercase
/// letters, digits and `_`.
fn looks_like_field(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|c| c.is_ascii_lowercase())
        && bytes.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The per-thread state of one [`Extract`]: the text it ran on and where its groups matched.
pub struct ExtractState {
    pub subject: Vec<u8>,
    locs: CaptureLocations,
    /// Where each group matched in `subject` (group 0: the whole match); empty: no match.
    spans: Vec<Option<(usize, usize)>>,
}

impl ExtractState {
    pub fn new(ex: &Extract) -> ExtractState {
        ExtractState {
            subject: Vec::new(),
            locs: ex.re.capture_locations(),
            spans: Vec::new(),
        }
    }

    /// Runs `ex` on `value` (`None`: the field is absent or `-`).
    pub fn run(&mut self, ex: &Extract, value: Option<&[u8]>) {
        self.subject.clear();
        self.spans.clear();
        if let Some(v) = value {
            self.subject.extend_from_slice(v);
            if ex.re.captures_read(&mut self.locs, &self.subject).is_some() {
                self.spans
                    .extend((0..self.locs.len()).map(|i| self.locs.get(i)));
            }
        }
    }

    /// Where the groups matched in the last subject: empty when `ex` did not match.
    pub fn spans(&self) -> &[Option<(usize, usize)>] {
        &self.spans
    }

    /// Takes the outcome of an earlier [`ExtractState::run`] on the same `subject`.
    pub fn recall(&mut self, subject: &[u8], spans: &[Option<(usize, usize)>]) {
        self.subject.clear();
        self.subject.extend_from_slice(subject);
        self.spans.clear();
        self.spans.extend_from_slice(spans);
    }

    /// The text of group `index`, if the regex matched and the group took part.
    pub fn group(&self, index: usize) -> Option<&[u8]> {
        let (s, e) = (*self.spans.get(index)?)?;
        Some(&self.subject[s..e])
    }
}

/// Compiles a regex from the command line. The error is one line (the regex crate's own
/// message draws the pattern and a caret under the fault over three), as every error here is.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        let last = text.lines().rev().find(|l| !l.trim().is_empty());
        let reason = last.map_or(text.as_str(), |l| l.trim().trim_start_matches("error: "));
        format!("invalid regex: {reason}")
    })
}

/// The `--event NAME=REGEX` rules, tried in order on `cs_uri_stem`.
#[derive(Clone, Debug, Default)]
pub struct Events(Vec<(String, Regex)>);

impl Events {
    pub fn parse(specs: &[String]) -> Result<Events, String> {
        specs
            .iter()
            .map(|spec| {
                let (name, pattern) = spec
                    .split_once('=')
                    .filter(|(n, _)| !n.is_empty())
                    .ok_or_else(|| format!("--event '{spec}': expected NAME=REGEX"))?;
                let re = compile(pattern).map_err(|e| format!("--event '{spec}': {e}"))?;
                Ok((name.to_string(), re))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Events)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The index of the first rule matching `path`.
    #[inline]
    pub fn classify(&self, path: &[u8]) -> Option<usize> {
        self.0.iter().position(|(_, re)| re.is_match(path))
    }

    /// The event name of rule `index`.
    pub fn name(&self, index: usize) -> &str {
        &self.0[index].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        vec!["cs_uri_stem".into(), "cs_uri_query".into()]
    }

    #[test]
    fn extract_on_the_path_or_a_named_field() {
        let ex = Extract::parse("^/models/(?P<model_id>[0-9a-f-]+)", &fields()).unwrap();
        assert_eq!(ex.field, "cs_uri_stem");
        assert_eq!(ex.groups, vec![("model_id".to_string(), 1)]);
        let mut st = ExtractState::new(&ex);
        st.run(&ex, Some(b"/models/ab-12/file"));
        assert_eq!(st.group(1), Some(&b"ab-12"[..]));
        st.run(&ex, Some(b"/other"));
        assert_eq!(st.group(1), None);
        st.run(&ex, None);
        assert_eq!(st.group(1), None);

        let q = Extract::parse("cs_uri_query:(?:^|&)v=(?P<ver>[^&]*)", &fields()).unwrap();
        assert_eq!(q.field, "cs_uri_query");
        // A colon inside a regex is not a field prefix.
        let c = Extract::parse("(?P<scheme>[a-z]+):", &fields()).unwrap();
        assert_eq!(c.field, "cs_uri_stem");
        let c = Extract::parse("cs_uri_stem:api:(?P<v>v[0-9])", &fields()).unwrap();
        assert_eq!(
            (c.field.as_str(), c.re.as_str()),
            ("cs_uri_stem", "api:(?P<v>v[0-9])")
        );
        // What looks like a field name but is none is an error, not a regex.
        let typo = Extract::parse("cs_uri_qery:id=(?P<q>[0-9]+)", &fields()).unwrap_err();
        assert!(typo.contains("unknown field 'cs_uri_qery'"), "{typo}");
        let derived = Extract::parse("timestamp:(?P<h>T[0-9]{2})", &fields()).unwrap_err();
        assert!(derived.contains("use date or time"), "{derived}");
    }

    #[test]
    fn extract_needs_a_named_group() {
        assert!(Extract::parse("^/models/([0-9]+)", &fields()).is_err());
        assert!(Extract::parse("(?P<x>[", &fields()).is_err());
    }

    #[test]
    fn regex_errors_are_one_line() {
        for (pattern, reason) in [
            ("(", "unclosed group"),
            ("[z-a]", "invalid character class"),
        ] {
            let e = compile(pattern).unwrap_err();
            assert!(!e.contains('\n'), "{e:?}");
            assert!(
                e.starts_with("invalid regex: ") && e.contains(reason),
                "{e:?}"
            );
        }
        let e = Events::parse(&["view=(".into()]).unwrap_err();
        assert_eq!(e, "--event 'view=(': invalid regex: unclosed group");
    }

    #[test]
    fn first_event_wins() {
        let ev = Events::parse(&[
            "download=^/models/.*/resolve/".into(),
            "view=^/models/".into(),
        ])
        .unwrap();
        let name = |path: &[u8]| ev.classify(path).map(|i| ev.name(i));
        assert_eq!(name(b"/models/a/resolve/main/x.bin"), Some("download"));
        assert_eq!(name(b"/models/a"), Some("view"));
        assert_eq!(name(b"/search"), None);
        assert!(Events::parse(&["=x".into()]).is_err());
        assert!(Events::parse(&["noequals".into()]).is_err());
    }
}
