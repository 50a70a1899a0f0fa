//! Sources of input: file arguments, `-` (stdin), `--files-from` lists, directories and S3.
//!
//! Directories are walked recursively in sorted (bytewise) order so runs are repeatable.
//! `s3://bucket/key` names one object; `s3://bucket/prefix/` (ending in `/`) lists every
//! object under the prefix, in key order (see [`crate::s3`]). Whether
//! a source is gzip is decided by its first two bytes (`1f 8b`), never by its name, so stdin and
//! oddly named files work; gzip is read with `MultiGzDecoder`, which reads every member of a
//! concatenated (multi-member) file to the end and reports a truncated or corrupt one as an error.
//! A small gzip source that is about to be cut into blocks is decoded whole with libdeflate
//! instead ([`open_whole`], [`crate::gunzip`]), which is faster, and streamed as above when
//! libdeflate refuses it.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::chunk::BufferPool;
use crate::gunzip;
use crate::s3::{self, S3Uri};

/// Read-buffer size for files and stdin: large reads keep syscalls off the profile.
const READ_BUFFER: usize = 256 * 1024;

/// One input: stdin, a local file or an S3 object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    Path(PathBuf),
    S3(S3Uri),
}

impl Source {
    /// Name used in messages and reject lines (`-` for stdin).
    pub fn display_name(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::Path(p) => p.to_string_lossy().into_owned(),
            Source::S3(uri) => uri.to_string(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

/// The expanded list of sources, plus the names that could not be listed (reported as failed
/// inputs by the pipeline, after the others are done).
#[derive(Debug, Default)]
pub struct Sources {
    pub sources: Vec<Source>,
    pub errors: Vec<anyhow::Error>,
}

/// Expands file arguments and an optional `--files-from` list into sources.
///
/// No arguments and no list means stdin. `-` means stdin and is kept once. Directories are
/// replaced by the regular files under them, sorted bytewise.
pub fn collect(
    args: &[OsString],
    files_from: Option<&Path>,
    nul_separated: bool,
) -> anyhow::Result<Sources> {
    let mut names: Vec<OsString> = args.to_vec();
    let mut list_used_stdin = false;
    if let Some(list) = files_from {
        let bytes = if list.as_os_str() == "-" {
            list_used_stdin = true;
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("reading --files-from -")?;
            buf
        } else {
            fs::read(list).with_context(|| format!("reading --files-from {}", list.display()))?
        };
        names.extend(split_list(&bytes, nul_separated));
    } else if names.is_empty() {
        names.push(OsString::from("-"));
    }

    let mut out = Sources::default();
    let mut stdin_seen = false;
    for name in names {
        if name == "-" {
            if list_used_stdin {
                anyhow::bail!("'-' names stdin, which is already read by --files-from -");
            }
            if !stdin_seen {
                out.sources.push(Source::Stdin);
                stdin_seen = true;
            }
            continue;
        }
        if let Some(uri) = name.to_str().and_then(S3Uri::parse) {
            add_s3(uri, &mut out);
            continue;
        }
        let path = PathBuf::from(name);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk_dir(&path, &mut out, &mut Walked::default()),
            // A missing or unreadable file is reported when it is opened, with the other errors.
            _ => out.sources.push(Source::Path(path)),
        }
    }
    Ok(out)
}

/// Adds an S3 object, or every object under an S3 prefix (listing errors are reported as
/// failed inputs with the others).
fn add_s3(uri: S3Uri, out: &mut Sources) {
    if !uri.is_prefix() {
        out.sources.push(Source::S3(uri));
        return;
    }
    let listed = s3::client().and_then(|s3| s3.list(&uri.bucket, &uri.key, None));
    match listed {
        Ok(listing) => out.sources.extend(
            listing
                .objects
                .into_iter()
                // Zero-byte "folder" markers made by consoles are not inputs.
                .filter(|o| !o.key.ends_with('/'))
                .map(|o| {
                    Source::S3(S3Uri {
                        bucket: uri.bucket.clone(),
                        key: o.key,
                    })
                }),
        ),
        Err(e) => out.errors.push(e),
    }
}

/// Splits a file list on newlines (ignoring empty lines and a trailing `\r`) or on NULs.
fn split_list(bytes: &[u8], nul_separated: bool) -> Vec<OsString> {
    let sep = if nul_separated { b'\0' } else { b'\n' };
    bytes
        .split(|&b| b == sep)
        .map(|name| {
            if nul_separated {
                name
            } else {
                name.strip_suffix(b"\r").unwrap_or(name)
            }
        })
        .filter(|name| !name.is_empty())
        .map(|name| OsString::from_vec(name.to_vec()))
        .collect()
}

/// The directories of one walk, by device and inode: symlinks are followed, so a link to a
/// directory of the tree (or to itself) would otherwise list files twice, or forever.
#[derive(Default)]
struct Walked(std::collections::HashSet<(u64, u64)>);

impl Walked {
    /// Whether `dir` is new to this walk (and now marks it walked).
    fn first_visit(&mut self, dir: &fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.0.insert((dir.dev(), dir.ino()))
    }
}

/// Adds the regular files under `dir`, recursively, in bytewise name order; each directory
/// once (a symlink to one already walked is skipped with a note).
fn walk_dir(dir: &Path, out: &mut Sources, walked: &mut Walked) {
    match fs::metadata(dir) {
        Ok(meta) if !walked.first_visit(&meta) => {
            crate::cli::note(&format!(
                "{}: skipped: a directory this walk has read already (a symlink to it)",
                dir.display()
            ));
            return;
        }
        _ => {}
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.errors
                .push(anyhow::Error::new(e).context(dir.display().to_string()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(e) => out
                .errors
                .push(anyhow::Error::new(e).context(dir.display().to_string())),
        }
    }
    paths.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    for path in paths {
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk_dir(&path, out, walked),
            Ok(meta) if meta.is_file() => out.sources.push(Source::Path(path)),
            Ok(_) => {} // sockets, fifos and devices inside a tree are not log files
            Err(e) => out
                .errors
                .push(anyhow::Error::new(e).context(path.display().to_string())),
        }
    }
}

/// Opens a source for reading, decompressing gzip transparently.
pub fn open(source: &Source) -> io::Result<Box<dyn Read + Send>> {
    decompress_if_gzip(open_raw(source)?)
}

/// Opens a source's bytes as stored (gzip still compressed).
pub fn open_raw(source: &Source) -> io::Result<Box<dyn Read + Send>> {
    Ok(match source {
        Source::Stdin => {
            // A pipe from a writer that is not ours (zcat, say) is widened from this end.
            #[cfg(target_os = "linux")]
            crate::cli::widen_pipe(0);
            Box::new(io::stdin())
        }
        Source::Path(path) => {
            let file = fs::File::open(path)?;
            if file.metadata()?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                ));
            }
            Box::new(file)
        }
        Source::S3(uri) => {
            let s3 = s3::client().map_err(|e| io::Error::other(format!("{e:#}")))?;
            Box::new(s3.open_stream(&uri.bucket, &uri.key))
        }
    })
}

