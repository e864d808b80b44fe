// The dashboard in a real headless browser: Debian's chromium driven by playwright-core, over a
// Dossier filled by `dossier demo`. Run by `cargo test` (crates/cli/tests/browser.rs) when
// DOSSIER_TEST_BROWSER is set; alone with `npm test` here, DOSSIER_BIN naming the binary.
// With DOSSIER_SCREENSHOTS=DIR (absolute), every page is saved there as PNG, at 1440×900 and
// at 390×844 (`-phone`).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.DOSSIER_BIN || join(here, "../../target/debug/dossier");
const shots = process.env.DOSSIER_SCREENSHOTS;
const sbom = join(here, "../../crates/evidence/tests/documents/cyclonedx-py-1.6.json");
const scan = join(here, "../../crates/evidence/tests/documents/osv-scanner.json");
const axe = join(here, "node_modules/axe-core/axe.min.js");

let server, url, browser, dir, deployed;
// The top of a chain of 20 images, and a base image with at least 300 descendants.
let chain20, base300;
// The admin token the server starts with; people get tokens of their own below.
const ADMIN = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";
const tokens = {};
// A vulnerability the demo left unfixed that reaches a deployment (found by the click-through).
let vulnerability;

function dossier(...args) {
  const r = spawnSync(bin, [...args, "--server", url], { encoding: "utf8", env: { ...process.env, DOSSIER_TOKEN: ADMIN } });
  assert.equal(r.status, 0, `dossier ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function api(path, body) {
  const auth = { Authorization: `Bearer ${ADMIN}` };
  const r = await fetch(url + path, body === undefined ? { headers: auth } : { method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

/// `dossier serve` over `data` with the admin token, and the URL it serves once it listens.
async function serve(data, ...extra) {
  const child = spawn(bin, ["serve", "--data", data, "--listen", "127.0.0.1:0", ...extra], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, DOSSIER_ADMIN_TOKEN: ADMIN } });
  const at = await new Promise((resolve, reject) => {
    let seen = "";
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const m = seen.match(/serving (http:\/\/[0-9.:]+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`the server exited (${code}): ${seen}`)));
  });
  return { child, at };
}

/// Signs `page` in at `base` with `token`, then opens `path` there.
async function signIn(page, base, path, token = ADMIN) {
  await page.goto(base + "/ui/signin?next=" + encodeURIComponent(path));
  await page.fill("#token", token);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/ui/signin")), page.click("form[action='/ui/signin'] button[type=submit]")]);
  await page.waitForLoadState("load");
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "dossier-browser-"));
  ({ child: server, at: url } = await serve(join(dir, "data"), "--policies", join(here, "../../policies")));
  // Long chains first (20 images above each binary, 75 builds on 5 base images), then the
  // usual demo, whose services take over the first of the chains' clusters' services.
  dossier("demo", "--seed", "7", "--depth", "20", "--artifacts", "1600", "--vulnerabilities", "0");
  dossier("demo", "--artifacts", "120");
  for (const [name, scopes] of [["alice", "read,exceptions:request,exceptions:approve"], ["bob", "read,exceptions:approve"], ["carol", "read,exceptions:approve"], ["auditor", "read"]]) {
    tokens[name] = dossier("token", "create", "--name", name, "--scope", scopes).trim();
  }
  const environments = (await api("/api/v1/environments")).json.environments;
  deployed = Object.values(environments)[0][0].artifact;
  dossier("document", "send", "--artifact", deployed, sbom);
  dossier("document", "send", "--artifact", deployed, scan);
  // A deployed top of a chain of 20, and the base image under most of them.
  const tops = Object.values(environments).flat().map((d) => d.artifact).filter((a) => /-l20@/.test(a));
  assert.ok(tops.length > 0, "a chain of 20 runs somewhere");
  chain20 = tops[0];
  const bases = new Map();
  for (const top of tops) {
    for (const e of (await api("/api/v1/lineage?purl=" + encodeURIComponent(top))).json.ancestors) {
      if (e.parent.startsWith("pkg:oci/base-") && !bases.has(e.parent)) {
        bases.set(e.parent, (await api("/api/v1/lineage?purl=" + encodeURIComponent(e.parent))).json.descendants.length);
      }
    }
  }
  [base300] = [...bases.entries()].sort((a, b) => b[1] - a[1])[0];
  assert.ok(bases.get(base300) >= 300, `a base image with 300 descendants: ${JSON.stringify([...bases])}`);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/// A page, signed in with `token` through the sign-in form, whose console errors and failed
/// requests fail the test.
async function open(path, token = ADMIN, viewport = { width: 1440, height: 900 }) {
  // CSP bypassed for the test's own scripts only (axe-core); the pages' CSP is checked by the
  // server's tests.
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, url, path, token);
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(e.message));
  // A favicon fetch cut short by the next navigation (after signing in) is the browser's, not the page's.
  const navigationAborted = (r) => r.url().includes("favicon") && r.failure()?.errorText === "net::ERR_ABORTED";
  page.on("requestfailed", (r) => { if (!r.url().includes("/api/v1/stream") && !navigationAborted(r)) problems.push(`${r.url()}: ${r.failure()?.errorText}`); });
  // Signed in; the page loaded afresh, watched.
  await page.goto(url + path);
  return { page, problems };
}

/// axe-core's accessibility rules (WCAG 2.1 A and AA, and best practice) broken on `page`.
async function violations(page) {
  await page.addScriptTag({ path: axe });
  return page.evaluate(async () =>
    (await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] })).violations
      .map((v) => `${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 2).map((n) => n.target.join(" ")).join(", ")}`));
}

/// Asserts that `page`, open on a 390 px wide phone, does not overflow sideways.
async function fitsAPhone(page, path) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  const wide = await page.evaluate(() => Array.from(document.querySelectorAll("body *")).filter((e) => e.getBoundingClientRect().right > 392 && !e.closest(".panel, table, svg")).slice(0, 6).map((e) => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`));
  assert.ok(overflow <= 390, `${path} is ${overflow} px wide on a 390 px screen: ${wide.join("; ")}`);
}

