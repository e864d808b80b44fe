//! `dossier bench lineage`: the reference problem at scale. Builds the DevSecOps history into
//! the lineage graph, then times "a vulnerability event arrives → which clusters are affected"
//! against the same question answered by a recursive SQL query over the same data in SQLite
//! and, when given a URL, PostgreSQL. Every SQL answer is checked equal to Dossier's.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_core::{Event, Fact};
use dossier_gen::DevSecOps;
use dossier_lineage::Graph;
use serde_json::Value;

#[derive(clap::Args, Debug)]
pub struct LineageArgs {
    /// Artifacts in the history (binaries, images and base images)
    #[arg(long, default_value_t = 100_000)]
    pub artifacts: u64,
    /// Images derived one from another above each binary
    #[arg(long, default_value_t = 5)]
    pub depth: u32,
    /// Vulnerability arrivals timed on the graph
    #[arg(long, default_value_t = 2000)]
    pub vulnerabilities: u64,
    /// Vulnerability arrivals timed with SQL (slower, so fewer)
    #[arg(long, default_value_t = 100)]
    pub sql_queries: u64,
    /// Also run the recursive SQL on this PostgreSQL database (e.g. postgresql://postgres@127.0.0.1/test)
    #[arg(long, env = "DOSSIER_BENCH_POSTGRES")]
    pub postgres: Option<String>,
}

fn facts_of(v: &Value) -> anyhow::Result<Vec<Fact>> {
    Ok(Event::from_json(Vec::new(), v).map_err(|e| anyhow::anyhow!("{e}"))?.facts)
}

struct Timing {
    p50: f64,
    p99: f64,
}

fn timing(mut d: Vec<Duration>) -> Timing {
    d.sort();
    Timing { p50: crate::measure::percentile_ms(&d, 0.5), p99: crate::measure::percentile_ms(&d, 0.99) }
}

/// The Feldera demo's schema, extended to several parents per artifact.
const SQL_SCHEMA: &str = "
CREATE TABLE pipeline_sources (pipeline TEXT NOT NULL, repository TEXT NOT NULL, commit_sha TEXT NOT NULL);
CREATE TABLE built_by (artifact TEXT NOT NULL, pipeline TEXT NOT NULL);
CREATE TABLE artifact_parent (artifact TEXT NOT NULL, parent TEXT NOT NULL);
CREATE TABLE deployment (cluster TEXT NOT NULL, service TEXT NOT NULL, artifact TEXT NOT NULL);
CREATE TABLE vulnerability (id TEXT NOT NULL, repository TEXT NOT NULL, commit_sha TEXT NOT NULL);
";
const SQL_INDEXES: &str = "
CREATE INDEX ps_commit ON pipeline_sources (repository, commit_sha);
CREATE INDEX bb_pipeline ON built_by (pipeline);
CREATE INDEX ap_parent ON artifact_parent (parent);
CREATE INDEX d_artifact ON deployment (artifact);
CREATE INDEX v_id ON vulnerability (id);
";

/// Distinct clusters running anything derived, at any depth, from a build that used a
/// commit the vulnerability was found in. UNION (not UNION ALL) de-duplicates as it recurses.
const SQL_AFFECTED_CLUSTERS: &str = "
WITH RECURSIVE affected(artifact) AS (
    SELECT b.artifact FROM vulnerability v
      JOIN pipeline_sources s ON s.repository = v.repository AND s.commit_sha = v.commit_sha
      JOIN built_by b ON b.pipeline = s.pipeline
     WHERE v.id = $1
    UNION
    SELECT p.artifact FROM artifact_parent p JOIN affected f ON p.parent = f.artifact
)
SELECT DISTINCT d.cluster FROM deployment d JOIN affected f ON d.artifact = f.artifact ORDER BY 1";

/// Rows of each table, from the facts (the final state: later statements replace earlier).
struct Tables {
    sources: Vec<[String; 3]>,
    built_by: Vec<[String; 2]>,
    parents: Vec<[String; 2]>,
    deployments: Vec<[String; 3]>,
}

fn tables(facts: &[Fact]) -> Tables {
    let mut t = Tables { sources: Vec::new(), built_by: Vec::new(), parents: Vec::new(), deployments: Vec::new() };
    for f in facts {
        match f {
            Fact::RunSource { run, repository, commit } => t.sources.push([run.clone(), repository.clone(), commit.clone()]),
            Fact::BuiltBy { artifact, run } => t.built_by.push([artifact.clone(), run.clone()]),
            Fact::Parent { artifact, parent } => t.parents.push([artifact.clone(), parent.clone()]),
            Fact::Deployed { environment, service, artifact } => {
                t.deployments.push([environment.clone(), service.clone(), artifact.clone()])
            }
            _ => {}
        }
    }
    t
}