/// Opens `raw`, the bytes of `source`, the way the block readers want it: decoded whole by
/// [`open_whole`] when the source may be a small gzip file ([`may_open_whole`] with `max`),
/// streamed (decompressing gzip) otherwise, so big files are never read ahead.
pub fn open_for_blocks(
    source: &Source,
    raw: Box<dyn Read + Send>,
    max: usize,
    pool: &BufferPool,
) -> io::Result<Opened> {
    if may_open_whole(source, max) {
        open_whole(raw, max, pool)
    } else {
        Ok(Opened::Stream(decompress_if_gzip(raw)?))
    }
}

/// Whether a source may be small enough for [`open_whole`] with `max`: a local file must be at
/// most `max` bytes and, if it ends like gzip, declare at most `max` bytes in its last member's
/// size field (the whole size for the usual one-member file), so big files are streamed without
/// being read ahead. Stdin and S3 objects are read ahead up to `max` to find out.
pub fn may_open_whole(source: &Source, max: usize) -> bool {
    let Source::Path(path) = source else {
        return true;
    };
    // Looked at before it is opened again: the caller holds it open already, and a second open
    // of a FIFO whose writer has finished would wait forever. A FIFO or device is read ahead,
    // like stdin.
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        _ => return true, // an error is reported when the source is read
    }
    let Ok(file) = fs::File::open(path) else {
        return true;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return true;
    };
    let mut tail = [0u8; 4];
    use std::os::unix::fs::FileExt;
    len <= max as u64
        && (len < 4
            || file.read_exact_at(&mut tail, len - 4).is_err()
            || u32::from_le_bytes(tail) as usize <= max)
}

