//! MaxMind DB test fixtures: a City-like and an ASN-like database built with `mmdb-writer`,
//! covering the viewer networks of the CloudFront generator (`NETWORKS` in
//! scripts/gen/src/cloudfront.rs, same cidr, continent, country, city, ASN and organisation;
//! the test `fixture_networks_match_the_generator` keeps the two in step) plus a few networks
//! for edge cases (a more specific network inside another, a /32, a German name).
//!
//! The values are made up for tests. Nothing here is real geography.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use ipnet::IpNet;
use mmdb_writer::{Value, Writer};

/// One network of the fixtures with the values its records hold.
#[derive(Clone, Copy, Debug)]
pub struct Net {
    pub cidr: &'static str,
    pub continent: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub asn: u32,
    pub org: &'static str,
    /// First-level subdivision ISO code (without the country).
    pub subdivision: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub time_zone: &'static str,
    pub postal: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
const fn net(
    cidr: &'static str,
    continent: &'static str,
    country: &'static str,
    city: &'static str,
    asn: u32,
    org: &'static str,
    subdivision: &'static str,
    lat: f64,
    lon: f64,
    time_zone: &'static str,
    postal: Option<&'static str>,
) -> Net {
    Net {
        cidr,
        continent,
        country,
        city,
        asn,
        org,
        subdivision,
        lat,
        lon,
        time_zone,
        postal,
    }
}

/// The generator's viewer networks (first six columns as in scripts/gen), with made-up
/// subdivision, location and time zone.
pub const NETWORKS: &[Net] = &[
    net(
        "81.2.0.0/16",
        "EU",
        "GB",
        "London",
        64_601,
        "Example Broadband GB",
        "ENG",
        51.5142,
        -0.0931,
        "Europe/London",
        Some("EC1A"),
    ),
    net(
        "216.160.0.0/16",
        "NA",
        "US",
        "Seattle",
        64_602,
        "Example Cable US",
        "WA",
        47.6062,
        -122.3321,
        "America/Los_Angeles",
        Some("98101"),
    ),
    net(
        "2600:1700::/32",
        "NA",
        "US",
        "Dallas",
        64_603,
        "Example Fiber US",
        "TX",
        32.7767,
        -96.797,
        "America/Chicago",
        None,
    ),
    net(
        "151.38.0.0/16",
        "EU",
        "IT",
        "Genoa",
        64_604,
        "Example Telecom Italia",
        "42",
        44.4056,
        8.9463,
        "Europe/Rome",
        None,
    ),
    net(
        "5.146.0.0/16",
        "EU",
        "DE",
        "Frankfurt am Main",
        64_605,
        "Example Netz DE",
        "HE",
        50.1109,
        8.6821,
        "Europe/Berlin",
        Some("60311"),
    ),
    net(
        "2001:218::/32",
        "AS",
        "JP",
        "Tokyo",
        64_606,
        "Example Net JP",
        "13",
        35.6895,
        139.6917,
        "Asia/Tokyo",
        None,
    ),
    net(
        "89.160.0.0/16",
        "EU",
        "SE",
        "Linköping",
        64_607,
        "Example Bredband SE",
        "E",
        58.4167,
        15.6167,
        "Europe/Stockholm",
        None,
    ),
    net(
        "186.192.0.0/16",
        "SA",
        "BR",
        "São Paulo",
        64_608,
        "Example Telecom BR",
        "SP",
        -23.5505,
        -46.6333,
        "America/Sao_Paulo",
        None,
    ),
    net(
        "2a02:c7f::/32",
        "EU",
        "GB",
        "Manchester",
        64_609,
        "Example Mobile GB",
        "ENG",
        53.4808,
        -2.2426,
        "Europe/London",
        None,
    ),
    net(
        "175.16.0.0/16",
        "AS",
        "CN",
        "Shanghai",
        64_610,
        "Example Telecom CN",
        "SH",
        31.2304,
        121.4737,
        "Asia/Shanghai",
        None,
    ),
    net(
        "1.128.0.0/16",
        "OC",
        "AU",
        "Sydney",
        64_611,
        "Example Mobile AU",
        "NSW",
        -33.8688,
        151.2093,
        "Australia/Sydney",
        Some("2000"),
    ),
    net(
        "2a01:e0a::/32",
        "EU",
        "FR",
        "Paris",
        64_612,
        "Example Télécom FR",
        "IDF",
        48.8566,
        2.3522,
        "Europe/Paris",
        None,
    ),
    net(
        "49.96.0.0/16",
        "AS",
        "JP",
        "Osaka",
        64_613,
        "Example Mobile JP",
        "27",
        34.6937,
        135.5023,
        "Asia/Tokyo",
        None,
    ),
    net(
        "41.0.0.0/16",
        "AF",
        "ZA",
        "Johannesburg",
        64_614,
        "Example Telkom ZA",
        "GP",
        -26.2041,
        28.0473,
        "Africa/Johannesburg",
        None,
    ),
    net(
        "2804:14c::/32",
        "SA",
        "BR",
        "Rio de Janeiro",
        64_615,
        "Example Fibra BR",
        "RJ",
        -22.9068,
        -43.1729,
        "America/Sao_Paulo",
        None,
    ),
];

/// Edge-case networks, inserted after `NETWORKS` (so a more specific one wins inside its
/// parent): `81.2.69.0/24` inside `81.2.0.0/16` is another city; `5.146.7.7/32` is a single
/// address whose city has no English name (German only).
pub const EXTRA: &[Net] = &[
    net(
        "81.2.69.0/24",
        "EU",
        "GB",
        "Camden",
        64_616,
        "Example Camden GB",
        "ENG",
        51.5390,
        -0.1426,
        "Europe/London",
        Some("NW1"),
    ),
    net(
        "5.146.7.7/32",
        "EU",
        "DE",
        "",
        64_617,
        "Example Single DE",
        "HE",
        50.0,
        8.0,
        "Europe/Berlin",
        None,
    ),
];

/// The German-only city name of `5.146.7.7`.
pub const GERMAN_ONLY_CITY: &str = "Köln-Süd";

/// English country names of the fixture countries.
pub fn country_name(iso: &str) -> &'static str {
    match iso {
        "GB" => "United Kingdom",
        "US" => "United States",
        "IT" => "Italy",
        "DE" => "Germany",
        "JP" => "Japan",
        "SE" => "Sweden",
        "BR" => "Brazil",
        "CN" => "China",
        "AU" => "Australia",
        "FR" => "France",
        "ZA" => "South Africa",
        _ => "Unknown",
    }
}

