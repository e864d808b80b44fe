//! What the graph keeps of each report of a vulnerability, and of what waives one: plain
//! data, shared by the graph, the vulnerability model and the queries. A leaf module.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use dossier_core::{Severity, VersionRange};

pub(crate) type Id = u32;

/// Who reported a vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ReportKey {
    /// A `dossier-vulnerability.discovered` event, under the id it states.
    Event(Id),
    /// Finding `index` of document `doc`, received about `artifact`.
    Document { doc: Id, artifact: Id, index: u32 },
}

/// One report of a vulnerability, as stated.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub id: Id,
    pub aliases: Vec<Id>,
    pub severity: Severity,
    pub commits: HashSet<Id>,
    pub artifacts: HashSet<Id>,
    pub packages: Vec<(Id, VersionRange)>,
    /// The package (a purl with its version) a scanner found it in.
    pub package: Option<String>,
    /// Where it is found now: its commits, its artifacts, the known package versions in its ranges.
    pub origins: HashSet<Id>,
    pub seq: u64,
}

/// A vulnerability: the reports of its alias component, and its origins, each with the number
/// of reports that find it there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vuln {
    pub reports: BTreeSet<ReportKey>,
    pub origins: HashMap<Id, u32>,
    /// How many of its reports give each severity: the worst is the last key, kept as reports
    /// join and leave, so that asking it costs nothing however many reports there are.
    pub severities: BTreeMap<Severity, u32>,
}

/// A VEX statement indexed under one of its product's names and one of its vulnerability ids.
#[derive(Debug, Clone)]
pub(crate) struct VexRef {
    pub seq: u64,
    pub doc: Id,
    pub index: u32,
    pub waives: bool,
    /// The subcomponents it is limited to, normalised (see [`normalised`]); none: the product.
    pub subcomponents: Vec<String>,
}

/// An exception in force that names vulnerabilities.
#[derive(Debug, Clone)]
pub(crate) struct Waiver {
    pub vulns: Vec<Id>,
    /// Purls (canonical) or globs.
    pub artifacts: Vec<String>,
    /// None: every environment.
    pub environments: Vec<Id>,
}

/// What waives a vulnerability for a deployed artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum By {
    Exception(Id),
    Vex { doc: Id, index: u32, seq: u64 },
}
