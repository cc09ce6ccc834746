//! Sandbox throughput and memory on loopback: small-object writes/s and gets/s over HTTP/1.1
//! keep-alive connections, and store overhead per object beyond its JSON; then the same writes
//! with a data directory, where each is journaled and fsynced before it is answered (the cost
//! of durable writes), and the time to load the journal back.
//! Run: `cargo bench --bench sandbox` (numbers go to BENCHMARKS.md). The data directory is
//! created under `$SANDBOX_BENCH_DIR`, else the system's temporary directory: put it on the
//! disk you want to measure.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use helmfire_sandbox::{Sandbox, SandboxConfig};

const CONNECTIONS: usize = 4;
const WRITES: usize = 10_000;
const GETS: usize = 40_000;
/// Durable writes wait for the disk: fewer of them keep the run short.
const DURABLE_WRITES: usize = 2_000;

/// A minimal blocking HTTP/1.1 client: enough for Content-Length responses on one connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(address: SocketAddr) -> Self {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    fn request(&mut self, method: &str, path: &str, body: &str) -> u16 {
        self.request_body(method, path, body).0
    }

    fn request_body(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).expect("write");
        self.writer.write_all(body.as_bytes()).expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let code: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status code");
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        (code, body)
    }
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split(' ').nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn object(i: usize) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-{i}","labels":{{"app":"bench"}}}},"data":{{"key":"value-{i}"}}}}"#
    )
}

fn parallel(address: SocketAddr, total: usize, op: impl Fn(&mut Client, usize) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..CONNECTIONS {
            let op = &op;
            scope.spawn(move || {
                let mut client = Client::connect(address);
                for i in (c..total).step_by(CONNECTIONS) {
                    op(&mut client, i);
                }
            });
        }
    });
    start.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig::default()))
        .expect("sandbox");
    let address = sandbox.address();
    let before = rss_bytes();

    let took = parallel(address, WRITES, |client, i| {
        let code = client.request("POST", "/api/v1/namespaces/default/configmaps", &object(i));
        assert_eq!(code, 201);
    });
    let writes_per_second = WRITES as f64 / took.as_secs_f64();
    let after = rss_bytes();

    let took = parallel(address, GETS, |client, i| {
        let code = client.request(
            "GET",
            &format!("/api/v1/namespaces/default/configmaps/cm-{}", i % WRITES),
            "",
        );
        assert_eq!(code, 200);
    });
    let gets_per_second = GETS as f64 / took.as_secs_f64();

    let start = Instant::now();
    let mut client = Client::connect(address);
    let lists = 20;
    for _ in 0..lists {
        client.request(
            "GET",
            "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dbench",
            "",
        );
    }
    let list_ms = start.elapsed().as_secs_f64() * 1000.0 / lists as f64;
    // The stored JSON is what a list returns, item by item.
    let (_, list) = client.request_body("GET", "/api/v1/namespaces/default/configmaps", "");
    let json_bytes = list.len();

    runtime.block_on(sandbox.shutdown()).expect("shutdown");

    // Durable: the same POSTs against a sandbox with a data directory.
    let parent = std::env::var_os("SANDBOX_BENCH_DIR").map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let data = tempfile::tempdir_in(parent).expect("data dir");
    let config = SandboxConfig {
        data_dir: Some(data.path().to_path_buf()),
        ..SandboxConfig::default()
    };
    let durable = runtime
        .block_on(Sandbox::start(config.clone()))
        .expect("durable sandbox");
    let took = parallel(durable.address(), DURABLE_WRITES, |client, i| {
        let code = client.request("POST", "/api/v1/namespaces/default/configmaps", &object(i));
        assert_eq!(code, 201);
    });
    let durable_per_second = DURABLE_WRITES as f64 / took.as_secs_f64();
    let journal = std::fs::metadata(data.path().join("journal.ndjson")).map_or(0, |m| m.len());
    // Killed here (no shutdown snapshot): the next start replays the journal.
    drop(durable);
    let started = Instant::now();
    let reloaded = runtime.block_on(Sandbox::start(config)).expect("reload");
    let reload_ms = started.elapsed().as_secs_f64() * 1000.0;
    runtime.block_on(reloaded.shutdown()).expect("shutdown");

    let overhead = (after.saturating_sub(before) as f64 - json_bytes as f64) / WRITES as f64;
    println!("sandbox bench ({CONNECTIONS} keep-alive connections, loopback)");
    println!("  writes: {writes_per_second:>10.0} objects/s  ({WRITES} ConfigMap POSTs)");
    println!("  gets:   {gets_per_second:>10.0} requests/s ({GETS} GETs)");
    println!("  list of {WRITES} objects with a label selector: {list_ms:.1} ms");
    println!(
        "  memory: {:.0} bytes/object RSS growth incl. stored JSON (~{} bytes/object stored) => overhead ~{overhead:.0} bytes/object",
        (after.saturating_sub(before)) as f64 / WRITES as f64,
        json_bytes / WRITES
    );
    println!(
        "  durable writes (--data-dir, journaled + fsynced before the answer): {durable_per_second:>8.0} objects/s ({DURABLE_WRITES} POSTs; {:.1}x slower than in memory)",
        writes_per_second / durable_per_second
    );
    println!(
        "  journal: {} bytes/write; reloaded {DURABLE_WRITES} journaled writes in {reload_ms:.0} ms",
        journal / DURABLE_WRITES as u64
    );
}
