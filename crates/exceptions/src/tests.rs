use serde_json::json;

use super::*;
use dossier_core::own::OwnType;

const DAY: i64 = NANOS_PER_DAY;
const T0: i64 = 1_800_000_000 * 1_000_000_000;

fn request(expires: i64) -> Request {
    Request {
        id: Some("exc-1".into()),
        scope: Scope {
            vulnerabilities: vec!["CVE-2021-23337".into()],
            artifacts: vec!["pkg:oci/shop@*".into()],
            environments: vec!["prod".into()],
            policies: vec![],
        },
        reason: "template() is never called with user input".into(),
        requester: "alice".into(),
        expires: format_timestamp(expires),
        ticket: Some("https://jira.example.com/SEC-12".into()),
        justification: None,
    }
}

fn book_with(expires: i64) -> Book {
    let mut b = Book::new();
    b.apply(1, OwnType::ExceptionRequested.as_str(), "exc-1", &serde_json::to_value(request(expires)).unwrap(), T0);
    b
}

#[test]
fn a_request_is_refused_with_the_field_and_what_is_accepted() {
    let rules = Rules::default();
    let mut r = request(T0 + DAY);
    assert_eq!(rules.check_request(&r, T0), Ok(T0 + DAY));
    r.expires = "next week".into();
    assert_eq!(
        rules.check_request(&r, T0).unwrap_err().to_string(),
        "expires: \"next week\" is not an RFC 3339 date-time, e.g. 2026-12-31T00:00:00Z"
    );
    r.expires = format_timestamp(T0 + 91 * DAY);
    assert_eq!(
        rules.check_request(&r, T0).unwrap_err().to_string(),
        format!("expires: {} is more than 90 days away; the latest accepted now is {}", r.expires, format_timestamp(T0 + 90 * DAY))
    );
    r.expires = format_timestamp(T0 - 1);
    assert!(rules.check_request(&r, T0).unwrap_err().to_string().ends_with("is not in the future"));
    let mut r = request(T0 + DAY);
    r.scope.vulnerabilities.clear();
    assert_eq!(
        rules.check_request(&r, T0).unwrap_err(),
        invalid("vulnerabilities", "an exception names the vulnerabilities and/or the policies it waives")
    );
    let mut r = request(T0 + DAY);
    r.id = Some("no spaces".into());
    assert!(rules.check_request(&r, T0).unwrap_err().to_string().starts_with("id: \"no spaces\" is not an id"));
}

/// A ticket is shown as a link on the dashboard: only a web address is accepted, so a stored
/// `javascript:` link cannot run in an approver's browser.
#[test]
fn a_ticket_must_be_an_http_or_https_url() {
    let rules = Rules::default();
    for bad in
        ["javascript:alert(document.domain)", "JAVASCRIPT:alert(1)", "data:text/html,<script>alert(1)</script>", "SEC-42", "https://"]
    {
        let mut r = request(T0 + DAY);
        r.ticket = Some(bad.into());
        assert_eq!(
            rules.check_request(&r, T0).unwrap_err(),
            invalid(
                "ticket",
                format!("{bad:?} is not an http(s) URL; give the ticket's web address, e.g. https://tracker.example.com/SEC-42")
            ),
            "{bad}"
        );
    }
    let mut r = request(T0 + DAY);
    r.ticket = Some("http://tracker.internal:8080/browse/SEC-42".into());
    assert_eq!(rules.check_request(&r, T0), Ok(T0 + DAY));
}