/// English continent names.
pub fn continent_name(code: &str) -> &'static str {
    match code {
        "EU" => "Europe",
        "NA" => "North America",
        "SA" => "South America",
        "AS" => "Asia",
        "OC" => "Oceania",
        "AF" => "Africa",
        _ => "Unknown",
    }
}

fn names(pairs: &[(&str, &str)]) -> Value {
    Value::map(
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), Value::from(*v))),
    )
}

/// The City record of a network, laid out as GeoIP2 City records are.
fn city_record(n: &Net) -> Value {
    let city_names = if n.city.is_empty() {
        names(&[("de", GERMAN_ONLY_CITY)])
    } else {
        names(&[("en", n.city)])
    };
    let country = Value::map([
        ("iso_code", Value::from(n.country)),
        ("names", names(&[("en", country_name(n.country))])),
    ]);
    let mut location = vec![
        ("latitude", Value::Double(n.lat)),
        ("longitude", Value::Double(n.lon)),
        (
            "accuracy_radius",
            Value::U16(if n.cidr.contains(':') { 100 } else { 20 }),
        ),
        ("time_zone", Value::from(n.time_zone)),
    ];
    location.sort_by_key(|(k, _)| *k);
    let mut fields = vec![
        (
            "continent",
            Value::map([
                ("code", Value::from(n.continent)),
                ("names", names(&[("en", continent_name(n.continent))])),
            ]),
        ),
        ("country", country.clone()),
        ("registered_country", country),
        ("city", Value::map([("names", city_names)])),
        ("location", Value::map(location)),
        (
            "subdivisions",
            Value::array([Value::map([
                ("iso_code", Value::from(n.subdivision)),
                ("names", names(&[("en", n.subdivision)])),
            ])]),
        ),
    ];
    if let Some(code) = n.postal {
        fields.push(("postal", Value::map([("code", Value::from(code))])));
    }
    Value::map(fields)
}

fn asn_record(n: &Net) -> Value {
    Value::map([
        ("autonomous_system_number", Value::U32(n.asn)),
        ("autonomous_system_organization", Value::from(n.org)),
    ])
}

fn build(kind: &str, record: fn(&Net) -> Value) -> Vec<u8> {
    let mut w = Writer::builder(format!("onebox-{kind}-Test"))
        .languages(["de", "en"])
        .description(&[("en", "onebox test fixture (made-up data)")])
        .build_epoch(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        .build();
    for n in NETWORKS.iter().chain(EXTRA) {
        let cidr: IpNet = n.cidr.parse().expect("fixture cidr");
        w.insert_value(cidr, record(n))
            .expect("insert fixture network");
    }
    w.to_bytes().expect("write fixture mmdb")
}

/// A City-like database (type `onebox-City-Test`).
pub fn city_db() -> Vec<u8> {
    build("City", city_record)
}

/// An ASN-like database (type `onebox-ASN-Test`).
pub fn asn_db() -> Vec<u8> {
    build("ASN", asn_record)
}

/// Writes both databases into `dir` as onebox-City-Test.mmdb and onebox-ASN-Test.mmdb.
pub fn write_all(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let city = dir.join("onebox-City-Test.mmdb");
    let asn = dir.join("onebox-ASN-Test.mmdb");
    std::fs::write(&city, city_db())?;
    std::fs::write(&asn, asn_db())?;
    Ok((city, asn))
}

/// The most specific fixture network holding `ip`.
pub fn expected(ip: IpAddr) -> Option<&'static Net> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    NETWORKS
        .iter()
        .chain(EXTRA)
        .filter(|n| n.cidr.parse::<IpNet>().unwrap().contains(&ip))
        .max_by_key(|n| n.cidr.parse::<IpNet>().unwrap().prefix_len())
}

/// A few addresses inside `n` (its first, a middle and its last address).
pub fn sample_ips(n: &Net) -> Vec<IpAddr> {
    let cidr: IpNet = n.cidr.parse().unwrap();
    let first = cidr.network();
    let last = cidr.broadcast();
    let mid = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            IpAddr::V4(((u32::from(a) / 2) + (u32::from(b) / 2) + 1).into())
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            IpAddr::V6(((u128::from(a) / 2) + (u128::from(b) / 2) + 1).into())
        }
        _ => first,
    };
    vec![first, mid, last]
}
