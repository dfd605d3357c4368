//! Proxies from the environment, as a user's shell sets them: never for a mirror on this
//! machine (plain http must not leave it), always for the upstreams over https (corporate
//! networks need them), and not for hosts in `NO_PROXY`. Each case runs the `fetch-tools`
//! binary with its own environment; a second loopback server stands in for the proxy and
//! counts what reaches it.

use std::process::{Command, Output};

use testkit::{Fixture, Recorded, TestServer};

const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

fn fetch(fx: &Fixture, mirror: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fetch-tools"));
    cmd.arg("--pins")
        .arg(fx.pins_file())
        .arg("--cache-dir")
        .arg(fx.cache_dir())
        .args(["--http", "fast"]);
    if let Some(mirror) = mirror {
        cmd.args(["--mirror", mirror]);
    }
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn a_loopback_mirror_is_never_reached_through_a_proxy() {
    let fx = Fixture::new(Recorded::all);
    let proxy = TestServer::start();
    let url = proxy.url();
    let out = fetch(
        &fx,
        Some(&fx.server.url()),
        &[
            ("http_proxy", &url),
            ("HTTP_PROXY", &url),
            ("all_proxy", &url),
            ("ALL_PROXY", &url),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(proxy.total_hits(), 0, "nothing went to the proxy");
    for path in fx.paths.all() {
        assert_eq!(fx.server.hits(path), 1, "{path}");
    }
}

#[test]
fn upstream_https_goes_through_https_proxy_unless_no_proxy_names_the_host() {
    let fx = Fixture::new(Recorded::all);
    let proxy = TestServer::start();
    let url = proxy.url();
    // The proxy refuses the tunnel (it answers 404), so the fetch fails; what matters is
    // that the request for the upstream host came to it. kind is fetched first.
    let out = fetch(&fx, None, &[("HTTPS_PROXY", &url)]);
    assert!(!out.status.success());
    assert!(
        proxy.hits("github.com:443") >= 1,
        "CONNECT github.com:443 reached the proxy: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let before = proxy.total_hits();
    let out = fetch(
        &fx,
        None,
        &[
            ("https_proxy", &url),
            ("NO_PROXY", "example.com,github.com"),
        ],
    );
    assert!(
        !out.status.success(),
        "there is no route to github.com here"
    );
    assert_eq!(
        proxy.total_hits(),
        before,
        "NO_PROXY kept github.com off the proxy"
    );
}
