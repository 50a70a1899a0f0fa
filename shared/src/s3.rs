//! S3 access for every tool: `s3://` URIs, listing, downloads and uploads.
//!
//! The AWS SDK for Rust does the signing and the credential chain (environment, `~/.aws`
//! profiles, SSO, credential_process, web identity, ECS and EC2 instance roles), as AWS's own
//! tools do. The SDK is async; this module owns one small tokio runtime (two I/O threads) and
//! offers blocking calls, so the tools' CPU threads stay plain threads.
//!
//! Retries are ours, not the SDK's (its retry layer is turned off), so that every retry is
//! counted (`retries`) and a body cut short is resumed instead of fetched again: 5xx answers,
//! SlowDown and other throttling, timeouts, connection failures and resets, and bodies shorter
//! than their Content-Length are retried up to `--retries` times with exponential backoff and
//! jitter. A resumed download asks for `Range: bytes=<delivered>-` with `If-Match: <etag>`, so
//! the bytes handed on are exactly the object's, or the read fails if the object changed.
//!
//! Messages name the object and the S3 error code; credentials never appear in them.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::counters::Counter;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may wait for its response headers or for the next piece of a body.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// First backoff step and the cap of the exponential backoff.
const BACKOFF_BASE: Duration = Duration::from_millis(50);
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// S3 settings shared by every tool (flattened into the common input flags).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "S3 options")]
pub struct S3Args {
    /// S3 endpoint of an S3-compatible store (MinIO, Ceph, a test server), also taken from
    /// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3; buckets are then addressed path-style.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// AWS region [default: AWS_REGION, AWS_DEFAULT_REGION or the profile's, else us-east-1].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Send unsigned S3 requests (public buckets); no credentials are looked up.
    #[arg(long)]
    pub no_sign_request: bool,

    /// Retries of an S3 request that failed transiently (5xx, SlowDown, timeout, reset
    /// connection, body cut short), with exponential backoff and jitter.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub retries: u32,

    /// S3 objects downloaded at once, ahead of the parsing threads.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub fetch_threads: u32,

    /// Bytes of S3 objects downloaded ahead and held in memory, at most (objects larger than
    /// SIZE / --fetch-threads that do not fit are streamed when their turn comes).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_fetch_buffer)]
    pub fetch_buffer: u64,
}

/// `--fetch-buffer`: bounded, so that the buffer's sums cannot overflow (1T is more memory
/// than a machine this runs on has; 0 streams every object).
fn parse_fetch_buffer(s: &str) -> Result<u64, String> {
    let n = crate::size::parse_size(s)?;
    if n > 1 << 40 {
        return Err("fetch buffer must be at most 1T".into());
    }
    Ok(n)
}

impl Default for S3Args {
    fn default() -> Self {
        S3Args {
            endpoint_url: None,
            region: None,
            no_sign_request: false,
            retries: 6,
            fetch_threads: 16,
            fetch_buffer: 64 << 20,
        }
    }
}

/// An S3 location, `s3://bucket/key` (the key may be a prefix, or empty).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

impl S3Uri {
    /// Parses `s3://bucket[/key]`; `None` for anything else.
    pub fn parse(text: &str) -> Option<S3Uri> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Uri {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// Whether the URI names a prefix to list (`s3://bucket/` or `s3://bucket/dir/`).
    pub fn is_prefix(&self) -> bool {
        self.key.is_empty() || self.key.ends_with('/')
    }
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// One listed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// RFC 3339, UTC (`2017-01-15T13:05:10Z`).
    pub last_modified: Option<String>,
    /// The ETag without its quotes.
    pub etag: Option<String>,
}

/// What one listing returned: objects (in key order) and, with a delimiter, common prefixes.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<ObjectInfo>,
    pub prefixes: Vec<String>,
}

/// Counters of S3 work, published in `--stats` by the tools that use S3.
#[derive(Default)]
pub struct S3Stats {
    pub retries: Counter,
    pub requests: Counter,
    pub bytes_downloaded: Counter,
    pub bytes_uploaded: Counter,
}

/// The process-wide S3 counters (they exist even before a client does).
pub fn stats() -> &'static S3Stats {
    static STATS: OnceLock<S3Stats> = OnceLock::new();
    STATS.get_or_init(S3Stats::default)
}

static SETTINGS: Mutex<Option<S3Args>> = Mutex::new(None);
static CLIENT: OnceLock<Result<S3, String>> = OnceLock::new();

