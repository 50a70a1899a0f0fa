//! Viewers: each one keeps its address, browser and TLS setup across its requests.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::vocab::{AGENTS, CONTINENTS, HTTP_VERSIONS};
use super::{Data, HTTPS, NETWORKS, OLD_ENCODING, OUTSIDE_NETWORKS, OUTSIDE_SHARE, TLS13};
use crate::rng::{Prob, Rng};

/// A viewer: what stays the same across its requests.
pub(super) struct Client {
    pub(super) ip: IpAddr,
    /// Index into `CONTINENTS`, for picking a nearby edge.
    pub(super) continent: usize,
    pub(super) agent: usize,
    pub(super) old_encoding: bool,
    pub(super) https: bool,
    pub(super) tls13: bool,
    pub(super) cipher: u64,
    pub(super) http_version: &'static str,
}

/// The share of a script's requests that are logged: scripts come back less often than the
/// popularity of their address alone says, so one busy script does not swing an hour's mix
/// of static assets and pages.
const SCRIPT_KEPT: Prob = Prob::ratio(1, 4);

impl Data {
    /// The viewer of the next request.
    pub(super) fn viewer(&self, rng: &mut Rng) -> Client {
        loop {
            let client = self.client(self.clients.sample(rng));
            if AGENTS[client.agent].fetches_assets || rng.chance(SCRIPT_KEPT) {
                return client;
            }
        }
    }

    /// Viewer `id` is a pure function of the seed and the id, so a viewer keeps its
    /// address and browser wherever it appears.
    pub(super) fn client(&self, id: usize) -> Client {
        let mut r = Rng::derive(self.client_seed, id as u64);
        let (ip, continent) = if r.chance(OUTSIDE_SHARE) {
            (outside_address(&mut r), 0)
        } else {
            let n = self.network.sample(&mut r);
            let (base, len) = self.networks[n];
            let continent = CONTINENTS
                .iter()
                .position(|&c| c == NETWORKS[n].continent)
                .unwrap_or(0);
            (address_in(&mut r, base, len), continent)
        };
        let agent = self.agent.sample(&mut r);
        let bot = AGENTS[agent].bot;
        let tls13 = r.chance(TLS13);
        Client {
            ip,
            continent,
            agent,
            old_encoding: r.chance(OLD_ENCODING),
            https: r.chance(HTTPS),
            tls13,
            cipher: r.next_u64(),
            http_version: if bot {
                "HTTP/1.1"
            } else {
                HTTP_VERSIONS[self.http_version.sample(&mut r)]
            },
        }
    }
}

/// A random host address inside `base/len` (IPv4 hosts avoid .0 and .255).
pub(super) fn address_in(r: &mut Rng, base: IpAddr, len: u8) -> IpAddr {
    match base {
        IpAddr::V4(b) => {
            let host_bits = 32 - u32::from(len);
            let mask = if host_bits == 32 {
                u32::MAX
            } else {
                (1u32 << host_bits) - 1
            };
            let v = (u32::from(b) & !mask)
                | (r.next_u64() as u32 & mask & !0xFF)
                | (1 + r.below(254)) as u32;
            IpAddr::V4(Ipv4Addr::from(v))
        }
        IpAddr::V6(b) => {
            let host_bits = 128 - u32::from(len);
            let mask = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            // A /48-/64 style layout: a small subnet number and a random interface id.
            let subnet = u128::from(r.below(4096)) << 64;
            let iid = u128::from(r.next_u64());
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(b) & !mask) | ((subnet | iid) & mask),
            ))
        }
    }
}

/// An address from the documentation ranges in `OUTSIDE_NETWORKS` (not 10/8).
pub(super) fn outside_address(r: &mut Rng) -> IpAddr {
    let cidr = OUTSIDE_NETWORKS[r.index(4)];
    let (addr, len) = cidr.split_once('/').expect("cidr");
    address_in(
        r,
        addr.parse().expect("cidr address"),
        len.parse().expect("cidr length"),
    )
}

pub(super) fn push_ip(ip: IpAddr, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = itoa::Buffer::new();
            for (i, octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(b.format(*octet).as_bytes());
            }
        }
        // std's Display is the RFC 5952 canonical form (lowercase, `::` compression).
        IpAddr::V6(v6) => write!(out, "{v6}").expect("write to Vec"),
    }
}
