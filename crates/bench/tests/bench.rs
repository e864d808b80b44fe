//! The benchmark commands run and check themselves: the recursive SQL baselines of
//! `bench lineage` must give the same answers as the graph (the command fails otherwise), in
//! SQLite always and in PostgreSQL when `DOSSIER_TEST_POSTGRES` names a database (CI sets it).

fn dossier(args: &[&str]) -> (i32, String, String) {
    // `dossier-bench lineage …` is `dossier bench lineage …`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dossier-bench")).args(&args[1..]).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bench_lineage_answers_equal_recursive_sql() {
    let mut args = vec!["bench", "lineage", "--artifacts", "3000", "--depth", "4", "--vulnerabilities", "300", "--sql-queries", "300"];
    let url = std::env::var("DOSSIER_TEST_POSTGRES").ok();
    if let Some(url) = &url {
        args.extend(["--postgres", url.as_str()]);
    }
    let (code, out, err) = dossier(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("same question, SQLite WITH RECURSIVE") && out.contains("(300 queries, answers equal"), "{out}");
    if url.is_some() {
        assert!(out.contains("same question, PostgreSQL WITH RECURSIVE"), "{out}");
    }
}