/// A source made ready to be cut into blocks.
pub enum Opened {
    /// Read it as it comes (decompressing gzip).
    Stream(Box<dyn Read + Send>),
    /// A small gzip source, already decoded whole into a buffer from the pool.
    Decoded(Vec<u8>),
}

/// Like [`decompress_if_gzip`], but gzip data of at most `max` bytes, compressed and
/// decoded, is decoded at once into a buffer from `pool` (libdeflate is faster than the
/// streaming decoder). Other data, and gzip that libdeflate refuses, is streamed; the latter
/// from its first byte again, so its errors come after the lines before them, as always.
pub fn open_whole(raw: Box<dyn Read + Send>, max: usize, pool: &BufferPool) -> io::Result<Opened> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, raw);
    if !starts_with_gzip_magic(&mut buffered)? {
        return Ok(Opened::Stream(Box::new(buffered)));
    }
    let mut gz = pool.get(0);
    if let Err(err) = (&mut buffered).take(max as u64 + 1).read_to_end(&mut gz) {
        // Stream what was read (read_to_end keeps it), then the error, so the lines before
        // a read error are still processed, as when the source is streamed from the start.
        let replay = io::Cursor::new(gz).chain(Failing(Some(err)));
        let from_start = BufReader::with_capacity(READ_BUFFER, replay);
        return Ok(Opened::Stream(Box::new(
            flate2::bufread::MultiGzDecoder::new(from_start),
        )));
    }
    if gz.len() <= max && gunzip::last_member_size(&gz).is_some_and(|n| n <= max) {
        let mut out = pool.get(0);
        if gunzip::gunzip_into(&gz, &mut out, max) {
            pool.put(gz);
            return Ok(Opened::Decoded(out));
        }
        pool.put(out);
    }
    let replay = io::Cursor::new(gz).chain(buffered);
    let from_start = BufReader::with_capacity(READ_BUFFER, replay);
    Ok(Opened::Stream(Box::new(
        flate2::bufread::MultiGzDecoder::new(from_start),
    )))
}

/// A reader that fails once with the error it holds (then reads as empty).
struct Failing(Option<io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

/// Whether the next bytes are the gzip magic (`1f 8b`); consumes nothing.
fn starts_with_gzip_magic(reader: &mut impl BufRead) -> io::Result<bool> {
    let head = reader.fill_buf()?;
    Ok(head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b)
}

/// The size of a local file's content once decompressed, if cheaply known: a plain file's
/// length, or a gzip file's last member's size field (exact for the usual one member under
/// 4 GiB, else too small). None for what is not a regular file (a pipe, a device). Only a
/// hint, for presizing what a whole source is loaded into.
pub fn decoded_size_hint(source: &Source) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let Source::Path(path) = source else {
        return None;
    };
    // Looked at before it is opened: opening a FIFO whose writer is gone would wait forever.
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let file = fs::File::open(path).ok()?;
    let len = meta.len();
    let mut magic = [0u8; 2];
    if len < 18 || file.read_exact_at(&mut magic, 0).is_err() || magic != [0x1f, 0x8b] {
        return Some(len);
    }
    let mut tail = [0u8; 4];
    file.read_exact_at(&mut tail, len - 4).ok()?;
    Some(u64::from(u32::from_le_bytes(tail)))
}

/// Whether a source may deliver data slowly (stdin from a pipe or terminal, not gzip): block
/// readers then hand out lines as they arrive (see `Chunker::eager`).
pub fn is_live(source: &Source) -> bool {
    match source {
        // /dev/stdin resolves to what fd 0 is; a regular file is not live.
        Source::Stdin => !fs::metadata("/dev/stdin").is_ok_and(|m| m.is_file()),
        Source::Path(_) | Source::S3(_) => false,
    }
}

