//! Opening a MaxMind database from any bytes: an error naming the file, or a database whose
//! lookups work; never a panic.
#![no_main]

use std::net::IpAddr;

use geoip_enrich::db::{info, Db};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.mmdb");
    std::fs::write(&path, data).unwrap();
    for verify in [false, true] {
        match Db::open(&path, verify) {
            Err(e) => assert!(e.to_string().contains("--db")),
            Ok(db) => {
                let _ = info(&db);
                for ip in ["1.1.1.1", "81.2.69.160", "2001:db8::1"] {
                    let ip: IpAddr = ip.parse().unwrap();
                    if let Ok(found) = db.reader.lookup(ip) {
                        let _ = found.decode::<maxminddb::geoip2::City<'_>>();
                        let _ = db.offset(ip);
                    }
                }
            }
        }
    }
});
