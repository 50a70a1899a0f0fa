//! Property test of opening MaxMind databases: any bytes given as a database, and a valid
//! database with random corruption, fail with an error or work; they never panic.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use geoip_enrich::db::{info, Db};
use mmdb_writer::{Value, Writer};
use proptest::prelude::*;

/// A small valid City-shaped database, built once.
fn valid_db() -> &'static [u8] {
    static DB: OnceLock<Vec<u8>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut w = Writer::builder("onebox-City-Test".to_string())
            .languages(["en"])
            .description(&[("en", "property-test fixture")])
            .build_epoch(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
            .build();
        for (i, cidr) in ["1.1.1.0/24", "81.2.69.0/24", "2001:db8::/32", "10.0.0.0/8"]
            .iter()
            .enumerate()
        {
            let record = Value::map([
                (
                    "country",
                    Value::map([("iso_code", Value::from(["AU", "GB", "DE", "FR"][i]))]),
                ),
                (
                    "location",
                    Value::map([("latitude", Value::Double(1.5 * i as f64))]),
                ),
            ]);
            w.insert_value(cidr.parse::<ipnet::IpNet>().unwrap(), record)
                .unwrap();
        }
        w.to_bytes().unwrap()
    })
}

/// Opens `bytes` as a database both ways and, when it opens, looks addresses up and decodes
/// what they point at, as a run would.
fn exercise(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.mmdb");
    std::fs::write(&path, bytes).unwrap();
    for verify in [true, false] {
        match Db::open(&path, verify) {
            Err(e) => assert!(
                e.to_string().contains("--db"),
                "the error names the file: {e}"
            ),
            Ok(db) => {
                let _ = info(&db);
                for ip in [
                    "1.1.1.1",
                    "81.2.69.160",
                    "2001:db8::1",
                    "10.1.2.3",
                    "8.8.8.8",
                ] {
                    let ip: IpAddr = ip.parse().unwrap();
                    if let Ok(found) = db.reader.lookup(ip) {
                        let _ = found.decode::<maxminddb::geoip2::City<'_>>();
                        let _ = db.offset(ip);
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_as_a_database_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn corrupted_database_never_panics(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = valid_db().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        exercise(&bytes);
    }
}

#[test]
fn the_fixture_itself_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.mmdb");
    std::fs::write(&path, valid_db()).unwrap();
    let db = Db::open(&path, true).unwrap();
    assert!(db.offset("1.1.1.1".parse().unwrap()).unwrap().is_some());
}
