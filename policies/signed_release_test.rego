package dossier.signed_release_test

import data.dossier.signed_release

release_identity := "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"

actions := "https://token.actions.githubusercontent.com"

deployed(env) := {"subject": {"content": {"environment": {"id": env}, "artifactId": "pkg:oci/shop@sha256:ab"}}}

verified_signature := {"seq": 3, "kind": "artifact.signed", "verified": true, "identity": release_identity, "issuer": actions, "trust": ["default"], "reason": "verified under default"}

forged_signature := {"seq": 4, "kind": "artifact.signed", "verified": false, "identity": null, "issuer": null, "reason": "default: the signature does not verify with the signer's key"}

verified_provenance := {"seq": 5, "predicate_type": "https://slsa.dev/provenance/v1", "builder": "https://github.com/actions/runner@v2", "verified": true, "identity": release_identity, "issuer": actions, "reason": "verified under default"}

unverified_provenance := object.union(verified_provenance, {"seq": 6, "verified": false, "identity": null, "reason": "no configured key verifies the signature (tried ci (default))"})

subject(signatures, attestations) := {"artifact": "pkg:oci/shop@sha256:ab", "signatures": signatures, "attestations": attestations}

test_quiet_when_signed_by_the_release_identity_and_built_by_a_trusted_builder if {
	count(signed_release.deny) == 0 with input as {"event": deployed("prod"), "subject": subject([verified_signature], [verified_provenance])}
}

test_a_forged_signature_and_unverified_provenance_are_denied_with_their_reasons if {
	signed_release.deny == {
		"pkg:oci/shop@sha256:ab goes to prod without a verified signature by the release identity (issuer https://token.actions.githubusercontent.com); signatures seen: entry 4: default: the signature does not verify with the signer's key",
		"pkg:oci/shop@sha256:ab goes to prod without a verified SLSA provenance from a trusted builder; attestations seen: entry 6: no configured key verifies the signature (tried ci (default))",
	} with input as {"event": deployed("prod"), "subject": subject([forged_signature], [unverified_provenance])}
}

test_a_verified_signature_by_another_identity_does_not_count if {
	other := object.union(verified_signature, {"identity": "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main"})
	signed_release.deny == {"pkg:oci/shop@sha256:ab goes to prod without a verified signature by the release identity (issuer https://token.actions.githubusercontent.com); signatures seen: entry 3: verified, by https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main of https://token.actions.githubusercontent.com"} with input as {"event": deployed("prod"), "subject": subject([other], [verified_provenance])}
}

test_provenance_from_another_builder_does_not_count if {
	other := object.union(verified_provenance, {"builder": "https://forged.example/builder"})
	count(signed_release.deny) == 1 with input as {"event": deployed("prod"), "subject": subject([verified_signature], [other])}
}

test_nothing_at_all_says_none_seen if {
	signed_release.deny == {
		"pkg:oci/shop@sha256:ab goes to prod without a verified signature by the release identity (issuer https://token.actions.githubusercontent.com); signatures seen: none",
		"pkg:oci/shop@sha256:ab goes to prod without a verified SLSA provenance from a trusted builder; attestations seen: none",
	} with input as {"event": deployed("prod"), "subject": subject([], [])}
}

test_other_environments_are_not_guarded if {
	count(signed_release.deny) == 0 with input as {"event": deployed("staging"), "subject": subject([], [])}
}
