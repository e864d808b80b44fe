package dossier.sbom_required_test

import data.dossier.sbom_required

published := {"context": {"type": "dev.cdevents.artifact.published.0.3.0"}, "subject": {"id": "pkg:oci/shop@sha256%3Aab"}}

test_denies_a_publication_without_sbom if {
	sbom_required.deny == {"artifact pkg:oci/shop@sha256%3Aab was published without an SBOM"} with input as {"event": published, "subject": {"sbom": null}}
}

test_queues_an_sbom_generation if {
	count(sbom_required.actions) == 1 with input as {"event": published, "subject": {"sbom": null}}
}

test_accepts_a_publication_with_sbom if {
	count(sbom_required.deny) == 0 with input as {"event": published, "subject": {"sbom": {"uri": "https://sboms.example.com/shop.json"}}}
}
