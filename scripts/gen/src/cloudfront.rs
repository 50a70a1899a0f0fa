//! CloudFront standard access logs (W3C extended format, TAB-separated), one file per
//! edge server and hour, as AWS writes them to the log bucket.

mod client;
mod request;
mod vocab;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::bad;
use crate::clock::{push_millis, Stamp};
use crate::output::{FileGen, Generator};
use crate::rng::{splitmix64, Prob, Rng};
use crate::zipf::Zipf;
use client::{address_in, outside_address, push_ip};
use request::{
    push_query, push_referer, push_stem, request, weighted, Kind, API_STATUS, ASSET_STATUS,
    DOWNLOAD_STATUS, KINDS, PAGE_STATUS,
};
use vocab::*;

/// The 33 field names of the current log format, in order; older layouts are prefixes.
#[rustfmt::skip]
pub const FIELDS: [&str; 33] = [
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version",
    // 26-field layout (2018): field-level encryption
    "fle-status", "fle-encrypted-fields",
    // 33-field layout (2019+)
    "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
];

/// Which prefix of `FIELDS` a file carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Before 2018: up to cs-protocol-version.
    F24,
    /// 2018: plus the field-level-encryption fields.
    F26,
    /// Since late 2019.
    F33,
}

impl Layout {
    pub fn fields(self) -> usize {
        match self {
            Layout::F24 => 24,
            Layout::F26 => 26,
            Layout::F33 => 33,
        }
    }
}

/// A network the viewers' addresses come from. Fixture data, not real geography: the
/// GeoIP test databases are generated to cover exactly these networks with these
/// attributes, and the ASNs are from the private-use range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    pub cidr: &'static str,
    pub continent: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub asn: u32,
    pub org: &'static str,
}

impl Network {
    /// (first address, prefix length)
    pub fn parse(&self) -> (IpAddr, u8) {
        let (addr, len) = self.cidr.split_once('/').expect("cidr has a prefix length");
        (
            addr.parse().expect("cidr address"),
            len.parse().expect("cidr prefix length"),
        )
    }
}

const fn net(
    cidr: &'static str,
    continent: &'static str,
    country: &'static str,
    city: &'static str,
    asn: u32,
    org: &'static str,
) -> Network {
    Network {
        cidr,
        continent,
        country,
        city,
        asn,
        org,
    }
}

/// Viewer networks, most active first: IPv4 /16s and IPv6 /32s.
#[rustfmt::skip]
pub const NETWORKS: &[Network] = &[
    net("81.2.0.0/16",    "EU", "GB", "London",            64_601, "Example Broadband GB"),
    net("216.160.0.0/16", "NA", "US", "Seattle",           64_602, "Example Cable US"),
    net("2600:1700::/32", "NA", "US", "Dallas",            64_603, "Example Fiber US"),
    net("151.38.0.0/16",  "EU", "IT", "Genoa",             64_604, "Example Telecom Italia"),
    net("5.146.0.0/16",   "EU", "DE", "Frankfurt am Main", 64_605, "Example Netz DE"),
    net("2001:218::/32",  "AS", "JP", "Tokyo",             64_606, "Example Net JP"),
    net("89.160.0.0/16",  "EU", "SE", "Linköping",         64_607, "Example Bredband SE"),
    net("186.192.0.0/16", "SA", "BR", "São Paulo",         64_608, "Example Telecom BR"),
    net("2a02:c7f::/32",  "EU", "GB", "Manchester",        64_609, "Example Mobile GB"),
    net("175.16.0.0/16",  "AS", "CN", "Shanghai",          64_610, "Example Telecom CN"),
    net("1.128.0.0/16",   "OC", "AU", "Sydney",            64_611, "Example Mobile AU"),
    net("2a01:e0a::/32",  "EU", "FR", "Paris",             64_612, "Example Télécom FR"),
    net("49.96.0.0/16",   "AS", "JP", "Osaka",             64_613, "Example Mobile JP"),
    net("41.0.0.0/16",    "AF", "ZA", "Johannesburg",      64_614, "Example Telkom ZA"),
    net("2804:14c::/32",  "SA", "BR", "Rio de Janeiro",    64_615, "Example Fibra BR"),
];

