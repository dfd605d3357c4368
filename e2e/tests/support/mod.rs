//! Shared by the `tools_*` tests: a loopback HTTP server, generated artifacts laid out
//! like the real releases, and a pins file describing them.
#![allow(dead_code)] // each test binary uses a different part

pub mod server;

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::pins::{Pins, Platform, Sha256};
use e2e::tools::{FetchOptions, HttpSettings, Mirror};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::Digest;

#[allow(unused_imports)] // not every test binary uses both
pub use server::{Behaviour, TestServer};

pub const KIND: &str = "v0.33.0";
pub const HELM: &str = "v3.22.0";
pub const ISTIO: &str = "1.31.1";
pub const METALLB: &str = "v0.16.1";

pub fn sha256(bytes: &[u8]) -> Sha256 {
    Sha256(sha2::Sha256::digest(bytes).into())
}

/// One tar entry; names and link targets are written raw, so tests can build archives
/// that a careful writer would refuse to produce.
pub enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

pub fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let mut header = tar::Header::new_old();
        let (name, kind, data, mode, link): (&str, tar::EntryType, &[u8], u32, Option<&str>) =
            match entry {
                Entry::Dir(n) => (n, tar::EntryType::Directory, b"", 0o755, None),
                Entry::File(n, d, m) => (n, tar::EntryType::Regular, d, *m, None),
                Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", 0o777, Some(t)),
                Entry::HardLink(n, t) => (n, tar::EntryType::Link, b"", 0o644, Some(t)),
            };
        let old = header.as_old_mut();
        assert!(
            name.len() < old.name.len(),
            "test entry names fit the old header"
        );
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A shell script that prints `text`: runnable, so a test can prove the run bit.
pub fn script(text: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho '{text}'\n").into_bytes()
}

/// `istio-<v>-<os>-<arch>.tar.gz`: istioctl, the charts, and things we must not extract.
pub fn istio_archive(version: &str) -> Vec<u8> {
    let root = format!("istio-{version}");
    let p = |rest: &str| format!("{root}/{rest}");
    let istioctl = script(&format!("istioctl {version}"));
    let names = [
        p(""),
        p("bin/"),
        p("bin/istioctl"),
        p("manifests/charts/base/Chart.yaml"),
        p("manifests/charts/base/templates/crds.yaml"),
        p("manifests/charts/istio-control/istio-discovery/Chart.yaml"),
        p("manifests/charts/istio-control/istio-discovery/files/injection-template.yaml"),
        p("manifests/charts/gateway/Chart.yaml"),
        p("manifests/charts/gateways/istio-ingress/Chart.yaml"),
        p("samples/helloworld/helloworld.yaml"),
        p("manifest.yaml"),
    ];
    let chart =
        |name: &str| format!("apiVersion: v2\nname: {name}\nversion: {version}\n").into_bytes();
    let (base, istiod, gateway, ingress) = (
        chart("base"),
        chart("istiod"),
        chart("gateway"),
        chart("istio-ingress"),
    );
    tar_gz(&[
        Entry::Dir(&names[0]),
        Entry::Dir(&names[1]),
        Entry::File(&names[2], &istioctl, 0o755),
        Entry::File(&names[3], &base, 0o644),
        Entry::File(&names[4], b"kind: CustomResourceDefinition\n", 0o644),
        Entry::File(&names[5], &istiod, 0o644),
        Entry::File(&names[6], b"template: {}\n", 0o644),
        Entry::File(&names[7], &gateway, 0o644),
        Entry::File(&names[8], &ingress, 0o644),
        Entry::File(&names[9], b"kind: Service\n", 0o644),
        Entry::File(&names[10], b"version: x\n", 0o644),
    ])
}

/// `helm-<v>-<os>-<arch>.tar.gz`: `<os>-<arch>/helm` and its license.
pub fn helm_archive(platform: Platform) -> Vec<u8> {
    let dir = platform.go_name();
    let helm = script(&format!("helm {HELM}"));
    let (d, h, l) = (
        format!("{dir}/"),
        format!("{dir}/helm"),
        format!("{dir}/LICENSE"),
    );
    // Shipped without the run bit on purpose: the install must set it.
    tar_gz(&[
        Entry::Dir(&d),
        Entry::File(&h, &helm, 0o644),
        Entry::File(&l, b"Apache-2.0\n", 0o644),
    ])
}

/// The upstream paths (what a mirror serves) for the current platform.
pub struct Paths {
    pub kind: String,
    pub helm: String,
    pub istio: String,
    pub metallb: String,
}

impl Paths {
    pub fn new(platform: Platform) -> Self {
        Self {
            kind: format!(
                "/kubernetes-sigs/kind/releases/download/{KIND}/kind-{}",
                platform.go_name()
            ),
            helm: format!("/helm-{HELM}-{}.tar.gz", platform.go_name()),
            istio: format!(
                "/istio/istio/releases/download/{ISTIO}/istio-{ISTIO}-{}.tar.gz",
                platform.istio_name()
            ),
            metallb: format!("/metallb/metallb/{METALLB}/config/manifests/metallb-native.yaml"),
        }
    }

    pub fn all(&self) -> [&str; 4] {
        [&self.kind, &self.helm, &self.istio, &self.metallb]
    }
}

/// The bytes a fixture serves.
pub struct Artifacts {
    pub kind: Vec<u8>,
    pub helm: Vec<u8>,
    pub istio: Vec<u8>,
    pub metallb: Vec<u8>,
}

