//! The dashboard in a real headless browser: runs `tests/browser/dashboard.test.mjs` (Node's
//! test runner, playwright-core, Debian's chromium) against this build's binary. It needs
//! `node`, `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci` done in `tests/browser`; it runs when
//! `DOSSIER_TEST_BROWSER` is set (`.ci/run` sets it after installing them) and otherwise says
//! so and passes.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_dashboard_works_in_a_real_browser() {
    if std::env::var_os("DOSSIER_TEST_BROWSER").is_none() {
        eprintln!("DOSSIER_TEST_BROWSER is not set: skipping the browser tests (see tests/browser)");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(dir.join("node_modules/playwright-core").exists(), "run `npm ci` in {} first", dir.display());
    let out = Command::new("node")
        .args(["--test", "dashboard.test.mjs"])
        .current_dir(&dir)
        .env("DOSSIER_BIN", env!("CARGO_BIN_EXE_dossier"))
        .output()
        .expect("running node (is Node.js installed?)");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the browser tests failed:\n{report}");
    assert!(report.contains("# fail 0"), "{report}");
}