fn vuln_commits(f: &[Fact]) -> Vec<(String, String, String)> {
    f.iter()
        .filter_map(|x| match x {
            Fact::Vulnerability { id, commits, .. } => Some(commits.iter().map(move |(r, c)| (id.clone(), r.clone(), c.clone()))),
            _ => None,
        })
        .flatten()
        .collect()
}

fn sqlite_run(t: &Tables, vulns: &[(String, Vec<Fact>, Vec<String>)]) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let dir = tempfile::tempdir()?;
    let mut conn = rusqlite::Connection::open(dir.path().join("lineage.db"))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;")?;
    conn.execute_batch(SQL_SCHEMA)?;
    let load = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut s = tx.prepare("INSERT INTO pipeline_sources VALUES (?1, ?2, ?3)")?;
        for r in &t.sources {
            s.execute(rusqlite::params![r[0], r[1], r[2]])?;
        }
        let mut s = tx.prepare("INSERT INTO built_by VALUES (?1, ?2)")?;
        for r in &t.built_by {
            s.execute(rusqlite::params![r[0], r[1]])?;
        }
        let mut s = tx.prepare("INSERT INTO artifact_parent VALUES (?1, ?2)")?;
        for r in &t.parents {
            s.execute(rusqlite::params![r[0], r[1]])?;
        }
        let mut s = tx.prepare("INSERT INTO deployment VALUES (?1, ?2, ?3)")?;
        for r in &t.deployments {
            s.execute(rusqlite::params![r[0], r[1], r[2]])?;
        }
    }
    tx.execute_batch(SQL_INDEXES)?;
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    let loaded = load.elapsed();
    let query = SQL_AFFECTED_CLUSTERS.replace("$1", "?1");
    let mut times = Vec::new();
    for (id, facts, expected) in vulns {
        let t0 = Instant::now();
        for (vid, repo, commit) in vuln_commits(facts) {
            conn.execute("INSERT INTO vulnerability VALUES (?1, ?2, ?3)", rusqlite::params![vid, repo, commit])?;
        }
        let mut stmt = conn.prepare_cached(&query)?;
        let clusters: Vec<String> = stmt.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
        times.push(t0.elapsed());
        if &clusters != expected {
            bail!("SQLite and Dossier disagree on {id}: {clusters:?} vs {expected:?}");
        }
        conn.execute("DELETE FROM vulnerability WHERE id = ?1", [id])?;
    }
    Ok((loaded, times))
}

fn postgres_run(url: &str, t: &Tables, vulns: &[(String, Vec<Fact>, Vec<String>)]) -> anyhow::Result<(Duration, Vec<Duration>)> {
    use std::io::Write;
    let mut client = postgres::Client::connect(url, postgres::NoTls).with_context(|| format!("connecting to {url}"))?;
    let schema = "dossier_bench_lineage";
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema};"))?;
    client.batch_execute(SQL_SCHEMA)?;
    let load = Instant::now();
    fn copy<const N: usize>(client: &mut postgres::Client, table: &str, rows: &[[String; N]]) -> anyhow::Result<()> {
        let mut w = client.copy_in(&format!("COPY {table} FROM STDIN"))?;
        for r in rows {
            // Text COPY format: tab-separated; the generated values hold no tabs or backslashes.
            writeln!(w, "{}", r.join("\t"))?;
        }
        w.finish()?;
        Ok(())
    }
    copy(&mut client, "pipeline_sources", &t.sources)?;
    copy(&mut client, "built_by", &t.built_by)?;
    copy(&mut client, "artifact_parent", &t.parents)?;
    copy(&mut client, "deployment", &t.deployments)?;
    client.batch_execute(SQL_INDEXES)?;
    client.batch_execute("ANALYZE")?;
    let loaded = load.elapsed();
    let stmt = client.prepare(SQL_AFFECTED_CLUSTERS)?;
    let mut times = Vec::new();
    for (id, facts, expected) in vulns {
        let t0 = Instant::now();
        for (vid, repo, commit) in vuln_commits(facts) {
            client.execute("INSERT INTO vulnerability VALUES ($1, $2, $3)", &[&vid, &repo, &commit])?;
        }
        let clusters: Vec<String> = client.query(&stmt, &[id])?.iter().map(|r| r.get(0)).collect();
        times.push(t0.elapsed());
        if &clusters != expected {
            bail!("PostgreSQL and Dossier disagree on {id}: {clusters:?} vs {expected:?}");
        }
        client.execute("DELETE FROM vulnerability WHERE id = $1", &[id])?;
    }
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
    Ok((loaded, times))
}