/// Networks some viewers (and all x-forwarded-for hops) come from that are deliberately
/// NOT in `NETWORKS`, so GeoIP lookups miss: the documentation ranges of RFC 5737 and
/// RFC 3849, plus private 10/8 for proxy hops.
pub const OUTSIDE_NETWORKS: &[&str] = &[
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
    "10.0.0.0/8",
];

/// Share of viewers from `OUTSIDE_NETWORKS` (documentation ranges only, not 10/8).
const OUTSIDE_SHARE: Prob = Prob::ratio(1, 12);
/// Share of viewers whose User-Agent is logged with the pre-2020 double encoding.
const OLD_ENCODING: Prob = Prob::ratio(1, 10);
const HTTPS: Prob = Prob::ratio(23, 25);
const TLS13: Prob = Prob::ratio(2, 3);
const FORWARDED: Prob = Prob::ratio(1, 25);
/// Average line length, used only to spread a file's lines over its hour.
const AVG_LINE_BYTES: u64 = 520;
/// Distinct viewers and models: ranks drawn with Zipf, so some recur a lot.
const CLIENTS: usize = 50_000;
const MODELS: usize = 20_000;
const HOST: &str = "d111111abcdef8.cloudfront.net";

/// Everything shared by all files of one data set.
struct Data {
    client_seed: u64,
    model_seed: u64,
    /// Content hashes of the two deployed asset builds.
    builds: [u64; 2],
    clients: Zipf,
    models: Zipf,
    networks: Vec<(IpAddr, u8)>,
    network: Zipf,
    agent: Zipf,
    /// `AGENTS` with every `%` logged as `%25`, as CloudFront did before 2020.
    agents_old: Vec<String>,
    kinds: (Vec<Kind>, Zipf),
    asset_status: (Vec<u16>, Zipf),
    page_status: (Vec<u16>, Zipf),
    download_status: (Vec<u16>, Zipf),
    api_status: (Vec<u16>, Zipf),
    edges: Vec<Zipf>,
    thumbs: Zipf,
    scripts: Zipf,
    search: Zipf,
    font: Zipf,
    host_header: Zipf,
    referer: Zipf,
    page_query: Zipf,
    http_version: Zipf,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    pub seed: u64,
    /// Fraction of malformed lines.
    pub bad_rate: f64,
    /// Distribution id, the first part of file names.
    pub distribution: String,
    /// The UTC day covered, in days since 1970-01-01.
    pub day: i64,
    pub layout: Layout,
    /// Number of files, spread over the day's hours.
    pub files: usize,
}

/// The CloudFront data set for one set of options.
pub struct CloudFront {
    seed: u64,
    bad_rate: Prob,
    distribution: String,
    day: i64,
    layout: Layout,
    files: usize,
    data: Arc<Data>,
}

impl CloudFront {
    pub fn new(o: &Options) -> Self {
        let seed = o.seed;
        let mut sm = seed ^ 0xC10D_F207_0000_0000;
        let data = Data {
            client_seed: splitmix64(&mut sm),
            model_seed: splitmix64(&mut sm),
            builds: [splitmix64(&mut sm), splitmix64(&mut sm)],
            clients: Zipf::new(CLIENTS, 1.0),
            models: Zipf::new(MODELS, 1.0),
            networks: NETWORKS.iter().map(Network::parse).collect(),
            network: Zipf::new(NETWORKS.len(), 0.75),
            agent: Zipf::new(AGENTS.len(), 1.25),
            agents_old: AGENTS.iter().map(|a| a.text.replace('%', "%25")).collect(),
            kinds: weighted(KINDS),
            asset_status: weighted(ASSET_STATUS),
            page_status: weighted(PAGE_STATUS),
            download_status: weighted(DOWNLOAD_STATUS),
            api_status: weighted(API_STATUS),
            edges: EDGES.iter().map(|e| Zipf::new(e.len(), 1.0)).collect(),
            thumbs: Zipf::new(5_000, 1.0),
            scripts: Zipf::new(12, 1.0),
            search: Zipf::new(SEARCH_TERMS.len(), 1.0),
            font: Zipf::new(FONTS.len(), 1.5),
            host_header: Zipf::new(HOST_HEADERS.len(), 1.5),
            referer: Zipf::new(EXTERNAL_REFERERS.len(), 1.0),
            page_query: Zipf::new(PAGE_QUERIES.len(), 1.0),
            http_version: Zipf::from_weights(&[60.0, 33.0, 6.0, 1.0]),
        };
        CloudFront {
            seed,
            bad_rate: Prob::new(o.bad_rate),
            distribution: o.distribution.clone(),
            day: o.day,
            layout: o.layout,
            files: o.files,
            data: Arc::new(data),
        }
    }
}

