use super::*;
use crate::clock::days_from_civil;
use crate::output::write_file;
use serde_json::Value;

const SEED_RECORD: &str = r#"{"Request":{"time":"2015-07-13 18:37:00","processedTime":"2015-07-13 18:37:14","uuid":"56ca2dbffc5f451285bade8e8ffef12c","jobId":"ffffffc8f9af58389681e4a9749a4e6c","Sender":"scanner","Trigger":"update"},"App":{"Program":"app","Build":"consumer","License":"licensed","Version":"2.1.8"},"Connection":{"Type":"broadband","ISP":"Telecom Italia"},"Region":{"Continent":"EU","Country":"IT","Region":"08","City":"Genoa"},"Client":{"OsVersion":"Windows 7 Service Pack 1","Language":"it","Architecture":"x64"}}"#;

/// The fields a pivot over telemetry groups by.
const TWELVE: [&str; 12] = [
    "/Request/Sender",
    "/Request/Trigger",
    "/App/Program",
    "/App/Build",
    "/App/License",
    "/App/Version",
    "/Connection/Type",
    "/Region/Continent",
    "/Region/Country",
    "/Client/OsVersion",
    "/Client/Language",
    "/Client/Architecture",
];

/// Key paths in document order with the kind of each leaf: the "shape" of a record.
fn shape(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                shape(v, &format!("{prefix}/{k}"), out);
            }
        }
        Value::String(_) => out.push(format!("{prefix}:string")),
        other => out.push(format!("{prefix}:{other:?}")),
    }
}

fn shape_of(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape(v, "", &mut out);
    out
}

fn render(gen: &Telemetry, index: usize, bytes: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_file(gen, index, bytes, &mut out).unwrap();
    out
}

/// (line, is_bad) pairs straight from the file generator.
fn lines(seed: u64, bad_rate: f64, n: usize) -> Vec<(Vec<u8>, bool)> {
    let gen = Telemetry::new(seed, bad_rate);
    let mut f = gen.file(0, 1 << 20);
    (0..n)
        .map(|_| {
            let mut buf = Vec::new();
            let bad = f.line(&mut buf);
            (buf, bad)
        })
        .collect()
}

#[test]
fn start_is_the_seed_records_hour() {
    assert_eq!(
        START_SECS,
        days_from_civil(2015, 7, 13) * 86_400 + 18 * 3600
    );
}

#[test]
fn vocabulary_entries_are_valid_json_strings() {
    let mut all: Vec<&str> = [
        PROGRAMS,
        BUILDS,
        LICENSES,
        VERSIONS,
        CONNECTION_TYPES,
        OS_VERSIONS,
        ARCHITECTURES,
        OTHER_LANGUAGES,
    ]
    .concat();
    all.extend(EVENTS.iter().flat_map(|(a, b)| [*a, *b]));
    for c in CONTINENTS {
        all.push(c.code);
        for k in c.countries {
            all.extend([k.iso, k.language]);
            all.extend(k.isps.iter().copied());
            for (r, city) in k.places {
                all.extend([*r, *city]);
            }
            assert!(
                k.isps.len() <= 5 && k.places.len() <= 5,
                "zipf_small covers 5"
            );
        }
    }
    for s in all {
        let v: Value = serde_json::from_str(&format!("\"{s}\"")).unwrap_or_else(|e| {
            panic!("{s:?}: {e}");
        });
        assert!(v.is_string());
    }
}

#[test]
fn header_block_comes_first() {
    let out = render(&Telemetry::new(1, 0.0), 0, 4096);
    let text = String::from_utf8(out).unwrap();
    let head: Vec<&str> = text.lines().take(7).collect();
    assert_eq!(head[0], "#Type: telemetry");
    assert_eq!(head[1], "#Queue: telemetry-prod");
    assert!(
        head[2].starts_with("#Processed At: 2015-07-13T19:"),
        "{}",
        head[2]
    );
    assert!(head[2].ends_with(":00Z"));
    assert_eq!(head[3], "#Format: ndjson");
    assert_eq!(head[4], "#Program Version: 2.1.8");
    assert!(head[5].starts_with("#EC2 Instance Id: i-0") && head[5].len() == 37);
    assert!(head[6].starts_with("{\"Request\":{\"time\":\"2015-07-13 18:"));
}

#[test]
fn good_lines_match_the_seed_record_shape() {
    let want = shape_of(&serde_json::from_str(SEED_RECORD).unwrap());
    let mut non_ascii = 0;
    let mut escaped = 0;
    for (line, bad) in lines(11, 0.0, 20_000) {
        assert!(!bad);
        assert_eq!(line.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&line).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&line));
        });
        assert_eq!(shape_of(&v), want);
        for p in TWELVE {
            assert!(!v.pointer(p).unwrap().as_str().unwrap().is_empty(), "{p}");
        }
        let uuid = v.pointer("/Request/uuid").unwrap().as_str().unwrap();
        assert!(uuid.len() == 32 && uuid.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(
            v.pointer("/Request/time").unwrap().as_str()
                < v.pointer("/Request/processedTime").unwrap().as_str()
        );
        non_ascii += usize::from(!line.is_ascii());
        escaped += usize::from(line.contains(&b'\\'));
    }
    assert!(non_ascii > 100, "{non_ascii}");
    assert!(escaped > 20, "{escaped}");
}

#[test]
fn continent_and_country_agree() {
    for (line, _) in lines(5, 0.0, 5_000) {
        let v: Value = serde_json::from_slice(&line).unwrap();
        let cont = v.pointer("/Region/Continent").unwrap().as_str().unwrap();
        let country = v.pointer("/Region/Country").unwrap().as_str().unwrap();
        let c = CONTINENTS.iter().find(|c| c.code == cont).unwrap();
        assert!(
            c.countries.iter().any(|k| k.iso == country),
            "{cont} {country}"
        );
    }
}

#[test]
fn times_increase() {
    let mut last = String::new();
    for (line, _) in lines(3, 0.0, 5_000) {
        let v: Value = serde_json::from_slice(&line).unwrap();
        let t = v
            .pointer("/Request/time")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        assert!(t >= last);
        last = t;
    }
}

#[test]
fn bad_lines_are_bad_and_good_lines_good() {
    let mut kinds = [0usize; 4]; // truncated/garbage json error, invalid utf8, empty
    let mut bad_count = 0;
    for (line, bad) in lines(21, 0.2, 10_000) {
        let parsed = serde_json::from_slice::<Value>(&line);
        if !bad {
            assert!(parsed.is_ok());
            continue;
        }
        bad_count += 1;
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(
            !matches!(parsed, Ok(Value::Object(_))),
            "{}",
            String::from_utf8_lossy(&line)
        );
        if line == b"\n" {
            kinds[3] += 1;
        } else if std::str::from_utf8(&line).is_err() {
            kinds[2] += 1;
        } else if line.starts_with(b"{") {
            kinds[0] += 1;
        } else {
            kinds[1] += 1;
        }
    }
    assert!((1_700..2_300).contains(&bad_count), "{bad_count}");
    assert!(kinds.iter().all(|&k| k > 50), "{kinds:?}");
}

#[test]
fn deterministic_per_seed() {
    let a = render(&Telemetry::new(7, 0.01), 2, 200_000);
    let b = render(&Telemetry::new(7, 0.01), 2, 200_000);
    let c = render(&Telemetry::new(8, 0.01), 2, 200_000);
    let d = render(&Telemetry::new(7, 0.01), 3, 200_000);
    assert!(a.len() >= 200_000 && a.len() < 201_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d);
}
