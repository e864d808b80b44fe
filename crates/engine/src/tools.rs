//! The `run` action's tools: commands the operator configures, that policies may run by name.
//!
//! ```toml
//! [tools.syft]
//! argv = ["/usr/bin/syft", "scan"]   # program and fixed arguments; a policy appends its own
//! timeout_secs = 300
//! cwd = "/var/lib/dossier/work"
//! env = { SYFT_CHECK_FOR_APP_UPDATE = "false" }
//! max_output = 1048576               # bytes of stdout and of stderr kept
//! ```
//!
//! No shell is involved: arguments are passed as they are.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use dossier_log::own::hex;

use crate::run::{RunOutcome, RunStatus};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub argv: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub env: HashMap<String, String>,
    #[serde(default = "default_max_output")]
    pub max_output: usize,
}

fn default_timeout() -> u64 {
    300
}

fn default_max_output() -> usize {
    1 << 20
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsFile {
    #[serde(default)]
    tools: HashMap<String, Tool>,
}

pub type Tools = HashMap<String, Tool>;

/// What is wrong with a tools file.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("{path}: tool {tool:?} has an empty argv")]
    EmptyArgv { path: String, tool: String },
}

/// Reads a tools file; an error names the file and what is wrong in it.
pub fn load(path: &Path) -> Result<Tools, ToolsError> {
    let shown = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ToolsError::Read { path: shown(), source })?;
    let file: ToolsFile = toml::from_str(&text).map_err(|source| ToolsError::Parse { path: shown(), source })?;
    for (name, tool) in &file.tools {
        if tool.argv.is_empty() {
            return Err(ToolsError::EmptyArgv { path: shown(), tool: name.clone() });
        }
    }
    Ok(file.tools)
}

/// Reads at most `limit` bytes, then drains the rest so the child never blocks on a full pipe.
fn capture(mut from: impl Read + Send + 'static, limit: usize) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        let mut truncated = false;
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = limit.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
            truncated |= n > room;
        }
        (kept, truncated)
    })
}

/// Runs `tool` with `args` appended: the outcome its `finished` entry records, and the
/// standard output kept (up to `max_output` bytes) when the tool could be started.
pub fn run(tool: &Tool, args: &[String]) -> (RunOutcome, Option<Vec<u8>>) {
    let started = Instant::now();
    let mut cmd = Command::new(&tool.argv[0]);
    cmd.args(&tool.argv[1..]).args(args).envs(&tool.env).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(cwd) = &tool.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (RunOutcome::failed(format!("starting {}: {e}", tool.argv[0])), None),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return (RunOutcome::failed("no output pipes"), None);
    };
    let (out, err) = (capture(stdout, tool.max_output), capture(stderr, tool.max_output));
    let deadline = started + Duration::from_secs(tool.timeout_secs);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return (RunOutcome::failed(e.to_string()), None),
        }
    };
    let (stdout, out_truncated) = out.join().unwrap_or_default();
    let (stderr, _) = err.join().unwrap_or_default();
    let mut outcome = match status {
        Some(s) if s.success() => RunOutcome { status: Some(RunStatus::Succeeded), exit_code: Some(0), ..Default::default() },
        Some(s) => RunOutcome { exit_code: s.code(), ..RunOutcome::failed(format!("exited with {s}")) },
        None => RunOutcome {
            status: Some(RunStatus::Timeout),
            reason: Some(format!("killed after {} s", tool.timeout_secs)),
            ..Default::default()
        },
    };
    outcome.output_digest = Some(format!("sha256:{}", hex(&Sha256::digest(&stdout))));
    outcome.output_size = Some(stdout.len());
    outcome.output_truncated = Some(out_truncated);
    outcome.output = Some(String::from_utf8_lossy(&stdout[..stdout.len().min(4096)]).into_owned());
    outcome.stderr = Some(String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(4096)..]).into_owned());
    (outcome, Some(stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(argv: &[&str], timeout_secs: u64) -> Tool {
        Tool { argv: argv.iter().map(|s| s.to_string()).collect(), timeout_secs, cwd: None, env: HashMap::new(), max_output: 16 }
    }

    #[test]
    fn runs_without_a_shell_and_keeps_bounded_output() {
        let (o, output) = run(&tool(&["/bin/echo", "scanned"], 10), &["a;b $(x)".into()]);
        assert_eq!(o.status, Some(RunStatus::Succeeded));
        assert_eq!(o.output.as_deref(), Some("scanned a;b $(x)"));
        assert_eq!(o.output_truncated, Some(true), "16 bytes are kept of 17");
        assert_eq!(output.as_deref(), Some(&b"scanned a;b $(x)"[..]));
    }

    #[test]
    fn a_slow_tool_is_killed_at_its_timeout() {
        let started = Instant::now();
        let (o, _) = run(&tool(&["/bin/sleep", "5"], 1), &[]);
        assert_eq!(o.status, Some(RunStatus::Timeout));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_failing_tool_reports_its_exit_code() {
        let (o, _) = run(&tool(&["/bin/false"], 10), &[]);
        assert_eq!((o.status, o.exit_code), (Some(RunStatus::Failed), Some(1)));
    }
}
