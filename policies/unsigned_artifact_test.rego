package dossier.unsigned_artifact_test

import data.dossier.unsigned_artifact

test_warns_when_unsigned if {
	count(unsigned_artifact.warn) == 1 with input as {"subject": {"artifact": "pkg:oci/a", "signed": false}}
}

test_quiet_when_signed if {
	count(unsigned_artifact.warn) == 0 with input as {"subject": {"artifact": "pkg:oci/a", "signed": true}}
}
