//! The one error of this crate: a policy document IAM would refuse, carrying the message IAM gives in its
//! `MalformedPolicyDocument` error, so the server can answer exactly as IAM does.
//!
//! The messages come from IAM's answers as recorded by projects that test against it (moto's IAM policy tests,
//! issue reports quoting IAM). Identity policies (CreatePolicy, PutUserPolicy, ...) and role trust policies
//! (CreateRole, UpdateAssumeRolePolicy) are checked by two different parsers inside IAM, which word the same fault
//! differently ("Syntax errors in policy." against "This policy contains invalid Json"); `Messages` holds each
//! parser's wording and the validator picks by [`PolicyKind`](crate::PolicyKind).

/// A document IAM would refuse; `Display` is IAM's `MalformedPolicyDocument` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    message: String,
}

impl PolicyError {
    pub(crate) fn new(message: impl Into<String>) -> PolicyError {
        PolicyError { message: message.into() }
    }

    /// IAM's message, as `Display` writes it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// CreatePolicy and CreatePolicyVersion refuse the 2008-10-17 language (and a document without `Version`,
    /// which means 2008-10-17) with this message; see [`Policy::require_current_version`](crate::Policy).
    pub fn version_too_old() -> PolicyError {
        PolicyError::new("Policy document must be version 2012-10-17 or greater.")
    }
}

/// The wording of one of IAM's two policy parsers.
pub(crate) struct Messages {
    /// The document is not JSON, or not an object.
    pub invalid_json: &'static str,
    /// A member has the wrong JSON type, an unknown name, or appears twice.
    pub syntax: &'static str,
    /// `Version` is neither 2008-10-17 nor 2012-10-17.
    pub bad_version: &'static str,
    /// Two statements share a `Sid`.
    pub duplicate_sid: &'static str,
}

/// Identity policies: every shape error is "Syntax errors in policy." (moto's IAM policy tests, recorded against IAM).
pub(crate) const IDENTITY: Messages = Messages {
    invalid_json: "Syntax errors in policy.",
    syntax: "Syntax errors in policy.",
    bad_version: "Syntax errors in policy.",
    duplicate_sid: "Statement IDs (SID) in a single policy must be unique.",
};

/// Role trust policies, parsed by IAM's resource-policy parser, which names the faulty field.
pub(crate) const TRUST: Messages = Messages {
    invalid_json: "This policy contains invalid Json",
    syntax: "Syntax errors in policy.",
    bad_version: "The policy must contain a valid version string",
    duplicate_sid: "The Statement Ids in the policy are not unique",
};

pub(crate) const PRINCIPAL_IN_IDENTITY_POLICY: &str = "Policy document should not specify a principal.";
pub(crate) const LEGACY_PARSING: &str = "The policy failed legacy parsing";
pub(crate) const SID_NOT_ALPHANUMERIC: &str =
    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
pub(crate) const MISSING_ACTIONS: &str = "Policy statement must contain actions.";
pub(crate) const MISSING_RESOURCES: &str = "Policy statement must contain resources.";
pub(crate) const ACTION_WITHOUT_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
pub(crate) const ACTION_COLONS: &str = "Actions/Condition can contain only one colon.";
pub(crate) const RESOURCE_VENDOR: &str = "Resource vendor must be fully qualified and cannot contain regexes.";
pub(crate) const STATEMENT_EMPTY: &str = "Could not parse the policy: Statement is empty!";
pub(crate) const PRINCIPAL_NOT_OBJECT: &str = "Principal must be a JSON object.";
pub(crate) const PRINCIPAL_EMPTY: &str = "Missing required field Principal cannot be empty!";
pub(crate) const ALLOW_WITH_NOT_PRINCIPAL: &str = "Allow with NotPrincipal is not allowed.";

pub(crate) fn vendor_not_valid(vendor: &str) -> PolicyError {
    PolicyError::new(format!("Vendor {vendor} is not valid"))
}

pub(crate) fn missing_field(field: &str) -> PolicyError {
    PolicyError::new(format!("Missing required field {field}"))
}

pub(crate) fn unknown_field(field: &str) -> PolicyError {
    PolicyError::new(format!("Unknown field {field}"))
}

pub(crate) fn prohibited_field(field: &str) -> PolicyError {
    PolicyError::new(format!("Has prohibited field {field}"))
}

pub(crate) fn already_has(field: &str) -> PolicyError {
    PolicyError::new(format!("Statement/policy already has instance of {field}"))
}

pub(crate) fn invalid_effect(effect: &str) -> PolicyError {
    PolicyError::new(format!("Invalid effect: {effect}"))
}

/// IAM writes the principal type in capitals: `Invalid principal in policy: "SERVICE":"amazonaws.com"`.
pub(crate) fn invalid_principal(kind: &str, value: &str) -> PolicyError {
    PolicyError::new(format!("Invalid principal in policy: \"{}\":\"{value}\"", kind.to_uppercase()))
}
