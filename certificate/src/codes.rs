//! One-line human explanations of failure codes, for the CLI and for `maat-v1` messages.
//! Codes carry `:<param>` suffixes; the explanation is chosen by the bare code.

/// The code without its parameters (`EVIDENCE_STALE:scan` -> `EVIDENCE_STALE`).
pub fn bare(code: &str) -> &str {
    code.split(':').next().unwrap_or(code)
}

/// True for the codes that replace a reference crash or a malformed input (`*_MALFORMED`).
pub fn is_malformed(code: &str) -> bool {
    bare(code).ends_with("_MALFORMED")
}

/// A one-line sentence for a failure code (with or without its `:<param>` suffixes).
pub fn explain(code: &str) -> &'static str {
    let code = bare(code);
    if let Some(s) = explain_maatproof_v1(code) {
        return s;
    }
    if let Some(s) = explain_maat_v1(code) {
        return s;
    }
    "unknown failure code"
}

/// Codes of the `maatproof-v1` rule set (CERTIFICATE.md section 5) and the `*_MALFORMED`
/// codes that replace the reference's crashes (section 9b).
fn explain_maatproof_v1(code: &str) -> Option<&'static str> {
    Some(match code {
        // WF(P)
        "POLICY_ID_REQUIRED" => "The policy has an empty policy_id.",
        "POLICY_VERSION_INVALID" => "The policy version is not a positive integer.",
        "POLICY_ENVIRONMENT_REQUIRED" => "The policy names no environment.",
        "POLICY_RULE_SET_UNSUPPORTED" => "The policy's rule_set_id is not pod-v1.",
        "POLICY_PREDICATES_REQUIRED" => "The policy has no predicates.",
        "POLICY_PREDICATE_UNKNOWN" => "The policy uses a predicate name the checker does not know.",
        "POLICY_TEST_SUITE_INVALID" => "A test_passed predicate needs a non-empty suite.",
        "POLICY_VULN_SEVERITY_INVALID" => "A vuln_count predicate needs a non-empty severity.",
        "POLICY_VULN_OPERATOR_INVALID" => "A vuln_count predicate's operator must be <= or ==.",
        "POLICY_VULN_THRESHOLD_INVALID" => {
            "A vuln_count predicate needs an integer threshold >= 0."
        }
        "POLICY_HUMAN_ROLE_INVALID" => "A human_attested predicate needs a non-empty role.",
        "POLICY_ROLLBACK_DEFINED_SERVICE_INVALID" => {
            "A rollback_defined predicate needs a non-empty service."
        }
        "POLICY_CANARY_ENABLED_SERVICE_INVALID" => {
            "A canary_enabled predicate needs a non-empty service."
        }
        "POLICY_ENVIRONMENT_TARGET_INVALID" => {
            "An environment_matches predicate needs a non-empty target."
        }
        "POLICY_AND_CHILDREN_REQUIRED" => "An and predicate needs a non-empty list of children.",
        "POLICY_OR_CHILDREN_REQUIRED" => "An or predicate needs a non-empty list of children.",
        "POLICY_NOT_CHILD_REQUIRED" => "A not predicate needs a child predicate object.",
        "POLICY_ENVIRONMENT_CONTRADICTION" => {
            "The policy environment is not among its environment_matches targets."
        }
        "POLICY_FRESHNESS_TYPE_INVALID" => "A freshness_seconds entry has an empty evidence type.",
        "POLICY_FRESHNESS_INVALID" => "A freshness limit is not a positive number.",
        // Auth(E)
        "EVIDENCE_DUPLICATE_ID" => "Two evidence objects share an evidence_id.",
        "EVIDENCE_HASH_MISSING" => "An evidence object has no hash.",
        "EVIDENCE_HASH_INVALID" => "An evidence object's hash does not match its content.",
        "EVIDENCE_SIGNATURE_MISSING" => "An evidence object has no signature.",
        "EVIDENCE_SIGNATURE_INVALID" => {
            "An evidence signature does not verify with the evidence key."
        }
        "EVIDENCE_DEPENDENCY_MISSING" => {
            "An evidence object depends on an id that is not in the bundle."
        }
        "EVIDENCE_REQUIRED_MISSING" => "The policy needs an evidence type that the bundle lacks.",
        "EVIDENCE_STALE" => "An evidence object is older than the policy's freshness limit.",
        "EVIDENCE_COMMIT_MISMATCH" => "The commit snapshot does not match the requested commit.",
        "EVIDENCE_ARTIFACT_MISMATCH" => "The build artifact does not match the requested artifact.",
        "EVIDENCE_ENVIRONMENT_MISMATCH" => {
            "The environment descriptor does not match the requested environment."
        }
        "EVIDENCE_DEPLOYMENT_MISMATCH" => "An evidence object is bound to another deployment.",
        "EVIDENCE_TEST_NOT_PASSED" => "No passing test result for the suite the policy requires.",
        "EVIDENCE_VULN_THRESHOLD_EXCEEDED" => {
            "No scan report is within the vulnerability threshold."
        }
        "EVIDENCE_HUMAN_ATTESTATION_MISSING" => {
            "No approved human attestation for the required role and deployment."
        }
        "EVIDENCE_ROLLBACK_MISSING" => "No rollback plan for the service the policy names.",
        "EVIDENCE_CANARY_MISSING" => "No canary rollout for the service the policy names.",
        "EVIDENCE_ENVIRONMENT_TARGET_MISMATCH" => {
            "An environment_matches target differs from the policy or request environment."
        }
        // CheckR
        "VRP_STEPS_REQUIRED" => "The derivation has no steps.",
        "VRP_STEP_ID_REQUIRED" => "A derivation step has an empty step_id.",
        "VRP_STEP_DUPLICATE" => "Two derivation steps share a step_id.",
        "VRP_RULE_UNKNOWN" => "A derivation step uses an unknown rule.",
        "VRP_PREMISE_MISSING" => "A step cites a premise that is not an earlier step.",
        "VRP_EVIDENCE_REF_MISSING" => "A step cites an evidence id that is not in the bundle.",
        "VRP_TEST_PASS_UNSUPPORTED" => "A TEST_PASS step cites no passing test result.",
        "VRP_VULN_OK_UNSUPPORTED" => "A VULN_OK step cites no scan report.",
        "VRP_SIGNATURE_REF_REQUIRED" => "A SIGNATURE_VALID step cites no existing evidence.",
        "VRP_EVIDENCE_BOUND_REF_REQUIRED" => "An EVIDENCE_BOUND step cites no existing evidence.",
        "VRP_EVIDENCE_NOT_BOUND" => "An EVIDENCE_BOUND step cites evidence of another deployment.",
        "VRP_ENVIRONMENT_POLICY_MISMATCH" => "The policy and request environments differ.",
        "VRP_ENVIRONMENT_REF_MISSING" => {
            "An ENVIRONMENT_MATCH step cites no matching environment descriptor."
        }
        "VRP_ROLLBACK_REF_MISSING" => "A ROLLBACK_READY step cites no rollback spec.",
        "VRP_HUMAN_ATTESTATION_REF_MISSING" => {
            "A HUMAN_ATTESTED step cites no approved human attestation."
        }
        "VRP_POLICY_PREMISES_REQUIRED" => "A POLICY_SATISFIED step has no premises.",
        "VRP_POLICY_CONCLUSION_INVALID" => {
            "A POLICY_SATISFIED step must conclude policy_satisfied."
        }
        "VRP_DEPLOY_AUTH_CONCLUSION_INVALID" => "A DEPLOY_AUTH step has an unexpected conclusion.",
        "VRP_DEPLOY_AUTH_PREMISE_REQUIRED" => "A DEPLOY_AUTH step has no premises.",
        "VRP_FINAL_CONCLUSION_MISMATCH" => {
            "The final conclusion is not deploy_authorized:<deployment_id>."
        }
        "VRP_FINAL_STEP_MISMATCH" => {
            "The last step does not conclude deploy_authorized:<deployment_id>."
        }
        // Quorum(A)
        "QUORUM_DUPLICATE_VALIDATOR" => "A validator attested more than once.",
        "QUORUM_DIGEST_MISMATCH" => "An attestation is for a different certificate digest.",
        "QUORUM_VALIDATOR_UNKNOWN" => "An attestation comes from an unregistered validator.",
        "QUORUM_SIGNATURE_INVALID" => "An attestation signature is missing or does not verify.",
        "QUORUM_DECISION_INVALID" => "An attestation decision is not accept, reject or dispute.",
        "QUORUM_NO_VALID_ATTESTATIONS" => "No valid attestation carries positive weight.",
        "QUORUM_INSUFFICIENT_ACCEPT_WEIGHT" => "The accepting weight is below the quorum rule.",
        // Ledger
        "LEDGER_ENTRY_MISSING" => "The ledger has no entry for this certificate digest.",
        "LEDGER_DIGEST_MISMATCH" => "The ledger entry's digest differs from the certificate's.",
        // *_MALFORMED: inputs on which the reference crashes (section 9b).
        "CERTIFICATE_JSON_MALFORMED" => {
            "The certificate is not valid JSON (or uses NaN, Infinity, overflow or lone surrogates)."
        }
        "CERTIFICATE_MALFORMED" => "The certificate is not a JSON object.",
        "REQUEST_MALFORMED" => {
            "The request is missing, not an object, or has a missing or unknown field."
        }
        "POLICY_MALFORMED" => {
            "The policy is missing, not an object, or has a field of unusable type."
        }
        "POLICY_PREDICATE_MALFORMED" => {
            "A policy predicate is not an object, lacks its name or a required parameter, or has parameters of unusable type."
        }
        "POLICY_FRESHNESS_MALFORMED" => "A freshness limit is not a number and cannot be compared.",
        "EVIDENCE_MALFORMED" => {
            "The evidence bundle is missing, not an object, or its objects are not a list."
        }
        "EVIDENCE_OBJECT_MALFORMED" => {
            "An evidence object is not an object, lacks a field, or has a field of unusable type."
        }
        "EVIDENCE_VALUE_MALFORMED" => {
            "An evidence value has a field of unusable type (e.g. vulnerabilities)."
        }
        "EVIDENCE_SIGNATURE_MALFORMED" => "An evidence signature is not an ASCII string.",
        "PROOF_MALFORMED" => {
            "The derivation is missing, not an object, or lacks its final conclusion."
        }
        "PROOF_STEP_MALFORMED" => {
            "A derivation step is not an object, lacks a field, or has a field of unusable type."
        }
        "QUORUM_ATTESTATIONS_MALFORMED" => "The attestations are not a list.",
        "QUORUM_ATTESTATION_MALFORMED" => {
            "An attestation is not an object, lacks a field, or has a field of unusable type."
        }
        "QUORUM_SIGNATURE_MALFORMED" => "An attestation signature is not an ASCII string.",
        "LEDGER_MALFORMED" => "A ledger line is not a valid ledger entry.",
        _ => return None,
    })
}

