//! Value vocabularies of the CloudFront generator, most popular first. Strings are
//! stored exactly as CloudFront logs them: percent-encoded where it encodes
//! (spaces as `%20`, non-ASCII as UTF-8 `%XX`), `+` kept literally.

/// A viewer's User-Agent header as logged.
pub struct Agent {
    pub text: &'static str,
    /// Crawlers and scripts speak HTTP/1.1.
    pub bot: bool,
    /// Browsers fetch a page's assets, and so do the crawlers that render pages; scripts
    /// fetch pages and the API only.
    pub fetches_assets: bool,
}

const fn ua(text: &'static str) -> Agent {
    Agent {
        text,
        bot: false,
        fetches_assets: true,
    }
}

const fn crawler(text: &'static str) -> Agent {
    Agent {
        text,
        bot: true,
        fetches_assets: true,
    }
}

const fn bot(text: &'static str) -> Agent {
    Agent {
        text,
        bot: true,
        fetches_assets: false,
    }
}

pub const AGENTS: &[Agent] = &[
    ua("Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/120.0.0.0%20Safari/537.36"),
    ua("Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_1%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.1%20Mobile/15E148%20Safari/604.1"),
    ua("Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.1%20Safari/605.1.15"),
    ua("Mozilla/5.0%20(Linux;%20Android%2014;%20Pixel%208)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/120.0.6099.43%20Mobile%20Safari/537.36"),
    ua("Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64;%20rv:121.0)%20Gecko/20100101%20Firefox/121.0"),
    ua("Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/120.0.0.0%20Safari/537.36%20Edg/120.0.2210.61"),
    crawler("Mozilla/5.0%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)"),
    ua("Mozilla/5.0%20(X11;%20Linux%20x86_64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/119.0.0.0%20Safari/537.36"),
    bot("curl/8.4.0"),
    ua("Mozilla/5.0%20(iPad;%20CPU%20OS%2016_6%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/16.6%20Mobile/15E148%20Safari/604.1"),
    bot("python-requests/2.31.0"),
    crawler("Mozilla/5.0%20(compatible;%20bingbot/2.0;%20+http://www.bing.com/bingbot.htm)"),
    ua("Mozilla/5.0%20(Linux;%20Android%2010;%20K)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20SamsungBrowser/23.0%20Chrome/115.0.0.0%20Mobile%20Safari/537.36"),
    ua("Mozilla/5.0%20(Windows%20NT%206.1;%20WOW64;%20Trident/7.0;%20rv:11.0)%20like%20Gecko"),
    bot("Go-http-client/2.0"),
    bot("-"),
    bot("Amazon%20CloudFront"),
    bot("Wget/1.21.4"),
    bot("Mozilla/5.0%20(compatible;%20%22QuotedBot%22/1.0;%20+https://example.net/bot)"),
    ua("Mozilla/5.0%20(Linux;%20U;%20Android%2012;%20ru-ru;%20%D0%A2%D0%B5%D1%81%D1%82)%20AppleWebKit/534.30%20(KHTML,%20like%20Gecko)%20Version/4.0%20Mobile%20Safari/534.30"),
];

/// Edge locations by continent, in the order of `CONTINENTS`.
pub const CONTINENTS: &[&str] = &["NA", "EU", "AS", "SA", "OC", "AF"];
pub const EDGES: &[&[&str]] = &[
    &[
        "IAD89-C1", "SEA19-C1", "IAD89-C3", "LAX50-P1", "DFW56-P1", "ORD52-C2", "SEA19-C2",
        "JFK50-C1", "ATL56-C3", "YTO50-C1",
    ],
    &[
        "FRA56-P4", "LHR61-C2", "FRA2", "AMS1-C1", "CDG50-C1", "LHR50-C1", "MXP64-C1", "ARN54-C1",
        "MAD53-C1", "WAW50-C1",
    ],
    &[
        "NRT57-C2", "SIN2-P8", "HKG62-C2", "NRT20-C4", "ICN54-C1", "BOM78-P1",
    ],
    &["GRU1-C1", "GIG51-C1", "EZE50-C1"],
    &["SYD62-P1", "MEL50-C2", "AKL50-C1"],
    &["JNB50-C1", "CPT52-C1", "LOS50-C1"],
];

/// Short names of static assets that are not content-hashed.
pub const ICONS: &[&str] = &[
    "logo",
    "search",
    "menu",
    "close",
    "download",
    "star",
    "user",
    "cart",
    "arrow-left",
    "arrow-right",
];

pub const FONTS: &[&str] = &["inter-var", "roboto-mono-400", "inter-italic-var"];

/// Other HTML pages of the site.
pub const PAGES: &[&str] = &[
    "/about",
    "/pricing",
    "/login",
    "/signup",
    "/terms",
    "/blog/2017/01/new-features",
];

/// File names inside a model, as logged (encoded once; `%2520` means the client sent `%20`).
pub const MODEL_FILES: &[&str] = &[
    "Caf%C3%A9%20Table%20v2.stl",
    "gear_12t.stl",
    "Stra%C3%9Fe%20Sign.3mf",
    "my%2520model.zip",
    "%E6%A4%85%E5%AD%90.obj",
];

/// Script bundles of the site besides numbered chunks.
pub const SCRIPTS: &[&str] = &["app", "vendor", "runtime"];
pub const STYLES: &[&str] = &["main", "vendor", "print"];

/// Search terms as logged in the query string (already encoded once).
pub const SEARCH_TERMS: &[&str] = &[
    "chair",
    "foo%20bar",
    "3d%20printer%20parts",
    "caf%C3%A9%20table",
    "vase",
    "M%C3%BCnchen",
    "c++",
    "a%2Bb",
    "100%25%20cotton",
    "gear",
    "%22exact%20phrase%22",
    "a%2520b",
];

/// Query strings of page views other than search.
pub const PAGE_QUERIES: &[&str] = &[
    "utm_source=newsletter&utm_medium=email",
    "ref=producthunt",
    "lang=de",
    "utm_source=twitter&utm_campaign=launch%202024",
    "a=b%2520c",
];

pub const API_QUERIES: &[&str] = &[
    "fields=name,price",
    "limit=20&offset=40",
    "expand=owner",
    "sort=-created",
];

/// Referers from outside the site.
pub const EXTERNAL_REFERERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.bing.com/search?q=3d%20models",
    "https://duckduckgo.com/",
    "https://t.co/x7Yq2bKw9Z",
    "https://www.reddit.com/r/3Dprinting/",
    "https://example.org/caf%C3%A9",
    "android-app://com.google.android.gm/",
];

/// x-host-header values: the Host the viewer asked for.
pub const HOST_HEADERS: &[&str] = &[
    "www.example.com",
    "d111111abcdef8.cloudfront.net",
    "example.com",
];

pub const TLS13_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
pub const TLS12_CIPHERS: &[&str] = &[
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-SHA256",
];

pub const HTTP_VERSIONS: &[&str] = &["HTTP/2.0", "HTTP/1.1", "HTTP/3.0", "HTTP/1.0"];

/// x-edge-detailed-result-type of 502 responses.
pub const BAD_GATEWAY_DETAILS: &[&str] = &[
    "OriginConnectError",
    "OriginDnsError",
    "OriginInvalidResponseError",
];
