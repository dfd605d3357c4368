//! A Kubernetes API server stand-in for offline tests: plain HTTP on 127.0.0.1, objects
//! kept as JSON in memory, started per test. Tests build the real kube-rs client from the
//! kubeconfig it writes ([`KubeApi::kubeconfig`]), so everything between our code and the
//! wire (kubeconfig loading, discovery, paths, queries, content types, error bodies, the
//! exec websocket) is exercised for real.
//!
//! What it serves:
//! - discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>` (404 Status for
//!   an unknown group-version), for the built-ins listed in `discovery.rs` and every kind a CRD
//!   written to it defines, once that CRD is Established;
//! - get, list (label selectors `=`, `==`, `!=`, `in`, `notin`, exists, `!`), create,
//!   update (PUT, 409 on a stale `resourceVersion`), JSON merge patch, server-side apply,
//!   delete, namespaced and cluster-scoped, by plural;
//! - the `status` subresource: writes to an object leave its status alone, writes to
//!   `/status` change only the status ([`KubeApi::set_status`] stands in for controllers);
//! - `metav1.Status` error bodies in the API server's shape ([`status`]);
//! - faults: the next N requests of a verb on a resource (and name) answer a given Status
//!   ([`KubeApi::fail`]);
//! - scripted exec over a real websocket ([`KubeApi::script_exec`]);
//! - a log of every request ([`KubeApi::requests`], [`KubeApi::count`]).
//!
//! Simplifications, each deliberate (a test that needs more adds it here):
//! - Server-side apply is a deep merge (see `apply.rs`): no field ownership, no removal
//!   of fields a manager stops applying, no list merging by key, no conflicts (`force`
//!   is not needed). `fieldManager` is required. No `managedFields` are written.
//! - Strategic merge patch is applied as a JSON merge patch; JSON patch is refused (415).
//! - Only CRD-backed kinds are checked against a schema (their `openAPIV3Schema`, with
//!   [`crate::schema`]); built-in kinds accept any fields.
//! - No defaulting, no admission (no webhooks are called: their failures are faults), no
//!   controllers: a Service gets no cluster IP, a Deployment no pods, nothing gets a
//!   status unless a test sets one. What the API server itself does is modelled: uid,
//!   `resourceVersion` (one counter for everything), `generation` (bumped when anything
//!   outside metadata and status changes), `creationTimestamp` (a fixed time), Secret
//!   `stringData` folded into `data`, CRD status conditions, and the NamespaceLifecycle
//!   rule that a namespaced object needs its Namespace (404 otherwise).
//! - Deleting is immediate: no finalizers, no Terminating; deleting a Namespace deletes
//!   what is in it, deleting a CRD its kinds and their objects.
//! - No watch (405), no `fieldSelector` (400), no `dryRun` (400), no pagination
//!   (`limit` is ignored: every list is complete), no aggregated discovery, no pods/log,
//!   no port-forward, no pods/proxy.
//! - Exec answers only what is scripted (pod, container and argv must match exactly);
//!   the pod need not exist. Anything else gets a 500 naming what is scripted.
//! - Authentication is not checked; the bearer token of each request is recorded.

mod apply;
mod discovery;
mod exec;
mod http;
mod route;
mod selector;
pub mod status;
mod store;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use e2e::config::ClusterName;
use serde_json::Value;

use exec::ExecKey;
pub use exec::ExecReply;
use store::Store;

/// What a request did, as the API server's authorization sees verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// A discovery document (`/api`, `/apis`, a group-version).
    Discover,
    Get,
    List,
    Create,
    /// PUT.
    Update,
    /// A merge (or strategic merge) patch.
    Patch,
    /// Server-side apply (`application/apply-patch+yaml`).
    Apply,
    Delete,
    /// A websocket upgrade of pods/exec.
    Exec,
}

/// A scripted failure: the next `times` requests of `verb` on `resource` (and `name`, if
/// set) are answered with `status` (its `code` is the HTTP code) instead of being served.
///
/// `resource` is `plural[.group][/subresource]`: `secrets`, `deployments.apps`,
/// `ipaddresspools.metallb.io`, `services/status`, `pods/exec`.
#[derive(Debug, Clone)]
pub struct Fault {
    verb: Verb,
    resource: String,
    name: Option<String>,
    times: usize,
    status: Value,
}

