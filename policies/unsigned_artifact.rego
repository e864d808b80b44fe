# An artifact published or deployed without a verified signature. Dossier does not verify
# signatures yet: every entry of input.subject.signatures (artifact.signed events, DSSE
# envelope signatures) has "verified": false and says why, and input.subject.signed_verified is
# false. An unverified signature is not a signature, so an artifact that has only those is
# denied like one without any. In audit mode the denials are recorded and block nothing; turn
# it to "enforce" once signatures are verified.
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
