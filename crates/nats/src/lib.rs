//! A small synchronous NATS client: what Dossier needs to publish events into JetStream and
//! nothing more.
//!
//! NATS's client protocol is text lines over TCP (`CONNECT`, `SUB`, `HPUB`, `MSG`, `HMSG`,
//! `PING`/`PONG`); JetStream is request/reply on top of it: a publish to a subject a stream
//! captures is answered with an acknowledgement naming the stream and the message's sequence,
//! and the `$JS.API.*` subjects manage streams. A `Nats-Msg-Id` header makes JetStream drop a
//! repeat of the same message within the stream's duplicate window, which is what turns
//! Dossier's at-least-once publishing into one message per event.
//!
//! * [`protocol`]: parsing what the server sends (no I/O).
//! * [`Connection`]: connect, request/reply over one inbox subscription.
//! * [`JetStream`]: ensure a stream, publish with an id, read a stream's state or last message.

pub mod protocol;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use protocol::{Frame, Message};

/// What went wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("NATS address {0:?}: expected nats://host:port or host:port")]
    Address(String),
    #[error("NATS at {addr}: {source}")]
    Io { addr: String, source: std::io::Error },
    #[error("NATS at {addr}: {message}")]
    Protocol { addr: String, message: String },
    #[error("NATS at {addr}: no answer to {subject} within {timeout:?}")]
    Timeout { addr: String, subject: String, timeout: Duration },
    #[error("NATS at {addr}: nothing answers on {subject} (no JetStream stream captures it?)")]
    NoResponders { addr: String, subject: String },
    #[error("JetStream: {description} (code {code}, error {err_code})")]
    JetStream { code: u16, err_code: u32, description: String },
}

/// One connection: a reader, a writer and one wildcard inbox subscription for replies.
pub struct Connection {
    addr: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    inbox: String,
    next_reply: u64,
    timeout: Duration,
}

const INBOX_SID: &str = "1";

impl Connection {
    /// Connects to `url` (`nats://host:port` or `host:port`), announcing that it understands
    /// headers and wants to be told when nothing answers a request.
    pub fn connect(url: &str, timeout: Duration) -> Result<Connection, NatsError> {
        let addr = url.strip_prefix("nats://").unwrap_or(url).trim_end_matches('/').to_owned();
        let io = |source| NatsError::Io { addr: addr.clone(), source };
        let target = addr
            .to_socket_addrs()
            .map_err(|_| NatsError::Address(url.to_owned()))?
            .next()
            .ok_or_else(|| NatsError::Address(url.to_owned()))?;
        let stream = TcpStream::connect_timeout(&target, timeout).map_err(io)?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        let mut random = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
        let inbox = format!("_INBOX.dossier.{}", hex::encode(random));
        let mut c = Connection { addr, reader: BufReader::new(stream), writer, inbox, next_reply: 0, timeout };
        match c.read_frame()? {
            Frame::Info(_) => {}
            other => return Err(c.protocol(format!("expected INFO first, got {other:?}"))),
        }
        let connect = json!({"verbose": false, "pedantic": false, "name": "dossier", "lang": "rust",
                             "version": env!("CARGO_PKG_VERSION"), "protocol": 1, "headers": true, "no_responders": true});
        c.write(format!("CONNECT {connect}\r\nSUB {}.* {INBOX_SID}\r\nPING\r\n", c.inbox).as_bytes())?;
        // PONG means CONNECT and SUB were accepted; an error comes first otherwise.
        loop {
            match c.read_frame()? {
                Frame::Pong => return Ok(c),
                Frame::Err(e) => return Err(c.protocol(e)),
                Frame::Ping => c.write(b"PONG\r\n")?,
                _ => {}
            }
        }
    }

    fn protocol(&self, message: String) -> NatsError {
        NatsError::Protocol { addr: self.addr.clone(), message }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), NatsError> {
        self.writer.write_all(bytes).map_err(|source| NatsError::Io { addr: self.addr.clone(), source })
    }

    fn read_frame(&mut self) -> Result<Frame, NatsError> {
        let mut line = String::new();
        let n = std::io::Read::take(&mut self.reader, protocol::MAX_LINE)
            .read_line(&mut line)
            .map_err(|source| NatsError::Io { addr: self.addr.clone(), source })?;
        if n == 0 {
            return Err(self.protocol("the server closed the connection".into()));
        }
        if !line.ends_with('\n') {
            return Err(self.protocol(format!("a line longer than {} bytes", protocol::MAX_LINE)));
        }
        let frame = protocol::parse_line(&line).map_err(|m| self.protocol(m))?;
        match frame {
            Frame::MsgHead { subject, sid, header_len, total_len } => {
                let mut body = vec![0u8; total_len + 2];
                std::io::Read::read_exact(&mut self.reader, &mut body)
                    .map_err(|source| NatsError::Io { addr: self.addr.clone(), source })?;
                body.truncate(total_len);
                Ok(Frame::Msg(Message::split(subject, sid, header_len, body).map_err(|m| self.protocol(m))?))
            }
            other => Ok(other),
        }
    }

