//! geoip-enrich end to end: fixture databases written by `onebox_tests::mmdb`, records in
//! NDJSON and TSV, every address family, broken databases, ordering and counters; an
//! independent reader (Python's maxminddb or libmaxminddb's mmdblookup) reads the fixtures the
//! same way; with ONEBOX_CONFORMANCE_DIR set, MaxMind's own test databases match their JSON.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use onebox_tests::mmdb::{self, Net};
use onebox_tests::{assert_lines_accounted, ok_stdout, run_with_input, sh, stats, tool};
use serde_json::{json, Value};

struct Fixture {
    dir: tempfile::TempDir,
    city: PathBuf,
    asn: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (city, asn) = mmdb::write_all(dir.path()).unwrap();
    Fixture { dir, city, asn }
}

const ALL: &str = "country_iso,country,continent,continent_code,subdivision_iso,city,postal,lat,lon,accuracy_radius,timezone,asn,as_org";

fn enrich(f: &Fixture, extra: &[&str], input: &str) -> (String, Value) {
    let stats_path = f.dir.path().join("stats.json");
    let mut cmd = tool("geoip-enrich");
    cmd.arg("--db").arg(&f.city).arg("--db").arg(&f.asn);
    cmd.args(extra).arg("--stats").arg(&stats_path);
    let out = run_with_input(&mut cmd, input.as_bytes());
    let text = ok_stdout(&out);
    let st = stats(&stats_path);
    assert_lines_accounted(&st, "records_out");
    (text, st)
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// What the fixture says the fields of `ALL` are for `n`.
fn expected_fields(n: &Net) -> Value {
    json!({
        "geo_country_iso": n.country,
        "geo_country": mmdb::country_name(n.country),
        "geo_continent": mmdb::continent_name(n.continent),
        "geo_continent_code": n.continent,
        "geo_subdivision_iso": n.subdivision,
        "geo_city": if n.city.is_empty() { Value::Null } else { json!(n.city) },
        "geo_postal": n.postal,
        "geo_lat": n.lat,
        "geo_lon": n.lon,
        "geo_accuracy_radius": if n.cidr.contains(':') { 100 } else { 20 },
        "geo_timezone": n.time_zone,
        "geo_asn": n.asn,
        "geo_as_org": n.org,
    })
}

fn null_fields() -> Value {
    let mut m = serde_json::Map::new();
    for f in ALL.split(',') {
        m.insert(format!("geo_{f}"), Value::Null);
    }
    Value::Object(m)
}

fn geo_part(rec: &Value) -> Value {
    Value::Object(
        rec.as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("geo_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[test]
fn every_fixture_network_resolves_to_its_values() {
    let f = fixture();
    let mut input = String::new();
    let mut want = Vec::new();
    for n in mmdb::NETWORKS.iter().chain(mmdb::EXTRA) {
        for ip in mmdb::sample_ips(n) {
            input.push_str(&format!("{{\"c_ip\":\"{ip}\"}}\n"));
            want.push(expected_fields(mmdb::expected(ip).unwrap()));
        }
    }
    let (text, st) = enrich(&f, &["--fields", ALL], &input);
    let got = lines(&text);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(&geo_part(g), w, "record {g}");
    }
    assert_eq!(st["ip_found"], want.len());
    assert_eq!(st.get("not_found").and_then(Value::as_u64).unwrap_or(0), 0);
}

#[test]
fn v4_v6_mapped_private_invalid_and_empty_addresses() {
    let f = fixture();
    let input = concat!(
        "{\"c_ip\":\"89.160.20.112\",\"n\":1}\n",
        "{\"c_ip\":\"2001:218::1\",\"n\":2}\n",
        "{\"c_ip\":\"::ffff:81.2.69.142\",\"n\":3}\n",
        "{\"c_ip\":\"10.1.2.3\",\"n\":4}\n",
        "{\"c_ip\":\"192.0.2.7\",\"n\":5}\n",
        "{\"c_ip\":\"not-an-ip\",\"n\":6}\n",
        "{\"c_ip\":\"\",\"n\":7}\n",
        "{\"c_ip\":null,\"n\":8}\n",
        "{\"n\":9}\n",
        "{}\n",
        "{\"c_ip\":\"2001:db8::1\",\"n\":11}\n",
    );
    let (text, st) = enrich(&f, &["--fields", ALL], input);
    let got = lines(&text);
    assert_eq!(got.len(), 11);
    let by_ip = |ip: &str| expected_fields(mmdb::expected(ip.parse::<IpAddr>().unwrap()).unwrap());
    assert_eq!(geo_part(&got[0]), by_ip("89.160.20.112"));
    assert_eq!(got[0]["geo_city"], "Linköping");
    assert_eq!(geo_part(&got[1]), by_ip("2001:218::1"));
    assert_eq!(got[1]["geo_city"], "Tokyo");
    assert_eq!(geo_part(&got[2]), by_ip("81.2.69.142"));
    assert_eq!(got[2]["geo_city"], "Camden");
    for rec in &got[3..] {
        assert_eq!(geo_part(rec), null_fields(), "{rec}");
    }
    // The record itself is untouched and keeps its order.
    for (i, rec) in got.iter().enumerate() {
        if i != 9 {
            assert_eq!(rec["n"], i + 1);
        }
    }
    assert_eq!(got[9].as_object().unwrap().len(), ALL.split(',').count());
    assert_eq!(st["ip_found"], 3);
    assert_eq!(st["not_found"], 3);
    assert_eq!(st["invalid_ip"], 5);
    assert_eq!(st["records_out"], 11);
}

#[test]
fn repeated_addresses_give_the_same_fields_and_counts_memo_or_not() {
    let f = fixture();
    let once = concat!(
        "{\"c_ip\":\"89.160.20.112\"}\n",
        "{\"c_ip\":\"::ffff:81.2.69.142\"}\n",
        "{\"c_ip\":\"10.1.2.3\"}\n",
        "{\"c_ip\":\"not-an-ip\"}\n",
        "{\"c_ip\":\"\"}\n",
        "{\"c_ip\":null}\n",
        "{\"c_ip\":\"2001:218::1\"}\n",
    );
    // Later rounds find every address in the memos (recent addresses, rendered results).
    let input = once.repeat(3);
    let (text, st) = enrich(&f, &["--fields", ALL], &input);
    let got = lines(&text);
    assert_eq!(got.len(), 21);
    for (i, rec) in got.iter().enumerate().skip(7) {
        assert_eq!(rec, &got[i % 7], "record {i}");
    }
    assert_eq!(got[0]["geo_city"], "Linköping");
    assert_eq!(got[6]["geo_city"], "Tokyo");
    assert_eq!(st["ip_found"], 9);
    assert_eq!(st["not_found"], 3);
    assert_eq!(st["invalid_ip"], 9);
    let (uncached, _) = enrich(&f, &["--fields", ALL, "--cache", "0"], &input);
    assert_eq!(uncached, text);
    let (text, st) = enrich(&f, &["--reject-invalid"], &input);
    assert_eq!(text.lines().count(), 12);
    assert_eq!(st["rejected_invalid_ip"], 9);
}

#[test]
fn reject_invalid_rejects_and_counts() {
    let f = fixture();
    let input = "{\"c_ip\":\"1.128.0.1\"}\n{\"c_ip\":\"x\"}\nnot json\n{\"c_ip\":\"\"}\n";
    let (text, st) = enrich(&f, &["--reject-invalid"], input);
    assert_eq!(text.lines().count(), 1);
    assert_eq!(st["rejected_invalid_ip"], 2);
    assert_eq!(st["rejected_invalid_json"], 1);
}

#[test]
fn enriching_twice_rejects_rather_than_naming_a_field_twice() {
    let f = fixture();
    let once = enrich(
        &f,
        &["--fields", "country_iso"],
        "{\"c_ip\":\"1.128.0.1\"}\n",
    )
    .0;
    assert_eq!(
        once,
        "{\"c_ip\":\"1.128.0.1\",\"geo_country_iso\":\"AU\"}\n"
    );
    let (twice, st) = enrich(&f, &["--fields", "country_iso"], &once);
    assert_eq!(twice, "");
    assert_eq!(st["rejected_field_exists"], 1);
    let (other, _) = enrich(&f, &["--fields", "country_iso", "--prefix", "g2_"], &once);
    assert_eq!(
        other,
        "{\"c_ip\":\"1.128.0.1\",\"geo_country_iso\":\"AU\",\"g2_country_iso\":\"AU\"}\n"
    );
    let tsv = run_with_input(
        tool("geoip-enrich")
            .arg("--db")
            .arg(&f.city)
            .args(["--fields", "city"]),
        b"c_ip\tgeo_city\n1.128.0.1\tx\n",
    );
    assert_eq!(tsv.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&tsv.stderr).contains("already has a column 'geo_city'"));
}

#[test]
fn default_fields_follow_the_database_types() {
    let f = fixture();
    let (text, _) = enrich(&f, &[], "{\"c_ip\":\"1.128.0.1\"}\n");
    assert_eq!(
        text,
        "{\"c_ip\":\"1.128.0.1\",\"geo_country_iso\":\"AU\",\"geo_subdivision_iso\":\"NSW\",\
\"geo_city\":\"Sydney\",\"geo_lat\":-33.8688,\"geo_lon\":151.2093,\"geo_asn\":64611,\
\"geo_as_org\":\"Example Mobile AU\"}\n"
    );
}

#[test]
fn languages_add_paths_and_prefix() {
    let f = fixture();
    let args = [
        "--fields",
        "city",
        "--prefix",
        "",
        "--lang",
        "en,de",
        "--add",
        "region=subdivisions.0.iso_code",
        "--add",
        "last_region=subdivisions.-1.iso_code",
        "--add",
        "names=country.names",
        "--add",
        "nothing=no.such.path",
    ];
    let (text, _) = enrich(
        &f,
        &args,
        "{\"c_ip\":\"5.146.7.7\"}\n{\"c_ip\":\"5.146.0.1\"}\n",
    );
    let got = lines(&text);
    assert_eq!(got[0]["city"], mmdb::GERMAN_ONLY_CITY);
    assert_eq!(got[0]["region"], "HE");
    assert_eq!(got[0]["last_region"], "HE");
    assert_eq!(got[0]["names"], json!({"en": "Germany"}));
    assert_eq!(got[0]["nothing"], Value::Null);
    assert_eq!(got[1]["city"], "Frankfurt am Main");
    // English only: the German-only city has no name.
    let (text, _) = enrich(&f, &["--fields", "city"], "{\"c_ip\":\"5.146.7.7\"}\n");
    assert_eq!(lines(&text)[0]["geo_city"], Value::Null);
    // Languages are matched as the databases spell them; one none has is noted.
    let (text, _) = enrich(
        &f,
        &["--fields", "city", "--lang", "EN,De"],
        "{\"c_ip\":\"5.146.7.7\"}\n",
    );
    assert_eq!(lines(&text)[0]["geo_city"], mmdb::GERMAN_ONLY_CITY);
    let out = tool("geoip-enrich")
        .args(["--fields", "city", "--lang", "xx,en", "--db"])
        .arg(&f.city)
        .arg(f.dir.path().join("in.missing"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--lang xx: no database has names in it (they have de, en)"),
        "{err}"
    );
}

#[test]
fn add_paths_of_another_shape_give_null_and_the_run_goes_on() {
    let f = fixture();
    // An index into a map, a key into an array, a key and an index into a number: null like
    // a missing key, for every record (the run stopped at the first found address before).
    let args = [
        "--fields",
        "country_iso",
        "--add",
        "v=city.names.0",
        "--add",
        "w=subdivisions.x",
        "--add",
        "x=location.latitude.a",
        "--add",
        "y=location.latitude.0",
        "--add",
        "region=subdivisions.0.iso_code",
    ];
    let input = "{\"c_ip\":\"10.0.0.1\"}\n{\"c_ip\":\"5.146.7.7\"}\n{\"c_ip\":\"1.128.0.1\"}\n";
    let (text, st) = enrich(&f, &args, input);
    let nulls = "\"v\":null,\"w\":null,\"x\":null,\"y\":null";
    assert_eq!(
        text,
        format!(
            "{{\"c_ip\":\"10.0.0.1\",\"geo_country_iso\":null,{nulls},\"region\":null}}\n\
             {{\"c_ip\":\"5.146.7.7\",\"geo_country_iso\":\"DE\",{nulls},\"region\":\"HE\"}}\n\
             {{\"c_ip\":\"1.128.0.1\",\"geo_country_iso\":\"AU\",{nulls},\"region\":\"NSW\"}}\n"
        )
    );
    assert_eq!(st["ip_found"], 2);
    assert_eq!(st["not_found"], 1);
}

#[test]
fn add_adds_to_the_default_fields_and_fields_picks_the_named_ones() {
    let f = fixture();
    let input = "{\"c_ip\":\"1.128.0.1\"}\n";
    let region = ["--add", "region=subdivisions.0.iso_code"];
    let cases: [(&[&str], &str); 3] = [
        (
            &[],
            "\"geo_country_iso\":\"AU\",\"geo_subdivision_iso\":\"NSW\",\"geo_city\":\"Sydney\",\
             \"geo_lat\":-33.8688,\"geo_lon\":151.2093,\"geo_asn\":64611,\
             \"geo_as_org\":\"Example Mobile AU\",",
        ),
        (&["--fields", ""], ""),
        (&["--fields", "city"], "\"geo_city\":\"Sydney\","),
    ];
    for (fields, named) in cases {
        let args = [fields, &region[..]].concat();
        let (text, _) = enrich(&f, &args, input);
        assert_eq!(
            text,
            format!("{{\"c_ip\":\"1.128.0.1\",{named}\"region\":\"NSW\"}}\n"),
            "{fields:?}"
        );
    }
}

#[test]
fn forwarded_for_lists_pick_first_or_last() {
    let f = fixture();
    let input = "{\"xff\":\"1.128.0.9, 10.0.0.1, 89.160.0.1\"}\n";
    for (pick, country) in [("first", "AU"), ("last", "SE")] {
        let args = [
            "--ip-field",
            "xff",
            "--ip-pick",
            pick,
            "--fields",
            "country_iso",
        ];
        let (text, _) = enrich(&f, &args, input);
        assert_eq!(lines(&text)[0]["geo_country_iso"], country);
    }
}

#[test]
fn tsv_gets_columns_and_one_header_for_many_files() {
    let f = fixture();
    let d = f.dir.path();
    std::fs::write(d.join("a.tsv"), "id\tc_ip\n1\t81.2.0.1\n2\t\n").unwrap();
    std::fs::write(d.join("b.tsv"), "# comment\nid\tc_ip\n3\t2a01:e0a::5\n").unwrap();
    for j in ["1", "2"] {
        let out = tool("geoip-enrich")
            .args(["--fields", "country_iso,city", "-j", j, "--db"])
            .arg(&f.city)
            .arg(d.join("a.tsv"))
            .arg(d.join("b.tsv"))
            .output()
            .unwrap();
        assert_eq!(
            ok_stdout(&out),
            "id\tc_ip\tgeo_country_iso\tgeo_city\n1\t81.2.0.1\tGB\tLondon\n2\t\t\t\n3\t2a01:e0a::5\tFR\tParis\n"
        );
    }
    // TSV in, NDJSON out.
    let out = tool("geoip-enrich")
        .args(["--fields", "country_iso", "-o", "ndjson", "--db"])
        .arg(&f.city)
        .arg(d.join("a.tsv"))
        .output()
        .unwrap();
    assert_eq!(
        ok_stdout(&out),
        "{\"id\":\"1\",\"c_ip\":\"81.2.0.1\",\"geo_country_iso\":\"GB\"}\n{\"id\":\"2\",\"c_ip\":null,\"geo_country_iso\":null}\n"
    );
    // A short TSV row is rejected, not passed on half-enriched.
    let (text, st) = enrich(
        &f,
        &["--fields", "country_iso"],
        "a\tc_ip\n1\n2\t1.128.0.1\n",
    );
    assert_eq!(text, "a\tc_ip\tgeo_country_iso\n2\t1.128.0.1\tAU\n");
    assert_eq!(st["rejected_field_count"], 1);
}

fn big_input(n: usize) -> String {
    let nets: Vec<&Net> = mmdb::NETWORKS.iter().chain(mmdb::EXTRA).collect();
    let mut s = String::new();
    for i in 0..n {
        let ip = match i % 7 {
            0 => "192.0.2.1".to_string(),
            1 => "bad".to_string(),
            _ => mmdb::sample_ips(nets[i % nets.len()])[i % 3].to_string(),
        };
        s.push_str(&format!(
            "{{\"i\":{i},\"c_ip\":\"{ip}\",\"pad\":\"{}\"}}\n",
            "x".repeat(i % 50)
        ));
    }
    s
}

#[test]
fn one_and_two_threads_write_the_same_bytes() {
    let f = fixture();
    let input = big_input(30_000);
    let path = f.dir.path().join("in.ndjson");
    std::fs::write(&path, &input).unwrap();
    let run = |j: &str, cache: &str| {
        let out = tool("geoip-enrich")
            .args([
                "--fields",
                ALL,
                "--block-size",
                "16K",
                "-j",
                j,
                "--cache",
                cache,
                "--db",
            ])
            .arg(&f.city)
            .arg("--db")
            .arg(&f.asn)
            .arg(&path)
            .output()
            .unwrap();
        ok_stdout(&out)
    };
    let one = run("1", "65536");
    assert_eq!(one.lines().count(), 30_000);
    assert_eq!(one, run("2", "65536"));
    assert_eq!(one, run("2", "0"), "the memo must not change results");
    assert_eq!(one, run("1", "3"), "a tiny memo must not change results");
    for (i, rec) in lines(&one).iter().enumerate() {
        assert_eq!(rec["i"], i);
    }
}

#[test]
fn broken_databases_fail_before_reading_input() {
    let f = fixture();
    let d = f.dir.path();
    let good = std::fs::read(&f.city).unwrap();
    std::fs::write(d.join("truncated.mmdb"), &good[..good.len() / 2]).unwrap();
    std::fs::write(d.join("text.mmdb"), "this is not a database\n").unwrap();
    std::fs::write(d.join("empty.mmdb"), "").unwrap();
    // Metadata intact, search tree overwritten.
    let mut corrupt = good.clone();
    for b in corrupt.iter_mut().take(good.len() / 3) {
        *b = 0xff;
    }
    std::fs::write(d.join("corrupt.mmdb"), &corrupt).unwrap();
    std::fs::write(d.join("in.ndjson"), "{\"c_ip\":\"1.128.0.1\"}\n").unwrap();
    for name in [
        "truncated.mmdb",
        "text.mmdb",
        "empty.mmdb",
        "corrupt.mmdb",
        "missing.mmdb",
    ] {
        let out = tool("geoip-enrich")
            .arg("--db")
            .arg(d.join(name))
            .arg("--stats")
            .arg(d.join("st.json"))
            .arg(d.join("in.ndjson"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.starts_with("geoip-enrich: --db ") && err.contains(name),
            "{err}"
        );
        assert!(!d.join("st.json").exists(), "{name}: input was read");
    }
    // --verify checks the whole file too.
    let out = tool("geoip-enrich")
        .arg("--verify")
        .arg("--info")
        .arg(&f.city)
        .output()
        .unwrap();
    assert!(ok_stdout(&out).contains("database_type\tonebox-City-Test"));
    // A bad --info file is named as such.
    let out = tool("geoip-enrich")
        .arg("--info")
        .arg(d.join("missing.mmdb"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("geoip-enrich: --info "), "{err}");
}

#[test]
fn info_prints_metadata() {
    let f = fixture();
    let out = tool("geoip-enrich")
        .arg("--info")
        .arg(&f.asn)
        .output()
        .unwrap();
    let text = ok_stdout(&out);
    for want in [
        "database_type\tonebox-ASN-Test",
        "build_epoch\t1767225600 (2026-01-01T00:00:00Z)",
        "ip_version\t6",
        "languages\tde,en",
        "node_count\t",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let f = fixture();
    for args in [
        vec!["--fields", "nope"],
        vec!["--add", "noequals"],
        vec!["--fields", "city,city"],
        vec!["--ip-pick", "middle"],
        vec!["--fields", ""],
        vec!["--add", "geo_city=city.names.en"],
    ] {
        let out = tool("geoip-enrich")
            .arg("--db")
            .arg(&f.city)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = tool("geoip-enrich").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--db is required");
}

#[test]
fn broken_pipe_is_quiet() {
    let f = fixture();
    std::fs::write(f.dir.path().join("big.ndjson"), big_input(200_000)).unwrap();
    let out = sh(
        f.dir.path(),
        &format!(
            "geoip-enrich --db {} big.ndjson | head -1",
            f.city.display()
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

// --- independent reader -------------------------------------------------------------------

/// A Python with the `maxminddb` module: $ONEBOX_TEST_PYTHON (scripts/test.sh sets it to its
/// venv), else `python3` if it has the module.
fn python_with_maxminddb() -> Option<String> {
    let candidates = std::env::var("ONEBOX_TEST_PYTHON")
        .into_iter()
        .chain(["python3".to_string()]);
    candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import maxminddb"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn has_mmdblookup() -> bool {
    Command::new("mmdblookup")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The whole record for each address, as an independent reader sees it.
fn independent_records(db: &Path, ips: &[IpAddr]) -> Option<Vec<Value>> {
    if let Some(py) = python_with_maxminddb() {
        let script = "import json, sys, maxminddb\n\
            r = maxminddb.open_database(sys.argv[1], maxminddb.MODE_MMAP_EXT)\n\
            for ip in sys.stdin.read().split():\n    print(json.dumps(r.get(ip), ensure_ascii=False))\n";
        let mut cmd = Command::new(py);
        cmd.args(["-c", script]).arg(db);
        let input: String = ips.iter().map(|ip| format!("{ip}\n")).collect();
        let out = run_with_input(&mut cmd, input.as_bytes());
        return Some(lines(&ok_stdout(&out)));
    }
    if has_mmdblookup() {
        // mmdblookup prints its own notation; it is used for a presence/country check only.
        return None;
    }
    None
}

#[test]
fn an_independent_reader_reads_the_fixtures_the_same() {
    let f = fixture();
    let mut ips: Vec<IpAddr> = mmdb::NETWORKS
        .iter()
        .chain(mmdb::EXTRA)
        .flat_map(mmdb::sample_ips)
        .collect();
    ips.extend(["192.0.2.1", "10.0.0.1", "2001:db8::1"].map(|s| s.parse::<IpAddr>().unwrap()));
    let input: String = ips
        .iter()
        .map(|ip| format!("{{\"c_ip\":\"{ip}\"}}\n"))
        .collect();
    let mut checked = false;
    for db in [&f.city, &f.asn] {
        let out = run_with_input(
            tool("geoip-enrich")
                .arg("--db")
                .arg(db)
                .args(["--add", "rec="]),
            input.as_bytes(),
        );
        let ours: Vec<Value> = lines(&ok_stdout(&out))
            .into_iter()
            .map(|r| r["rec"].clone())
            .collect();
        if let Some(theirs) = independent_records(db, &ips) {
            assert_eq!(ours, theirs, "{}", db.display());
            checked = true;
        } else if has_mmdblookup() {
            for (ip, rec) in ips.iter().zip(&ours) {
                let out = Command::new("mmdblookup")
                    .arg("--file")
                    .arg(db)
                    .arg("--ip")
                    .arg(ip.to_string())
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                match rec {
                    Value::Null => assert!(
                        text.contains("Could not find")
                            || !out.status.success()
                            || text.trim().is_empty(),
                        "{ip}: {text}"
                    ),
                    Value::Object(m) => {
                        if let Some(asn) = m.get("autonomous_system_number") {
                            assert!(text.contains(&format!("{asn} <uint32>")), "{ip}: {text}");
                        }
                        if let Some(iso) = m.get("country").and_then(|c| c.get("iso_code")) {
                            assert!(
                                text.contains(&format!("{iso} <utf8_string>")),
                                "{ip}: {text}"
                            );
                        }
                    }
                    _ => unreachable!(),
                }
            }
            checked = true;
        }
    }
    if !checked {
        eprintln!(
            "NOTICE: independent mmdb reader check skipped: neither Python's maxminddb \
             (pip install maxminddb; or set ONEBOX_TEST_PYTHON) nor mmdblookup (apt-get install \
             mmdb-bin) is installed"
        );
    }
}

// --- conformance ---------------------------------------------------------------------------

/// A listed network: IPv4 networks written in the IPv6 tree as `::a.b.c.d/(96+n)` become
/// `a.b.c.d/n`.
fn parse_network(cidr: &str) -> (IpAddr, u8) {
    let (addr, len) = cidr.split_once('/').unwrap();
    let addr: IpAddr = addr.parse().unwrap();
    let len: u8 = len.parse().unwrap();
    if let IpAddr::V6(v6) = addr {
        let bits = u128::from(v6);
        if bits >> 32 == 0 && len >= 96 && cidr.contains('.') {
            return (IpAddr::V4((bits as u32).into()), len - 96);
        }
    }
    (addr, len)
}

fn contains(net: (IpAddr, u8), ip: IpAddr) -> bool {
    match (net.0, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            net.1 == 0 || (u32::from(n) ^ u32::from(i)) >> (32 - u32::from(net.1)) == 0
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            net.1 == 0 || (u128::from(n) ^ u128::from(i)) >> (128 - u32::from(net.1)) == 0
        }
        _ => false,
    }
}

/// The source JSON writes some doubles as integers (`37` for 37.0): compare numbers as values.
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn conformance_maxmind_test_databases_match_their_source_json() {
    let Ok(dir) = std::env::var("ONEBOX_CONFORMANCE_DIR") else {
        return;
    };
    let base = Path::new(&dir).join("mmdb");
    let mut checked = 0;
    for name in [
        "GeoIP2-City-Test",
        "GeoLite2-ASN-Test",
        "GeoLite2-City-Test",
        "GeoIP2-Country-Test",
        "GeoLite2-Country-Test",
        "GeoIP2-ISP-Test",
    ] {
        let db = base.join("test-data").join(format!("{name}.mmdb"));
        let src = base.join("source-data").join(format!("{name}.json"));
        if !db.exists() || !src.exists() {
            continue;
        }
        let listed: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
        let nets: Vec<((IpAddr, u8), &Value)> = listed
            .iter()
            .flat_map(|o| o.as_object().unwrap().iter())
            .map(|(cidr, rec)| (parse_network(cidr), rec))
            .collect();
        // For each listed network, its first address; the expected record is that of the most
        // specific listed network holding the address (the last listed among equals).
        let mut input = String::new();
        let mut want = Vec::new();
        for &(net, _) in &nets {
            let ip = net.0;
            let best = nets
                .iter()
                .filter(|(n, _)| contains(*n, ip))
                .max_by_key(|(n, _)| n.1)
                .unwrap();
            input.push_str(&format!("{{\"c_ip\":\"{ip}\"}}\n"));
            want.push((ip, best.1.clone()));
        }
        let out = run_with_input(
            tool("geoip-enrich")
                .arg("--db")
                .arg(&db)
                .args(["--add", "rec=", "-j", "2"]),
            input.as_bytes(),
        );
        let got = lines(&ok_stdout(&out));
        assert_eq!(got.len(), want.len());
        for (g, (ip, w)) in got.iter().zip(&want) {
            assert_eq!(numbers_as_f64(&g["rec"]), numbers_as_f64(w), "{name}: {ip}");
        }
        checked += want.len();
    }
    assert!(
        checked > 0,
        "no MaxMind test databases under {}",
        base.display()
    );
}

/// The fixture databases cover the CloudFront generator's viewer networks with the same
/// attributes (checked against scripts/gen/src/cloudfront.rs when it is there).
#[test]
fn fixture_networks_match_the_generator() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen/src/cloudfront.rs");
    let Ok(text) = std::fs::read_to_string(&src) else {
        return;
    };
    // The table between `pub const NETWORKS` and `];`, one `net(...)` call per network,
    // however rustfmt wraps it.
    let Some(table) = text
        .split_once("pub const NETWORKS")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(t, _)| t)
    else {
        panic!("no NETWORKS table in {}", src.display());
    };
    let gen: Vec<Vec<String>> = table
        .split("net(")
        .skip(1)
        .map(|call| {
            call.split_once(')')
                .unwrap()
                .0
                .split(',')
                .map(|s| s.trim().trim_matches('"').replace('_', ""))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .collect();
    let ours: Vec<Vec<String>> = mmdb::NETWORKS
        .iter()
        .map(|n| {
            vec![
                n.cidr.to_string(),
                n.continent.to_string(),
                n.country.to_string(),
                n.city.to_string(),
                n.asn.to_string(),
                n.org.to_string(),
            ]
        })
        .collect();
    assert_eq!(
        ours,
        gen,
        "tests/src/mmdb.rs NETWORKS must follow {}",
        src.display()
    );
}
