//! Reading a policy bundle: a directory (with its subdirectories) or an OPA bundle tarball
//! (`.tar.gz` with a `.manifest`), as `(path, text)` files: Rego modules (`*.rego`) and data
//! documents (`data.json`, `data.yaml`, `data.yml`), each loaded under `data` at the path of its
//! directory, as OPA loads them (`teams/data.json` is `data.teams`).
//!
//! Nothing unbounded: a bundle holds at most [`MAX_FILES`] files of at most [`MAX_FILE_BYTES`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The most files a bundle may hold.
pub const MAX_FILES: usize = 10_000;
/// The largest file of a bundle.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {size} bytes is more than the {MAX_FILE_BYTES} a policy file may have")]
    TooLarge { path: String, size: u64 },
    #[error("{0}: a bundle holds at most {MAX_FILES} files")]
    TooMany(String),
    #[error("{path}: not UTF-8 text")]
    NotText { path: String },
}

/// The files of a bundle that Dossier loads, sorted by path (`/`-separated, relative).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    pub files: Vec<(String, String)>,
}

/// What a file of a bundle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Module,
    Data,
}

/// The kind of a bundle file by its name; `None` for files Dossier does not load.
pub fn kind_of(path: &str) -> Option<Kind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".rego") {
        Some(Kind::Module)
    } else if matches!(name, "data.json" | "data.yaml" | "data.yml") {
        Some(Kind::Data)
    } else {
        None
    }
}

/// The names of a change: every loaded file's path, size and modification time.
pub type Fingerprint = Vec<(String, u64, SystemTime)>;

/// Reads a directory (recursively; hidden files and directories are skipped) or, when `path` is
/// a file ending in `.tar.gz` or `.tgz`, an OPA bundle tarball.
pub fn read(path: &Path) -> Result<(Files, Fingerprint), BundleError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| BundleError::Io { path: p.clone(), source }
    };
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.is_file() {
        let print = vec![(path.display().to_string(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH))];
        let file = std::fs::File::open(path).map_err(io(path))?;
        return Ok((read_tarball(file, &path.display().to_string())?, print));
    }
    let mut files = Vec::new();
    let mut print = Vec::new();
    let mut pending: Vec<PathBuf> = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let meta = std::fs::metadata(&p).map_err(io(&p))?;
            if meta.is_dir() {
                pending.push(p);
                continue;
            }
            let rel =
                p.strip_prefix(path).unwrap_or(&p).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            if kind_of(&rel).is_none() {
                continue;
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(BundleError::TooLarge { path: rel, size: meta.len() });
            }
            if files.len() >= MAX_FILES {
                return Err(BundleError::TooMany(path.display().to_string()));
            }
            let text = std::fs::read_to_string(&p).map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => BundleError::NotText { path: rel.clone() },
                _ => BundleError::Io { path: rel.clone(), source: e },
            })?;
            print.push((rel.clone(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
            files.push((rel, text));
        }
    }
    files.sort();
    print.sort();
    Ok((Files { files }, print))
}

/// The modules and data documents of a gzipped tarball (an OPA bundle: `.manifest` and
/// `.signatures.json` are not needed to load it and are skipped).
pub fn read_tarball(reader: impl Read, name: &str) -> Result<Files, BundleError> {
    let io = |source| BundleError::Io { path: name.to_owned(), source };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut files = Vec::new();
    for entry in archive.entries().map_err(io)? {
        let entry = entry.map_err(io)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(io)?.to_string_lossy().trim_start_matches("./").trim_start_matches('/').to_owned();
        if path.split('/').any(|part| part.starts_with('.') || part == "..") || kind_of(&path).is_none() {
            continue;
        }
        let size = entry.header().size().map_err(io)?;
        if size > MAX_FILE_BYTES {
            return Err(BundleError::TooLarge { path, size });
        }
        if files.len() >= MAX_FILES {
            return Err(BundleError::TooMany(name.to_owned()));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry.take(MAX_FILE_BYTES).read_to_end(&mut bytes).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|_| BundleError::NotText { path: path.clone() })?;
        files.push((path, text));
    }
    files.sort();
    Ok(Files { files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_read_with_its_subdirectories_and_data_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/teams")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("a.rego"), "package a").unwrap();
        std::fs::write(dir.path().join("lib/b.rego"), "package lib").unwrap();
        std::fs::write(dir.path().join("lib/teams/data.yaml"), "x: 1").unwrap();
        std::fs::write(dir.path().join("README.md"), "no").unwrap();
        std::fs::write(dir.path().join(".git/c.rego"), "package hidden").unwrap();
        let (files, print) = read(dir.path()).unwrap();
        let paths: Vec<&str> = files.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, vec!["a.rego", "lib/b.rego", "lib/teams/data.yaml"]);
        assert_eq!(print.len(), 3);
    }

    #[test]
    fn an_opa_bundle_tarball_is_read() {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
        for (path, text) in [("/.manifest", "{\"roots\": [\"\"]}"), ("/policy/p.rego", "package p"), ("/config/data.json", "{}")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path.trim_start_matches('/'), text.as_bytes()).unwrap();
        }
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let files = read_tarball(bytes.as_slice(), "bundle.tar.gz").unwrap();
        assert_eq!(
            files.files,
            vec![("config/data.json".to_owned(), "{}".to_owned()), ("policy/p.rego".to_owned(), "package p".to_owned())]
        );
    }
}
