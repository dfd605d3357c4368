//! A small HTTP/1.1 server on 127.0.0.1 for download tests: serves generated files, answers
//! 404 for anything else, and can drop a connection mid-body, stall, drip a byte at a time,
//! redirect, announce or send more than it should, or hold an answer until the test opens
//! a [`Gate`]. It counts the requests per path so tests can tell a download
//! from a cache hit, and wait for a request to arrive instead of sleeping.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the server does for one path.
#[derive(Clone)]
pub enum Behaviour {
    Serve(Arc<Vec<u8>>),
    /// Sends the headers and half the body, then closes the connection, the first `times`
    /// requests; serves normally after that.
    DropMidBody {
        body: Arc<Vec<u8>>,
        times: usize,
    },
    /// Reads the request and never answers.
    StallBeforeHeaders,
    /// Sends the headers and half the body, then sends nothing more.
    StallMidBody(Arc<Vec<u8>>),
    /// Answers with this status and a short body, every time.
    Status(u16),
    /// Waits until the gate is open, then serves the body.
    Gated {
        body: Arc<Vec<u8>>,
        gate: Gate,
    },
    /// Answers with this redirect status and `Location` header, every time.
    Redirect {
        status: u16,
        location: String,
    },
    /// Announces `announce` bytes in `Content-Length` (or, with `None`, no length: the body
    /// ends when the connection closes), sends `send` bytes of `#` while the client reads,
    /// then holds the connection if it announced more than it sent, else closes it. A
    /// stand-in for a server that sends gigabytes, at no cost until the client reads.
    Oversized {
        announce: Option<u64>,
        send: u64,
    },
    /// Sends the headers, then the body one byte every `every`: never silent long enough to
    /// look stalled, never done (until [`HOLD_LIMIT`], when it closes the connection).
    Drip {
        body: Arc<Vec<u8>>,
        every: Duration,
    },
}

/// Holds [`Behaviour::Gated`] answers until the test opens it, so a test can make something
/// happen while a download is in flight instead of hoping it overlaps.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets every held answer, and every later one, through.
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }

    /// Waits for the gate, at most [`HOLD_LIMIT`] or until the server stops; true if it opened.
    fn pass(&self, stopped: &AtomicBool) -> bool {
        let (open, changed) = &*self.0;
        let start = Instant::now();
        let mut is_open = open.lock().unwrap();
        while !*is_open && !stopped.load(Ordering::SeqCst) && start.elapsed() < HOLD_LIMIT {
            is_open = changed
                .wait_timeout(is_open, Duration::from_millis(20))
                .unwrap()
                .0;
        }
        *is_open
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Behaviour>,
    hits: HashMap<String, usize>,
}

