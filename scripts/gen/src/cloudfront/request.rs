//! What a request asks for and how the edge answered: the fields of a line that depend
//! on each other (stem, method, status, result types, query and referer).

use super::vocab::*;
use super::{hash2, push, push_u64, Data};
use crate::rng::{push_hex_of, Prob, Rng};
use crate::zipf::Zipf;

/// Share of asset requests with a cache-busting `v=` query.
const DEFAULT_ASSET_QUERY: Prob = Prob::ratio(1, 10);

/// What a request asks for; decides stem, status mix, sizes and content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Css,
    Js,
    Png,
    Jpg,
    Svg,
    Woff2,
    Ico,
    Home,
    Model,
    Download,
    Search,
    Api,
    Page,
    ModelFile,
}

/// Request mix. A page view fetches a few dozen assets, so static assets make up 85-90%
/// of all lines (the 85-90% static hits of a site's logs), and pages, models, downloads,
/// search and the API the rest. Scripts fetch no assets ([`request`]).
pub(super) const KINDS: &[(Kind, f64)] = &[
    (Kind::Js, 110.0),
    (Kind::Css, 73.0),
    (Kind::Png, 88.0),
    (Kind::Jpg, 73.0),
    (Kind::Svg, 51.0),
    (Kind::Woff2, 22.0),
    (Kind::Ico, 15.0),
    (Kind::Home, 6.0),
    (Kind::Model, 14.0),
    (Kind::Download, 5.0),
    (Kind::Search, 8.0),
    (Kind::Api, 10.0),
    (Kind::Page, 4.0),
    (Kind::ModelFile, 1.0),
];

impl Kind {
    pub(super) fn is_asset(self) -> bool {
        matches!(
            self,
            Kind::Css | Kind::Js | Kind::Png | Kind::Jpg | Kind::Svg | Kind::Woff2 | Kind::Ico
        )
    }

    /// (content type, smallest and largest body size)
    pub(super) fn content(self) -> (&'static str, u64, u64) {
        match self {
            Kind::Css => ("text/css", 4_000, 90_000),
            Kind::Js => ("application/javascript", 15_000, 900_000),
            Kind::Png => ("image/png", 2_000, 400_000),
            Kind::Jpg => ("image/jpeg", 20_000, 2_000_000),
            Kind::Svg => ("image/svg+xml", 400, 12_000),
            Kind::Woff2 => ("font/woff2", 20_000, 110_000),
            Kind::Ico => ("image/x-icon", 1_150, 15_086),
            Kind::Home | Kind::Model | Kind::Search | Kind::Page => {
                ("text/html;%20charset=utf-8", 8_000, 70_000)
            }
            Kind::Api => ("application/json", 60, 20_000),
            Kind::Download | Kind::ModelFile => ("application/zip", 100_000, 60_000_000),
        }
    }
}

/// Status codes and their relative weights per kind of request.
pub(super) const ASSET_STATUS: &[(u16, f64)] = &[
    (200, 70.0),
    (304, 22.0),
    (404, 5.0),
    (403, 1.0),
    (500, 0.5),
    (502, 0.5),
];
pub(super) const PAGE_STATUS: &[(u16, f64)] = &[
    (200, 80.0),
    (304, 8.0),
    (404, 6.0),
    (301, 3.0),
    (500, 1.0),
    (502, 1.0),
    (503, 1.0),
];
pub(super) const DOWNLOAD_STATUS: &[(u16, f64)] = &[
    (200, 60.0),
    (206, 25.0),
    (304, 5.0),
    (404, 7.0),
    (403, 2.0),
    (500, 1.0),
];
pub(super) const API_STATUS: &[(u16, f64)] = &[
    (200, 80.0),
    (404, 8.0),
    (400, 4.0),
    (401, 3.0),
    (500, 3.0),
    (503, 2.0),
];

pub(super) fn weighted<T: Copy>(items: &[(T, f64)]) -> (Vec<T>, Zipf) {
    let w: Vec<f64> = items.iter().map(|x| x.1).collect();
    (items.iter().map(|x| x.0).collect(), Zipf::from_weights(&w))
}

