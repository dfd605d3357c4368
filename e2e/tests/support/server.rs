//! A small HTTP/1.1 server on 127.0.0.1 for download tests: serves generated files, answers
//! 404 for anything else, and can drop a connection mid-body, stall, or serve slowly. It
//! counts the requests per path so tests can tell a download from a cache hit.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Waits before sending the body.
    Slow {
        body: Arc<Vec<u8>>,
        delay: Duration,
    },
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Behaviour>,
    hits: HashMap<String, usize>,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stopped: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// How long a stalled connection is held at most (the tests time out long before).
const STALL_LIMIT: Duration = Duration::from_secs(20);

impl TestServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
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

    pub fn route(&self, path: &str, behaviour: Behaviour) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), behaviour);
    }

    pub fn serve(&self, path: &str, body: Vec<u8>) {
        self.route(path, Behaviour::Serve(Arc::new(body)));
    }

    pub fn forget(&self, path: &str) {
        self.state.lock().unwrap().routes.remove(path);
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests for any path so far.
    pub fn total_hits(&self) -> usize {
        self.state.lock().unwrap().hits.values().sum()
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

fn handle(mut stream: TcpStream, state: &Mutex<State>, stopped: &AtomicBool) {
    let Some(path) = read_request_path(&mut stream) else {
        return;
    };
    let behaviour = {
        let mut state = state.lock().unwrap();
        *state.hits.entry(path.clone()).or_default() += 1;
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
        Some(Behaviour::Slow { body, delay }) => {
            std::thread::sleep(delay);
            respond(&mut stream, "200 OK", &body)
        }
    };
}

fn hold(stopped: &AtomicBool) {
    let start = Instant::now();
    while !stopped.load(Ordering::SeqCst) && start.elapsed() < STALL_LIMIT {
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

fn send_half(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    stream.write_all(headers("200 OK", body.len()).as_bytes())?;
    stream.write_all(&body[..body.len() / 2])?;
    stream.flush()
}
