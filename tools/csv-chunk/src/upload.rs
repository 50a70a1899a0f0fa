//! `--to s3://bucket/prefix/`: each finished file is uploaded (with the shared client's
//! retries) as PREFIX + its file name, and then named by its s3:// URI on stdout and in the
//! manifest. The local copy is removed once uploaded, unless --keep-local.

use std::path::Path;

use anyhow::Context;
use onebox::s3::{self, S3Uri};

/// Where finished files go.
#[derive(Clone, Debug)]
pub struct Upload {
    dest: S3Uri,
    keep_local: bool,
}

impl Upload {
    /// Parses `s3://bucket[/prefix]`; a prefix not ending in `/` gets one.
    pub fn parse(text: &str, keep_local: bool) -> Result<Upload, String> {
        let mut dest = S3Uri::parse(text)
            .ok_or_else(|| format!("--to {text}: expected s3://bucket/prefix/"))?;
        if !dest.key.is_empty() && !dest.key.ends_with('/') {
            dest.key.push('/');
        }
        Ok(Upload { dest, keep_local })
    }

    /// The URI a local file is uploaded to.
    pub fn uri_for(&self, path: &Path) -> S3Uri {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        S3Uri {
            bucket: self.dest.bucket.clone(),
            key: format!("{}{name}", self.dest.key),
        }
    }

    /// Uploads a finished file; returns its URI.
    pub fn send(&self, path: &Path) -> anyhow::Result<String> {
        let uri = self.uri_for(path);
        s3::client()?.put_file(path, &uri.bucket, &uri.key)?;
        if !self.keep_local {
            std::fs::remove_file(path)
                .with_context(|| format!("removing {} after its upload", path.display()))?;
        }
        Ok(uri.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_land_under_the_prefix() {
        let up = Upload::parse("s3://b/load", false).unwrap();
        assert_eq!(
            up.uri_for(Path::new("out/v-000001.csv.gz")).to_string(),
            "s3://b/load/v-000001.csv.gz"
        );
        let root = Upload::parse("s3://b", false).unwrap();
        assert_eq!(root.uri_for(Path::new("x.csv")).to_string(), "s3://b/x.csv");
        assert!(Upload::parse("/tmp/x", false).is_err());
    }
}