/// Sets the settings the client is built from; call before the first S3 request (later
/// calls after the client exists have no effect).
pub fn configure(args: &S3Args) {
    *SETTINGS.lock().unwrap_or_else(|e| e.into_inner()) = Some(args.clone());
}

/// The settings in force (the defaults when none were configured).
pub fn settings() -> S3Args {
    SETTINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// The shared client, built on first use from [`configure`]'s settings.
pub fn client() -> anyhow::Result<&'static S3> {
    match CLIENT.get_or_init(|| S3::new(settings()).map_err(|e| format!("{e:#}"))) {
        Ok(s3) => Ok(s3),
        Err(msg) => Err(anyhow::anyhow!("setting up S3: {msg}")),
    }
}

/// The S3 client with its runtime.
pub struct S3 {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    settings: S3Args,
}

/// A request that failed: why, and whether trying again may help.
#[derive(Debug)]
pub struct Failure {
    pub retryable: bool,
    pub message: String,
}

impl Failure {
    fn new(retryable: bool, message: impl Into<String>) -> Failure {
        Failure {
            retryable,
            message: message.into(),
        }
    }

    /// Classifies an SDK error: throttling, 5xx and transport trouble are transient.
    fn from_sdk<E>(err: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match err {
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let code = ctx.err().code().unwrap_or("");
                let transient = status >= 500
                    || status == 429
                    || matches!(
                        code,
                        "SlowDown"
                            | "Throttling"
                            | "ThrottlingException"
                            | "RequestTimeout"
                            | "RequestTimeTooSkewed"
                            | "InternalError"
                            | "ServiceUnavailable"
                    );
                let message = match (code, ctx.err().message()) {
                    ("", _) => format!("HTTP {status} {}", http_reason(status)),
                    (code, Some(msg)) if !msg.is_empty() => {
                        format!("{code}: {msg} (HTTP {status})")
                    }
                    (code, _) => format!("{code} (HTTP {status})"),
                };
                Failure::new(transient, message)
            }
            SdkError::TimeoutError(_) => Failure::new(true, "request timed out"),
            SdkError::DispatchFailure(f) if f.is_user() => Failure::new(false, one_line(err)),
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                Failure::new(true, one_line(err))
            }
            _ => Failure::new(false, one_line(err)),
        }
    }
}

/// An error and its causes as one line, `outer: inner: root` (the SDK's own context display
/// adds a debug dump of the whole chain, unreadable on a terminal).
fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        let part = e.to_string();
        // Some layers repeat their cause's text; say it once.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

fn http_reason(status: u16) -> &'static str {
    match status {
        301 => "Moved Permanently (wrong --region?)",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        412 => "Precondition Failed",
        _ => "",
    }
}

/// How a download ended.
enum GetEnd {
    Done,
    /// The sink declined the object (prefetch: it does not fit the buffer).
    Declined,
    /// The reader went away.
    Abandoned,
}

/// Where a download's bytes go.
pub(crate) enum Sink {
    /// Into memory, if `admit(content_length)` agrees when the headers arrive.
    Memory {
        buf: Vec<u8>,
        admit: Box<dyn FnMut(u64) -> bool + Send>,
    },
    /// Piece by piece to a blocking reader.
    Channel(mpsc::Sender<Piece>),
}

/// What a streaming download sends its reader.
pub(crate) enum Piece {
    Data(Bytes),
    End,
    Failed(io::Error),
}

impl Sink {
    fn begin(&mut self, len: u64) -> bool {
        match self {
            Sink::Memory { buf, admit } => {
                if !admit(len) {
                    return false;
                }
                buf.reserve_exact(len as usize);
                true
            }
            Sink::Channel(_) => true,
        }
    }

    async fn push(&mut self, data: Bytes) -> bool {
        match self {
            Sink::Memory { buf, .. } => {
                buf.extend_from_slice(&data);
                true
            }
            Sink::Channel(tx) => tx.send(Piece::Data(data)).await.is_ok(),
        }
    }
}

