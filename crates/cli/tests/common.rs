//! A real `dossier serve` child process on a free port and a fresh data directory.

#![allow(dead_code)] // Each test binary uses a different part of this helper.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_dossier");

/// The admin token every test server starts with (`serve --admin-token`), and that `dossier()`
/// and [`http`] send: the tests of other features act as an administrator; the access tests
/// create tokens of their own.
pub const ADMIN_TOKEN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

/// An HTTP agent sending [`ADMIN_TOKEN`].
pub fn http() -> ureq::Agent {
    as_bearer(ADMIN_TOKEN)
}

/// An HTTP agent sending `token` as its credential.
pub fn as_bearer(token: &str) -> ureq::Agent {
    ureq::AgentBuilder::new().middleware(dossier_client::Bearer::new(token)).build()
}

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub data: PathBuf,
}

impl Server {
    /// Starts a server on `data` and waits until it listens.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts a server on `data` with more `serve` arguments.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let (child, url) = listening(
            Command::new(BIN)
                .args(["serve", "--listen", "127.0.0.1:0", "--data"])
                .arg(data)
                .args(extra)
                .env("DOSSIER_ADMIN_TOKEN", ADMIN_TOKEN),
        );
        Server { child, url, data: data.to_owned() }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }

    pub fn post(&self, content_type: &str, body: &[u8]) -> (u16, Value) {
        post_to(&self.url, content_type, body)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        match http().get(&format!("{}{path}", self.url)).timeout(Duration::from_secs(30)).call() {
            Ok(r) => (r.status(), r.into_json().expect("JSON answer")),
            Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    pub fn size(&self) -> u64 {
        let (status, page) = self.get("/api/v1/events?order=desc&limit=1");
        assert_eq!(status, 200);
        page["events"].as_array().and_then(|e| e.first()).map(|e| e["seq"].as_u64().unwrap() + 1).unwrap_or(0)
    }
}

/// Starts a `dossier` command that serves HTTP (`serve`, `witness`) and waits until it logs
/// `serving http://…`; returns the child and that URL. Its stderr is drained from then on, so
/// it never blocks on a full pipe.
pub fn listening(command: &mut Command) -> (Child, String) {
    let mut child = command
        .env("DOSSIER_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting dossier");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines.next().expect("it exited before listening").expect("reading stderr");
        if let Some(rest) = line.split("serving ").nth(1) {
            break rest.split_whitespace().next().expect("an address").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

pub fn post_to(url: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let resp =
        http().post(&format!("{url}/api/v1/events")).timeout(Duration::from_secs(30)).set("Content-Type", content_type).send_bytes(body);
    match resp {
        Ok(r) => (r.status(), r.into_json().expect("JSON answer")),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST: {e}"),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `dossier` binary and returns its exit code, stdout and stderr.
pub fn dossier(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env("DOSSIER_TOKEN", ADMIN_TOKEN).output().expect("running dossier");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs the `dossier` binary with `token` as its credential (`DOSSIER_TOKEN`).
pub fn dossier_as(token: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env("DOSSIER_TOKEN", token).output().expect("running dossier");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Creates, as the admin, a token for the person `name` with `scopes` (`POST /api/v1/tokens`)
/// and returns its secret. The token's creation is a log entry of its own.
pub fn token(server: &Server, name: &str, scopes: &[&str]) -> String {
    let r = http()
        .post(&format!("{}/api/v1/tokens", server.url))
        .timeout(Duration::from_secs(30))
        .send_json(serde_json::json!({"name": name, "scopes": scopes}))
        .unwrap_or_else(|e| panic!("creating the token {name}: {e}"));
    assert_eq!(r.status(), 201, "creating the token {name}");
    let created: Value = r.into_json().expect("JSON answer");
    created["token"].as_str().expect("the token's secret").to_owned()
}

/// Polls `f` every 50 ms for up to 5 s (10 s under load is not expected) until it answers.
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(x) = f() {
            return x;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Waits until a log follower's cursor file (`DATA/<name>.cursor`) has been written past
/// entry 0 again: its catch-up after a restart from a reset cursor is done.
pub fn caught_up(cursor: &std::path::Path) {
    eventually("the follower's catch-up", || {
        let next: u64 = std::fs::read_to_string(cursor).ok()?.trim().parse().ok()?;
        (next > 0).then_some(())
    });
}

/// A policy directory under `root` holding one module, `name`.rego.
pub fn policy_dir(root: &std::path::Path, name: &str, source: &str) -> PathBuf {
    let dir = root.join("policies");
    std::fs::create_dir(&dir).expect("creating the policy directory");
    std::fs::write(dir.join(format!("{name}.rego")), source).expect("writing the policy");
    dir
}
