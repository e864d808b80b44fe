//! CVSS base scores from vector strings (v3.0, v3.1 and v4.0), for documents that give a vector
//! and no score: RustSec's `cvss` crate, which implements FIRST's specifications.

use std::str::FromStr;

/// The base metrics each version requires. The crate scores a vector that lacks some as if they
/// were their lowest value; a partial vector must not read as a low score, so it is refused here.
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: [&str; 11] = ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"];

/// The base score of a `CVSS:3.x/…` or `CVSS:4.0/…` vector; `None` for a vector that does not
/// read (another version, a missing base metric).
pub fn base_score(vector: &str) -> Option<f64> {
    let mut parts = vector.split('/');
    let required: &[&str] = match parts.next()? {
        "CVSS:3.0" | "CVSS:3.1" => &V3_BASE,
        "CVSS:4.0" => &V4_BASE,
        _ => return None,
    };
    let named: Vec<&str> = parts.filter_map(|p| p.split_once(':').map(|(name, _)| name)).collect();
    if !required.iter().all(|m| named.contains(m)) {
        return None;
    }
    cvss::Cvss::from_str(vector).ok().map(|v| v.score())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_score_as_nvd_publishes_them() {
        // Log4Shell (CVE-2021-44228), Heartbleed's 3.x rescoring style, and a low one.
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), Some(10.0));
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some(9.8));
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"), Some(7.5));
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), Some(6.1));
        assert_eq!(base_score("CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"), Some(1.8));
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), Some(0.0));
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L"), None, "a base metric is missing");
        assert_eq!(base_score("CVSS:2.0/AV:N"), None, "not a version the crate reads");
        assert_eq!(base_score("not a vector"), None);
    }

    #[test]
    fn cvss_4_vectors_score_as_first_publishes_them() {
        // FIRST's calculator: the network vector with high impact on the system itself.
        assert_eq!(base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"), Some(9.3));
        assert_eq!(base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H"), None, "a base metric is missing");
    }
}
