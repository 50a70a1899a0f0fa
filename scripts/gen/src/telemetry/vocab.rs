//! Value vocabularies of the telemetry generator, most popular first (the generator draws
//! ranks from a Zipf distribution).
//!
//! Every string is stored already JSON-escaped, exactly as it appears between the quotes
//! on the wire, so lines are assembled by plain copying. A few entries deliberately need
//! escapes or carry non-ASCII text (quote, backslash, `\u00fc`, "São Paulo") so that
//! parsers downstream get exercised; a unit test checks every entry is valid JSON.

/// (Request.Sender, Request.Trigger): which component reported and why. The pairs go
/// together (an installer does not run on a schedule), so they are drawn as one.
pub const EVENTS: &[(&str, &str)] = &[
    ("scanner", "schedule"),
    ("updater", "update"),
    ("scanner", "update"),
    ("scanner", "realtime"),
    ("ui", "manual"),
    ("service", "startup"),
    ("scanner", "manual"),
    ("updater", "startup"),
    ("tray", "startup"),
    ("scheduler", "schedule"),
    ("installer", "install"),
    ("service", "update"),
    ("ui", "update"),
    ("installer", "uninstall"),
    ("service", "crash"),
    ("shell-extension", "manual"),
    ("C:\\\\Program Files\\\\App\\\\svc.exe", "startup"),
    ("watchdog", "crash"),
    ("ui", "user \\\"scan now\\\""),
    ("scanner", "policy"),
    ("updater", "policy"),
];

pub const PROGRAMS: &[&str] = &["app", "app-pro", "app-lite", "cleaner", "vpn", "backup"];

pub const BUILDS: &[&str] = &["consumer", "business", "beta", "oem", "education"];

pub const LICENSES: &[&str] = &[
    "licensed",
    "free",
    "trial",
    "expired",
    "subscription",
    "grace",
];

pub const VERSIONS: &[&str] = &[
    "2.1.8",
    "2.1.7",
    "2.2.0",
    "2.1.6",
    "2.1.5",
    "2.0.4",
    "2.2.1-beta",
    "1.9.12",
    "2.1.4",
    "1.9.11",
    "2.0.3",
    "1.8.0",
];

pub const CONNECTION_TYPES: &[&str] = &[
    "broadband",
    "wifi",
    "mobile",
    "ethernet",
    "satellite",
    "dialup",
    "unknown",
];

pub const OS_VERSIONS: &[&str] = &[
    "Windows 10",
    "Windows 7 Service Pack 1",
    "Windows 11",
    "Windows 8.1",
    "macOS 14.2",
    "Windows 10 LTSC",
    "macOS 13.6",
    "Ubuntu 22.04 LTS",
    "Windows Server 2019",
    "Windows XP Service Pack 3",
    "macOS 12.7",
    "Windows Vista Service Pack 2",
    "Debian GNU/Linux 12",
    "Windows 10 \\\"Insider Preview\\\"",
    "ChromeOS 120",
    "Fedora Linux 39",
];

pub const ARCHITECTURES: &[&str] = &["x64", "x86", "arm64"];

/// Languages chosen when a user does not use their country's main language.
pub const OTHER_LANGUAGES: &[&str] = &[
    "en", "es", "de", "fr", "pt", "ru", "it", "zh", "ja", "ar", "pl", "nl", "tr", "ko",
];

pub struct Country {
    pub iso: &'static str,
    pub language: &'static str,
    /// (region code, city)
    pub places: &'static [(&'static str, &'static str)],
    pub isps: &'static [&'static str],
}

pub struct Continent {
    pub code: &'static str,
    pub countries: &'static [Country],
}

