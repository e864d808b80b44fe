//! What the server sends, parsed: no I/O here.

/// One control line (and, for messages, the body read after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Info(String),
    Ping,
    Pong,
    Ok,
    Err(String),
    /// `MSG`/`HMSG` line: the body (headers and payload, `total_len` bytes, then CRLF) follows.
    MsgHead {
        subject: String,
        sid: String,
        header_len: usize,
        total_len: usize,
    },
    Msg(Message),
}

/// A message delivered to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub sid: String,
    /// The status of a status message (`NATS/1.0 503` when nothing answered a request).
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// Splits a body into its headers block (`header_len` bytes) and its payload.
    pub fn split(subject: String, sid: String, header_len: usize, mut body: Vec<u8>) -> Result<Message, String> {
        if header_len > body.len() {
            return Err(format!("a header block of {header_len} bytes in a message of {}", body.len()));
        }
        let payload = body.split_off(header_len);
        let (status, headers) = if header_len == 0 { (None, Vec::new()) } else { parse_headers(&String::from_utf8_lossy(&body))? };
        Ok(Message { subject, sid, status, headers, payload })
    }
}

/// The largest message read from the server (NATS's own default maximum payload is 1 MiB;
/// anything far beyond it is a broken or hostile peer, not a reply).
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// The longest control line read from the server.
pub const MAX_LINE: u64 = 1024 * 1024;

fn number(field: &str, what: &str) -> Result<usize, String> {
    let n: usize = field.parse().map_err(|_| format!("{what} {field:?} is not a number"))?;
    if n > MAX_MESSAGE {
        return Err(format!("{what} {n} is more than the {MAX_MESSAGE} bytes a reply may have"));
    }
    Ok(n)
}

/// Parses one line the server sent (with or without its CRLF).
pub fn parse_line(line: &str) -> Result<Frame, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (op, rest) = line.split_once(' ').unwrap_or((line, ""));
    let parts: Vec<&str> = rest.split_whitespace().collect();
    match op.to_ascii_uppercase().as_str() {
        "INFO" => Ok(Frame::Info(rest.to_owned())),
        "PING" => Ok(Frame::Ping),
        "PONG" => Ok(Frame::Pong),
        "+OK" => Ok(Frame::Ok),
        "-ERR" => Ok(Frame::Err(rest.trim().trim_matches('\'').to_owned())),
        // MSG <subject> <sid> [reply-to] <#bytes>
        "MSG" if parts.len() == 3 || parts.len() == 4 => Ok(Frame::MsgHead {
            subject: parts[0].to_owned(),
            sid: parts[1].to_owned(),
            header_len: 0,
            total_len: number(parts[parts.len() - 1], "message size")?,
        }),
        // HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
        "HMSG" if parts.len() == 4 || parts.len() == 5 => {
            let header_len = number(parts[parts.len() - 2], "header size")?;
            let total_len = number(parts[parts.len() - 1], "message size")?;
            if header_len > total_len {
                return Err(format!("header size {header_len} exceeds message size {total_len}"));
            }
            Ok(Frame::MsgHead { subject: parts[0].to_owned(), sid: parts[1].to_owned(), header_len, total_len })
        }
        _ => Err(format!("unexpected line from the server: {line:?}")),
    }
}

/// A status and the headers.
type Headers = (Option<u16>, Vec<(String, String)>);

/// Parses `NATS/1.0[ status[ description]]\r\nName: value\r\n…\r\n\r\n`.
fn parse_headers(block: &str) -> Result<Headers, String> {
    let mut lines = block.split("\r\n");
    let first = lines.next().unwrap_or("");
    let Some(rest) = first.strip_prefix("NATS/1.0") else {
        return Err(format!("a header block starting {first:?}, not NATS/1.0"));
    };
    let status = rest.split_whitespace().next().and_then(|s| s.parse().ok());
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())))
        .collect();
    Ok((status, headers))
}

/// The headers block of an `HPUB`. Values must not contain CR or LF; they are dropped there.
pub fn headers_block(headers: &[(&str, &str)]) -> String {
    let mut out = String::from("NATS/1.0\r\n");
    for (name, value) in headers {
        let clean = |s: &str| s.chars().filter(|c| *c != '\r' && *c != '\n').collect::<String>();
        out.push_str(&format!("{}: {}\r\n", clean(name), clean(value)));
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_lines_are_parsed() {
        assert_eq!(parse_line("PING\r\n"), Ok(Frame::Ping));
        assert_eq!(parse_line("-ERR 'Authorization Violation'\r\n"), Ok(Frame::Err("Authorization Violation".into())));
        assert_eq!(
            parse_line("MSG _INBOX.x.1 1 42\r\n"),
            Ok(Frame::MsgHead { subject: "_INBOX.x.1".into(), sid: "1".into(), header_len: 0, total_len: 42 })
        );
        assert_eq!(
            parse_line("HMSG _INBOX.x.2 1 reply.to 16 20\r\n"),
            Ok(Frame::MsgHead { subject: "_INBOX.x.2".into(), sid: "1".into(), header_len: 16, total_len: 20 })
        );
        assert!(parse_line("HMSG a 1 30 20\r\n").unwrap_err().contains("exceeds"));
        assert!(
            parse_line("MSG a 1 999999999999\r\n").unwrap_err().contains("more than the 67108864 bytes"),
            "no allocation on a peer's word"
        );
        assert!(parse_line("WHAT\r\n").unwrap_err().starts_with("unexpected line"));
    }

    #[test]
    fn a_no_responders_status_message_is_recognised() {
        let block = "NATS/1.0 503\r\n\r\n";
        let m = Message::split("_INBOX.x.3".into(), "1".into(), block.len(), block.as_bytes().to_vec()).unwrap();
        assert_eq!((m.status, m.payload.len()), (Some(503), 0));
    }

    #[test]
    fn headers_round_trip_and_cannot_inject_lines() {
        let block = headers_block(&[("Nats-Msg-Id", "/ci/a b\r\nX: y")]);
        assert_eq!(block, "NATS/1.0\r\nNats-Msg-Id: /ci/a bX: y\r\n\r\n");
        let mut body = block.clone().into_bytes();
        body.extend_from_slice(b"{}");
        let m = Message::split("s".into(), "1".into(), block.len(), body).unwrap();
        assert_eq!((m.status, m.headers, m.payload), (None, vec![("Nats-Msg-Id".to_owned(), "/ci/a bX: y".to_owned())], b"{}".to_vec()));
    }
}