/// The field values that depend on each other, decided before anything is written.
pub(super) struct Request {
    pub(super) kind: Kind,
    /// Which model, asset, page or item: fixes the stem and the body size.
    pub(super) id: u64,
    pub(super) method: &'static str,
    pub(super) status: u16,
    pub(super) result: &'static str,
    pub(super) detailed: &'static str,
}

/// 32 hex digits as 8-4-4-4-12.
fn push_uuid(hi: u64, lo: u64, out: &mut Vec<u8>) {
    push_hex_of(hi >> 32, 8, out);
    out.push(b'-');
    push_hex_of(hi >> 16, 4, out);
    out.push(b'-');
    push_hex_of(hi, 4, out);
    out.push(b'-');
    push_hex_of(lo >> 48, 4, out);
    out.push(b'-');
    push_hex_of(lo, 12, out);
}

/// Decide what is requested and how the edge answered.
pub(super) fn request(d: &Data, rng: &mut Rng, fetches_assets: bool) -> Request {
    let mut kind = d.kinds.1.pick(rng, &d.kinds.0);
    if !fetches_assets && kind.is_asset() {
        // Scripts fetch pages and the API, not page assets.
        kind = [Kind::Home, Kind::Model, Kind::Search, Kind::Api, Kind::Page][rng.index(5)];
    }
    let id = match kind {
        Kind::Css => rng.index(STYLES.len() * 2) as u64,
        Kind::Js => d.scripts.sample(rng) as u64,
        Kind::Png | Kind::Jpg => d.thumbs.sample(rng) as u64,
        Kind::Svg => rng.index(ICONS.len()) as u64,
        Kind::Woff2 => d.font.sample(rng) as u64,
        Kind::Ico | Kind::Home => 0,
        Kind::Model | Kind::Download => d.models.sample(rng) as u64,
        Kind::ModelFile => {
            (d.models.sample(rng) * MODEL_FILES.len() + rng.index(MODEL_FILES.len())) as u64
        }
        Kind::Search => d.search.sample(rng) as u64,
        Kind::Api => 1 + d.models.sample(rng) as u64,
        Kind::Page => rng.index(PAGES.len()) as u64,
    };
    let roll = rng.below(100);
    let method = match kind {
        Kind::Api => match roll {
            0..=69 => "GET",
            70..=89 => "POST",
            90..=96 => "OPTIONS",
            _ => "HEAD",
        },
        _ => match roll {
            0..=96 => "GET",
            97..=98 => "HEAD",
            _ => "OPTIONS",
        },
    };
    let (codes, dist) = match kind {
        Kind::Download | Kind::ModelFile => &d.download_status,
        Kind::Api => &d.api_status,
        k if k.is_asset() => &d.asset_status,
        _ => &d.page_status,
    };
    let mut status = dist.pick(rng, codes);
    if method != "GET" && matches!(status, 206 | 304) {
        status = 200;
    }
    let (result, detailed) = match status {
        200 | 206 | 304 => {
            let roll = rng.below(100);
            let hit_share = match kind {
                _ if method == "POST" || method == "OPTIONS" => 0,
                Kind::Api => 5,
                Kind::Home | Kind::Model | Kind::Search | Kind::Page => 35,
                Kind::Download | Kind::ModelFile => 50,
                _ => 78,
            };
            let r = if roll < hit_share {
                "Hit"
            } else if roll < hit_share + 5 {
                "RefreshHit"
            } else {
                "Miss"
            };
            (r, r)
        }
        301 => ("Redirect", "Redirect"),
        403 if rng.below(5) == 0 => ("Error", "ClientGeoBlocked"),
        502 => ("Error", *rng.pick(BAD_GATEWAY_DETAILS)),
        503 => ("Error", "OriginCommError"),
        _ => ("Error", "Error"),
    };
    Request {
        kind,
        id,
        method,
        status,
        result,
        detailed,
    }
}

fn push_model(d: &Data, model: u64, out: &mut Vec<u8>) {
    push_uuid(hash2(d.model_seed, model), hash2(model, d.model_seed), out);
}

