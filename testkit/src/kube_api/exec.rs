//! Scripted `exec`: the pods/exec websocket the API server upgrades to, played from a
//! script instead of a container.
//!
//! The channel protocol is the one kube-rs speaks (kube-client@5.0.0:src/api/remote_command.rs):
//! binary messages whose first byte is the channel, 1 stdout, 2 stderr, 3 the final
//! `metav1.Status`. A zero exit is `{"status": "Success"}`; a non-zero one is a Failure
//! with reason `NonZeroExitCode` and the code as the message of the `ExitCode` cause
//! (kubernetes/kubernetes@v1.33.0:staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go
//! `NonZeroExitCodeReason`, `ExitCodeCauseType`; the kubelet writes it in
//! staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand/websocket.go).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::TcpStream;

use serde_json::json;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

/// What one scripted exec prints, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecReply {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl ExecReply {
    /// Prints `stdout` and exits 0.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            ..Self::default()
        }
    }

    /// Prints `stderr` and exits with `code`.
    pub fn failed(code: i32, stderr: impl Into<String>) -> Self {
        Self {
            stderr: stderr.into(),
            exit_code: code,
            ..Self::default()
        }
    }
}

/// Which exec a script answers: the pod, the container and the exact argv.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ExecKey {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub argv: Vec<String>,
}

/// Replies in order; the last one answers every exec after it.
#[derive(Debug, Default)]
pub(super) struct Scripts(HashMap<ExecKey, VecDeque<ExecReply>>);

impl Scripts {
    pub fn add(&mut self, key: ExecKey, replies: Vec<ExecReply>) {
        assert!(!replies.is_empty(), "an exec script needs a reply");
        self.0.insert(key, replies.into());
    }

    pub fn next(&mut self, key: &ExecKey) -> Option<ExecReply> {
        let replies = self.0.get_mut(key)?;
        if replies.len() > 1 {
            replies.pop_front()
        } else {
            replies.front().cloned()
        }
    }

    /// What is scripted, for the message of an exec nothing answers.
    pub fn keys(&self) -> Vec<&ExecKey> {
        self.0.keys().collect()
    }
}

/// The largest piece of output sent in one message: output comes in pieces, as from a
/// container, so the client must read its streams to the end.
const CHUNK: usize = 16 * 1024;

/// Answers the upgrade request (`key` is its `Sec-WebSocket-Key`, `offered` its
/// `Sec-WebSocket-Protocol`) and plays `reply` on the channels.
pub(super) fn play(mut stream: TcpStream, key: &str, offered: &str, reply: &ExecReply) {
    // kube-rs offers "v5.channel.k8s.io, v4.channel.k8s.io"
    // (kube-client@5.0.0:src/client/upgrade.rs); both carry the channels the same way.
    let protocol = if offered.contains("v5.channel.k8s.io") {
        "v5.channel.k8s.io"
    } else {
        "v4.channel.k8s.io"
    };
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n",
        tungstenite::handshake::derive_accept_key(key.as_bytes())
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, None);
    let frame = |channel: u8, data: &[u8]| {
        let mut bytes = Vec::with_capacity(data.len() + 1);
        bytes.push(channel);
        bytes.extend_from_slice(data);
        Message::binary(bytes)
    };
    let status = if reply.exit_code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [...], exit code {}", reply.exit_code),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": reply.exit_code.to_string()}]},
        })
    };
    let mut messages = Vec::new();
    for (channel, text) in [(1u8, &reply.stdout), (2, &reply.stderr)] {
        for piece in text.as_bytes().chunks(CHUNK) {
            messages.push(frame(channel, piece));
        }
    }
    messages.push(frame(
        3,
        &serde_json::to_vec(&status).expect("a Status is JSON"),
    ));
    for message in messages {
        if ws.send(message).is_err() {
            return;
        }
    }
    let _ = ws.close(None);
    // Until the client's close arrives (or the connection ends).
    while ws.read().is_ok() {}
}