impl S3 {
    fn new(settings: S3Args) -> anyhow::Result<S3> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("onebox-s3")
            .enable_all()
            .build()?;
        let sdk = rt.block_on(async {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .retry_config(RetryConfig::disabled())
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(CONNECT_TIMEOUT)
                        .read_timeout(READ_TIMEOUT)
                        .build(),
                );
            if let Some(region) = &settings.region {
                loader = loader.region(Region::new(region.clone()));
            }
            if let Some(url) = &settings.endpoint_url {
                loader = loader.endpoint_url(url.clone());
            }
            if settings.no_sign_request {
                loader = loader.no_credentials();
            }
            loader.load().await
        });
        let mut config = aws_sdk_s3::config::Builder::from(&sdk);
        if sdk.region().is_none() {
            config = config.region(Region::new("us-east-1"));
        }
        // Checksums only where S3 requires them: the newer default (a CRC trailer on every
        // upload, in aws-chunked encoding) is not understood by many S3-compatible stores,
        // and a whole-object checksum cannot check the ranged GET that resumes a cut body
        // (which the length check and If-Match on the ETag guard instead).
        config = config
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            );
        if sdk.endpoint_url().is_some() {
            // S3-compatible stores rarely have wildcard DNS for virtual-hosted buckets.
            config = config.force_path_style(true);
        }
        Ok(S3 {
            rt,
            client: aws_sdk_s3::Client::from_conf(config.build()),
            settings,
        })
    }

    /// Runs a future on the S3 runtime and waits for it (from a plain thread).
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    pub fn settings(&self) -> &S3Args {
        &self.settings
    }

    pub(crate) fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(fut)
    }

    /// Waits before retry number `attempt` (1-based): exponential, capped, half jittered.
    async fn backoff(&self, attempt: u32) {
        stats().retries.add(1);
        let step = BACKOFF_BASE
            .saturating_mul(1 << attempt.min(16))
            .min(BACKOFF_CAP);
        let half = step / 2;
        let jitter = half.mul_f64(random_fraction());
        tokio::time::sleep(half + jitter).await;
    }

    /// Runs a request with retries; `what` names it in the final error.
    async fn with_retries<T, E, F, Fut>(&self, mut op: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut attempt = 0;
        loop {
            stats().requests.add(1);
            let result = match tokio::time::timeout(READ_TIMEOUT * 2, op()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => Failure::from_sdk(&e),
                Err(_) => Failure::new(true, "request timed out"),
            };
            if !result.retryable || attempt >= self.settings.retries {
                return Err(gave_up(result, attempt));
            }
            attempt += 1;
            self.backoff(attempt).await;
        }
    }

    /// One page of a listing.
    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        token: Option<String>,
    ) -> Result<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output, Failure> {
        self.with_retries(|| {
            self.client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_string))
                .set_continuation_token(token.clone())
                .send()
        })
        .await
    }

    /// Lists every object under `prefix` (all pages), and the common prefixes when a
    /// delimiter is given.
    pub async fn list_async(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<Listing, Failure> {
        let mut listing = Listing::default();
        let mut token = None;
        loop {
            let page = self.list_page(bucket, prefix, delimiter, token).await?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                listing.objects.push(ObjectInfo {
                    key: key.to_string(),
                    size: obj.size().unwrap_or(0).max(0) as u64,
                    last_modified: obj
                        .last_modified()
                        .and_then(|t| t.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok()),
                    etag: obj.e_tag().map(|e| e.trim_matches('"').to_string()),
                });
            }
            listing.prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(listing),
            }
        }
    }

    /// Lists a prefix (blocking); errors name the prefix.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> anyhow::Result<Listing> {
        self.block_on(self.list_async(bucket, prefix, delimiter))
            .map_err(|f| anyhow::anyhow!("s3://{bucket}/{prefix}: {}", f.message))
    }

    /// Lists several prefixes, up to `--fetch-threads` at once; results in the given order.
    pub fn list_many(&self, bucket: &str, prefixes: &[String]) -> anyhow::Result<Vec<Listing>> {
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(
            self.settings.fetch_threads as usize,
        ));
        let this: &'static S3 = client()?;
        let handles: Vec<_> = prefixes
            .iter()
            .map(|prefix| {
                let (bucket, prefix, limit) = (bucket.to_string(), prefix.clone(), limit.clone());
                self.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    this.list_async(&bucket, &prefix, None)
                        .await
                        .map_err(|f| format!("s3://{bucket}/{prefix}: {}", f.message))
                })
            })
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            match self.block_on(handle) {
                Ok(Ok(listing)) => out.push(listing),
                Ok(Err(msg)) => anyhow::bail!("{msg}"),
                Err(e) => anyhow::bail!("listing task failed: {e}"),
            }
        }
        Ok(out)
    }

    /// Downloads an object into `sink`, retrying and resuming as the module docs say.
    async fn get(&self, bucket: &str, key: &str, sink: &mut Sink) -> Result<GetEnd, Failure> {
        let mut delivered: u64 = 0;
        let mut total: Option<u64> = None;
        let mut etag: Option<String> = None;
        let mut attempt: u32 = 0;
        loop {
            let progress_before = delivered;
            let failure = match self
                .get_attempt(bucket, key, sink, &mut delivered, &mut total, &mut etag)
                .await
            {
                Ok(end) => return Ok(end),
                Err(f) => f,
            };
            if delivered > progress_before {
                attempt = 0; // progress was made: the retry budget starts again
            }
            if !failure.retryable || attempt >= self.settings.retries {
                return Err(gave_up(failure, attempt));
            }
            attempt += 1;
            self.backoff(attempt).await;
        }
    }

    /// One GET request: from `delivered` on when resuming.
    async fn get_attempt(
        &self,
        bucket: &str,
        key: &str,
        sink: &mut Sink,
        delivered: &mut u64,
        total: &mut Option<u64>,
        etag: &mut Option<String>,
    ) -> Result<GetEnd, Failure> {
        let mut req = self.client.get_object().bucket(bucket).key(key);
        if *delivered > 0 {
            req = req
                .range(format!("bytes={delivered}-"))
                .set_if_match(etag.clone());
        }
        stats().requests.add(1);
        let resp = match tokio::time::timeout(READ_TIMEOUT, req.send()).await {
            Err(_) => return Err(Failure::new(true, "request timed out")),
            Ok(Err(e)) => {
                let f = Failure::from_sdk(&e);
                if f.message.contains("HTTP 412") || f.message.starts_with("PreconditionFailed") {
                    return Err(Failure::new(
                        false,
                        "object changed while it was being read",
                    ));
                }
                return Err(f);
            }
            Ok(Ok(resp)) => resp,
        };
        // A server that ignores Range sends the whole object again: skip what we have.
        let mut skip = 0u64;
        if *delivered == 0 {
            let len = resp.content_length().unwrap_or(0).max(0) as u64;
            *total = resp.content_length().map(|n| n.max(0) as u64);
            *etag = resp.e_tag().map(str::to_string);
            if !sink.begin(len) {
                return Ok(GetEnd::Declined);
            }
        } else {
            let expected = format!("bytes {delivered}-");
            if !resp
                .content_range()
                .is_some_and(|r| r.starts_with(&expected))
            {
                skip = *delivered;
            }
        }
        let mut body = resp.body;
        loop {
            let next = match tokio::time::timeout(READ_TIMEOUT, body.next()).await {
                Err(_) => return Err(Failure::new(true, "timed out reading the body")),
                Ok(next) => next,
            };
            match next {
                None => break,
                Some(Err(e)) => {
                    return Err(Failure::new(
                        true,
                        format!("body cut short: {}", one_line(&e)),
                    ))
                }
                Some(Ok(mut data)) => {
                    if skip > 0 {
                        let n = skip.min(data.len() as u64);
                        skip -= n;
                        let _ = data.split_to(n as usize);
                        if data.is_empty() {
                            continue;
                        }
                    }
                    *delivered += data.len() as u64;
                    stats().bytes_downloaded.add(data.len() as u64);
                    if !sink.push(data).await {
                        return Ok(GetEnd::Abandoned);
                    }
                }
            }
        }
        match *total {
            Some(t) if *delivered < t => Err(Failure::new(
                true,
                format!("body cut short ({delivered} of {t} bytes)"),
            )),
            _ => Ok(GetEnd::Done),
        }
    }

    /// Downloads a whole object into memory if `admit(size)` agrees; `Ok(None)` if declined.
    pub(crate) async fn get_to_memory(
        &self,
        bucket: &str,
        key: &str,
        admit: Box<dyn FnMut(u64) -> bool + Send>,
    ) -> Result<Option<Vec<u8>>, Failure> {
        let mut sink = Sink::Memory {
            buf: Vec::new(),
            admit,
        };
        match self.get(bucket, key, &mut sink).await? {
            GetEnd::Done => match sink {
                Sink::Memory { buf, .. } => Ok(Some(buf)),
                Sink::Channel(_) => unreachable!("memory sink"),
            },
            GetEnd::Declined | GetEnd::Abandoned => Ok(None),
        }
    }

    /// Streams an object to a blocking reader (the pieces come through a small channel).
    pub fn open_stream(&self, bucket: &str, key: &str) -> StreamReader {
        let (tx, rx) = mpsc::channel(8);
        let (bucket, key) = (bucket.to_string(), key.to_string());
        let this: &'static S3 = match client() {
            Ok(s3) => s3,
            Err(e) => {
                return StreamReader::failed(io::Error::other(format!("{e:#}")));
            }
        };
        self.spawn(async move {
            let mut sink = Sink::Channel(tx.clone());
            let last = match this.get(&bucket, &key, &mut sink).await {
                Ok(GetEnd::Done) => Piece::End,
                Ok(_) => return,
                Err(f) => Piece::Failed(io::Error::other(f.message)),
            };
            let _ = tx.send(last).await;
        });
        StreamReader {
            rx: Some(rx),
            current: Bytes::new(),
            error: None,
        }
    }

    /// Uploads a local file to `bucket/key`, with retries.
    pub fn put_file(&self, path: &Path, bucket: &str, key: &str) -> anyhow::Result<()> {
        let size = std::fs::metadata(path)?.len();
        self.block_on(async {
            self.with_retries(|| async {
                let body = ByteStream::from_path(path)
                    .await
                    .map_err(|e| SdkError::construction_failure(io::Error::other(e.to_string())))?;
                self.client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body)
                    .send()
                    .await
            })
            .await
        })
        .map_err(|f| anyhow::anyhow!("uploading to s3://{bucket}/{key}: {}", f.message))?;
        stats().bytes_uploaded.add(size);
        Ok(())
    }
}