/// Wraps `reader` in a multi-member gzip decoder when its first bytes are the gzip magic.
pub fn decompress_if_gzip(reader: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, reader);
    if starts_with_gzip_magic(&mut buffered)? {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(source: &Source) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        open(source)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_multi_member_gzip_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bin"); // no .gz: magic bytes decide
        let mut bytes = gzip(b"one\ntwo\n");
        bytes.extend(gzip(b"three\n"));
        fs::write(&path, bytes).unwrap();
        assert_eq!(read_all(&Source::Path(path)).unwrap(), b"one\ntwo\nthree\n");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.gz");
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let bytes = gzip(&data);
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read_all(&Source::Path(path)).is_err());
    }

    #[test]
    fn a_walk_follows_symlinks_and_reads_each_directory_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("logs");
        fs::create_dir_all(root.join("day/hour")).unwrap();
        fs::write(root.join("day/hour/a.log"), b"a\n").unwrap();
        fs::write(dir.path().join("outside.log"), b"o\n").unwrap();
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).unwrap();
        };
        link(".", "self"); // a loop
        link("day", "again"); // a second way into the tree
        link("../outside.log", "linked.log"); // a file elsewhere
        let sources = collect(&[root.clone().into_os_string()], None, false).unwrap();
        let names: Vec<String> = sources
            .sources
            .iter()
            .map(|s| match s {
                Source::Path(p) => p.strip_prefix(&root).unwrap().display().to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["again/hour/a.log", "linked.log"]);
        assert!(sources.errors.is_empty());
    }

    #[test]
    fn plain_and_empty_files_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.gz");
        fs::write(&plain, b"not gzip\n").unwrap();
        assert_eq!(read_all(&Source::Path(plain)).unwrap(), b"not gzip\n");
        let empty = dir.path().join("empty");
        fs::write(&empty, b"").unwrap();
        assert_eq!(read_all(&Source::Path(empty)).unwrap(), b"");
    }

    #[test]
    fn decoded_size_hints_come_from_the_length_or_the_gzip_trailer() {
        let dir = tempfile::tempdir().unwrap();
        let hint = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            decoded_size_hint(&Source::Path(path))
        };
        let text = b"key\tvalue\n".repeat(1000);
        assert_eq!(hint("plain.tsv", &text), Some(text.len() as u64));
        assert_eq!(hint("one.tsv.gz", &gzip(&text)), Some(text.len() as u64));
        // Two members: the last one's size (a hint, too small).
        let mut two = gzip(&text);
        two.extend(gzip(b"k\tv\n"));
        assert_eq!(hint("two.gz", &two), Some(4));
        assert_eq!(hint("empty", b""), Some(0));
        assert_eq!(
            decoded_size_hint(&Source::Path(dir.path().join("missing"))),
            None
        );
        assert_eq!(decoded_size_hint(&Source::Stdin), None);
        assert_eq!(decoded_size_hint(&Source::Path("/dev/null".into())), None);
        // A FIFO with no writer: None at once, never a wait for one.
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        assert_eq!(decoded_size_hint(&Source::Path(fifo)), None);
    }

    #[test]
    fn directories_are_walked_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("b/sub")).unwrap();
        for name in ["b/sub/z", "b/a", "c", "a"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let got = collect(&[dir.path().as_os_str().to_owned()], None, false).unwrap();
        let rel: Vec<String> = got
            .sources
            .iter()
            .map(|s| match s {
                Source::Path(p) => p.strip_prefix(dir.path()).unwrap().display().to_string(),
                _ => "-".into(),
            })
            .collect();
        assert_eq!(rel, ["a", "b/a", "b/sub/z", "c"]);
    }

    #[test]
    fn file_lists_split_on_newlines_or_nuls() {
        assert_eq!(
            split_list(b"a\r\n\nb c\n", false),
            [OsString::from("a"), OsString::from("b c")]
        );
        assert_eq!(
            split_list(b"a\nb\0c\0", true),
            [OsString::from("a\nb"), OsString::from("c")]
        );
    }

    #[test]
    fn no_arguments_means_stdin_once() {
        assert_eq!(collect(&[], None, false).unwrap().sources, [Source::Stdin]);
        let dash = [OsString::from("-"), OsString::from("-")];
        assert_eq!(
            collect(&dash, None, false).unwrap().sources,
            [Source::Stdin]
        );
    }

    /// Serves `data`, then fails (a disk or network error part-way through a source).
    struct FailsAfter(io::Cursor<Vec<u8>>);

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("device gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_in_a_small_gzip_source_comes_after_the_data_before_it() {
        let data: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let gz = gzip(&data);
        let half = FailsAfter(io::Cursor::new(gz[..gz.len() / 2].to_vec()));
        let pool = BufferPool::new(2, 1 << 20);
        let Opened::Stream(mut reader) = open_whole(Box::new(half), 1 << 20, &pool).unwrap() else {
            panic!("a failed read is streamed");
        };
        let mut got = Vec::new();
        let err = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.to_string(), "device gone");
        assert!(
            !got.is_empty() && data.starts_with(&got),
            "the data before the error"
        );
    }
}
