//! The API edge's errors: every failure inside the control plane becomes one ECS error code, an HTTP status and a
//! message, here and nowhere else.

use berth_model::ModelError;
use berth_sigv4::AuthError;
use berth_store::StoreError;

/// The ECS (and common AWS) error codes Berth answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A principal's policies do not allow the operation (JSON APIs; the query APIs say `AccessDenied`).
    AccessDeniedException,
    AttributeLimitExceededException,
    ClientException,
    ClusterContainsContainerInstancesException,
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    ClusterNotFoundException,
    /// Temporary credentials past their expiration (the query protocol says `ExpiredToken`).
    ExpiredTokenException,
    IncompleteSignatureException,
    /// CloudWatch Logs: an operation of the Logs model that Berth does not serve.
    InvalidOperationException,
    InvalidParameterException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    RequestEntityTooLargeException,
    /// CloudWatch Logs: CreateLogGroup on a name already taken.
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    SerializationException,
    ServerException,
    ServiceNotActiveException,
    ServiceNotFoundException,
    /// CloudWatch Logs: the agent holding a log stream cannot be reached (disconnected, gone or not answering).
    ServiceUnavailableException,
    TargetNotFoundException,
    /// CloudWatch Logs: TagResource would leave a resource with more than 50 tags.
    TooManyTagsException,
    UnknownOperationException,
    UnrecognizedClientException,
    UnsupportedFeatureException,
    // The query protocol's codes (IAM, STS).
    /// A principal's policies do not allow the operation.
    AccessDenied,
    /// The resource is in use (an IAM user with access keys, a policy still attached, ...).
    DeleteConflict,
    EntityAlreadyExists,
    /// An `Action` outside the service's model, or one Berth does not serve.
    InvalidAction,
    /// A value IAM refuses (other than by its pattern or length: those are `ValidationError`).
    InvalidInput,
    /// A quota: two access keys per user, five versions per policy, ...
    LimitExceeded,
    MalformedPolicyDocument,
    /// A query request without `Action`.
    MissingAction,
    NoSuchEntity,
    /// STS: the session policy and tags are too large.
    PackedPolicyTooLarge,
    /// A parameter outside its pattern, length or range.
    ValidationError,
    /// A code of one service's model answered with HTTP 400 (Secrets Manager's `ResourceExistsException`, SSM's
    /// `ParameterNotFound`, ...), so that each service's handlers name their own codes.
    Service(&'static str),
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessDeniedException => "AccessDeniedException",
            ErrorCode::AttributeLimitExceededException => "AttributeLimitExceededException",
            ErrorCode::ClientException => "ClientException",
            ErrorCode::ClusterContainsContainerInstancesException => "ClusterContainsContainerInstancesException",
            ErrorCode::ClusterContainsServicesException => "ClusterContainsServicesException",
            ErrorCode::ClusterContainsTasksException => "ClusterContainsTasksException",
            ErrorCode::ClusterNotFoundException => "ClusterNotFoundException",
            ErrorCode::ExpiredTokenException => "ExpiredTokenException",
            ErrorCode::IncompleteSignatureException => "IncompleteSignatureException",
            ErrorCode::InvalidOperationException => "InvalidOperationException",
            ErrorCode::InvalidParameterException => "InvalidParameterException",
            ErrorCode::InvalidSignatureException => "InvalidSignatureException",
            ErrorCode::MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            ErrorCode::RequestEntityTooLargeException => "RequestEntityTooLargeException",
            ErrorCode::ResourceAlreadyExistsException => "ResourceAlreadyExistsException",
            ErrorCode::ResourceNotFoundException => "ResourceNotFoundException",
            ErrorCode::SerializationException => "SerializationException",
            ErrorCode::ServerException => "ServerException",
            ErrorCode::ServiceNotActiveException => "ServiceNotActiveException",
            ErrorCode::ServiceNotFoundException => "ServiceNotFoundException",
            ErrorCode::ServiceUnavailableException => "ServiceUnavailableException",
            ErrorCode::TargetNotFoundException => "TargetNotFoundException",
            ErrorCode::TooManyTagsException => "TooManyTagsException",
            ErrorCode::UnknownOperationException => "UnknownOperationException",
            ErrorCode::UnrecognizedClientException => "UnrecognizedClientException",
            ErrorCode::UnsupportedFeatureException => "UnsupportedFeatureException",
            ErrorCode::AccessDenied => "AccessDenied",
            ErrorCode::DeleteConflict => "DeleteConflict",
            ErrorCode::EntityAlreadyExists => "EntityAlreadyExists",
            ErrorCode::InvalidAction => "InvalidAction",
            ErrorCode::InvalidInput => "InvalidInput",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::MissingAction => "MissingAction",
            ErrorCode::NoSuchEntity => "NoSuchEntity",
            ErrorCode::PackedPolicyTooLarge => "PackedPolicyTooLarge",
            ErrorCode::ValidationError => "ValidationError",
            ErrorCode::Service(code) => code,
        }
    }

    /// The HTTP status AWS uses for the code. Exhaustive on purpose: a new code must choose its status.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::IncompleteSignatureException
            | ErrorCode::InvalidSignatureException
            | ErrorCode::MissingAuthenticationTokenException
            | ErrorCode::UnrecognizedClientException
            | ErrorCode::AccessDenied => 403,
            ErrorCode::NoSuchEntity => 404,
            ErrorCode::DeleteConflict | ErrorCode::EntityAlreadyExists | ErrorCode::LimitExceeded => 409,
            ErrorCode::RequestEntityTooLargeException => 413,
            ErrorCode::ServerException => 500,
            ErrorCode::AccessDeniedException
            | ErrorCode::InvalidAction
            | ErrorCode::InvalidInput
            | ErrorCode::MalformedPolicyDocument
            | ErrorCode::MissingAction
            | ErrorCode::PackedPolicyTooLarge
            | ErrorCode::ValidationError
            | ErrorCode::Service(_)
            | ErrorCode::AttributeLimitExceededException
            | ErrorCode::ClientException
            | ErrorCode::ClusterContainsContainerInstancesException
            | ErrorCode::ClusterContainsServicesException
            | ErrorCode::ClusterContainsTasksException
            | ErrorCode::ClusterNotFoundException
            | ErrorCode::ExpiredTokenException
            | ErrorCode::InvalidOperationException
            | ErrorCode::InvalidParameterException
            | ErrorCode::ResourceAlreadyExistsException
            | ErrorCode::ResourceNotFoundException
            | ErrorCode::SerializationException
            | ErrorCode::ServiceNotActiveException
            | ErrorCode::ServiceNotFoundException
            | ErrorCode::TargetNotFoundException
            | ErrorCode::TooManyTagsException
            | ErrorCode::UnknownOperationException
            | ErrorCode::UnsupportedFeatureException => 400,
            // A host that is gone is not a fault a retry fixes within seconds; 400 keeps SDKs (which retry 5xx
            // with backoff) from turning its clear error into a long wait.
            ErrorCode::ServiceUnavailableException => 400,
        }
    }
}

