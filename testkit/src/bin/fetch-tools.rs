//! A minimal front end to `e2e::tools::ensure`, without the xtask CLI: lets tests run
//! real concurrent processes against one cache.
//!
//! Usage: fetch-tools --pins FILE --cache-dir DIR [--mirror URL] [--istio VER] [--http fast]
//! (`--http fast`: the short timeouts and retries of `testkit::fast_http`).
//! Prints `name=path` per tool; logs e2e's info messages (e.g. waiting for another run's
//! lock) on stderr; exits 1 with the error on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use e2e::pins::{Pins, Platform};
use e2e::tools::{FetchOptions, Mirror};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn,e2e=info"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
    match run() {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut pins_file, mut cache_dir, mut mirror, mut istio) = (None, None, None, None);
    let mut fast = false;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--pins" => pins_file = Some(PathBuf::from(value)),
            "--cache-dir" => cache_dir = Some(PathBuf::from(value)),
            "--mirror" => mirror = Some(Mirror::parse(&value)?),
            "--istio" => istio = Some(value.parse().map_err(|e: String| e)?),
            "--http" if value == "fast" => fast = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let pins_file = pins_file.ok_or("--pins FILE is required")?;
    let cache_dir = cache_dir.ok_or("--cache-dir DIR is required")?;
    let pins = Pins::load(&pins_file)?;
    let row = match &istio {
        Some(v) => pins.row(v)?,
        None => pins.default_row(),
    };
    let mut opts = FetchOptions::new(cache_dir, pins_file, Platform::current()?);
    opts.mirror = mirror;
    if fast {
        opts.http = testkit::fast_http();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let t = runtime.block_on(e2e::tools::ensure(&opts, &pins, row))?;
    Ok(format!(
        "kind={}\nhelm={}\nistioctl={}\nbase={}\nistiod={}\ngateway={}\nmetallb={}\n",
        t.kind.display(),
        t.helm.display(),
        t.istioctl.display(),
        t.charts.base.display(),
        t.charts.istiod.display(),
        t.charts.gateway.display(),
        t.metallb_manifest.display()
    ))
}
