//! Telemetry NDJSON: queue-export files with a `#` header block and one nested JSON
//! event per line (see the seed record in the tests).

mod vocab;

use std::sync::Arc;

use crate::bad;
use crate::clock::Stamp;
use crate::output::{FileGen, Generator};
use crate::rng::{push_hex, Prob, Rng};
use crate::zipf::Zipf;
use vocab::*;

/// Start of file 0's time window: the seed record's hour.
const START_SECS: i64 = 16_629 * 86_400 + 18 * 3600; // 2015-07-13 18:00:00 UTC
/// Each file holds one hour of events, like an hourly queue export.
const FILE_WINDOW_MS: u64 = 3_600_000;
/// Average line length, used only to pace the clock so a file spans about its hour.
const AVG_LINE_BYTES: u64 = 460;

/// Share of profiles whose client language is their country's main language.
const NATIVE_LANGUAGE: Prob = Prob::ratio(17, 20);
/// Distinct client profiles (combinations of the per-installation fields).
const PROFILES: usize = 2_000;
/// Marks a profile that speaks its country's language.
const NATIVE: u8 = u8::MAX;

/// The per-installation fields of an event, as indexes into the vocabularies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Profile {
    program: u8,
    build: u8,
    license: u8,
    version: u8,
    connection: u8,
    continent: u8,
    country: u8,
    os: u8,
    /// Index into OTHER_LANGUAGES, or NATIVE.
    language: u8,
    arch: u8,
}

/// The distributions, built once per seed and shared by all files.
///
/// Real telemetry is dominated by a few common setups, so the 12 grouped fields are
/// not drawn independently per line (that makes most lines a unique combination). A
/// pool of profiles is drawn from the per-field Zipf tables and sorted so that the most
/// typical setup comes first; each event picks a profile by Zipf rank plus a (Sender,
/// Trigger) pair. Measured: ~1M lines hold ~3.6% distinct 12-field combinations, and
/// the count levels off towards PROFILES x EVENTS on bigger data sets.
struct Tables {
    events: Zipf,
    profiles: Vec<Profile>,
    profile: Zipf,
    /// Delay between event and processing, in seconds.
    delay: Zipf,
}

impl Tables {
    fn new(seed: u64) -> Self {
        let fields = [
            Zipf::new(PROGRAMS.len(), 2.0),
            Zipf::new(BUILDS.len(), 2.0),
            Zipf::new(LICENSES.len(), 2.0),
            Zipf::new(VERSIONS.len(), 1.5),
            Zipf::new(CONNECTION_TYPES.len(), 2.0),
            Zipf::new(CONTINENTS.len(), 1.25),
            Zipf::new(OS_VERSIONS.len(), 1.5),
            Zipf::new(OTHER_LANGUAGES.len(), 1.0),
            Zipf::new(ARCHITECTURES.len(), 2.5),
        ];
        let [program, build, license, version, connection, continent, os, other_language, arch] =
            &fields;
        let countries: Vec<Zipf> = CONTINENTS
            .iter()
            .map(|c| Zipf::new(c.countries.len(), 1.0))
            .collect();
        let mut rng = Rng::derive(seed, u64::MAX);
        let mut pool: Vec<(f64, Profile)> = (0..PROFILES)
            .map(|_| {
                let r = &mut rng;
                let continent_ix = continent.sample(r);
                let native = r.chance(NATIVE_LANGUAGE);
                let p = Profile {
                    program: program.sample(r) as u8,
                    build: build.sample(r) as u8,
                    license: license.sample(r) as u8,
                    version: version.sample(r) as u8,
                    connection: connection.sample(r) as u8,
                    continent: continent_ix as u8,
                    country: countries[continent_ix].sample(r) as u8,
                    os: os.sample(r) as u8,
                    language: if native {
                        NATIVE
                    } else {
                        other_language.sample(r) as u8
                    },
                    arch: arch.sample(r) as u8,
                };
                // Product of the field probabilities: exact IEEE multiplications, so
                // the sort below is the same everywhere.
                let mut likelihood = program.weight(p.program as usize)
                    * build.weight(p.build as usize)
                    * license.weight(p.license as usize)
                    * version.weight(p.version as usize)
                    * connection.weight(p.connection as usize)
                    * continent.weight(continent_ix)
                    * countries[continent_ix].weight(p.country as usize)
                    * os.weight(p.os as usize)
                    * arch.weight(p.arch as usize);
                likelihood *= if native {
                    0.85
                } else {
                    0.15 * other_language.weight(p.language as usize)
                };
                (likelihood, p)
            })
            .collect();
        pool.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        // Equal profiles sort next to each other; keep one of each so that ranks are
        // distinct setups.
        let mut profiles: Vec<Profile> = pool.into_iter().map(|(_, p)| p).collect();
        profiles.dedup();
        Tables {
            events: Zipf::new(EVENTS.len(), 1.25),
            profile: Zipf::new(profiles.len(), 1.0),
            profiles,
            delay: Zipf::new(120, 1.0),
        }
    }
}