pub(super) fn push_stem(d: &Data, req: &Request, out: &mut Vec<u8>) {
    let id = req.id;
    match req.kind {
        Kind::Css => {
            push(out, "/static/css/");
            push(out, STYLES[id as usize % STYLES.len()]);
            out.push(b'.');
            push_hex_of(hash2(d.builds[id as usize / STYLES.len() % 2], id), 8, out);
            push(out, ".css");
        }
        Kind::Js => {
            push(out, "/static/js/");
            match SCRIPTS.get(id as usize) {
                Some(name) => push(out, name),
                None => {
                    push(out, "chunk-");
                    push_u64(hash2(id, 7) % 900 + 100, out);
                }
            }
            out.push(b'.');
            push_hex_of(hash2(d.builds[0], id), 8, out);
            push(out, ".js");
        }
        Kind::Png => {
            push(out, "/img/thumbs/");
            push_u64(id, out);
            push(out, ".png");
        }
        Kind::Jpg => {
            push(out, "/img/photos/");
            push_u64(id, out);
            push(out, "_1200x800.jpg");
        }
        Kind::Svg => {
            push(out, "/img/icons/");
            push(out, ICONS[id as usize]);
            push(out, ".svg");
        }
        Kind::Woff2 => {
            push(out, "/fonts/");
            push(out, FONTS[id as usize]);
            push(out, ".woff2");
        }
        Kind::Ico => push(out, "/favicon.ico"),
        Kind::Home => out.push(b'/'),
        Kind::Model => {
            push(out, "/models/");
            push_model(d, id, out);
        }
        Kind::Download => {
            push(out, "/models/");
            push_model(d, id, out);
            push(out, "/download");
        }
        Kind::ModelFile => {
            push(out, "/models/");
            push_model(d, id / MODEL_FILES.len() as u64, out);
            push(out, "/files/");
            push(out, MODEL_FILES[id as usize % MODEL_FILES.len()]);
        }
        Kind::Search => push(out, "/search"),
        Kind::Api => {
            push(out, "/api/v1/items/");
            push_u64(id, out);
        }
        Kind::Page => push(out, PAGES[id as usize]),
    }
}

pub(super) fn push_referer(
    d: &Data,
    rng: &mut Rng,
    req: &Request,
    bot: bool,
    host: &str,
    out: &mut Vec<u8>,
) {
    let roll = rng.below(100);
    let own_page = match req.kind {
        _ if bot => false,
        k if k.is_asset() => roll < 90,
        Kind::Api => roll < 70,
        _ if roll < 45 => false,
        _ if roll < 75 => {
            push(out, d.referer.pick(rng, EXTERNAL_REFERERS));
            return;
        }
        _ => true,
    };
    if !own_page {
        out.push(b'-');
        return;
    }
    push(out, "https://");
    push(out, host);
    match rng.below(4) {
        0 => out.push(b'/'),
        1 => {
            push(out, "/search?q=");
            push(out, d.search.pick(rng, SEARCH_TERMS));
        }
        _ => {
            push(out, "/models/");
            push_model(d, d.models.sample(rng) as u64, out);
        }
    }
}

pub(super) fn push_query(d: &Data, rng: &mut Rng, req: &Request, out: &mut Vec<u8>) {
    let roll = rng.below(100);
    match req.kind {
        Kind::Search => {
            push(out, "q=");
            push(out, SEARCH_TERMS[req.id as usize]);
            if roll < 30 {
                push(out, "&page=");
                push_u64(2 + rng.below(4), out);
            }
        }
        Kind::Api if roll < 40 => push(out, API_QUERIES[rng.index(API_QUERIES.len())]),
        k if k.is_asset() && rng.chance(DEFAULT_ASSET_QUERY) => {
            push(out, "v=");
            push_hex_of(d.builds[0], 8, out);
        }
        Kind::Home | Kind::Model | Kind::Page if roll < 15 => {
            push(out, d.page_query.pick(rng, PAGE_QUERIES));
        }
        _ => out.push(b'-'),
    }
}
