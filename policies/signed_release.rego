# What goes to production is signed by the release workflow and built by a trusted builder:
# the image carries a signature that verified (against the trust Dossier is configured with)
# from the certificate identity and OIDC issuer below, and a verified SLSA provenance from one
# of the builders below. Signatures and attestations that did not verify do not count; their
# reasons are in input.subject.signatures[].reason and input.subject.attestations[].reason.
#
# Edit `signer`, `builders` and `environments` to your organisation's. A trust set of its own
# (serve --config with a [[trust]] table; README "Signatures") can require the identity at
# verification already; then add `"production" in s.trust` below to accept only that set.
package dossier.signed_release

triggers := ["dev.cdevents.service.deployed.*", "dev.cdevents.service.upgraded.*"]

mode := "enforce"

# The environments this policy guards.
environments := {"prod", "production"}

# Who must have signed: the certificate identity (a regular expression matched against the
# whole SAN) and the OIDC issuer (exactly).
signer := {
	"identity": `https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/(heads/main|tags/v.+)`,
	"issuer": "https://token.actions.githubusercontent.com",
}

# The builders whose provenance counts (a builder's id, with or without its @version).
builders := {
	"https://github.com/actions/runner",
	"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml",
}

guarded if input.event.subject.content.environment.id in environments

signed_by_release if {
	some s in input.subject.signatures
	s.verified
	regex.match(sprintf("^(?:%s)$", [signer.identity]), s.identity)
	s.issuer == signer.issuer
}

built_by_trusted_builder if {
	some a in input.subject.attestations
	a.verified
	startswith(a.predicate_type, "https://slsa.dev/provenance/")
	builder_id(a.builder) in builders
}

# `https://github.com/actions/runner@v2` names the builder https://github.com/actions/runner.
builder_id(b) := split(b, "@")[0] if contains(b, "@")

builder_id(b) := b if not contains(b, "@")

# What was seen instead, for the message: each signature or attestation and why it did not count.
seen(items) := "none" if count(items) == 0

seen(items) := concat("; ", [said |
	some i in items
	said := sprintf("entry %d: %s", [i.seq, why(i)])
]) if count(items) > 0

why(i) := sprintf("verified, by %s of %s", [i.identity, object.get(i, "issuer", "no issuer")]) if i.verified

why(i) := i.reason if not i.verified

deny contains msg if {
	guarded
	input.subject.artifact != null
	not signed_by_release
	msg := sprintf(
		"%s goes to %s without a verified signature by the release identity (issuer %s); signatures seen: %s",
		[input.subject.artifact, input.event.subject.content.environment.id, signer.issuer, seen(input.subject.signatures)],
	)
}

deny contains msg if {
	guarded
	input.subject.artifact != null
	not built_by_trusted_builder
	msg := sprintf(
		"%s goes to %s without a verified SLSA provenance from a trusted builder; attestations seen: %s",
		[input.subject.artifact, input.event.subject.content.environment.id, seen(input.subject.attestations)],
	)
}
