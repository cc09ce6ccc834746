//! The fuzz targets (`fuzz/targets.rs`) run on stable in every `cargo test`: each seed of
//! `fuzz/seeds/<target>/`, then random mutations of them (bit flips, inserted tokens of the
//! input's grammar, repeated and spliced chunks — how bombs and deep nesting are found) for a
//! time budget per target. No input may panic, and none may take more than a few seconds (a
//! blown memory bound shows as the test process dying). Findings are written to
//! `target/fuzz-findings/` to replay with cargo-fuzz.
//!
//! `HELMFIRE_FUZZ_SECONDS` sets the budget per target (default 3 s; run longer by hand).

#[path = "../../../../fuzz/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn budget() -> Duration {
    let seconds = std::env::var("HELMFIRE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(seconds)
}

/// One input may take this long at most (the engines' own limits are far below it).
const PER_INPUT: Duration = Duration::from_secs(5);

/// Bytes that matter to the grammars under test.
const TOKENS: &[&[u8]] = &[
    b"&a ",
    b"*a",
    b"<<: *a",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b": ",
    b",",
    b"\n  ",
    b"'",
    b"\"",
    b"|\n",
    b">-\n",
    b"!!binary ",
    b"---\n",
    b"${{ ",
    b" }}",
    b"{{",
    b"}}",
    b"{{ define \"x\" }}",
    b"{{ end }}",
    b"{{ include \"x\" . }}",
    b"{{ range . }}",
    b"{{ tpl . . }}",
    b"=",
    b".",
    b"\\",
    b"[0]",
    b"[[",
    b"]]",
    b"= [",
    b"= {",
    b"\"\"\"",
    b"0x",
    b"1e999",
    b"-9223372036854775809",
    b"\xff\xfe",
    b"\0",
    b"null",
    b"~",
    b"true",
    b"releases:\n  - name: ",
];

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A mutation of one seed, at most 64 KiB.
fn mutate(random: &mut Random, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[random.below(seeds.len())].clone();
    for _ in 0..1 + random.below(6) {
        let at = random.below(data.len() + 1);
        match random.below(7) {
            0 if !data.is_empty() => {
                let i = random.below(data.len());
                data[i] ^= 1 << random.below(8);
            }
            1 => data.insert(at, random.next() as u8),
            2 if !data.is_empty() => {
                let end = (at + 1 + random.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 => {
                let token = TOKENS[random.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            4 if !data.is_empty() => {
                // A chunk repeated: nesting, long lists, alias fan-out.
                let start = random.below(data.len());
                let end = (start + 1 + random.below(32)).min(data.len());
                let chunk = data[start..end].to_vec();
                for _ in 0..1 + random.below(64) {
                    data.splice(end..end, chunk.iter().copied());
                }
            }
            5 => {
                let other = &seeds[random.below(seeds.len())];
                if !other.is_empty() {
                    let start = random.below(other.len());
                    let end = (start + random.below(256)).min(other.len());
                    data.splice(at..at, other[start..end].iter().copied());
                }
            }
            _ => data.insert(at, b"\n[{&*:-'\"\\"[random.below(10)]),
        }
    }
    data.truncate(64 * 1024);
    data
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = crate::support::oracle::root().join("fuzz/seeds").join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seeds `{}`: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.expect("entry").path()).expect("seed"))
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in `{}`", dir.display());
    seeds
}

/// Runs `target` on every seed and on mutations for the budget; panics with the findings.
fn fuzz(name: &str, target: fn(&[u8])) {
    let seeds = seeds(name);
    let mut random = Random(0x2545_f491_4f6c_dd1d ^ name.len() as u64);
    let started = Instant::now();
    let mut inputs = 0usize;
    let mut slowest = Duration::ZERO;
    let mut findings: Vec<PathBuf> = Vec::new();
    let mut queue: Vec<Vec<u8>> = seeds.clone();
    loop {
        let input = match queue.pop() {
            Some(seed) => seed,
            None if started.elapsed() < budget() => mutate(&mut random, &seeds),
            None => break,
        };
        inputs += 1;
        let began = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
        let took = began.elapsed();
        slowest = slowest.max(took);
        if outcome.is_err() || took > PER_INPUT {
            let dir = crate::support::oracle::root().join("target/fuzz-findings");
            std::fs::create_dir_all(&dir).expect("findings dir");
            let path = dir.join(format!("{name}-{}", findings.len()));
            std::fs::write(&path, &input).expect("write finding");
            findings.push(path);
        }
    }
    println!(
        "fuzz {name}: {inputs} inputs in {:.1}s, slowest {} ms, {} findings",
        started.elapsed().as_secs_f64(),
        slowest.as_millis(),
        findings.len()
    );
    assert!(
        findings.is_empty(),
        "{name}: inputs that panicked or took over {PER_INPUT:?}: {findings:?}"
    );
}

#[test]
fn state_yaml() {
    fuzz("state_yaml", targets::state_yaml);
}

#[test]
fn state_toml() {
    fuzz("state_toml", targets::state_toml);
}

#[test]
fn values_and_set() {
    fuzz("values", targets::values);
}

#[test]
fn chart_archives() {
    fuzz("chart_archive", targets::chart_archive);
}

#[test]
fn templates() {
    fuzz("template", targets::template);
}

#[test]
fn sandbox_requests() {
    fuzz("sandbox_request", targets::sandbox_request);
}