test("every page loads, in one layout, without a script error", async () => {
  // The newest vulnerability, for its page (headed by its id and severity).
  const newest = (await api("/api/v1/vulnerabilities?limit=1")).json.vulnerabilities[0];
  const pages = [
    ["/ui", "Overview"], ["/ui/events", "Events"], ["/ui/impact", "Vulnerability impact"], ["/ui/environments", "Environments"],
    ["/ui/policies", "Policies"], ["/ui/exceptions", "Exceptions"], ["/ui/audit", "Audit"],
    ["/ui/artifact?purl=" + encodeURIComponent(deployed), "Artifact dossier"],
    ["/ui/artifact?purl=" + encodeURIComponent(chain20), "Artifact dossier"],
    ["/ui/artifact?purl=" + encodeURIComponent(base300), "Artifact dossier"],
    ["/ui/search?q=app-1-l", "Search"],
    ["/ui/vulnerabilities", "Vulnerabilities"],
    ["/ui/vulnerabilities/" + encodeURIComponent(newest.vulnerability), `${newest.vulnerability} ${newest.severity}`],
  ];
  for (const [path, heading] of pages) {
    const { page, problems } = await open(path);
    assert.equal(await page.locator("h1").innerText(), heading, path);
    assert.equal(await page.locator("nav.side a").count(), 8, path);
    // Times are shown in the viewer's zone: the script replaced the UTC text.
    const times = page.locator("time[datetime]");
    if (await times.count() > 0) {
      const t = times.first();
      assert.notEqual(await t.innerText(), await t.getAttribute("datetime"), `${path}: times are localised`);
    }
    assert.deepEqual(problems, [], path);
    assert.deepEqual(await violations(page), [], `${path}: accessibility`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 1440, `${path} is ${wide} px wide on a 1440 px screen`);
    await page.context().close();
    // On a phone's width, nothing overflows sideways.
    const phone = await open(path, ADMIN, { width: 390, height: 844 });
    await fitsAPhone(phone.page, path);
    // The navigation and the search stay on the screen, each entry wide enough to use.
    const offscreen = await phone.page.evaluate(() => Array.from(document.querySelectorAll("nav.side a, header.top form[role=search] *:not(label)"))
      .map((e) => [e.id || e.textContent.trim(), e.getBoundingClientRect()])
      .filter(([, r]) => r.left < 0 || r.right > 390 || r.width < 40)
      .map(([what, r]) => `${what} ${Math.round(r.left)}–${Math.round(r.right)}`));
    assert.deepEqual(offscreen, [], `${path}: the navigation and the search on a phone`);
    assert.ok((await phone.page.locator("#find").boundingBox()).width >= 200, `${path}: the search box is wide enough to type a purl`);
    await phone.page.context().close();
  }
});

