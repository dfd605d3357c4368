//! A loopback server serving release-shaped artifacts, a temp dir with a cache and a pins
//! file describing them, and fetch options pointing at the server through `--mirror`.

use std::path::PathBuf;
use std::time::Duration;

use e2e::pins::{Pins, Platform};
use e2e::tools::{FetchOptions, HttpSettings, Mirror};

use crate::files::list;
use crate::pins::{Recorded, pins_text, sha256};
use crate::release::{Artifacts, Paths};
use crate::server::TestServer;

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
        deadline: Duration::from_secs(30),
    }
}