#[test]
fn an_exception_is_in_force_from_its_approval_to_its_expiry_or_revocation_exactly() {
    let rules = Rules::default();
    let mut b = book_with(T0 + 10 * DAY);
    assert_eq!(b.get("exc-1").unwrap().state(T0 + 1, &rules), State::Requested);
    assert_eq!(
        b.check_approval("exc-1", "alice", T0 + 2, &rules).unwrap_err().to_string(),
        "approver: \"alice\" requested this exception; another person must approve it"
    );
    assert!(b.check_approval("exc-1", "bob", T0 + 2, &rules).is_ok());
    b.apply(2, OwnType::ExceptionApproved.as_str(), "exc-1", &json!({"approver": "bob"}), T0 + DAY);
    let e = b.get("exc-1").unwrap();
    assert_eq!((e.state(T0 + DAY - 1, &rules), e.state(T0 + DAY, &rules)), (State::Requested, State::Active));
    assert_eq!((e.state(T0 + 10 * DAY - 1, &rules), e.state(T0 + 10 * DAY, &rules)), (State::Active, State::Expired));
    assert_eq!(
        b.check_approval("exc-1", "carol", T0 + DAY, &rules).unwrap_err().to_string(),
        "exception \"exc-1\" is active: it was approved already"
    );
    b.apply(3, OwnType::ExceptionRevoked.as_str(), "exc-1", &json!({"by": "carol", "reason": "the fix shipped"}), T0 + 5 * DAY);
    let e = b.get("exc-1").unwrap();
    assert_eq!((e.state(T0 + 5 * DAY - 1, &rules), e.state(T0 + 5 * DAY, &rules)), (State::Active, State::Revoked));
    assert_eq!(b.active(T0 + 2 * DAY, &rules).count(), 1);
    assert_eq!(b.active(T0 + 6 * DAY, &rules).count(), 0);
    assert!(b.check_revocation("exc-1", "carol", "again", T0 + 6 * DAY, &rules).is_err());
}

#[test]
fn without_required_approval_a_request_is_in_force_at_once() {
    let rules = Rules { approval_required: false, ..Rules::default() };
    let b = book_with(T0 + DAY);
    assert_eq!(b.get("exc-1").unwrap().state(T0, &rules), State::Active);
    // Not before it was asked for, though: a replay of earlier history must not see it.
    assert_eq!((b.active(T0 - 1, &rules).count(), b.active(T0, &rules).count()), (0, 1));
}

#[test]
fn an_exception_as_of_a_moment_has_only_the_acts_made_by_then() {
    let rules = Rules::default();
    let mut b = book_with(T0 + 10 * DAY);
    b.apply(2, OwnType::ExceptionApproved.as_str(), "exc-1", &json!({"approver": "bob"}), T0 + DAY);
    b.apply(3, OwnType::ExceptionRevoked.as_str(), "exc-1", &json!({"by": "carol", "reason": "the fix shipped"}), T0 + 5 * DAY);
    let e = b.get("exc-1").unwrap();
    assert_eq!(e.as_of(T0 - 1), None);
    let then = e.as_of(T0 + 1).unwrap();
    assert_eq!((then.approved.is_none(), then.revoked.is_none(), then.state(T0 + 1, &rules)), (true, true, State::Requested));
    let then = e.as_of(T0 + 2 * DAY).unwrap();
    assert_eq!((then.approved.as_ref().map(|a| a.by.as_str()), then.revoked.is_none()), (Some("bob"), true));
    assert_eq!(e.as_of(T0 + 5 * DAY).unwrap(), *e);
}

#[test]
fn the_scope_matches_artifact_globs_and_every_named_dimension() {
    let b = book_with(T0 + DAY);
    let e = b.get("exc-1").unwrap();
    assert!(e.covers(Some("pkg:oci/shop@sha256%3Aab"), Some("CVE-2021-23337"), Some("prod"), Some("any-policy")));
    assert!(!e.covers(Some("pkg:oci/cart@sha256%3Aab"), Some("CVE-2021-23337"), Some("prod"), None));
    assert!(!e.covers(Some("pkg:oci/shop@1"), Some("CVE-2024-1"), None, None));
    assert!(!e.covers(Some("pkg:oci/shop@1"), None, Some("staging"), None));
    assert!(e.covers(Some("pkg:oci/shop@1"), None, None, None));
}

#[test]
fn expiry_is_due_once_for_exceptions_that_were_in_force() {
    let rules = Rules::default();
    let mut b = book_with(T0 + DAY);
    assert!(b.due(T0 + 2 * DAY, &rules).is_empty(), "never approved: nothing to announce");
    b.apply(2, OwnType::ExceptionApproved.as_str(), "exc-1", &json!({"approver": "bob"}), T0 + 1);
    assert!(b.due(T0 + DAY - 1, &rules).is_empty());
    assert_eq!(b.due(T0 + DAY, &rules).len(), 1);
    b.apply(3, OwnType::ExceptionExpired.as_str(), "exc-1", &json!({}), T0 + DAY);
    assert!(b.due(T0 + 2 * DAY, &rules).is_empty());
}