/// The telemetry data set for one `--seed` and `--bad-rate`.
pub struct Telemetry {
    seed: u64,
    bad_rate: Prob,
    tables: Arc<Tables>,
}

impl Telemetry {
    pub fn new(seed: u64, bad_rate: f64) -> Self {
        Telemetry {
            seed,
            bad_rate: Prob::new(bad_rate),
            tables: Arc::new(Tables::new(seed)),
        }
    }
}

impl Generator for Telemetry {
    type File = TelemetryFile;

    fn file_name(&self, index: usize) -> String {
        format!("telemetry-{:06}.ndjson", index + 1)
    }

    fn file(&self, index: usize, target_bytes: u64) -> TelemetryFile {
        let lines = (target_bytes / AVG_LINE_BYTES).max(1);
        let start_ms = (START_SECS as u64 + index as u64 * FILE_WINDOW_MS / 1000) * 1000;
        TelemetryFile {
            rng: Rng::derive(self.seed, index as u64),
            t: self.tables.clone(),
            bad_rate: self.bad_rate,
            now_ms: start_ms,
            window_end_ms: start_ms + FILE_WINDOW_MS,
            max_step_ms: (2 * FILE_WINDOW_MS / lines).max(1),
            stamp: Stamp::default(),
        }
    }
}

/// One file being written.
pub struct TelemetryFile {
    rng: Rng,
    t: Arc<Tables>,
    bad_rate: Prob,
    now_ms: u64,
    window_end_ms: u64,
    /// Steps between events are uniform in 0..=max_step_ms: the mean spreads the
    /// expected line count over the file's window.
    max_step_ms: u64,
    stamp: Stamp,
}

impl FileGen for TelemetryFile {
    fn header(&mut self, out: &mut Vec<u8>) {
        // Processed a few minutes after the window closes.
        let processed = (self.window_end_ms / 1000) as i64 + 60 * self.rng.range(2, 9) as i64;
        out.extend_from_slice(b"#Type: telemetry\n#Queue: telemetry-prod\n#Processed At: ");
        self.stamp.push_datetime(processed, b'T', out);
        out.extend_from_slice(
            b"Z\n#Format: ndjson\n#Program Version: 2.1.8\n#EC2 Instance Id: i-0",
        );
        push_hex(&mut self.rng, 16, out);
        out.push(b'\n');
    }

    fn line(&mut self, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        if !self.rng.chance(self.bad_rate) {
            self.record(out);
            return false;
        }
        match self.rng.below(20) {
            0..=7 => {
                self.record(out);
                bad::truncate(&mut self.rng, out, start);
            }
            8..=11 => bad::garbage(&mut self.rng, out),
            12..=16 => {
                // Break UTF-8 inside the ISP string, leaving the JSON syntax intact.
                let (lo, hi) = self.record(out);
                bad::invalid_utf8(&mut self.rng, out, start, lo - start, hi - start);
            }
            _ => out.push(b'\n'),
        }
        true
    }
}

