//! Who may call each route of the API: one table, read by the access layer
//! (`dossier_access::authorize`). A route missing here is refused to everyone; the route test
//! (`crates/server/tests/access.rs`) walks this table, and `tests/routes.rs` checks it against
//! the routes registered and the OpenAPI document.

use dossier_access::Rule::{self, Authenticated, Public, Scope as S};
use dossier_auth::Scope::*;

pub const ACCESS: &[(&str, &str, Rule)] = &[
    // Public: liveness, and what an auditor needs to check the log without an account.
    ("GET", "/healthz", Public),
    ("GET", "/api/v1/log/checkpoint", Public),
    ("GET", "/api/v1/log/key", Public),
    ("GET", "/openapi.json", S(Read)),
    ("GET", "/metrics", S(Read)),
    ("GET", "/api/v1/whoami", Authenticated),
    ("GET", "/api/v1/stream", S(Read)),
    ("POST", "/api/v1/events", S(EventsWrite)),
    ("GET", "/api/v1/events", S(Read)),
    ("GET", "/api/v1/events/{seq}", S(Read)),
    ("GET", "/api/v1/events/{seq}/raw", S(Read)),
    ("GET", "/api/v1/event", S(Read)),
    ("GET", "/api/v1/artifact", S(Read)),
    ("GET", "/api/v1/conflicts", S(Read)),
    ("GET", "/api/v1/log/proof/inclusion", S(Read)),
    ("GET", "/api/v1/log/proof/consistency", S(Read)),
    ("GET", "/api/v1/policies", S(Read)),
    ("PUT", "/api/v1/policies/{name}", S(PoliciesAdmin)),
    ("DELETE", "/api/v1/policies/{name}", S(PoliciesAdmin)),
    ("GET", "/api/v1/policies/{name}/replay", S(Read)),
    ("GET", "/api/v1/lineage", S(Read)),
    ("GET", "/api/v1/lineage/stats", S(Read)),
    ("GET", "/api/v1/impact", S(Read)),
    ("GET", "/api/v1/impact/stream", S(Read)),
    ("GET", "/api/v1/vulnerabilities", S(Read)),
    ("GET", "/api/v1/vulnerabilities/{id}", S(Read)),
    ("GET", "/api/v1/risk", S(Read)),
    ("GET", "/api/v1/environments", S(Read)),
    ("GET", "/api/v1/documents", S(Read)),
    ("POST", "/api/v1/documents", S(DocumentsWrite)),
    ("GET", "/api/v1/documents/{digest}", S(Read)),
    ("GET", "/api/v1/components", S(Read)),
    ("GET", "/api/v1/findings", S(Read)),
    ("GET", "/api/v1/scans", S(Read)),
    ("GET", "/api/v1/contains", S(Read)),
    ("GET", "/api/v1/exceptions", S(Read)),
    ("POST", "/api/v1/exceptions", S(ExceptionsRequest)),
    ("POST", "/api/v1/exceptions/from-vex", S(ExceptionsRequest)),
    ("GET", "/api/v1/exceptions/{id}", S(Read)),
    ("POST", "/api/v1/exceptions/{id}/approve", S(ExceptionsApprove)),
    ("POST", "/api/v1/exceptions/{id}/revoke", S(ExceptionsApprove)),
    ("GET", "/api/v1/actions", S(Read)),
    ("POST", "/api/v1/gate", S(Gate)),
    ("GET", "/api/v1/gate/key", Public),
    ("GET", "/api/v1/gate/{decision}/vsa", S(Read)),
    ("GET", "/api/v1/gate/{decision}", S(Read)),
    // The Kubernetes API server, with a token of scope gate (its kubeconfig for the webhook).
    ("POST", "/k8s/admission", S(Gate)),
    ("GET", "/api/v1/audit/report", S(Read)),
    ("GET", "/api/v1/tokens", S(Admin)),
    ("POST", "/api/v1/tokens", S(Admin)),
    ("GET", "/api/v1/tokens/{id}", S(Admin)),
    ("POST", "/api/v1/tokens/{id}/revoke", S(Admin)),
];
