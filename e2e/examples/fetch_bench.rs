//! Download benchmark (not a test): serves a generated 200 MiB artifact from a loopback
//! server, fetches it through `e2e::tools::fetch` in a child process (so its peak RSS can
//! be read from `wait4`), and in the same run times `curl -s URL | sha256sum` on the same
//! artifact. Then extracts a 200 MiB (uncompressed) release-like tar.gz with
//! `e2e::tools::extract::extract_tar_gz` and with `tar -xzf`.
//!
//! Run it in both profiles: `cargo xtask` runs the dev profile, so that is the one users feel.
//!
//!     cargo run -p e2e --example fetch_bench            # dev, as `cargo xtask tools` runs
//!     cargo run --release -p e2e --example fetch_bench
//!
//! Targets: at least 1x curl's throughput in the dev profile, peak RSS under 64 MiB.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::pins::{Platform, Sha256};
use e2e::tools::artifact::{Pick, PickKind, Unpack};
use e2e::tools::{Artifact, Checksum, ExtractLimits, FetchOptions, Mirror, SizeLimit, Tool};
use sha2::Digest;

const SIZE: usize = 200 << 20;
const ROUNDS: usize = 5;
const PATH: &str = "/bench/artifact.bin";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") => child(&args[2], &args[3], Path::new(&args[4])),
        Some("serve") => serve(),
        _ => parent(),
    }
}

/// Holds the artifact and the server in a process of its own: a parent holding 200 MiB
/// would lend its memory high-water mark to every child it execs (Linux records the old
/// mm's peak in the child's `ru_maxrss` at exec), and the measurement would be void.
/// Prints `<base url> <sha256>`, then serves until stdin closes.
fn serve() {
    let body = generate(SIZE);
    let sha = Sha256(sha2::Sha256::digest(&body).into());
    let server = testkit::TestServer::start();
    server.serve(PATH, body);
    println!("{} {sha}", server.url());
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
}

