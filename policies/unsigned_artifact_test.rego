package dossier.unsigned_artifact_test

import data.dossier.unsigned_artifact

event_only := {
	"seq": 2, "kind": "artifact.signed", "source": "/ci/cosign", "verified": false,
	"reason": "default: the signature does not verify with the signer's key",
}

test_denies_without_a_signature if {
	unsigned_artifact.deny == {"artifact pkg:oci/a has no signature (no artifact.signed event or signed attestation names it)"} with input as {"subject": {"artifact": "pkg:oci/a", "signatures": [], "signed_verified": false}}
}

test_an_unverified_signature_is_not_a_signature if {
	unsigned_artifact.deny == {"artifact pkg:oci/a has 1 signatures and none is verified (default: the signature does not verify with the signer's key): an unverified signature is not a signature"} with input as {"subject": {"artifact": "pkg:oci/a", "signatures": [event_only], "signed_verified": false}}
}

test_quiet_when_a_signature_is_verified if {
	verified := object.union(event_only, {"verified": true, "reason": "verified"})
	count(unsigned_artifact.deny) == 0 with input as {"subject": {"artifact": "pkg:oci/a", "signatures": [verified], "signed_verified": true}}
}

test_quiet_without_an_artifact if {
	count(unsigned_artifact.deny) == 0 with input as {"subject": {"artifact": null, "signatures": [], "signed_verified": false}}
}
