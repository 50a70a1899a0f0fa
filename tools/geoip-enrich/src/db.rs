//! Opening MaxMind databases, and `--info`.
//!
//! A database is memory-mapped (not read into memory) and shared by every worker thread; the
//! page cache holds it once however many threads or processes use it. Everything that can be
//! wrong with the file (missing, truncated, not an mmdb, a broken search tree or data
//! section) is found here, before any input is read, and reported in one line naming it.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{Mmap, Reader};

/// One opened database.
pub struct Db {
    pub path: PathBuf,
    pub reader: Reader<Mmap>,
}

impl Db {
    /// Opens and checks `path`. `verify` walks the whole search tree and data section
    /// (`maxminddb`'s `verify`), which costs a fraction of a second on a full City database.
    pub fn open(path: &Path, verify: bool) -> anyhow::Result<Db> {
        Db::open_for("--db", path, verify)
    }

    /// [`Db::open`] of a file given with option `flag`, which its errors name.
    pub fn open_for(flag: &str, path: &Path, verify: bool) -> anyhow::Result<Db> {
        let name = format!("{flag} {}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if !meta.is_file() {
            anyhow::bail!("{name}: not a regular file");
        }
        // SAFETY: the file must not be changed in place while mapped. Database updaters
        // replace the file by renaming a new one over it, which leaves this mapping intact;
        // truncating or rewriting it in place during a run is not supported (documented in
        // --help).
        let reader = unsafe { Reader::open_mmap(path) }
            .map_err(|e| anyhow::anyhow!("{name}: not a usable MaxMind DB ({e})"))?;
        if verify {
            reader
                .verify()
                .map_err(|e| anyhow::anyhow!("{name}: corrupt MaxMind DB ({e})"))?;
        } else {
            // Even unverified, probe one lookup so an obviously broken tree fails here.
            probe(&reader).map_err(|e| anyhow::anyhow!("{name}: corrupt MaxMind DB ({e})"))?;
        }
        Ok(Db {
            path: path.to_path_buf(),
            reader,
        })
    }

    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Looks `ip` up: the data offset of its record, or `None` when the database has none.
    /// An IPv6 address in an IPv4-only database has none.
    #[inline]
    pub fn offset(&self, ip: IpAddr) -> anyhow::Result<Option<usize>> {
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(None);
        }
        match self.reader.lookup(ip) {
            Ok(r) => Ok(r.offset()),
            Err(e) => Err(anyhow::anyhow!(
                "--db {}: corrupt MaxMind DB ({e})",
                self.path.display()
            )),
        }
    }
}

fn probe(reader: &Reader<Mmap>) -> Result<(), maxminddb::MaxMindDbError> {
    for ip in [IpAddr::from([1, 1, 1, 1]), IpAddr::from([81, 2, 69, 160])] {
        let r = reader.lookup(ip)?;
        let _: Option<maxminddb::geoip2::City<'_>> = r.decode().ok().flatten();
    }
    Ok(())
}

/// `--info`: the database's metadata as `key<TAB>value` lines.
pub fn info(db: &Db) -> String {
    let m = db.reader.metadata();
    let mut s = String::new();
    let _ = writeln!(s, "file\t{}", db.path.display());
    let _ = writeln!(s, "database_type\t{}", m.database_type);
    let _ = writeln!(
        s,
        "build_epoch\t{} ({})",
        m.build_epoch,
        utc_date(m.build_epoch)
    );
    let _ = writeln!(s, "ip_version\t{}", m.ip_version);
    let _ = writeln!(s, "record_size\t{}", m.record_size);
    let _ = writeln!(s, "node_count\t{}", m.node_count);
    let _ = writeln!(
        s,
        "binary_format\t{}.{}",
        m.binary_format_major_version, m.binary_format_minor_version
    );
    let _ = writeln!(s, "languages\t{}", m.languages.join(","));
    for (lang, text) in &m.description {
        let _ = writeln!(s, "description.{lang}\t{text}");
    }
    s
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time.
fn utc_date(epoch: u64) -> String {
    let (y, m, d) = onebox::civil::civil_from_days((epoch / 86_400) as i64);
    let secs = epoch % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(1_789_706_978), "2026-09-18T04:49:38Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
    }
}