/// Codes new in the `maat-v1` rule set (CERTIFICATE.md section 10; see `maat_v1` module docs).
/// Codes shared with `maatproof-v1` keep that table's sentence.
fn explain_maat_v1(code: &str) -> Option<&'static str> {
    Some(match code {
        // Parse and certificate shape
        "CERTIFICATE_TOO_LARGE" => {
            "The certificate exceeds a size limit (bytes, evidence, steps, predicates or depth)."
        }
        "CERTIFICATE_FIELD_UNKNOWN" => "The certificate has a field that maat-v1 does not define.",
        "CERTIFICATE_FIELD_MISSING" => "The certificate lacks a required field.",
        "CERTIFICATE_ATTESTATIONS_FORBIDDEN" => {
            "A submitted certificate must not carry attestations; the chain supplies the quorum."
        }
        "CHECK_CONTEXT_INVALID" => {
            "The block time or max clock skew given to the checker is not usable."
        }
        "REQUEST_FIELD_REQUIRED" => "A request field is empty.",
        // WF(P)
        "POLICY_ENVIRONMENT_MISMATCH" => "The policy is for another environment than the request.",
        "POLICY_NOT_REGISTERED" => {
            "No policy is registered for the request's service and environment."
        }
        "POLICY_MISMATCH" => "The certificate's policy is not the one registered on chain.",
        "POLICY_ARTIFACT_ATTESTED_PREDICATE_INVALID" => {
            "An artifact_attested predicate needs a non-empty predicate_type."
        }
        // Auth(E)
        "EVIDENCE_SIGNER_UNKNOWN" => {
            "An evidence object names a signer that is not a registered identity."
        }
        "EVIDENCE_SIGNER_UNAUTHORIZED" => {
            "An evidence signer is revoked, used a rotated-out key, or may not sign that evidence type."
        }
        "EVIDENCE_FROM_FUTURE" => {
            "An evidence object is dated after the block time plus the allowed clock skew."
        }
        "EVIDENCE_NEGATED_LEAF_HOLDS" => {
            "The policy needs a predicate to be false, and the evidence shows it holds."
        }
        "EVIDENCE_POLICY_NOT_SATISFIED" => "The policy does not hold on the evidence.",
        "EVIDENCE_ATTESTATION_REF_INVALID" => {
            "An attestation_ref value needs an integer log_index >= 0, a subject <alg>:<lowercase hex> and a non-empty predicate_type."
        }
        "EVIDENCE_ATTESTATION_NOT_FOUND" => {
            "An attestation_ref cites a log index where no attestation is finalized on the chain."
        }
        "EVIDENCE_ATTESTATION_MISMATCH" => {
            "An attestation_ref's predicate type or subject is not what the cited attestation says."
        }
        "EVIDENCE_ARTIFACT_ATTESTATION_MISSING" => {
            "No valid attestation_ref cites an attestation of the required predicate type for the requested artifact."
        }
        // CheckR
        "VRP_PREMISE_CYCLE" => "A proof step cites itself or a later step as a premise.",
        "VRP_POLICY_NOT_COVERED" => {
            "A predicate the policy needs is not concluded by a step the policy step depends on."
        }
        "VRP_STEP_CONCLUSION_INVALID" => {
            "A proof step concludes something that is not a policy predicate of its rule."
        }
        "VRP_CANARY_REF_MISSING" => {
            "A CANARY_READY step cites no rollout spec enabling the canary."
        }
        "VRP_ARTIFACT_ATTESTATION_REF_MISSING" => {
            "An ARTIFACT_ATTESTED step cites no valid attestation_ref for the requested artifact."
        }
        // Ledger
        "DEPLOYMENT_DUPLICATE" => "This deployment id was already finalized on the chain.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bare code of CERTIFICATE.md section 5 has a sentence.
    #[test]
    fn section_5_codes_are_explained() {
        let section5 = "POLICY_ID_REQUIRED POLICY_VERSION_INVALID POLICY_ENVIRONMENT_REQUIRED \
            POLICY_RULE_SET_UNSUPPORTED POLICY_PREDICATES_REQUIRED POLICY_PREDICATE_UNKNOWN \
            POLICY_TEST_SUITE_INVALID POLICY_VULN_SEVERITY_INVALID POLICY_VULN_OPERATOR_INVALID \
            POLICY_VULN_THRESHOLD_INVALID POLICY_HUMAN_ROLE_INVALID \
            POLICY_ROLLBACK_DEFINED_SERVICE_INVALID POLICY_CANARY_ENABLED_SERVICE_INVALID \
            POLICY_ENVIRONMENT_TARGET_INVALID POLICY_AND_CHILDREN_REQUIRED \
            POLICY_OR_CHILDREN_REQUIRED POLICY_NOT_CHILD_REQUIRED POLICY_ENVIRONMENT_CONTRADICTION \
            POLICY_FRESHNESS_TYPE_INVALID POLICY_FRESHNESS_INVALID EVIDENCE_DUPLICATE_ID \
            EVIDENCE_HASH_MISSING EVIDENCE_HASH_INVALID EVIDENCE_SIGNATURE_MISSING \
            EVIDENCE_SIGNATURE_INVALID EVIDENCE_DEPENDENCY_MISSING EVIDENCE_REQUIRED_MISSING \
            EVIDENCE_STALE EVIDENCE_COMMIT_MISMATCH EVIDENCE_ARTIFACT_MISMATCH \
            EVIDENCE_ENVIRONMENT_MISMATCH EVIDENCE_DEPLOYMENT_MISMATCH EVIDENCE_TEST_NOT_PASSED \
            EVIDENCE_VULN_THRESHOLD_EXCEEDED EVIDENCE_HUMAN_ATTESTATION_MISSING \
            EVIDENCE_ROLLBACK_MISSING EVIDENCE_CANARY_MISSING EVIDENCE_ENVIRONMENT_TARGET_MISMATCH \
            VRP_STEPS_REQUIRED VRP_STEP_ID_REQUIRED VRP_STEP_DUPLICATE VRP_RULE_UNKNOWN \
            VRP_PREMISE_MISSING VRP_EVIDENCE_REF_MISSING VRP_TEST_PASS_UNSUPPORTED \
            VRP_VULN_OK_UNSUPPORTED VRP_SIGNATURE_REF_REQUIRED VRP_EVIDENCE_BOUND_REF_REQUIRED \
            VRP_EVIDENCE_NOT_BOUND VRP_ENVIRONMENT_POLICY_MISMATCH VRP_ENVIRONMENT_REF_MISSING \
            VRP_ROLLBACK_REF_MISSING VRP_HUMAN_ATTESTATION_REF_MISSING VRP_POLICY_PREMISES_REQUIRED \
            VRP_POLICY_CONCLUSION_INVALID VRP_DEPLOY_AUTH_CONCLUSION_INVALID \
            VRP_DEPLOY_AUTH_PREMISE_REQUIRED VRP_FINAL_CONCLUSION_MISMATCH VRP_FINAL_STEP_MISMATCH \
            QUORUM_DUPLICATE_VALIDATOR QUORUM_DIGEST_MISMATCH QUORUM_VALIDATOR_UNKNOWN \
            QUORUM_SIGNATURE_INVALID QUORUM_DECISION_INVALID QUORUM_NO_VALID_ATTESTATIONS \
            QUORUM_INSUFFICIENT_ACCEPT_WEIGHT LEDGER_ENTRY_MISSING LEDGER_DIGEST_MISMATCH";
        let malformed = "CERTIFICATE_JSON_MALFORMED CERTIFICATE_MALFORMED REQUEST_MALFORMED \
            POLICY_MALFORMED POLICY_PREDICATE_MALFORMED POLICY_FRESHNESS_MALFORMED \
            EVIDENCE_MALFORMED EVIDENCE_OBJECT_MALFORMED EVIDENCE_VALUE_MALFORMED \
            EVIDENCE_SIGNATURE_MALFORMED PROOF_MALFORMED PROOF_STEP_MALFORMED \
            QUORUM_ATTESTATIONS_MALFORMED QUORUM_ATTESTATION_MALFORMED \
            QUORUM_SIGNATURE_MALFORMED LEDGER_MALFORMED";
        for code in section5
            .split_whitespace()
            .chain(malformed.split_whitespace())
        {
            assert_ne!(explain(code), "unknown failure code", "{code}");
            assert_ne!(
                explain(&format!("{code}:x:y")),
                "unknown failure code",
                "{code}"
            );
        }
        assert!(malformed.split_whitespace().all(is_malformed));
    }

    #[test]
    fn bare_and_explain() {
        assert_eq!(
            bare("VRP_PREMISE_MISSING:policy:ghost"),
            "VRP_PREMISE_MISSING"
        );
        assert!(explain("EVIDENCE_STALE:scan").contains("older"));
        assert_eq!(explain("NOPE"), "unknown failure code");
        assert!(is_malformed("POLICY_PREDICATE_MALFORMED:and"));
        assert!(!is_malformed("EVIDENCE_STALE:x_MALFORMED"));
    }
}