/// An error as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidParameterException, message)
    }

    pub fn client(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::ClientException, message)
    }

    pub fn cluster_not_found() -> Self {
        ApiError::new(ErrorCode::ClusterNotFoundException, "Cluster not found.")
    }

    pub fn service_not_found() -> Self {
        ApiError::new(ErrorCode::ServiceNotFoundException, "Service not found.")
    }

    pub fn service_not_active() -> Self {
        ApiError::new(ErrorCode::ServiceNotActiveException, "Service was not ACTIVE.")
    }

    pub fn server(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::ServerException, message)
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Client(m) => ApiError::new(ErrorCode::ClientException, m),
            ModelError::InvalidParameter(m) => ApiError::new(ErrorCode::InvalidParameterException, m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        ApiError::server(format!("The server could not complete the request: {e}"))
    }
}

impl From<crate::auth::VerifyError> for ApiError {
    fn from(e: crate::auth::VerifyError) -> Self {
        match e {
            crate::auth::VerifyError::Signature(e) => e.into(),
            other @ crate::auth::VerifyError::WrongRegion { .. } => {
                ApiError::new(ErrorCode::InvalidSignatureException, other.to_string())
            }
            other @ crate::auth::VerifyError::ExpiredToken => {
                ApiError::new(ErrorCode::ExpiredTokenException, other.to_string())
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let code = match e.code() {
            "MissingAuthenticationTokenException" => ErrorCode::MissingAuthenticationTokenException,
            "UnrecognizedClientException" => ErrorCode::UnrecognizedClientException,
            "IncompleteSignatureException" => ErrorCode::IncompleteSignatureException,
            _ => ErrorCode::InvalidSignatureException,
        };
        ApiError::new(code, e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