/// A bijection on u32, so different file indexes always get different name suffixes.
fn mix32(mut x: u32) -> u32 {
    x = x.wrapping_mul(0x9E37_79B1);
    x ^= x >> 16;
    x = x.wrapping_mul(0x85EB_CA6B);
    x ^= x >> 13;
    x
}

impl Generator for CloudFront {
    type File = CloudFrontFile;

    fn file_name(&self, index: usize) -> String {
        let hour = self.hour_of(index);
        let mut stamp = Stamp::default();
        let mut date = Vec::new();
        stamp.push_date(self.day * 86_400, &mut date);
        let mut seed = self.seed;
        let suffix = mix32((index as u32).wrapping_add(splitmix64(&mut seed) as u32));
        format!(
            "{}.{}-{hour:02}.{suffix:08x}",
            self.distribution,
            String::from_utf8(date).expect("ascii date")
        )
    }

    fn file(&self, index: usize, target_bytes: u64) -> CloudFrontFile {
        let lines = (target_bytes / AVG_LINE_BYTES).max(1);
        let start_ms = (self.day * 86_400 + self.hour_of(index) as i64 * 3600) as u64 * 1000;
        CloudFrontFile {
            rng: Rng::derive(self.seed, index as u64 | 1 << 40),
            d: self.data.clone(),
            bad_rate: self.bad_rate,
            fields: self.layout.fields(),
            now_ms: start_ms,
            end_ms: start_ms + 3_599_999,
            max_step_ms: (2 * 3_600_000 / lines).max(1),
            stamp: Stamp::default(),
        }
    }
}

impl CloudFront {
    /// Files are spread evenly over the 24 hours of the day.
    fn hour_of(&self, index: usize) -> usize {
        index * 24 / self.files.max(1) % 24
    }
}

