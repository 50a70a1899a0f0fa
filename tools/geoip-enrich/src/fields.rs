//! The fields geoip-enrich can add: named fields (`country_iso`, `city`, `asn`...) and
//! `--add NAME=path.in.record`, each compiled to the record paths that hold it.

use maxminddb::PathElement;

/// One step of a path into a database record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// From the end: 0 is the last element (`-1` in a path).
    FromEnd(usize),
}

/// A field to add: its output name and the paths that may hold it, tried in order (names in
/// several languages are several paths).
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub paths: Vec<Vec<Step>>,
}

impl Field {
    /// The paths as `maxminddb` path elements.
    pub fn elements(&self) -> Vec<Vec<PathElement<'_>>> {
        self.paths
            .iter()
            .map(|p| {
                p.iter()
                    .map(|s| match s {
                        Step::Key(k) => PathElement::Key(k),
                        Step::Index(i) => PathElement::Index(*i),
                        Step::FromEnd(i) => PathElement::IndexFromEnd(*i),
                    })
                    .collect()
            })
            .collect()
    }
}

/// The named fields: name, record path, and whether the path ends in localized `names`.
const NAMED: &[(&str, &str, bool)] = &[
    ("country_iso", "country.iso_code", false),
    ("country", "country", true),
    ("continent", "continent", true),
    ("continent_code", "continent.code", false),
    (
        "registered_country_iso",
        "registered_country.iso_code",
        false,
    ),
    ("subdivision_iso", "subdivisions.0.iso_code", false),
    ("subdivision", "subdivisions.0", true),
    ("city", "city", true),
    ("postal", "postal.code", false),
    ("lat", "location.latitude", false),
    ("lon", "location.longitude", false),
    ("accuracy_radius", "location.accuracy_radius", false),
    ("timezone", "location.time_zone", false),
    ("asn", "autonomous_system_number", false),
    ("as_org", "autonomous_system_organization", false),
    ("isp", "isp", false),
    ("org", "organization", false),
];

/// The names `--fields` accepts, for messages and help.
pub fn named_list() -> String {
    NAMED.iter().map(|n| n.0).collect::<Vec<_>>().join(", ")
}

/// Parses a dotted record path; numbers index arrays (`-1` is the last element).
pub fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    path.split('.')
        .map(|seg| {
            if seg.is_empty() {
                return Err(format!("empty segment in path '{path}'"));
            }
            if let Ok(i) = seg.parse::<usize>() {
                return Ok(Step::Index(i));
            }
            if let Some(neg) = seg.strip_prefix('-') {
                if let Ok(i @ 1..) = neg.parse::<usize>() {
                    return Ok(Step::FromEnd(i - 1));
                }
            }
            Ok(Step::Key(seg.to_string()))
        })
        .collect()
}

/// Compiles a named field for the languages in `langs` (first found wins).
pub fn named(name: &str, prefix: &str, langs: &[String]) -> Result<Field, String> {
    let Some(&(_, path, localized)) = NAMED.iter().find(|n| n.0 == name) else {
        return Err(format!(
            "unknown field '{name}' (known: {}; use --add NAME=path for others)",
            named_list()
        ));
    };
    let base = parse_path(path)?;
    let paths = if localized {
        langs
            .iter()
            .map(|lang| {
                let mut p = base.clone();
                p.push(Step::Key("names".into()));
                p.push(Step::Key(lang.clone()));
                p
            })
            .collect()
    } else {
        vec![base]
    };
    Ok(Field {
        name: format!("{prefix}{name}"),
        paths,
    })
}

/// Compiles `--add NAME=path` (the name is used as given, without the prefix). An empty path
/// adds the whole record.
pub fn added(spec: &str) -> Result<Field, String> {
    let Some((name, path)) = spec.split_once('=') else {
        return Err(format!("--add '{spec}': expected NAME=path.in.record"));
    };
    if name.is_empty() {
        return Err(format!("--add '{spec}': empty NAME"));
    }
    let path = if path.is_empty() {
        Vec::new()
    } else {
        parse_path(path).map_err(|e| format!("--add '{spec}': {e}"))?
    };
    Ok(Field {
        name: name.to_string(),
        paths: vec![path],
    })
}

/// The default fields for a set of database types: what those databases usually hold.
pub fn defaults(types: &[&str]) -> Result<Vec<&'static str>, String> {
    let mut out: Vec<&'static str> = Vec::new();
    for t in types {
        let Some(set) = defaults_of(t) else {
            return Err(format!(
                "no default fields for database type '{t}': choose them with --fields or --add"
            ));
        };
        for f in set {
            if !out.contains(f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// The fields a database of type `t` usually holds; `None` for a type without usual fields.
pub fn defaults_of(t: &str) -> Option<&'static [&'static str]> {
    if t.contains("City") || t.contains("Enterprise") {
        Some(&["country_iso", "subdivision_iso", "city", "lat", "lon"])
    } else if t.contains("Country") {
        Some(&["country_iso"])
    } else if t.contains("ISP") {
        Some(&["asn", "as_org", "isp", "org"])
    } else if t.contains("ASN") {
        Some(&["asn", "as_org"])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_keys_and_indexes() {
        assert_eq!(
            parse_path("subdivisions.-1.iso_code").unwrap(),
            [
                Step::Key("subdivisions".into()),
                Step::FromEnd(0),
                Step::Key("iso_code".into())
            ]
        );
        assert_eq!(parse_path("a.0").unwrap()[1], Step::Index(0));
        assert!(parse_path("a..b").is_err());
    }

    #[test]
    fn named_fields_know_their_languages() {
        let f = named("city", "geo_", &["de".into(), "en".into()]).unwrap();
        assert_eq!(f.name, "geo_city");
        assert_eq!(f.paths.len(), 2);
        assert_eq!(f.paths[0].last(), Some(&Step::Key("de".into())));
        assert!(named("nope", "", &[]).is_err());
        assert_eq!(added("r=subdivisions.0.iso_code").unwrap().name, "r");
        assert!(added("noequals").is_err());
    }

    #[test]
    fn defaults_follow_database_types() {
        assert_eq!(
            defaults(&["GeoLite2-City", "GeoLite2-ASN"]).unwrap(),
            [
                "country_iso",
                "subdivision_iso",
                "city",
                "lat",
                "lon",
                "asn",
                "as_org"
            ]
        );
        assert!(defaults(&["Weird"]).is_err());
    }
}