fn gave_up(failure: Failure, retries: u32) -> Failure {
    if retries == 0 {
        return failure;
    }
    Failure {
        retryable: false,
        message: format!("{} (gave up after {retries} retries)", failure.message),
    }
}

/// A number in [0, 1) for backoff jitter (xorshift over the clock and a sequence number).
fn random_fraction() -> f64 {
    static SEQ: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mut x = SEQ.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ nanos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A blocking reader over a streaming download.
pub struct StreamReader {
    rx: Option<mpsc::Receiver<Piece>>,
    current: Bytes,
    error: Option<io::Error>,
}

impl StreamReader {
    fn failed(err: io::Error) -> StreamReader {
        StreamReader {
            rx: None,
            current: Bytes::new(),
            error: Some(err),
        }
    }
}

impl io::Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if let Some(err) = self.error.take() {
                return Err(err);
            }
            let Some(rx) = self.rx.as_mut() else {
                return Ok(0);
            };
            match rx.blocking_recv() {
                Some(Piece::Data(data)) => self.current = data,
                Some(Piece::End) => {
                    self.rx = None;
                    return Ok(0);
                }
                Some(Piece::Failed(err)) => {
                    self.rx = None;
                    return Err(err);
                }
                None => {
                    self.rx = None;
                    return Err(io::Error::other("download stopped unexpectedly"));
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse() {
        let u = S3Uri::parse("s3://bucket/a/b.gz").unwrap();
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("bucket", "a/b.gz"));
        assert!(!u.is_prefix());
        assert!(S3Uri::parse("s3://bucket").unwrap().is_prefix());
        assert!(S3Uri::parse("s3://bucket/logs/").unwrap().is_prefix());
        assert_eq!(S3Uri::parse("s3://b/k").unwrap().to_string(), "s3://b/k");
        assert!(S3Uri::parse("s3:///key").is_none());
        assert!(S3Uri::parse("/local/path").is_none());
    }

    #[test]
    fn errors_are_told_with_their_causes_on_one_line() {
        let root = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = std::io::Error::other(Wrapped("connect failed", root));
        assert_eq!(one_line(&outer), "connect failed: refused");
    }

    /// An error with a message of its own and a cause.
    #[derive(Debug)]
    struct Wrapped(&'static str, std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn fetch_buffer_is_bounded() {
        assert_eq!(parse_fetch_buffer("0"), Ok(0));
        assert_eq!(parse_fetch_buffer("1T"), Ok(1 << 40));
        for big in ["1.5T", "1e30T", "99999999999999999999999"] {
            assert!(
                parse_fetch_buffer(big).unwrap_err().contains("at most 1T"),
                "{big}"
            );
        }
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..1000 {
            let f = random_fraction();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