impl Artifacts {
    pub fn generate(platform: Platform) -> Self {
        let mut kind = script(&format!("kind {KIND}"));
        // Some bulk, so a download takes more than one read.
        kind.extend(std::iter::repeat_n(b'#', 300_000));
        kind.push(b'\n');
        Self {
            kind,
            helm: helm_archive(platform),
            istio: istio_archive(ISTIO),
            metallb: b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: metallb-system\n"
                .to_vec(),
        }
    }
}

/// Which checksums the generated pins file records (`None`: left `""`).
pub struct Recorded {
    pub kind: Option<Sha256>,
    pub helm: Option<Sha256>,
    pub istio: Option<Sha256>,
    pub metallb: Sha256,
}

impl Recorded {
    pub fn all(a: &Artifacts) -> Self {
        Self {
            kind: Some(sha256(&a.kind)),
            helm: Some(sha256(&a.helm)),
            istio: Some(sha256(&a.istio)),
            metallb: sha256(&a.metallb),
        }
    }
}

/// A complete pins file with one Istio row, recording checksums for `platform` only.
pub fn pins_text(platform: Platform, r: &Recorded) -> String {
    let table = |sha: Option<Sha256>| {
        Platform::ALL
            .iter()
            .map(|p| {
                let value = if *p == platform {
                    sha.map(|s| s.to_string()).unwrap_or_default()
                } else {
                    String::new()
                };
                format!("{p} = \"{value}\"\n")
            })
            .collect::<String>()
    };
    format!(
        r#"# Generated by the tools tests.
default = "{ISTIO}"
matrix = ["{ISTIO}"]

[kind]
default = "{KIND}"

[kind.releases."{KIND}".sha256]
{kind}
[helm]
version = "{HELM}"

[helm.sha256]
{helm}
[metallb]
version = "{METALLB}"
url = "https://raw.githubusercontent.com/metallb/metallb/{METALLB}/config/manifests/metallb-native.yaml"
sha256 = "{metallb}"

[samples]
curl = "docker.io/curlimages/curl:8.16.0"

[samples.helloworld]
v1 = "docker.io/istio/examples-helloworld-v1:1.0"

[[istio]]
version = "{ISTIO}"
hub = "docker.io/istio"
node_image = "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed"

[istio.sha256]
{istio}"#,
        kind = table(r.kind),
        helm = table(r.helm),
        istio = table(r.istio),
        metallb = r.metallb,
    )
}

/// A server with the artifacts and their checksum files, a temp dir with a cache and a
/// pins file, and options pointing at the server through `--mirror`.
pub struct Fixture {
    pub server: TestServer,
    pub dir: tempfile::TempDir,
    pub platform: Platform,
    pub paths: Paths,
    pub artifacts: Artifacts,
}

impl Fixture {
    /// Serves every artifact and checksum file; the pins record `recorded`.
    pub fn new(recorded: impl FnOnce(&Artifacts) -> Recorded) -> Self {
        let platform = Platform::current().expect("tests run on a pinned platform");
        let artifacts = Artifacts::generate(platform);
        let paths = Paths::new(platform);
        let server = TestServer::start();
        let serve = |path: &str, body: &[u8], checksum_suffix: Option<&str>| {
            server.serve(path, body.to_vec());
            if let Some(suffix) = checksum_suffix {
                let name = path.rsplit('/').next().unwrap();
                // The published shapes: two spaces for sha256sum files, one for Istio's.
                let sep = if suffix == ".sha256sum" { "  " } else { " " };
                server.serve(
                    &format!("{path}{suffix}"),
                    format!("{}{sep}{name}\n", sha256(body)).into_bytes(),
                );
            }
        };
        serve(&paths.kind, &artifacts.kind, Some(".sha256sum"));
        serve(&paths.helm, &artifacts.helm, Some(".sha256sum"));
        serve(&paths.istio, &artifacts.istio, Some(".sha256"));
        serve(&paths.metallb, &artifacts.metallb, None);
        let dir = tempfile::tempdir().unwrap();
        let fixture = Self {
            server,
            dir,
            platform,
            paths,
            artifacts,
        };
        fixture.write_pins(&recorded(&fixture.artifacts));
        fixture
    }

    pub fn write_pins(&self, recorded: &Recorded) {
        std::fs::write(self.pins_file(), pins_text(self.platform, recorded)).unwrap();
    }

    pub fn pins_file(&self) -> PathBuf {
        self.dir.path().join("versions.toml")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn pins(&self) -> Pins {
        Pins::load(&self.pins_file()).unwrap()
    }

    /// Options for fast tests: short timeouts, three attempts, tiny backoff.
    pub fn opts(&self) -> FetchOptions {
        let mut opts = FetchOptions::new(self.cache_dir(), self.pins_file(), self.platform);
        opts.mirror = Some(Mirror::parse(&self.server.url()).unwrap());
        opts.http = fast_http();
        opts
    }

    /// The files and directories left in the cache's staging area.
    pub fn staging_leftovers(&self) -> Vec<PathBuf> {
        list(&self.cache_dir().join(".tmp"))
    }
}

pub fn fast_http() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        stall_timeout: Duration::from_millis(400),
        attempts: 3,
        backoff: Duration::from_millis(20),
    }
}

/// Entries directly in `dir` (none if it does not exist).
pub fn list(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Every path below `dir`, relative to it, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in list(dir) {
            out.push(e.strip_prefix(root).unwrap().display().to_string());
            if std::fs::symlink_metadata(&e).unwrap().is_dir() {
                walk(root, &e, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
