//! Named atomic counters, and the three ways they are published.
//!
//! * `--stats FILE|-`: one JSON object with every counter, written at exit.
//! * `--progress`: a live line on stderr, drawn only when stderr is a terminal.
//! * `--metrics-addr ADDR`: Prometheus text at `/metrics` while the job runs.
//!
//! Workers add to counters once per block, not once per line, so the atomics stay off the
//! profile even with many threads.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::size::human_bytes;

/// One named counter; cheap to clone and to add to from any thread.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    #[inline]
    pub fn add(&self, n: u64) {
        if n != 0 {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters every tool keeps; tools add their own by name.
pub struct Counters {
    tool: &'static str,
    started: Instant,
    named: Mutex<BTreeMap<String, Counter>>,
    pub files: Counter,
    pub files_failed: Counter,
    pub bytes_in: Counter,
    pub lines_in: Counter,
    pub records_out: Counter,
    pub skipped_comment: Counter,
    pub skipped_blank: Counter,
}

impl Counters {
    pub fn new(tool: &'static str) -> Arc<Counters> {
        let named = Mutex::new(BTreeMap::new());
        let mut c = Counters {
            tool,
            started: Instant::now(),
            named,
            files: Counter::default(),
            files_failed: Counter::default(),
            bytes_in: Counter::default(),
            lines_in: Counter::default(),
            records_out: Counter::default(),
            skipped_comment: Counter::default(),
            skipped_blank: Counter::default(),
        };
        c.files = c.counter("files");
        c.files_failed = c.counter("files_failed");
        c.bytes_in = c.counter("bytes_in");
        c.lines_in = c.counter("lines_in");
        c.records_out = c.counter("records_out");
        c.skipped_comment = c.counter("skipped_comment");
        c.skipped_blank = c.counter("skipped_blank");
        Arc::new(c)
    }

    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// The counter called `name`, created at zero on first use.
    pub fn counter(&self, name: &str) -> Counter {
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        named.entry(name.to_string()).or_default().clone()
    }

    /// Publishes an existing counter under `name` (e.g. the process-wide S3 `retries`).
    pub fn adopt(&self, name: &str, counter: Counter) {
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        named.insert(name.to_string(), counter);
    }

    /// Adds to a counter by name (a map look-up: for per-block, not per-line, use).
    pub fn add(&self, name: &str, n: u64) {
        if n != 0 {
            self.counter(name).add(n);
        }
    }

    /// All counters, sorted by name.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        named.iter().map(|(k, v)| (k.clone(), v.get())).collect()
    }

    /// Sum of the counters whose names start with `prefix` (e.g. `rejected_`).
    pub fn sum_prefix(&self, prefix: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The `--stats` object: every counter plus `elapsed_secs`.
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        for (k, v) in self.snapshot() {
            map.insert(k, serde_json::Value::from(v));
        }
        let secs = (self.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        map.insert("elapsed_secs".into(), serde_json::Value::from(secs));
        serde_json::Value::Object(map).to_string()
    }

    /// Prometheus text exposition of every counter.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        for (k, v) in self.snapshot() {
            let name = format!("onebox_{k}_total");
            out.push_str(&format!("# TYPE {name} counter\n"));
            out.push_str(&format!("{name}{{tool=\"{}\"}} {v}\n", self.tool));
        }
        out.push_str("# TYPE onebox_elapsed_seconds gauge\n");
        out.push_str(&format!(
            "onebox_elapsed_seconds{{tool=\"{}\"}} {:.3}\n",
            self.tool,
            self.elapsed().as_secs_f64()
        ));
        out
    }

    /// The live progress line.
    pub fn progress_line(&self) -> String {
        let secs = self.elapsed().as_secs_f64().max(1e-3);
        let bytes = self.bytes_in.get();
        let rejected = self.sum_prefix("rejected_");
        format!(
            "{}: {} files, {} in, {} lines, {} records out, {} rejected, {}/s",
            self.tool,
            self.files.get(),
            human_bytes(bytes),
            self.lines_in.get(),
            self.records_out.get(),
            rejected,
            human_bytes((bytes as f64 / secs) as u64)
        )
    }
}

/// Background publishers (progress line, metrics server); stopped when dropped.
pub struct Publishers {
    stop: Arc<AtomicBool>,
    progress: Option<thread::JoinHandle<()>>,
}

impl Publishers {
    /// Starts the progress line (if asked for and stderr is a terminal) and the metrics server
    /// (if an address is given). Binding the address is checked here, before any input is read.
    pub fn start(
        counters: &Arc<Counters>,
        progress: bool,
        metrics_addr: Option<&str>,
    ) -> anyhow::Result<Publishers> {
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(addr) = metrics_addr {
            serve_metrics(counters.clone(), addr)?;
        }
        let progress = if progress && std::io::stderr().is_terminal() {
            let (counters, stop) = (counters.clone(), stop.clone());
            Some(thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(250));
                    let _ = write!(std::io::stderr(), "\r\x1b[K{}", counters.progress_line());
                }
                let _ = writeln!(std::io::stderr(), "\r\x1b[K{}", counters.progress_line());
            }))
        } else {
            None
        };
        Ok(Publishers { stop, progress })
    }
}

impl Drop for Publishers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.progress.take() {
            let _ = h.join();
        }
    }
}

/// Serves `/metrics` on `addr` from a background thread for the life of the process.
///
/// A bare port (`9464`) binds loopback: a pipeline tool must not open a port to the network
/// unless told to with an explicit address. Port 0 picks a free port, announced on stderr.
fn serve_metrics(counters: Arc<Counters>, addr: &str) -> anyhow::Result<SocketAddr> {
    let addr = if addr.parse::<u16>().is_ok() {
        format!("127.0.0.1:{addr}")
    } else {
        addr.to_string()
    };
    let listener = TcpListener::bind(&addr)
        .map_err(|e| anyhow::anyhow!("--metrics-addr {addr}: cannot listen: {e}"))?;
    let local = listener.local_addr()?;
    if addr.ends_with(":0") {
        crate::cli::note(&format!("metrics at http://{local}/metrics"));
    }
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &counters);
        }
    });
    Ok(local)
}

/// Answers one HTTP request: `/metrics` gets the counters, anything else a 404.
fn answer(mut stream: TcpStream, counters: &Counters) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut request = [0u8; 2048];
    let n = stream.read(&mut request)?;
    let first_line = request[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
    let path = first_line.split(|&b| b == b' ').nth(1).unwrap_or(b"/");
    let (status, body) = if path == b"/metrics" || path.starts_with(b"/metrics?") {
        ("200 OK", counters.to_prometheus())
    } else {
        ("404 Not Found", "try /metrics\n".to_string())
    };
    write!(
        stream,
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_and_serialise_sorted() {
        let c = Counters::new("t");
        c.lines_in.add(3);
        c.add("rejected_bad_json", 2);
        c.add("rejected_field_count", 1);
        assert_eq!(c.sum_prefix("rejected_"), 3);
        let v: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(v["lines_in"], 3);
        assert_eq!(v["rejected_bad_json"], 2);
        assert_eq!(v["files_failed"], 0);
        assert!(c
            .to_prometheus()
            .contains("onebox_lines_in_total{tool=\"t\"} 3\n"));
    }

    #[test]
    fn metrics_endpoint_answers_over_http() {
        let c = Counters::new("t");
        c.lines_in.add(42);
        let addr = serve_metrics(c, "127.0.0.1:0").unwrap();
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        assert!(body.starts_with("HTTP/1.0 200 OK"));
        assert!(body.contains("onebox_lines_in_total{tool=\"t\"} 42"));
    }
}