test("the sign-in page and the page of a path that is none pass axe-core and fit a phone", async () => {
  for (const viewport of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
    // Not signed in: the sign-in page.
    const context = await browser.newContext({ viewport, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(url + "/ui/signin");
    assert.equal(await page.locator("h1").innerText(), "Sign in");
    assert.deepEqual(await violations(page), [], "/ui/signin: accessibility");
    if (viewport.width === 390) await fitsAPhone(page, "/ui/signin");
    // Signed in: a path that is no page.
    await signIn(page, url, "/ui");
    const answer = await page.goto(url + "/ui/no-such-page");
    assert.equal(answer.status(), 404);
    assert.equal(await page.locator("h1").innerText(), "No such page");
    assert.deepEqual(await violations(page), [], "404: accessibility");
    if (viewport.width === 390) await fitsAPhone(page, "/ui/no-such-page");
    await context.close();
  }
});

test("artifact → lineage → impact, by clicking", async () => {
  const { page, problems } = await open("/ui");
  await page.fill("#find", deployed);
  await page.click("header.top form[role=search] button[type=submit]");
  await page.waitForURL(/\/ui\/artifact\?purl=/);
  assert.match(await page.locator(".lead").innerText(), new RegExp(deployed.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  // The lineage picture: click an ancestor, land on its dossier.
  const nodes = page.locator("svg.lineage a.node.artifact, svg.lineage a.node.focus");
  assert.ok(await nodes.count() >= 4, "the artifact, its images and its binary are on the picture");
  // An ancestor, not the artifact itself: its node's tooltip names another purl (then its state).
  const names = await nodes.evaluateAll((links) => links.map((a) => a.querySelector("title").textContent.split("\n")[0]));
  // One in the first view (the picture opens on the artifact; the farthest may lie outside).
  const inView = await nodes.evaluateAll((links) => {
    const frame = links[0].ownerSVGElement.getBoundingClientRect();
    return links.map((a) => { const r = a.getBoundingClientRect(); return r.left >= frame.left && r.right <= frame.right; });
  });
  const index = names.findIndex((n, i) => n !== deployed && inView[i]);
  assert.ok(index >= 0, "an ancestor is on the picture");
  await Promise.all([page.waitForEvent("load"), nodes.nth(index).click()]);
  assert.equal(await page.locator("h1").innerText(), "Artifact dossier");
  assert.equal(await page.locator(".lead .mono").innerText(), names[index], "the ancestor's dossier");
  // The findings table sorts by severity from its header.
  await page.goto(url + "/ui/artifact?purl=" + encodeURIComponent(deployed));
  const severity = page.locator("#findings th button", { hasText: "Severity" });
  await severity.click();
  await severity.click();
  assert.equal(await page.locator("#findings th").first().getAttribute("aria-sort"), "descending");
  assert.equal(await page.locator("#findings tbody tr").first().locator(".badge").innerText(), "high");
  // Impact of a vulnerability the demo left unfixed, then one of its deployments.
  const discovered = (await api("/api/v1/events?type=dev.cdeventsx.dossier-vulnerability.discovered.*")).json.events.map((e) => e.subject);
  for (const v of discovered) {
    const r = await api(`/api/v1/impact?vulnerability=${encodeURIComponent(v)}`);
    if (r.status === 200 && r.json.deployments.length > 0) { vulnerability = v; break; }
  }
  assert.ok(vulnerability, "the demo leaves a vulnerability that reaches a deployment");
  await page.click("nav.side >> text=Vulnerability impact");
  await page.fill("#vuln", vulnerability);
  await page.click("text=Show impact");
  await page.waitForURL(/vulnerability=/);
  assert.match(await page.locator("#h-result").innerText(), new RegExp(vulnerability));
  await page.locator("#impact-deployments a").first().click();
  await page.waitForURL(/\/ui\/artifact\?purl=/);
  assert.equal(await page.locator("h1").innerText(), "Artifact dossier");
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("an exception is requested, approved and revoked from the page, each by the signed-in person", async () => {
  const { page, problems } = await open("/ui/exceptions", tokens.alice);
  assert.match(await page.locator(".account").innerText(), /Signed in as alice/);
  await page.fill("#x-v", "CVE-2021-23337");
  await page.fill("#x-a", "pkg:oci/app-*");
  await page.fill("#x-r", "template() never sees user input");
  const expires = new Date(Date.now() + 7 * 86400e3);
  const local = new Date(expires.getTime() - expires.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  await page.fill("#x-x", local);
  await Promise.all([page.waitForEvent("load"), page.click("form[data-api='/api/v1/exceptions'] button[type=submit]")]);
  const row = page.locator("#exceptions tbody tr", { hasText: "template() never sees user input" });
  assert.equal(await row.locator(".badge").innerText(), "requested");
  // The requester may not approve it: the API's answer is shown.
  await row.locator("button", { hasText: "Approve" }).click();
  await page.locator(".result.error").first().waitFor();
  assert.match(await row.locator(".result").innerText(), /another person must approve it/);
  // The browser reports the refused self-approval (422) as a failed load; nothing else failed.
  assert.deepEqual(problems.filter((p) => !p.includes("status of 422")), []);
  await page.context().close();
  // Bob approves, as himself.
  const bob = await open("/ui/exceptions", tokens.bob);
  const bobs = bob.page.locator("#exceptions tbody tr", { hasText: "template() never sees user input" });
  await bobs.locator("input[name=comment]").fill("checked the call sites");
  await Promise.all([bob.page.waitForEvent("load"), bobs.locator("button", { hasText: "Approve" }).click()]);
  assert.equal(await bobs.locator(".badge").innerText(), "active");
  assert.deepEqual(bob.problems, []);
  await bob.page.context().close();
  // Carol revokes it.
  const carol = await open("/ui/exceptions", tokens.carol);
  const carols = carol.page.locator("#exceptions tbody tr", { hasText: "template() never sees user input" });
  await carols.locator("input[name=reason]").fill("the fix shipped");
  await Promise.all([carol.page.waitForEvent("load"), carols.locator("button", { hasText: "Revoke" }).click()]);
  assert.equal(await carols.locator(".badge").innerText(), "revoked");
  assert.match(await carols.innerText(), /asked by alice, approved by bob, revoked by carol/);
  assert.deepEqual(carol.problems, []);
  await carol.page.context().close();
});

test("tables sort times as instants and severities by rank, and a focused sort header shows it", async () => {
  // Expiries whose local text sorts the other way round from their instants ("1/1/2027" < "12/7/2026").
  dossier("exception", "request", "--vulnerability", "CVE-2026-90001", "--artifact", "pkg:oci/sort-*", "--reason", "sort later", "--expires", "2027-01-01T10:00:00Z");
  dossier("exception", "request", "--vulnerability", "CVE-2026-90002", "--artifact", "pkg:oci/sort-*", "--reason", "sort sooner", "--expires", "2026-12-07T10:00:00Z");
  const { page, problems } = await open("/ui/exceptions");
  await page.fill("input[data-filter='exceptions']", "sort ");
  const header = page.locator("#exceptions thead th button", { hasText: "Expires" });
  await header.click();
  const reasons = async () => (await page.locator("#exceptions tbody tr:not([hidden])").allInnerTexts()).map((t) => t.match(/sort (later|sooner)/)[1]);
  assert.deepEqual(await reasons(), ["sooner", "later"], "ascending by instant");
  await header.click();
  assert.deepEqual(await reasons(), ["later", "sooner"], "descending by instant");
  // The header button keeps a visible focus ring.
  await header.focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Tab");
  const outline = await header.evaluate((b) => getComputedStyle(b).outlineStyle);
  assert.notEqual(outline, "none", "a focused sort header is visible");
  // Severities sort by rank (script-level, over the cells of a table made for it).
  const ranked = await page.evaluate(() => {
    const t = document.createElement("table");
    t.className = "data";
    t.id = "ranks";
    t.innerHTML = "<thead><tr><th>Severity</th></tr></thead><tbody>" + ["low", "critical", "medium", "high"].map((s) => `<tr><td>${s}</td></tr>`).join("") + "</tbody>";
    document.querySelector("main").append(t);
    enhanceTable(t);
    t.tHead.rows[0].cells[0].querySelector("button").click();
    return Array.from(t.tBodies[0].rows).map((r) => r.innerText);
  });
  assert.deepEqual(ranked, ["low", "medium", "high", "critical"]);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("a filter that matches no row says so, and clearing it brings the rows back", async () => {
  const { page, problems } = await open("/ui/vulnerabilities");
  const filter = page.locator("input[data-filter='vulnerabilities']");
  const shown = page.locator("#vulnerabilities tbody tr:not([hidden])");
  const before = await shown.count();
  assert.ok(before > 0, "the demo's vulnerabilities are listed");
  await filter.fill("no such vulnerability anywhere");
  assert.equal(await shown.count(), 0);
  const pager = page.locator("#vulnerabilities + .pager");
  assert.equal(await pager.isVisible(), true, "the pager says why the table is empty");
  assert.equal(await pager.locator("span.count").innerText(), "no row matches the filter");
  assert.equal(await pager.locator("button").filter({ visible: true }).count(), 0, "no page to turn to");
  await filter.fill("");
  assert.equal(await shown.count(), before);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("the header search opens an artifact by its purl as typed, and a vulnerability by any id in any case", async () => {
  const { page, problems } = await open("/ui");
  const find = async (typed) => {
    await page.fill("#find", typed);
    await Promise.all([page.waitForEvent("load"), page.click("header.top form[role=search] button[type=submit]")]);
  };
  // The digest with its colon, as a registry shows it; and with it percent-encoded.
  const [prefix, hex] = deployed.replace("sha256%3A", "sha256:").split("sha256:");
  for (const typed of [`${prefix}sha256:${hex}`, `${prefix}sha256%3A${hex}`]) {
    await find(typed);
    assert.equal(await page.locator("h1").innerText(), "Artifact dossier", typed);
    assert.equal(await page.locator(".lead .mono").innerText(), `${prefix}sha256:${hex}`, typed);
  }
  // A scanner's GHSA id, lower-cased, and its CVE alias: one vulnerability's page, under its CVE id.
  for (const typed of ["ghsa-35jh-r3h4-6jhm", "CVE-2021-23337"]) {
    await find(typed);
    assert.equal(new URL(page.url()).pathname, "/ui/vulnerabilities/CVE-2021-23337", typed);
    assert.match(await page.locator("h1").innerText(), /^CVE-2021-23337 (critical|high|medium|low)$/, typed);
    assert.match(await page.locator(".lead").innerText(), /Also known as .*GHSA-35jh-r3h4-6jhm/, `${typed}: the page names its aliases`);
  }
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("a read-only principal sees everything, can change nothing, and signs out", async () => {
  const { page, problems } = await open("/ui/exceptions", tokens.auditor);
  await page.fill("#x-v", "CVE-2021-23337");
  await page.fill("#x-a", "pkg:oci/app-*");
  await page.fill("#x-r", "an auditor tries");
  const expires = new Date(Date.now() + 7 * 86400e3);
  await page.fill("#x-x", new Date(expires.getTime() - expires.getTimezoneOffset() * 60e3).toISOString().slice(0, 16));
  await page.click("form[data-api='/api/v1/exceptions'] button[type=submit]");
  await page.locator("form[data-api='/api/v1/exceptions'] .result.error").waitFor();
  assert.match(await page.locator("form[data-api='/api/v1/exceptions'] .result").innerText(), /lacks the scope exceptions:request/);
  await Promise.all([page.waitForURL(/\/ui\/signin/), page.locator(".account button", { hasText: "Sign out" }).click()]);
  await page.waitForLoadState("load");
  const again = await page.goto(url + "/ui");
  assert.equal(again.status(), 401, "the session has ended");
  assert.deepEqual(problems.filter((p) => !p.includes("status of 403") && !p.includes("status of 401")), []);
  await page.context().close();
});

test("an entry opens under its row with its JSON and its place in the log", async () => {
  const { page, problems } = await open("/ui/events");
  const first = page.locator("#live tbody tr").first();
  const seq = await first.locator("button.expand").getAttribute("data-seq");
  await first.locator("button.expand").click();
  const detail = page.locator("#live tbody tr.detail");
  await detail.locator("pre code").waitFor();
  assert.match(await detail.innerText(), new RegExp(`Leaf ${seq} of the tree of \\d+ entries`));
  const shown = JSON.parse(await detail.locator("pre code").innerText());
  assert.equal(shown.context.specversion, "0.5.1");
  assert.equal(await first.locator("button.expand").getAttribute("aria-expanded"), "true");
  await first.locator("button.expand").click();
  assert.equal(await page.locator("#live tbody tr.detail").count(), 0);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("a new event appears on the overview while it is open", async () => {
  const { page, problems } = await open("/ui");
  await page.locator("#live-status", { hasText: "live" }).waitFor();
  const event = {
    context: { specversion: "0.5.1", id: "browser-live-1", source: "/ci/browser", type: "dev.cdevents.pipelinerun.started.0.3.0", timestamp: new Date().toISOString() },
    subject: { id: "live-run-42", content: { pipelineName: "browser", uri: "https://ci.example.com/runs/42" } },
  };
  assert.equal((await api("/api/v1/events", event)).status, 201);
  await page.locator("#live tbody tr", { hasText: "live-run-42" }).waitFor({ timeout: 5000 });
  // The panels follow: a finished run shows under "Pipeline runs" without a reload.
  const finished = {
    context: { specversion: "0.5.1", id: "browser-live-2", source: "/ci/browser", type: "dev.cdevents.pipelinerun.finished.0.3.0", timestamp: new Date().toISOString() },
    subject: { id: "live-run-42", content: { pipelineName: "browser-pipeline", outcome: "success", uri: "https://ci.example.com/runs/42" } },
  };
  assert.equal((await api("/api/v1/events", finished)).status, 201);
  await page.locator("#p-runs", { hasText: "browser-pipeline" }).waitFor({ timeout: 8000 });
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("SIGTERM stops a server with dashboard tabs open within a second, and the tabs say they are disconnected", async () => {
  const own = mkdtempSync(join(tmpdir(), "dossier-stop-"));
  const { child, at } = await serve(join(own, "data"));
  try {
    const context = await browser.newContext();
    // Two tabs, each with its live stream open and its connection kept alive.
    const tabs = [];
    for (const path of ["/ui", "/ui/events"]) {
      const tab = await context.newPage();
      await signIn(tab, at, path);
      await tab.locator("#live-status", { hasText: "● live" }).waitFor();
      tabs.push(tab);
    }
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const asked = Date.now();
    child.kill("SIGTERM");
    await exited;
    const took = Date.now() - asked;
    assert.ok(took < 1000, `the server stopped ${took} ms after SIGTERM`);
    for (const tab of tabs) {
      await tab.locator("#live-status", { hasText: "disconnected" }).waitFor({ timeout: 2000 });
      assert.equal(await tab.locator("#live-status").innerText(), "○ disconnected: the server stopped");
    }
    // And they keep saying so while they look for it again (every 5 s).
    await tabs[0].waitForTimeout(6500);
    for (const tab of tabs) assert.equal(await tab.locator("#live-status").innerText(), "○ disconnected: the server stopped");
    await context.close();
  } finally {
    child.kill("SIGKILL");
    rmSync(own, { recursive: true, force: true });
  }
});

test("the lineage picture opens on the artifact, groups long chains and fan-outs, zooms, and opens a group in place", async () => {
  const { page, problems } = await open("/ui/artifact?purl=" + encodeURIComponent(chain20));
  const svg = page.locator("svg.lineage");
  // The artifact is on the screen, in the middle of the picture as it opens.
  const frame = await svg.boundingBox();
  const focus = await page.locator("svg.lineage a.node.focus rect").boundingBox();
  assert.ok(focus.x >= frame.x && focus.x + focus.width <= frame.x + frame.width && focus.y >= frame.y && focus.y + focus.height <= frame.y + frame.height, "the artifact is in view");
  assert.ok(frame.height <= 600, `the picture fits its panel (${frame.height} px high)`);
  // The nineteen images under it: the nearest, a group of the middle, the first (on a binary and a base).
  const group = page.locator("svg.lineage a[data-expand]");
  assert.equal(await group.count(), 1);
  assert.match(await group.locator("text").first().textContent(), /^17 in a chain ▸$/);
  const artifacts = page.locator("svg.lineage a.node.artifact");
  const before = await artifacts.count();
  // Zoom in, out, the whole picture, and back on the artifact.
  const box = async () => (await svg.getAttribute("viewBox")).split(" ").map(Number);
  const home = await box();
  await page.click("button[data-zoom=in]");
  assert.ok((await box())[2] < home[2], "zoomed in");
  await page.click("button[data-zoom=fit]");
  const whole = (await svg.getAttribute("data-full")).split(" ").map(Number);
  assert.ok((await box())[2] >= whole[2] - 1, "the whole picture");
  await page.click("button[data-zoom=home]");
  assert.deepEqual(await box(), home);
  // Dragging moves it.
  await page.mouse.move(frame.x + frame.width / 2, frame.y + 20);
  await page.mouse.down();
  await page.mouse.move(frame.x + frame.width / 2 - 200, frame.y + 20, { steps: 5 });
  await page.mouse.up();
  assert.ok((await box())[0] > home[0], "dragged left, the view moves right");
  await page.click("button[data-zoom=home]");
  // Opening the group draws the chain in place.
  await group.click();
  await page.waitForURL(/expand=/);
  await page.locator("svg.lineage a[data-expand]").waitFor({ state: "detached" });
  assert.equal(await artifacts.count(), before + 17);
  assert.equal(await page.locator("h1").count(), 1, "in place, not a page in the page");
  assert.deepEqual(await violations(page), [], "the opened picture: accessibility");
  assert.deepEqual(problems, []);
  await page.context().close();
  // A base image under 300: a few of its images, and one group for the rest.
  const base = await open("/ui/artifact?purl=" + encodeURIComponent(base300));
  const fan = base.page.locator("svg.lineage a[data-expand]", { hasText: "more ▸" });
  assert.equal(await fan.count(), 1);
  assert.ok(await base.page.locator("svg.lineage a.node.artifact").count() <= 40, "a picture one can read");
  assert.deepEqual(base.problems, []);
  await base.page.context().close();
});

test("the header search finds artifacts by part of their name", async () => {
  const { page, problems } = await open("/ui");
  const find = async (typed) => {
    await page.fill("#find", typed);
    await Promise.all([page.waitForEvent("load"), page.click("header.top form[role=search] button[type=submit]")]);
  };
  // A word that starts several names: the choice, each a link to its dossier.
  await find("app-1-l");
  assert.equal(await page.locator("h1").innerText(), "Search");
  const found = await page.locator("#matches tbody a.mono").allInnerTexts();
  assert.ok(found.length >= 3 && found.every((a) => /\/app-1-l\d+@/.test(a)), found.join(", "));
  // The whole name of one: its dossier.
  const one = chain20.split("/").pop().split("@")[0];
  await find(one.toUpperCase());
  assert.equal(await page.locator("h1").innerText(), "Artifact dossier");
  assert.equal(await page.locator(".lead .mono").innerText(), chain20.replace("%3A", ":"));
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("screenshots of every page, on a laptop and on a phone", { skip: !shots }, async () => {
  const pages = [
    ["overview", "/ui"], ["artifact", "/ui/artifact?purl=" + encodeURIComponent(deployed)],
    ["lineage-chain", "/ui/artifact?purl=" + encodeURIComponent(chain20)], ["lineage-base", "/ui/artifact?purl=" + encodeURIComponent(base300)],
    ["impact", "/ui/impact?vulnerability=" + encodeURIComponent(vulnerability ?? "")], ["vulnerabilities", "/ui/vulnerabilities"],
    ["environments", "/ui/environments"], ["policies", "/ui/policies"], ["exceptions", "/ui/exceptions"], ["audit", "/ui/audit"],
    ["events", "/ui/events"], ["search", "/ui/search?q=app-1-l"],
  ];
  for (const [name, path] of pages) {
    for (const [suffix, viewport] of [["", { width: 1440, height: 900 }], ["-phone", { width: 390, height: 844 }]]) {
      const { page } = await open(path, ADMIN, viewport);
      // The lineage picture in view.
      if (name.startsWith("lineage")) await page.locator("#h-lineage").evaluate((h) => h.scrollIntoView({ block: "start" }));
      await page.screenshot({ path: join(shots, `dashboard-${name}${suffix}.png`) });
      await page.context().close();
    }
  }
});