impl TelemetryFile {
    /// Append one well-formed event; returns the byte span of the ISP value (for the
    /// invalid-UTF-8 corruption).
    fn record(&mut self, out: &mut Vec<u8>) -> (usize, usize) {
        let rng = &mut self.rng;
        let t = &*self.t;
        self.now_ms += rng.below(self.max_step_ms + 1);
        let time = (self.now_ms / 1000) as i64;
        let processed = time + 1 + t.delay.sample(rng) as i64;

        out.extend_from_slice(b"{\"Request\":{\"time\":\"");
        self.stamp.push_datetime(time, b' ', out);
        out.extend_from_slice(b"\",\"processedTime\":\"");
        self.stamp.push_datetime(processed, b' ', out);
        out.extend_from_slice(b"\",\"uuid\":\"");
        push_hex(rng, 16, out);
        push_hex(rng, 16, out);
        out.extend_from_slice(b"\",\"jobId\":\"");
        push_hex(rng, 16, out);
        push_hex(rng, 16, out);
        let (sender, trigger) = t.events.pick(rng, EVENTS);
        out.extend_from_slice(b"\",\"Sender\":\"");
        push(out, sender);
        out.extend_from_slice(b"\",\"Trigger\":\"");
        push(out, trigger);

        let p = t.profiles[t.profile.sample(rng)];
        out.extend_from_slice(b"\"},\"App\":{\"Program\":\"");
        push(out, PROGRAMS[p.program as usize]);
        out.extend_from_slice(b"\",\"Build\":\"");
        push(out, BUILDS[p.build as usize]);
        out.extend_from_slice(b"\",\"License\":\"");
        push(out, LICENSES[p.license as usize]);
        out.extend_from_slice(b"\",\"Version\":\"");
        push(out, VERSIONS[p.version as usize]);

        let continent = &CONTINENTS[p.continent as usize];
        let country = &continent.countries[p.country as usize];
        // ISP and city are not among the grouped fields: they vary per event.
        let isp = country.isps[zipf_small(rng, country.isps.len())];
        let (region, city) = country.places[zipf_small(rng, country.places.len())];

        out.extend_from_slice(b"\"},\"Connection\":{\"Type\":\"");
        push(out, CONNECTION_TYPES[p.connection as usize]);
        out.extend_from_slice(b"\",\"ISP\":\"");
        let isp_span = (out.len(), out.len() + isp.len());
        push(out, isp);

        out.extend_from_slice(b"\"},\"Region\":{\"Continent\":\"");
        push(out, continent.code);
        out.extend_from_slice(b"\",\"Country\":\"");
        push(out, country.iso);
        out.extend_from_slice(b"\",\"Region\":\"");
        push(out, region);
        out.extend_from_slice(b"\",\"City\":\"");
        push(out, city);

        out.extend_from_slice(b"\"},\"Client\":{\"OsVersion\":\"");
        push(out, OS_VERSIONS[p.os as usize]);
        out.extend_from_slice(b"\",\"Language\":\"");
        let language = match p.language {
            NATIVE => country.language,
            other => OTHER_LANGUAGES[other as usize],
        };
        push(out, language);
        out.extend_from_slice(b"\",\"Architecture\":\"");
        push(out, ARCHITECTURES[p.arch as usize]);
        out.extend_from_slice(b"\"}}\n");
        isp_span
    }
}

#[inline]
fn push(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Rank in 0..n with weights 1/k for the tiny per-country lists (n <= 5), without a table:
/// one draw against the harmonic-number thresholds, computed in integers.
#[inline]
fn zipf_small(rng: &mut Rng, n: usize) -> usize {
    // 60 = lcm(1..=5): weights 60/k are exact integers.
    const W: [u64; 5] = [60, 30, 20, 15, 12];
    debug_assert!((1..=W.len()).contains(&n));
    let total: u64 = W[..n].iter().sum();
    let mut r = rng.below(total);
    for (i, w) in W[..n].iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    n - 1
}

#[cfg(test)]
mod tests;