fn push_u64(v: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
fn push(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// A stable 64-bit hash of (a, b): gives each resource a fixed size, name hash, etc.
fn hash2(a: u64, b: u64) -> u64 {
    let mut s = a ^ b.rotate_left(32) ^ 0x5851_F42D_4C95_7F2D;
    splitmix64(&mut s)
}

/// One file being written.
pub struct CloudFrontFile {
    rng: Rng,
    d: Arc<Data>,
    bad_rate: Prob,
    fields: usize,
    now_ms: u64,
    end_ms: u64,
    max_step_ms: u64,
    stamp: Stamp,
}

impl FileGen for CloudFrontFile {
    fn header(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"#Version: 1.0\n#Fields:");
        for name in &FIELDS[..self.fields] {
            out.push(b' ');
            push(out, name);
        }
        out.push(b'\n');
    }

    fn line(&mut self, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        self.record(out);
        if !self.rng.chance(self.bad_rate) {
            return false;
        }
        self.corrupt(out, start);
        true
    }
}

impl CloudFrontFile {
    /// Append one well-formed line with all 33 fields, then cut it to the layout.
    fn record(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        let d = &*self.d;
        let rng = &mut self.rng;
        self.now_ms = (self.now_ms + rng.below(self.max_step_ms + 1)).min(self.end_ms);
        let secs = (self.now_ms / 1000) as i64;
        let client = d.viewer(rng);
        let agent = &AGENTS[client.agent];
        let req = request(d, rng, agent.fetches_assets);
        let (ctype, lo, hi) = req.kind.content();
        let size = lo + hash2(req.kind as u64, req.id) % (hi - lo + 1);

        // What goes over the wire, and how long it takes.
        let ok = matches!(req.status, 200 | 206);
        let (range, body_len): (Option<(u64, u64)>, Option<u64>) = match req.status {
            206 => {
                let first = rng.below(size) & !0xF_FFFF;
                let last = (first + (1 << 20) - 1).min(size - 1);
                (Some((first, last)), Some(last - first + 1))
            }
            200 if req.method == "OPTIONS" => (None, None),
            200 => (None, Some(size)),
            304 => (None, None),
            301 => (None, Some(183)),
            404 => (None, Some(1_245)),
            403 => (None, Some(919)),
            _ => (None, Some(507)),
        };
        let sent_body = if req.method == "HEAD" {
            0
        } else {
            body_len.unwrap_or(0)
        };
        let sc_bytes = 240 + rng.below(420) + sent_body;
        let latency_ms = match req.result {
            "Hit" => rng.below(6),
            "RefreshHit" => 15 + rng.below(200),
            "Miss" => 25 + rng.below(600),
            _ if req.status >= 500 => 50 + rng.below(5_000),
            _ => 1 + rng.below(150),
        };
        let transfer_ms = if ok {
            sent_body / (1_000 + rng.below(30_000))
        } else {
            0
        };

        // 1-4: date time x-edge-location sc-bytes
        self.stamp.push_date(secs, out);
        out.push(b'\t');
        self.stamp.push_time(secs, out);
        out.push(b'\t');
        push(
            out,
            d.edges[client.continent].pick(rng, EDGES[client.continent]),
        );
        out.push(b'\t');
        push_u64(sc_bytes, out);
        out.push(b'\t');
        // 5-8: c-ip cs-method cs(Host) cs-uri-stem
        push_ip(client.ip, out);
        out.push(b'\t');
        push(out, req.method);
        out.push(b'\t');
        push(out, HOST);
        out.push(b'\t');
        push_stem(d, &req, out);
        out.push(b'\t');
        // 9-13: sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie)
        push_u64(u64::from(req.status), out);
        out.push(b'\t');
        let host_header = d.host_header.pick(rng, HOST_HEADERS);
        push_referer(d, rng, &req, agent.bot, host_header, out);
        out.push(b'\t');
        if client.old_encoding {
            push(out, &d.agents_old[client.agent]);
        } else {
            push(out, agent.text);
        }
        out.push(b'\t');
        push_query(d, rng, &req, out);
        out.extend_from_slice(b"\t-\t");
        // 14-18: x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes
        push(out, req.result);
        out.push(b'\t');
        push_request_id(rng, out);
        out.push(b'\t');
        push(out, host_header);
        out.push(b'\t');
        push(out, if client.https { "https" } else { "http" });
        out.push(b'\t');
        let upload = if req.method == "POST" {
            200 + rng.below(4_000)
        } else {
            0
        };
        push_u64(180 + rng.below(700) + upload, out);
        out.push(b'\t');
        // 19-24: time-taken x-forwarded-for ssl-protocol ssl-cipher
        //        x-edge-response-result-type cs-protocol-version
        push_millis(latency_ms + transfer_ms, out);
        out.push(b'\t');
        if rng.chance(FORWARDED) {
            push_ip(outside_address(rng), out);
            if rng.below(2) == 0 {
                out.push(b',');
                let (base, len) = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8);
                push_ip(address_in(rng, base, len), out);
            }
        } else {
            out.push(b'-');
        }
        out.push(b'\t');
        if !client.https {
            out.extend_from_slice(b"-\t-");
        } else if client.tls13 {
            out.extend_from_slice(b"TLSv1.3\t");
            push(out, TLS13_CIPHERS[(client.cipher % 10).min(2) as usize]);
        } else {
            out.extend_from_slice(b"TLSv1.2\t");
            push(out, TLS12_CIPHERS[(client.cipher % 13).min(3) as usize]);
        }
        out.push(b'\t');
        push(out, req.result);
        out.push(b'\t');
        push(out, client.http_version);
        // 25-28: fle-status fle-encrypted-fields c-port time-to-first-byte
        out.extend_from_slice(b"\t-\t-\t");
        push_u64(rng.range(1024, 65_535), out);
        out.push(b'\t');
        push_millis(latency_ms, out);
        out.push(b'\t');
        // 29-33: x-edge-detailed-result-type sc-content-type sc-content-len
        //        sc-range-start sc-range-end
        push(out, req.detailed);
        out.push(b'\t');
        match (req.status, body_len) {
            (200 | 206, Some(_)) => push(out, ctype),
            (_, Some(_)) => push(out, "text/html"),
            _ => out.push(b'-'),
        }
        out.push(b'\t');
        match body_len {
            Some(n) => push_u64(n, out),
            None => out.push(b'-'),
        }
        out.push(b'\t');
        match range {
            Some((first, last)) => {
                push_u64(first, out);
                out.push(b'\t');
                push_u64(last, out);
            }
            None => out.extend_from_slice(b"-\t-"),
        }
        out.push(b'\n');

        // Older layouts are prefixes: cut before the first field they lack. Generating
        // all fields anyway keeps the values the same across layouts for one seed.
        if self.fields < FIELDS.len() {
            let tab = memchr::memchr_iter(b'\t', &out[start..])
                .nth(self.fields - 1)
                .expect("33 fields");
            out.truncate(start + tab);
            out.push(b'\n');
        }
    }

    /// Turn the line at `start..` into a malformed one.
    fn corrupt(&mut self, out: &mut Vec<u8>, start: usize) {
        let rng = &mut self.rng;
        let span = |out: &Vec<u8>, field: usize| field_span(&out[start..], field);
        match rng.below(20) {
            // A field count that is wrong: a lost TAB (two fields run together, as in
            // real logs), two extra fields, or a line cut short.
            0..=2 => {
                let tab = start + span(out, 1 + rng.index(self.fields - 2)).0 - 1;
                out.remove(tab);
            }
            3..=4 => {
                out.pop();
                out.extend_from_slice(b"\textra\tfields\n");
            }
            5..=7 => {
                let keep = span(out, 3 + rng.index(self.fields - 4)).0 - 1;
                out.truncate(start + keep);
                out.push(b'\n');
            }
            // Right field count, bytes that are not UTF-8 in the stem or user agent.
            8..=10 => {
                let field = if rng.below(2) == 0 { 7 } else { 10 };
                let (lo, hi) = span(out, field);
                bad::invalid_utf8(rng, out, start, lo, hi);
            }
            // Right field count, percent escapes that do not decode.
            11..=13 => {
                let field = if rng.below(2) == 0 { 7 } else { 10 };
                let (_, hi) = span(out, field);
                let junk: &[u8] = match rng.below(3) {
                    0 => b"%zz",
                    1 => b"%4",
                    _ => b"%",
                };
                out.splice(start + hi..start + hi, junk.iter().copied());
            }
            14..=16 => {
                out.truncate(start);
                bad::garbage(rng, out);
            }
            _ => {
                out.truncate(start);
                out.push(b'\n');
            }
        }
    }
}

/// Byte range (start, end) of 0-based `field` within `line`.
fn field_span(line: &[u8], field: usize) -> (usize, usize) {
    let mut lo = 0;
    for (i, tab) in memchr::memchr_iter(b'\t', line).enumerate() {
        if i == field {
            return (lo, tab);
        }
        lo = tab + 1;
    }
    (lo, line.len() - 1)
}

/// 54 random characters of the URL-safe base64 alphabet and `==`, like CloudFront's ids.
fn push_request_id(rng: &mut Rng, out: &mut Vec<u8>) {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut left = 54;
    while left > 0 {
        let mut v = rng.next_u64();
        for _ in 0..left.min(10) {
            out.push(B64[(v & 63) as usize]);
            v >>= 6;
        }
        left -= left.min(10);
    }
    out.extend_from_slice(b"==");
}

#[cfg(test)]
mod tests;