impl Fault {
    /// The next request of `verb` on `resource` answers `status` (see [`status`]).
    pub fn new(verb: Verb, resource: &str, status: Value) -> Self {
        assert!(
            status["code"].as_u64().is_some(),
            "a fault's Status needs its code"
        );
        Self {
            verb,
            resource: resource.to_owned(),
            name: None,
            times: 1,
            status,
        }
    }

    /// Only requests for the object `name`.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The next `times` matching requests, not just one.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// The token of an `Authorization: Bearer` header.
    pub bearer: Option<String>,
    pub body: String,
    /// `None` for a path nothing is served at.
    pub verb: Option<Verb>,
    /// `plural[.group][/sub]` for resource requests, `group/version` for discovery.
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Recorded {
    /// The first value of query parameter `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The state every connection thread shares.
struct Shared {
    store: Mutex<Store>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A test that panicked while holding the lock has failed already; the stand-in
        // keeps answering the others.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn handle(&self, request: &http::Request) -> http::Outcome {
        self.store().handle(request)
    }
}

/// A running stand-in; dropping it closes the port.
pub struct KubeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stopped: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl KubeApi {
    /// Starts serving on a free port of 127.0.0.1, with the built-in resources and the
    /// namespaces every cluster has (`default`, `kube-system`, `kube-public`,
    /// `kube-node-lease`).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound socket has an address");
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new()),
        });
        let stopped = Arc::new(AtomicBool::new(false));
        let accept = {
            let (shared, stopped) = (shared.clone(), stopped.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || http::serve_connection(stream, &shared));
                }
            })
        };
        Self {
            addr,
            shared,
            stopped,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig for `cluster` as kind names it (`kind-<cluster>` for the context,
    /// cluster and user, [`e2e::names::kind_context`]), pointing at this stand-in, with a
    /// token user (`stand-in-token-<cluster>`).
    pub fn kubeconfig(&self, cluster: &ClusterName) -> String {
        let name = e2e::names::kind_context(cluster);
        format!(
            "apiVersion: v1
kind: Config
current-context: {name}
clusters:
- name: {name}
  cluster:
    server: {url}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: {name}
users:
- name: {name}
  user:
    token: stand-in-token-{cluster}
",
            url = self.url()
        )
    }

    /// Writes [`KubeApi::kubeconfig`] to `<dir>/<cluster>.kubeconfig`, and returns the path.
    pub fn write_kubeconfig(&self, dir: &Path, cluster: &ClusterName) -> PathBuf {
        let path = dir.join(format!("{cluster}.kubeconfig"));
        std::fs::write(&path, self.kubeconfig(cluster)).expect("write the kubeconfig");
        path
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.shared.store()
    }

    /// Stores `object` as if a controller had created it, status included (nodes, pods,
    /// EndpointSlices); returns it as stored. Panics if its kind is not served.
    pub fn seed(&self, object: Value) -> Value {
        self.store().seed(object)
    }

    /// The stored object, if any. `resource` is `plural[.group]`.
    pub fn object(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.store().object(resource, namespace, name)
    }

    /// Every stored object of `resource`, in namespace and name order.
    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.store().objects(resource)
    }

    /// Replaces an object's `.status`, as its controller would (a LoadBalancer IP, a
    /// rollout, a Ready condition). Panics if there is no such object.
    pub fn set_status(&self, resource: &str, namespace: Option<&str>, name: &str, status: Value) {
        self.store().set_status(resource, namespace, name, status);
    }

    /// Injects a fault; faults are matched in the order injected.
    pub fn fail(&self, fault: Fault) {
        self.store().faults.push(fault);
    }

    /// CRDs written from now on become Established only after they have been read
    /// `reads` times (the API server establishes a CRD asynchronously); until then their
    /// kinds are not served.
    pub fn delay_crd_establishment(&self, reads: usize) {
        self.store().crd_delay = reads;
    }

    /// Scripts `argv` in `container` of pod `namespace/pod`: each exec gets the next reply,
    /// and the last one answers every exec after it.
    pub fn script_exec(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[&str],
        replies: impl IntoIterator<Item = ExecReply>,
    ) {
        let key = ExecKey {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        };
        self.store().exec.add(key, replies.into_iter().collect());
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.store().log.clone()
    }

    /// Requests so far of `verb` on `resource` (`plural[.group][/sub]`, or `group/version`
    /// for [`Verb::Discover`]).
    pub fn count(&self, verb: Verb, resource: &str) -> usize {
        self.store()
            .log
            .iter()
            .filter(|r| r.verb == Some(verb) && r.resource.as_deref() == Some(resource))
            .count()
    }

    fn shutdown(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.shutdown();
    }
}
