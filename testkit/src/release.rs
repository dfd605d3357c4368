//! Artifacts laid out like the upstream releases, small enough to generate per test, and
//! the paths a mirror serves them under.

use e2e::pins::Platform;

use crate::archive::{Entry, tar_gz};

pub const KIND: &str = "v0.33.0";
pub const HELM: &str = "v3.22.0";
pub const ISTIO: &str = "1.31.1";
pub const METALLB: &str = "v0.16.1";

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

/// The upstream paths (what a mirror serves) for one platform.
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

    /// In the order `e2e::tools::ensure` fetches them.
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