/// Countries grouped by continent so that Region.Country is always consistent with
/// Region.Continent.
pub const CONTINENTS: &[Continent] = &[
    Continent {
        code: "EU",
        countries: &[
            Country {
                iso: "DE",
                language: "de",
                places: &[
                    ("16", "Berlin"),
                    ("02", "M\\u00fcnchen"),
                    ("04", "Hamburg"),
                    ("05", "Frankfurt am Main"),
                ],
                isps: &[
                    "Deutsche Telekom AG",
                    "Vodafone GmbH",
                    "Telefónica Germany",
                    "1&1 Versatel",
                ],
            },
            Country {
                iso: "GB",
                language: "en",
                places: &[
                    ("ENG", "London"),
                    ("ENG", "Manchester"),
                    ("SCT", "Edinburgh"),
                ],
                isps: &[
                    "British Telecommunications PLC",
                    "Virgin Media",
                    "Sky Broadband",
                    "TalkTalk",
                ],
            },
            Country {
                iso: "FR",
                language: "fr",
                places: &[("11", "Paris"), ("93", "Marseille"), ("84", "Lyon")],
                isps: &["Orange", "Free SAS", "SFR", "Bouygues Télécom"],
            },
            Country {
                iso: "IT",
                language: "it",
                places: &[
                    ("08", "Genoa"),
                    ("09", "Milan"),
                    ("07", "Rome"),
                    ("04", "Naples"),
                ],
                isps: &[
                    "Telecom Italia",
                    "Fastweb",
                    "Vodafone Italia",
                    "Telecom Itália",
                    "Wind Tre",
                ],
            },
            Country {
                iso: "ES",
                language: "es",
                places: &[("29", "Madrid"), ("56", "Barcelona"), ("60", "Valencia")],
                isps: &["Telefónica de España", "Vodafone España", "Orange Espagne"],
            },
            Country {
                iso: "PL",
                language: "pl",
                places: &[("78", "Warsaw"), ("72", "Kraków")],
                isps: &["Orange Polska", "Netia", "UPC Polska"],
            },
            Country {
                iso: "NL",
                language: "nl",
                places: &[("NH", "Amsterdam"), ("ZH", "Rotterdam")],
                isps: &["KPN", "Ziggo", "T-Mobile Netherlands"],
            },
            Country {
                iso: "RU",
                language: "ru",
                places: &[("MOW", "Moscow"), ("SPE", "Saint Petersburg")],
                isps: &["Ростелеком", "MTS PJSC", "Beeline"],
            },
            Country {
                iso: "SE",
                language: "sv",
                places: &[("AB", "Stockholm"), ("O", "Göteborg")],
                isps: &["Telia Company", "Tele2 Sverige", "Com Hem"],
            },
            Country {
                iso: "CH",
                language: "de",
                places: &[("ZH", "Z\\u00fcrich"), ("GE", "Genève")],
                isps: &["Swisscom", "Sunrise", "Salt Mobile"],
            },
        ],
    },
    Continent {
        code: "NA",
        countries: &[
            Country {
                iso: "US",
                language: "en",
                places: &[
                    ("CA", "Los Angeles"),
                    ("NY", "New York"),
                    ("TX", "Dallas"),
                    ("WA", "Seattle"),
                    ("IL", "Chicago"),
                ],
                isps: &[
                    "Comcast Cable",
                    "AT&T Services",
                    "Charter Communications",
                    "Verizon Fios",
                    "Cox Communications",
                ],
            },
            Country {
                iso: "CA",
                language: "en",
                places: &[("ON", "Toronto"), ("QC", "Montréal"), ("BC", "Vancouver")],
                isps: &["Rogers Communications", "Bell Canada", "Vidéotron"],
            },
            Country {
                iso: "MX",
                language: "es",
                places: &[("CMX", "Mexico City"), ("JAL", "Guadalajara")],
                isps: &["Telmex", "Totalplay", "Megacable"],
            },
        ],
    },
    Continent {
        code: "AS",
        countries: &[
            Country {
                iso: "JP",
                language: "ja",
                places: &[("13", "Tokyo"), ("27", "Osaka")],
                isps: &["NTT Communications", "KDDI", "SoftBank"],
            },
            Country {
                iso: "IN",
                language: "en",
                places: &[("MH", "Mumbai"), ("DL", "Delhi"), ("KA", "Bengaluru")],
                isps: &["Reliance Jio", "Bharti Airtel", "BSNL"],
            },
            Country {
                iso: "CN",
                language: "zh",
                places: &[("BJ", "Beijing"), ("SH", "Shanghai")],
                isps: &["China Telecom", "China Unicom"],
            },
            Country {
                iso: "KR",
                language: "ko",
                places: &[("11", "Seoul"), ("26", "Busan")],
                isps: &["KT Corporation", "SK Broadband"],
            },
            Country {
                iso: "TR",
                language: "tr",
                places: &[("34", "İstanbul"), ("06", "Ankara")],
                isps: &["Türk Telekom", "Turkcell Superonline"],
            },
        ],
    },
    Continent {
        code: "SA",
        countries: &[
            Country {
                iso: "BR",
                language: "pt",
                places: &[
                    ("SP", "São Paulo"),
                    ("RJ", "Rio de Janeiro"),
                    ("MG", "Belo Horizonte"),
                ],
                isps: &["Vivo", "Claro NXT", "Oi"],
            },
            Country {
                iso: "AR",
                language: "es",
                places: &[("C", "Buenos Aires"), ("X", "Córdoba")],
                isps: &["Telecom Argentina", "Telefónica de Argentina"],
            },
            Country {
                iso: "CO",
                language: "es",
                places: &[("DC", "Bogotá"), ("ANT", "Medellín")],
                isps: &["Claro Colombia", "ETB"],
            },
        ],
    },
    Continent {
        code: "OC",
        countries: &[
            Country {
                iso: "AU",
                language: "en",
                places: &[("NSW", "Sydney"), ("VIC", "Melbourne")],
                isps: &["Telstra", "Optus", "TPG Telecom"],
            },
            Country {
                iso: "NZ",
                language: "en",
                places: &[("AUK", "Auckland"), ("WGN", "Wellington")],
                isps: &["Spark New Zealand", "One NZ"],
            },
        ],
    },
    Continent {
        code: "AF",
        countries: &[
            Country {
                iso: "ZA",
                language: "en",
                places: &[("GT", "Johannesburg"), ("WC", "Cape Town")],
                isps: &["Telkom SA", "Vodacom"],
            },
            Country {
                iso: "NG",
                language: "en",
                places: &[("LA", "Lagos")],
                isps: &["MTN Nigeria"],
            },
            Country {
                iso: "EG",
                language: "ar",
                places: &[("C", "Cairo")],
                isps: &["TE Data"],
            },
        ],
    },
];
