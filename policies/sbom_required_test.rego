package dossier.sbom_required_test

import data.dossier.sbom_required

published := {"context": {"type": "dev.cdevents.artifact.published.0.3.0"}, "subject": {"id": "pkg:oci/shop@sha256%3Aab"}}

bare := {"sbom": null, "components": [], "scans": []}

test_denies_a_publication_without_sbom if {
	sbom_required.deny == {"artifact pkg:oci/shop@sha256%3Aab was published without an SBOM"} with input as {"event": published, "subject": bare}
}

test_queues_an_sbom_generation_and_a_recheck if {
	kinds := {a.kind | some a in sbom_required.actions} with input as {"event": published, "subject": bare}
	kinds == {"emit", "recheck"}
}

test_an_sbom_document_counts_as_an_sbom if {
	count(sbom_required.deny) == 0 with input as {"event": published, "subject": {"sbom": null, "components": [{"name": "lodash"}], "scans": []}}
}

test_accepts_a_publication_with_an_sbom_reference if {
	count(sbom_required.deny) == 0 with input as {"event": published, "subject": {"sbom": {"uri": "https://sboms.example.com/shop.json"}, "components": [], "scans": []}}
}

test_the_recheck_queues_a_scan_when_none_arrived if {
	subject := {"sbom": {"uri": "u"}, "components": [], "scans": [{"format": "cyclonedx", "findings": 0}]}
	sbom_required.deny == {"no security scan of pkg:oci/shop@sha256%3Aab arrived within 15 minutes of its publication"} with input as {"event": published, "subject": subject, "recheck": {"timer": "t"}}
	suites := {a.content.testSuite.id | some a in sbom_required.actions; a.kind == "emit"} with input as {"event": published, "subject": subject, "recheck": {"timer": "t"}}
	suites == {"security-scan"}
}

test_the_recheck_is_quiet_when_a_scan_arrived if {
	subject := {"sbom": {"uri": "u"}, "components": [], "scans": [{"format": "sarif", "findings": 0}]}
	count(sbom_required.deny) == 0 with input as {"event": published, "subject": subject, "recheck": {"timer": "t"}}
	count(sbom_required.actions) == 0 with input as {"event": published, "subject": subject, "recheck": {"timer": "t"}}
}
