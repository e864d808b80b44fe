//! `dossier bench sigstore`: Sigstore bundles verified per second (read, then verified in full:
//! chain, SCT, signature, log entry and checkpoint, timestamps, identity), over the
//! conformance suite's bundles that verify, on one thread and on every core: with nothing seen
//! before, with the signing certificates seen before (new bundles of a certificate: a CI run's
//! one certificate signing many artifacts), and with the very bundles seen before (the same
//! bundle verified again).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_sigstore::{verify, Artifact, Bundle, Expected, PublicKey, TrustedRoot};

#[derive(clap::Args, Debug)]
pub struct SigstoreArgs {
    /// The conformance suite's `bundle-verify` directory
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/sigstore-conformance/bundle-verify"))]
    pub fixtures: PathBuf,
    /// Seconds each measurement runs
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Threads of the parallel measurement (default: every core)
    #[arg(long)]
    pub threads: Option<usize>,
}

/// One case: a bundle's JSON and what it is verified with.
struct Case {
    json: Vec<u8>,
    artifact: Vec<u8>,
    expected: Expected,
    root: TrustedRoot,
}

fn load(dir: &std::path::Path) -> anyhow::Result<Vec<Case>> {
    let now = time::OffsetDateTime::now_utc();
    let a_txt = std::fs::read(dir.join("a.txt")).with_context(|| format!("no conformance fixtures at {}", dir.display()))?;
    let mut cases = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for case in dirs {
        let read = |name: &str| std::fs::read(case.join(name)).ok();
        let text = |name: &str| read(name).and_then(|b| String::from_utf8(b).ok()).map(|s| s.trim().to_owned());
        let root = match read("trusted_root.json") {
            Some(json) => match TrustedRoot::from_json(&json) {
                Ok(root) => root,
                Err(_) => continue,
            },
            None => TrustedRoot::public_good(),
        };
        let expected = match text("key.pub") {
            Some(pem) => Expected::Key(PublicKey::from_pem(&pem)?),
            None => Expected::Identity {
                identity: dossier_sigstore::Matcher::Exact(text("identity").unwrap_or_else(|| {
                    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into()
                })),
                issuer: dossier_sigstore::Matcher::Exact(
                    text("issuer").unwrap_or_else(|| "https://token.actions.githubusercontent.com".into()),
                ),
            },
        };
        let Some(json) = read("bundle.sigstore.json") else { continue };
        let artifact = read("artifact").unwrap_or_else(|| a_txt.clone());
        let c = Case { json, artifact, expected, root };
        if verify_one(&c, now) {
            cases.push(c);
        }
    }
    Ok(cases)
}

fn verify_one(case: &Case, now: time::OffsetDateTime) -> bool {
    Bundle::from_json(&case.json).and_then(|b| verify(&b, Artifact::Bytes(&case.artifact), &case.expected, &case.root, now)).is_ok()
}

/// What a trusted root remembers when a bundle is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Nothing: before each bundle the root forgets every signature it verified.
    Nothing,
    /// The signing certificates (their issuers' signatures, their SCTs): before each bundle the
    /// root forgets the bundles' own signatures (artifact or envelope, entry promise,
    /// checkpoint, RFC 3161 timestamp), as for a new bundle of a certificate seen before.
    Certificates,
    /// Everything: the same bundles verified again.
    Bundles,
}

impl Seen {
    fn label(self) -> &'static str {
        match self {
            Seen::Nothing => "certificates first seen",
            Seen::Certificates => "certificates seen before",
            Seen::Bundles => "bundles seen before",
        }
    }
}

/// Verifies the cases round-robin for `seconds` on `threads` threads; bundles per second.
fn measure(cases: &[Case], threads: usize, seconds: u64, seen: Seen) -> anyhow::Result<(u64, Duration)> {
    let now = time::OffsetDateTime::now_utc();
    let began = Instant::now();
    let deadline = began + Duration::from_secs(seconds);
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut n = 0u64;
                    let mut i = t;
                    while Instant::now() < deadline {
                        let case = &cases[i % cases.len()];
                        match seen {
                            Seen::Nothing => {
                                case.root.forget_verified_certificates();
                                case.root.forget_verified_signatures();
                            }
                            Seen::Certificates => case.root.forget_verified_signatures(),
                            Seen::Bundles => {}
                        }
                        assert!(verify_one(case, now), "a bundle stopped verifying");
                        i += 1;
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect::<Result<Vec<u64>, _>>()
    });
    let counts = counts.map_err(|_| anyhow::anyhow!("a verifying thread panicked"))?;
    Ok((counts.iter().sum(), began.elapsed()))
}

pub fn run(args: SigstoreArgs) -> anyhow::Result<ExitCode> {
    let cases = load(&args.fixtures)?;
    if cases.is_empty() {
        bail!("no bundle of {} verifies", args.fixtures.display());
    }
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!("machine: {}", crate::measure::machine());
    println!("{} bundles (the conformance cases that verify), each read and verified in full, round-robin", cases.len());
    for seen in [Seen::Nothing, Seen::Certificates, Seen::Bundles] {
        for t in [1, threads] {
            let (n, elapsed) = measure(&cases, t, args.seconds, seen)?;
            let rate = n as f64 / elapsed.as_secs_f64();
            println!(
                "{}, {t} thread{}: {n} bundles in {:.1} s: {rate:.0} bundles/s ({:.0} µs each)",
                seen.label(),
                if t == 1 { "" } else { "s" },
                elapsed.as_secs_f64(),
                1e6 / rate * t as f64
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