/// Fetches the artifact once into `cache` and prints the seconds it took.
fn child(mirror: &str, sha: &str, cache: &Path) {
    let artifact = artifact(sha.parse().unwrap());
    let mut opts = FetchOptions::new(
        cache.to_owned(),
        cache.join("unused-pins.toml"),
        Platform::current().unwrap(),
    );
    opts.mirror = Some(Mirror::parse(mirror).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let dirs = runtime
        .block_on(e2e::tools::fetch(&opts, &[&artifact]))
        .unwrap();
    let took = start.elapsed();
    assert!(dirs[0].join("artifact.bin").is_file());
    println!("{}", took.as_secs_f64());
}

fn artifact(sha: Sha256) -> Artifact {
    Artifact {
        tool: Tool::Kind,
        version: "v0.0.0-bench".into(),
        platform: None,
        url: format!("https://upstream.invalid{PATH}").parse().unwrap(),
        checksum: Checksum::Recorded(sha),
        size: SizeLimit::Recorded(SIZE as u64),
        unpack: Unpack::Raw {
            name: "artifact.bin".into(),
            executable: false,
        },
    }
}

/// The cargo profile this benchmark was built with.
const PROFILE: &str = if cfg!(debug_assertions) {
    "dev"
} else {
    "release"
};

fn parent() {
    eprintln!("[{PROFILE}] generating {} MiB ...", SIZE >> 20);
    let mut server = Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let (base, sha) = line
        .trim()
        .split_once(' ')
        .expect("the server prints its url and sha256");
    let sha: Sha256 = sha.parse().unwrap();
    let url = format!("{base}{PATH}");
    let work = tempfile::tempdir().unwrap();

    let mut ours = Vec::new();
    let mut curl = Vec::new();
    let mut peak_rss_kib = 0;
    for round in 1..=ROUNDS {
        let cache = work.path().join(format!("cache-{round}"));
        let (inside, wall, rss) = run_child(base, sha, &cache);
        std::fs::remove_dir_all(&cache).unwrap();
        peak_rss_kib = peak_rss_kib.max(rss);
        let c = run_curl(&url, sha);
        eprintln!(
            "round {round}: e2e fetch {:.3}s ({:.3}s in-process), peak RSS {} KiB; curl | sha256sum {:.3}s",
            wall.as_secs_f64(),
            inside,
            rss,
            c.as_secs_f64()
        );
        ours.push(wall);
        curl.push(c);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mbps = |d: Duration| SIZE as f64 / (1 << 20) as f64 / d.as_secs_f64();
    let (o, c) = (median(&mut ours), median(&mut curl));
    println!("profile: {PROFILE}");
    println!("artifact: {} MiB from {url}", SIZE >> 20);
    println!(
        "e2e::tools::fetch (child process, wall; streams to disk, sha256 on the way): {:.0} MiB/s (median of {ROUNDS}: {:.3}s)",
        mbps(o),
        o.as_secs_f64()
    );
    println!(
        "curl -s URL | sha256sum (no disk):                                            {:.0} MiB/s (median of {ROUNDS}: {:.3}s)",
        mbps(c),
        c.as_secs_f64()
    );
    println!(
        "throughput ratio (ours / curl): {:.2}x (target >= 1x in dev)",
        c.as_secs_f64() / o.as_secs_f64()
    );
    println!(
        "peak RSS of the fetching process: {:.1} MiB (target < 64 MiB)",
        peak_rss_kib as f64 / 1024.0
    );
    drop(server.stdin.take());
    server.wait().unwrap();
    extraction(work.path());
}

/// Times `extract_tar_gz` against `tar -xzf` on a release-like archive: one large file as
/// compressible as a Go binary (about 3:1 under gzip), picked, among small ones.
fn extraction(work: &Path) {
    let src = work.join("src");
    std::fs::create_dir_all(src.join("release/bin")).unwrap();
    std::fs::create_dir_all(src.join("release/charts")).unwrap();
    let mut payload = generate(SIZE);
    // Keep 3 bits of 8 random: gzip gets about 3:1 from that, as from a release binary.
    payload.iter_mut().for_each(|b| *b &= 0x07);
    std::fs::write(src.join("release/bin/tool"), &payload).unwrap();
    drop(payload);
    for i in 0..200 {
        std::fs::write(
            src.join(format!("release/charts/values-{i}.yaml")),
            format!("key{i}: value\n").repeat(200),
        )
        .unwrap();
    }
    let archive = work.join("release.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&src)
        .arg("release")
        .status()
        .expect("tar is installed");
    assert!(status.success());
    std::fs::remove_dir_all(&src).unwrap();
    let compressed = std::fs::metadata(&archive).unwrap().len();
    let picks = [
        Pick {
            from: "release/bin/tool".into(),
            to: "tool".into(),
            kind: PickKind::Executable,
        },
        Pick {
            from: "release/charts".into(),
            to: "charts".into(),
            kind: PickKind::Tree,
        },
    ];
    let mut ours = Vec::new();
    let mut tar = Vec::new();
    for round in 1..=3 {
        let dest = work.join(format!("ours-{round}"));
        std::fs::create_dir(&dest).unwrap();
        let start = Instant::now();
        e2e::tools::extract::extract_tar_gz(
            "bench",
            &archive,
            &dest,
            &picks,
            ExtractLimits::RELEASE,
        )
        .unwrap();
        ours.push(start.elapsed());
        assert_eq!(
            std::fs::metadata(dest.join("tool")).unwrap().len(),
            SIZE as u64
        );
        std::fs::remove_dir_all(&dest).unwrap();

        let dest = work.join(format!("tar-{round}"));
        std::fs::create_dir(&dest).unwrap();
        let start = Instant::now();
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&dest)
            .status()
            .unwrap();
        tar.push(start.elapsed());
        assert!(status.success());
        std::fs::remove_dir_all(&dest).unwrap();
        eprintln!(
            "extract round {round}: extract_tar_gz {:.3}s; tar -xzf {:.3}s",
            ours[round - 1].as_secs_f64(),
            tar[round - 1].as_secs_f64()
        );
    }
    ours.sort();
    tar.sort();
    println!(
        "extract {} MiB ({} MiB gzipped): extract_tar_gz {:.3}s, tar -xzf {:.3}s (medians of 3); ratio (tar / ours) {:.2}x",
        SIZE >> 20,
        compressed >> 20,
        ours[1].as_secs_f64(),
        tar[1].as_secs_f64(),
        tar[1].as_secs_f64() / ours[1].as_secs_f64()
    );
}

/// Pseudo-random bytes (xorshift), so compression or sparse tricks cannot flatter anyone.
fn generate(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(size);
    out
}

/// Runs this example as a child fetching into `cache`; returns its own timing, the wall
/// time, and its peak RSS in KiB from `wait4`.
fn run_child(mirror: &str, sha: Sha256, cache: &PathBuf) -> (f64, Duration, i64) {
    let start = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also reports its rusage
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["child", mirror, &sha.to_string()])
        .arg(cache)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet reaped; the pointers are valid for the call.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(reaped, pid, "wait4 failed");
    assert!(
        std::process::ExitStatus::from_raw(status).success(),
        "the fetching child failed"
    );
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.unwrap(), &mut out).unwrap();
    // Linux reports ru_maxrss in KiB.
    (out.trim().parse().unwrap(), wall, usage.ru_maxrss)
}

fn run_curl(url: &str, sha: Sha256) -> Duration {
    let start = Instant::now();
    let out = Command::new("bash")
        .args(["-c", &format!("set -o pipefail; curl -s {url} | sha256sum")])
        .output()
        .expect("curl and sha256sum are installed");
    let took = start.elapsed();
    assert!(out.status.success(), "curl failed");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&sha.to_string()),
        "curl saw other bytes"
    );
    took
}