    /// Sends `payload` (with `headers`) to `subject` and waits for the reply.
    pub fn request(&mut self, subject: &str, headers: &[(&str, &str)], payload: &[u8]) -> Result<Message, NatsError> {
        self.next_reply += 1;
        let reply = format!("{}.{}", self.inbox, self.next_reply);
        let head = protocol::headers_block(headers);
        let mut frame = format!("HPUB {subject} {reply} {} {}\r\n", head.len(), head.len() + payload.len()).into_bytes();
        frame.extend_from_slice(head.as_bytes());
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        self.write(&frame)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let frame = match self.read_frame() {
                Err(NatsError::Io { source, .. })
                    if matches!(source.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    return Err(NatsError::Timeout { addr: self.addr.clone(), subject: subject.to_owned(), timeout: self.timeout })
                }
                other => other?,
            };
            match frame {
                // Replies to earlier requests that timed out are dropped.
                Frame::Msg(m) if m.subject == reply => {
                    return match m.status {
                        Some(503) => Err(NatsError::NoResponders { addr: self.addr.clone(), subject: subject.to_owned() }),
                        _ => Ok(m),
                    };
                }
                Frame::Ping => self.write(b"PONG\r\n")?,
                Frame::Err(e) => return Err(self.protocol(e)),
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(NatsError::Timeout { addr: self.addr.clone(), subject: subject.to_owned(), timeout: self.timeout });
            }
        }
    }
}

/// JetStream's acknowledgement of a publish.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PubAck {
    pub stream: String,
    pub seq: u64,
    /// The message id was seen within the duplicate window: nothing was stored.
    #[serde(default)]
    pub duplicate: bool,
}

/// JetStream over a connection.
pub struct JetStream {
    conn: Connection,
}

/// An API answer: its error, or the answer.
fn api_answer(payload: &[u8]) -> Result<Value, NatsError> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| NatsError::JetStream {
        code: 0,
        err_code: 0,
        description: format!("the answer is not JSON: {e}"),
    })?;
    if let Some(e) = v.get("error") {
        return Err(NatsError::JetStream {
            code: e["code"].as_u64().unwrap_or(0) as u16,
            err_code: e["err_code"].as_u64().unwrap_or(0) as u32,
            description: e["description"].as_str().unwrap_or("unknown error").to_owned(),
        });
    }
    Ok(v)
}

/// JetStream's error code for "stream name already in use".
const STREAM_NAME_IN_USE: u32 = 10058;

impl JetStream {
    pub fn connect(url: &str, timeout: Duration) -> Result<JetStream, NatsError> {
        Ok(JetStream { conn: Connection::connect(url, timeout)? })
    }

    fn api(&mut self, subject: &str, body: Value) -> Result<Value, NatsError> {
        let reply = self.conn.request(subject, &[], body.to_string().as_bytes())?;
        api_answer(&reply.payload)
    }

    /// Creates the stream capturing `subjects` (file storage) unless one of that name exists.
    pub fn ensure_stream(&mut self, name: &str, subjects: &[String]) -> Result<(), NatsError> {
        let config = json!({"name": name, "subjects": subjects, "storage": "file", "retention": "limits",
                            "duplicate_window": 120_000_000_000u64});
        match self.api(&format!("$JS.API.STREAM.CREATE.{name}"), config) {
            Ok(_) => Ok(()),
            Err(NatsError::JetStream { err_code: STREAM_NAME_IN_USE, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Publishes `payload` to `subject` with a message id and extra headers; answers once the
    /// stream has stored it (or recognised it as a duplicate).
    pub fn publish(&mut self, subject: &str, msg_id: &str, headers: &[(&str, &str)], payload: &[u8]) -> Result<PubAck, NatsError> {
        let mut all = vec![("Nats-Msg-Id", msg_id)];
        all.extend_from_slice(headers);
        let reply = self.conn.request(subject, &all, payload)?;
        let v = api_answer(&reply.payload)?;
        serde_json::from_value(v).map_err(|e| NatsError::JetStream {
            code: 0,
            err_code: 0,
            description: format!("unexpected acknowledgement: {e}"),
        })
    }

    /// How many messages the stream holds.
    pub fn messages(&mut self, stream: &str) -> Result<u64, NatsError> {
        let v = self.api(&format!("$JS.API.STREAM.INFO.{stream}"), json!({}))?;
        Ok(v["state"]["messages"].as_u64().unwrap_or(0))
    }

    /// The last message stored under `subject`, with its headers.
    pub fn last_message(&mut self, stream: &str, subject: &str) -> Result<Option<(String, Vec<u8>)>, NatsError> {
        match self.api(&format!("$JS.API.STREAM.MSG.GET.{stream}"), json!({"last_by_subj": subject})) {
            Ok(v) => {
                let decode = |field: &str| {
                    base64::engine::general_purpose::STANDARD.decode(v["message"][field].as_str().unwrap_or("")).unwrap_or_default()
                };
                let headers = String::from_utf8_lossy(&decode("hdrs")).into_owned();
                Ok(Some((headers, decode("data"))))
            }
            Err(NatsError::JetStream { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a stream (tests clean up after themselves).
    pub fn delete_stream(&mut self, stream: &str) -> Result<(), NatsError> {
        self.api(&format!("$JS.API.STREAM.DELETE.{stream}"), json!({})).map(drop)
    }
}
