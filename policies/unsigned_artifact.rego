# An artifact published or deployed without a verified signature. Every entry of
# input.subject.signatures (the signatures artifact.signed events carry, DSSE envelope
# signatures, Sigstore bundles) was checked against the configured trust when it arrived:
# "verified" is true only for one that verified, and "reason" says why another did not. An
# unverified signature is not a signature, so an artifact that has only those is denied like one
# without any. In audit mode the denials are recorded and block nothing; turn it to "enforce"
# to refuse unsigned artifacts (signed_release.rego also says whose signature counts).
package dossier.unsigned_artifact

triggers := ["dev.cdevents.artifact.published.*", "dev.cdevents.service.deployed.*", "dev.cdevents.service.upgraded.*"]

mode := "audit"

deny contains msg if {
	input.subject.artifact != null
	count(input.subject.signatures) == 0
	msg := sprintf("artifact %s has no signature (no artifact.signed event or signed attestation names it)", [input.subject.artifact])
}

deny contains msg if {
	input.subject.artifact != null
	count(input.subject.signatures) > 0
	not input.subject.signed_verified
	msg := sprintf(
		"artifact %s has %d signatures and none is verified (%s): an unverified signature is not a signature",
		[input.subject.artifact, count(input.subject.signatures), input.subject.signatures[0].reason],
	)
}
