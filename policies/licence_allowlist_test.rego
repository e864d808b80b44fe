package dossier.licence_allowlist_test

import data.dossier.licence_allowlist

sbom(components) := {
	"context": {"type": "dev.cdeventsx.dossier-document.received.0.1.0"},
	"subject": {"id": "sha256:d0c", "content": {"artifactId": "pkg:oci/shop@1", "components": components}},
}

ok := {"name": "six", "purl": "pkg:pypi/six@1.17.0", "licenses": ["MIT"]}

gpl := {"name": "readline", "purl": "pkg:deb/debian/readline@8.2", "licenses": ["GPL-3.0-or-later"]}

dual := {"name": "x", "purl": "pkg:npm/x@1", "licenses": ["Apache-2.0 AND (MIT OR GPL-2.0-only)"]}

unstated := {"name": "y", "purl": "pkg:npm/y@1"}

test_allowed_licences_pass if {
	count(licence_allowlist.deny) == 0 with input as {"event": sbom([ok]), "subject": {"artifact": "pkg:oci/shop@1"}, "exceptions": []}
}

test_every_refused_component_is_named_with_its_licences if {
	licence_allowlist.deny == {"pkg:oci/shop@1 contains components whose licences are not allowed: pkg:deb/debian/readline@8.2 (GPL-3.0-or-later); pkg:npm/x@1 (GPL-2.0-only); pkg:npm/y@1 (no licence stated)"} with input as {"event": sbom([ok, gpl, dual, unstated]), "subject": {"artifact": "pkg:oci/shop@1"}, "exceptions": []}
}

test_an_exception_for_the_policy_waives_it_and_is_named if {
	exceptions := [{"id": "exc-legal-7", "policies": ["licence_allowlist"], "vulnerabilities": []}]
	count(licence_allowlist.deny) == 0 with input as {"event": sbom([gpl]), "subject": {"artifact": "pkg:oci/shop@1"}, "exceptions": exceptions}
	licence_allowlist.exceptions_applied == {"exc-legal-7"} with input as {"event": sbom([gpl]), "subject": {"artifact": "pkg:oci/shop@1"}, "exceptions": exceptions}
}

classified := {"name": "requests", "purl": "pkg:pypi/requests@2.32.3", "licenses": ["License :: OSI Approved :: Apache Software License"]}

unknown_classifier := {"name": "z", "purl": "pkg:pypi/z@1", "licenses": ["License :: Other/Proprietary License"]}

test_a_python_classifier_is_read_as_the_spdx_id_it_stands_for if {
	count(licence_allowlist.deny) == 0 with input as {"event": sbom([classified]), "subject": {"artifact": "pkg:oci/shop@1"}, "exceptions": []}
}

test_an_unknown_classifier_is_refused_whole_not_word_by_word if {
	licence_allowlist.deny == {"pkg:oci/shop@1 contains components whose licences are not allowed: pkg:pypi/z@1 (License :: Other/Proprietary License)"} with input as {"event": sbom([unknown_classifier]), "subject": {"artifact": "pkg:oci/shop@1"}, "exceptions": []}
}