fn print_sql(engine: &str, graph: &Timing, sql: Timing, queries: usize, loaded: Duration) {
    println!(
        "{:<41}p50 {:>8.4} ms  p99 {:>8.4} ms  ({queries} queries, answers equal; load {:.1} s)  → graph is {:.0}× faster at p50, {:.0}× at p99",
        format!("same question, {engine} WITH RECURSIVE"),
        sql.p50,
        sql.p99,
        loaded.as_secs_f64(),
        sql.p50 / graph.p50.max(1e-9),
        sql.p99 / graph.p99.max(1e-9)
    );
}

pub fn run(args: LineageArgs) -> anyhow::Result<std::process::ExitCode> {
    let gen = DevSecOps {
        seed: 7,
        artifacts: args.artifacts,
        depth: args.depth,
        clusters: 40,
        repositories: 50,
        commits_per_repository: 400,
        base_images: 20,
    };
    println!(
        "dossier bench lineage — {} — {} artifacts ({} builds × {} levels + {} base images), depth {}",
        crate::measure::machine(),
        args.artifacts,
        gen.families(),
        args.depth + 1,
        gen.base_images,
        args.depth
    );
    // Facts are extracted before the clock starts: parsing is ingest's cost, measured there.
    let mut history: Vec<Fact> = Vec::new();
    let mut events = 0u64;
    for e in gen.history() {
        history.extend(facts_of(&e)?);
        events += 1;
    }
    let mut graph = Graph::new();
    let t0 = Instant::now();
    for (seq, f) in history.iter().enumerate() {
        graph.apply(f, seq as u64);
    }
    let build = t0.elapsed();
    println!(
        "build the graph, every view current     {:>10.0} events/s  ({} events, {} facts, {:.2} s)",
        events as f64 / build.as_secs_f64(),
        events,
        history.len(),
        build.as_secs_f64()
    );

    let mut seq = history.len() as u64;
    let mut arrive = Vec::new();
    let mut fix = Vec::new();
    let (mut clusters_total, mut artifacts_total) = (0usize, 0usize);
    let mut expected: Vec<(String, Vec<Fact>, Vec<String>)> = Vec::new();
    for k in 0..args.vulnerabilities {
        let found = facts_of(&gen.vulnerability(k, seq))?;
        let id = DevSecOps::vulnerability_id(k);
        let fixed = facts_of(&gen.fixed(&id, seq + 1))?;
        let t = Instant::now();
        for f in &found {
            graph.apply(f, seq);
        }
        let clusters = graph.affected_clusters(&id);
        arrive.push(t.elapsed());
        clusters_total += clusters.len();
        artifacts_total += graph.impact(&id).map(|i| i.artifacts.len()).unwrap_or(0);
        let t = Instant::now();
        for f in &fixed {
            graph.apply(f, seq + 1);
        }
        fix.push(t.elapsed());
        if (k as usize) < args.sql_queries as usize {
            expected.push((id, found, clusters));
        }
        seq += 2;
    }
    let (a, f) = (timing(arrive), timing(fix));
    println!(
        "vulnerability arrives → clusters (graph) p50 {:>8.4} ms  p99 {:>8.4} ms  ({} arrivals; {:.1} clusters, {:.0} artifacts affected on average)",
        a.p50,
        a.p99,
        args.vulnerabilities,
        clusters_total as f64 / args.vulnerabilities.max(1) as f64,
        artifacts_total as f64 / args.vulnerabilities.max(1) as f64
    );
    println!("vulnerability fixed → views updated      p50 {:>8.4} ms  p99 {:>8.4} ms", f.p50, f.p99);

    let t = tables(&history);
    let (loaded, sqlite) = sqlite_run(&t, &expected)?;
    print_sql("SQLite", &a, timing(sqlite), expected.len(), loaded);
    if let Some(url) = &args.postgres {
        let (loaded, pg) = postgres_run(url, &t, &expected)?;
        print_sql("PostgreSQL", &a, timing(pg), expected.len(), loaded);
    }
    Ok(std::process::ExitCode::SUCCESS)
}
