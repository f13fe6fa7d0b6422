//! Validation errors raised by the model.

/// Why a request was refused by the model's rules. The server maps each kind to its ECS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The request cannot be served as sent (ECS `ClientException`).
    #[error("{0}")]
    Client(String),
    /// A parameter holds a value ECS does not accept (ECS `InvalidParameterException`).
    #[error("{0}")]
    InvalidParameter(String),
}

impl ModelError {
    pub fn client(message: impl Into<String>) -> Self {
        ModelError::Client(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ModelError::InvalidParameter(message.into())
    }
}
