//! The Redshift COPY manifest listing the finished files.

use std::os::unix::ffi::OsStrExt;

use crate::files::Completed;

/// `{"entries":[{"url":...,"mandatory":true,"meta":{"content_length":N}},...]}`, one entry
/// per line. With `url_prefix` an entry's URL is the prefix (a `/` added when it lacks one)
/// plus the file name; without it, the path as written. An uploaded file (`--to`) is listed
/// by its s3:// URI.
pub fn render(files: &[Completed], url_prefix: Option<&str>) -> Vec<u8> {
    let mut out = b"{\"entries\":[".to_vec();
    for (i, f) in files.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        let mut url = Vec::new();
        match url_prefix {
            _ if f.url.is_some() => {
                url.extend_from_slice(f.url.as_deref().unwrap_or("").as_bytes())
            }
            Some(prefix) => {
                url.extend_from_slice(prefix.as_bytes());
                if !prefix.ends_with('/') {
                    url.push(b'/');
                }
                let name = f.path.file_name().unwrap_or(f.path.as_os_str());
                url.extend_from_slice(name.as_bytes());
            }
            None => url.extend_from_slice(f.path.as_os_str().as_bytes()),
        }
        out.extend_from_slice(b"{\"url\":");
        onebox::json::write_string(&url, &mut out);
        out.extend_from_slice(b",\"mandatory\":true,\"meta\":{\"content_length\":");
        out.extend_from_slice(itoa::Buffer::new().format(f.bytes).as_bytes());
        out.extend_from_slice(b"}}");
    }
    out.extend_from_slice(b"\n]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn redshift_manifest() {
        let files = vec![
            Completed {
                path: PathBuf::from("out/v-000001.csv.gz"),
                bytes: 10,
                url: None,
            },
            Completed {
                path: PathBuf::from("out/v-000002.csv.gz"),
                bytes: 7,
                url: None,
            },
        ];
        let text = String::from_utf8(render(&files, Some("s3://b/load"))).unwrap();
        assert_eq!(
            text,
            "{\"entries\":[\n\
             {\"url\":\"s3://b/load/v-000001.csv.gz\",\"mandatory\":true,\"meta\":{\"content_length\":10}},\n\
             {\"url\":\"s3://b/load/v-000002.csv.gz\",\"mandatory\":true,\"meta\":{\"content_length\":7}}\n]}\n"
        );
        let local = String::from_utf8(render(&files[..1], None)).unwrap();
        assert!(local.contains("\"url\":\"out/v-000001.csv.gz\""));
        assert_eq!(render(&[], None), b"{\"entries\":[\n]}\n");
    }
}
