use throughline_core::criteria::Unmet;
use throughline_core::{Invalid, StageId};

/// Everything a store operation can refuse or fail with. Refusals (not found, invalid,
/// stale, unmet criteria, conflicts, forbidden) change nothing: the transaction is dropped.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },

    #[error(transparent)]
    Invalid(#[from] Invalid),

    #[error(
        "{entity} {id} was changed by someone else: version {current} is current, the change was made against version {given}"
    )]
    StaleVersion {
        entity: &'static str,
        id: String,
        current: i64,
        given: i64,
    },

    #[error("the deal does not meet the entry criteria of stage `{stage_name}`")]
    CriteriaUnmet {
        stage_id: StageId,
        stage_name: String,
        unmet: Vec<Unmet>,
    },

    /// The record is in a state that does not allow the operation (a won deal cannot be won
    /// again, a stage with open deals cannot be archived).
    #[error("{message}")]
    Conflict {
        field: Option<&'static str>,
        message: String,
    },

    #[error("{message}")]
    Forbidden {
        field: Option<&'static str>,
        message: String,
    },

    #[error("stored data is not what this version expects: {0}")]
    Corrupt(String),

    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// A statement run on SQLite's own handle (bulk writes, large reads) was refused.
    #[error("database error: {0}")]
    Raw(String),

    /// Work run on another thread stopped before it finished (it panicked or was cancelled).
    #[error("a report stopped before it finished: {0}")]
    Interrupted(String),

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn conflict(field: Option<&'static str>, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            field,
            message: message.into(),
        }
    }

    pub fn forbidden(field: Option<&'static str>, message: impl Into<String>) -> Self {
        StoreError::Forbidden {
            field,
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::Invalid(Invalid::field(field, message))
    }

    /// True when the database refused a write because of a unique constraint.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
