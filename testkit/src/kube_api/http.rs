//! HTTP/1.1 over a std `TcpStream`: requests in (with `Content-Length` or chunked
//! bodies), JSON responses out, connections kept alive as hyper expects. One thread per
//! connection, as `testkit::server` does.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use super::Shared;
use super::exec;

/// One request as read off the wire.
pub(super) struct Request {
    pub method: String,
    /// Path and query, as sent (`/api/v1/namespaces/x/secrets?&labelSelector=a%3Db`).
    pub target: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    }
}

/// What the store decided to do with a request.
pub(super) enum Outcome {
    /// Answer with this code and JSON body.
    Json(u16, Value),
    /// Upgrade to a websocket and play this exec.
    Exec(exec::ExecReply),
}

/// The largest request head or body the stand-in reads (the MetalLB CRDs are ~50 KiB).
const MAX_BODY: usize = 16 * 1024 * 1024;

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if let Some(len) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > MAX_BODY {
            return None;
        }
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let len = usize::from_str_radix(size.trim(), 16).ok()?;
            if body.len() + len > MAX_BODY {
                return None;
            }
            let mut chunk = vec![0; len + 2]; // the data, then CRLF
            reader.read_exact(&mut chunk).ok()?;
            if len == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..len]);
        }
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_json(stream: &mut TcpStream, code: u16, body: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(body).expect("JSON values serialize");
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        reason_phrase(code),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()
}

/// Serves requests on `stream` until the client closes it (or an exec takes it over).
pub(super) fn serve_connection(stream: TcpStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let outcome = shared.handle(&request);
        match outcome {
            Outcome::Json(code, body) => {
                if write_json(&mut writer, code, &body).is_err() {
                    return;
                }
            }
            Outcome::Exec(reply) => {
                let key = request.header("sec-websocket-key").unwrap_or_default();
                let offered = request.header("sec-websocket-protocol").unwrap_or_default();
                exec::play(writer, key, offered, &reply);
                return;
            }
        }
    }
}