/// The state, and a signal for each request counted.
type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct TestServer {
    addr: SocketAddr,
    state: Shared,
    stopped: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// How long a stalled or gated connection is held at most (the tests time out long before).
pub const HOLD_LIMIT: Duration = Duration::from_secs(20);

/// How long [`TestServer::wait_for_hits`] waits before it fails the test: far longer than
/// any request takes, so reaching it means the request is never coming.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

impl TestServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let state: Shared = Arc::default();
        let stopped = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, stopped) = (state.clone(), stopped.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, stopped) = (state.clone(), stopped.clone());
                    std::thread::spawn(move || handle(stream, &state, &stopped));
                }
            })
        };
        Self {
            addr,
            state,
            stopped,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`, to pass as the mirror.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.0.lock().unwrap()
    }

    pub fn route(&self, path: &str, behaviour: Behaviour) {
        self.state().routes.insert(path.to_owned(), behaviour);
    }

    pub fn serve(&self, path: &str, body: Vec<u8>) {
        self.route(path, Behaviour::Serve(Arc::new(body)));
    }

    pub fn forget(&self, path: &str) {
        self.state().routes.remove(path);
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.state().hits.get(path).copied().unwrap_or(0)
    }

    /// Requests for any path so far.
    pub fn total_hits(&self) -> usize {
        self.state().hits.values().sum()
    }

    /// Blocks until `path` has had `n` requests; panics if that never happens.
    pub fn wait_for_hits(&self, path: &str, n: usize) {
        let (state, counted) = &*self.state;
        let start = Instant::now();
        let mut state = state.lock().unwrap();
        while state.hits.get(path).copied().unwrap_or(0) < n {
            if start.elapsed() > WAIT_LIMIT {
                panic!(
                    "{path} never got {n} request(s) (gave up after {WAIT_LIMIT:?}): {:?}",
                    state.hits
                );
            }
            state = counted
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    /// Closes the port: later connections are refused.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn handle(mut stream: TcpStream, shared: &Shared, stopped: &AtomicBool) {
    let Some(path) = read_request_path(&mut stream) else {
        return;
    };
    let (state, counted) = &**shared;
    let behaviour = {
        let mut state = state.lock().unwrap();
        *state.hits.entry(path.clone()).or_default() += 1;
        counted.notify_all();
        let behaviour = state.routes.get(&path).cloned();
        if let Some(Behaviour::DropMidBody { body, times }) = &behaviour
            && *times > 0
        {
            let next = if *times == 1 {
                Behaviour::Serve(body.clone())
            } else {
                Behaviour::DropMidBody {
                    body: body.clone(),
                    times: times - 1,
                }
            };
            state.routes.insert(path.clone(), next);
        }
        behaviour
    };
    let _ = match behaviour {
        None => respond(&mut stream, "404 Not Found", b"not found\n"),
        Some(Behaviour::Serve(body)) => respond(&mut stream, "200 OK", &body),
        Some(Behaviour::DropMidBody { body, .. }) => {
            let _ = send_half(&mut stream, &body);
            stream.shutdown(Shutdown::Both)
        }
        Some(Behaviour::StallBeforeHeaders) => {
            hold(stopped);
            Ok(())
        }
        Some(Behaviour::StallMidBody(body)) => {
            let _ = send_half(&mut stream, &body);
            hold(stopped);
            Ok(())
        }
        Some(Behaviour::Status(code)) => {
            respond(&mut stream, &format!("{code} Status"), b"failed\n")
        }
        Some(Behaviour::Redirect { status, location }) => {
            let head = format!(
                "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.flush())
        }
        Some(Behaviour::Oversized { announce, send }) => {
            let _ = send_oversized(&mut stream, announce, send);
            if announce.is_some_and(|n| n > send) {
                hold(stopped);
            }
            stream.shutdown(Shutdown::Both)
        }
        Some(Behaviour::Drip { body, every }) => {
            let _ = drip(&mut stream, &body, every, stopped);
            stream.shutdown(Shutdown::Both)
        }
        Some(Behaviour::Gated { body, gate }) => {
            if gate.pass(stopped) {
                respond(&mut stream, "200 OK", &body)
            } else {
                stream.shutdown(Shutdown::Both)
            }
        }
    };
}

fn hold(stopped: &AtomicBool) {
    let start = Instant::now();
    while !stopped.load(Ordering::SeqCst) && start.elapsed() < HOLD_LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || request.len() > 16 * 1024 {
            return None;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let mut parts = line.lines().next()?.split(' ');
    let (_method, target) = (parts.next()?, parts.next()?);
    Some(target.split('?').next().unwrap_or(target).to_owned())
}

fn headers(status: &str, len: usize) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    )
}

fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    stream.write_all(headers(status, body.len()).as_bytes())?;
    for chunk in body.chunks(256 * 1024) {
        stream.write_all(chunk)?;
    }
    stream.flush()
}

fn send_oversized(stream: &mut TcpStream, announce: Option<u64>, send: u64) -> std::io::Result<()> {
    let length = announce
        .map(|n| format!("Content-Length: {n}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 200 OK\r\n{length}Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    let block = [b'#'; 64 * 1024];
    let mut left = send;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        stream.write_all(&block[..n])?;
        left -= n as u64;
    }
    stream.flush()
}

fn drip(
    stream: &mut TcpStream,
    body: &[u8],
    every: Duration,
    stopped: &AtomicBool,
) -> std::io::Result<()> {
    stream.write_all(headers("200 OK", body.len()).as_bytes())?;
    let start = Instant::now();
    for byte in body {
        if stopped.load(Ordering::SeqCst) || start.elapsed() > HOLD_LIMIT {
            break;
        }
        stream.write_all(std::slice::from_ref(byte))?;
        stream.flush()?;
        std::thread::sleep(every);
    }
    Ok(())
}

fn send_half(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    stream.write_all(headers("200 OK", body.len()).as_bytes())?;
    stream.write_all(&body[..body.len() / 2])?;
    stream.flush()
}
