//! Columns: the `#Fields:` header, the names fields get, and what kind of value each holds.
//!
//! Names derive mechanically from the header (DESIGN section 2): lowercase, `(` -> `_`, `)`
//! dropped, `-` -> `_`, so `cs(User-Agent)` is `cs_user_agent`. Columns are always mapped by
//! the header, never by position, so the older 12..26-field layouts, the current 33-field one
//! and the reordered "v2" layouts all work. Data lines before any header use the current
//! 33-field layout ([`STANDARD_FIELDS`]).

/// The current (since 2019-12) 33-field layout, as CloudFront writes its `#Fields:` line.
pub const STANDARD_FIELDS: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method \
cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) \
x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken \
x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version \
fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type \
sc-content-type sc-content-len sc-range-start sc-range-end";

/// The derived ISO 8601 UTC time of a record (from `date` + `time`, or a v2 epoch `timestamp`).
pub const TIMESTAMP: &str = "timestamp";

/// How a field's logged text becomes an output value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Percent-decoded once (URLs, hosts, content type, and any field not listed).
    Text,
    /// Free text logged double-encoded before 2020 (user agent, referer, cookie).
    FreeText,
    /// A whole number, written as a JSON number (`000` -> 0).
    Int,
    /// A decimal number (seconds), written as logged.
    Float,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Text => "string",
            Kind::FreeText => "string (free text)",
            Kind::Int => "integer",
            Kind::Float => "number",
        }
    }
}

/// Fields with a known kind. Names not listed are text.
const KINDS: &[(&str, Kind)] = &[
    ("sc_bytes", Kind::Int),
    ("sc_status", Kind::Int),
    ("cs_bytes", Kind::Int),
    ("time_taken", Kind::Float),
    ("fle_encrypted_fields", Kind::Int),
    ("c_port", Kind::Int),
    ("time_to_first_byte", Kind::Float),
    ("sc_content_len", Kind::Int),
    ("sc_range_start", Kind::Int),
    ("sc_range_end", Kind::Int),
    ("cs_user_agent", Kind::FreeText),
    ("cs_referer", Kind::FreeText),
    ("cs_cookie", Kind::FreeText),
    // Standard logging v2 (2024+) extras.
    ("timestamp_ms", Kind::Int),
    ("origin_fbl", Kind::Float),
    ("origin_lbl", Kind::Float),
    ("asn", Kind::Int),
];

/// Field names of the v2 layouts that are not in the 33, accepted by `--fields`.
pub const V2_EXTRA_FIELDS: &[&str] = &[
    "distributionid",
    "timestamp_ms",
    "origin_fbl",
    "origin_lbl",
    "asn",
    "c_country",
    "cache_behavior_path_pattern",
];

pub fn kind_of(name: &str) -> Kind {
    KINDS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Kind::Text, |(_, k)| *k)
}

/// The output name of a logged field name (DESIGN section 2).
pub fn field_name(logged: &str) -> String {
    let mut name = String::with_capacity(logged.len());
    for c in logged.chars() {
        match c {
            '(' | '-' => name.push('_'),
            ')' => {}
            c => name.extend(c.to_lowercase()),
        }
    }
    name
}

/// The columns announced by one `#Fields:` line.
#[derive(Clone, Debug)]
pub struct Columns {
    /// The names as logged (`cs(User-Agent)`).
    pub logged: Vec<String>,
    /// The output names (`cs_user_agent`).
    pub names: Vec<String>,
}

impl Columns {
    /// Parses a `#Fields:` line; names may be separated by spaces or TABs, with trailing
    /// blanks (both seen in real files).
    pub fn parse(line: &[u8]) -> Columns {
        let text = String::from_utf8_lossy(line);
        let rest = text.strip_prefix("#Fields:").unwrap_or(&text);
        let logged: Vec<String> = rest.split_ascii_whitespace().map(str::to_string).collect();
        let names = logged.iter().map(|l| field_name(l)).collect();
        Columns { logged, names }
    }

    /// The current 33-field layout.
    pub fn standard() -> Columns {
        Columns::parse(STANDARD_FIELDS.as_bytes())
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Whether these are the columns of a web distribution's access log. RTMP streaming logs
    /// (17 fields: x-event, x-sname, ...) and anything without a request path and status are not.
    pub fn is_web_log(&self) -> bool {
        let has = |n: &str| self.position(n).is_some();
        let has_time = (has("date") && has("time")) || has(TIMESTAMP);
        has_time && has("cs_uri_stem") && has("sc_status") && !has("x_event") && !has("x_sname")
    }
}

/// Every field name `--fields` accepts besides extraction groups and `event`: `timestamp`,
/// the 33 standard fields and the v2 extras.
pub fn known_fields() -> Vec<String> {
    let mut names = vec![TIMESTAMP.to_string()];
    names.extend(Columns::standard().names);
    names.extend(V2_EXTRA_FIELDS.iter().map(|s| s.to_string()));
    names
}

/// The default output: `timestamp` and the 33 standard fields.
pub fn default_fields() -> Vec<String> {
    let mut names = vec![TIMESTAMP.to_string()];
    names.extend(Columns::standard().names);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_mechanically() {
        assert_eq!(field_name("cs(User-Agent)"), "cs_user_agent");
        assert_eq!(field_name("c-ip"), "c_ip");
        assert_eq!(field_name("cs(Host)"), "cs_host");
        assert_eq!(field_name("timestamp(ms)"), "timestamp_ms");
        assert_eq!(field_name("DistributionId"), "distributionid");
    }

    #[test]
    fn standard_layout_has_33_fields() {
        let c = Columns::standard();
        assert_eq!(c.names.len(), 33);
        assert_eq!(c.names[0], "date");
        assert_eq!(c.names[32], "sc_range_end");
        assert!(c.is_web_log());
    }

    #[test]
    fn header_variants_parse_alike() {
        let tabbed = Columns::parse(b"#Fields:\tdate\ttime\tcs-uri-stem\tsc-status");
        let trailing = Columns::parse(b"#Fields: date time cs-uri-stem sc-status \t ");
        assert_eq!(tabbed.names, trailing.names);
        assert_eq!(tabbed.names.len(), 4);
        assert!(tabbed.is_web_log());
    }

    #[test]
    fn rtmp_is_not_a_web_log() {
        let rtmp = Columns::parse(
            "#Fields: date time x-edge-location c-ip x-event sc-bytes x-cf-status \
             x-cf-client-id cs-uri-stem cs-uri-query c-referrer x-page-url\u{200b} c-user-agent \
             x-sname x-sname-query x-file-ext x-sid"
                .as_bytes(),
        );
        assert_eq!(rtmp.names.len(), 17);
        assert!(!rtmp.is_web_log());
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of("sc_status"), Kind::Int);
        assert_eq!(kind_of("time_taken"), Kind::Float);
        assert_eq!(kind_of("cs_user_agent"), Kind::FreeText);
        assert_eq!(kind_of("cs_uri_stem"), Kind::Text);
        assert_eq!(kind_of("something_new"), Kind::Text);
    }
}
