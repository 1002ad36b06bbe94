//! Field-level validation errors, shared by every layer so that the API can name the field.

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field as the user wrote it (`value`, `criteria[1].label`).
    pub field: String,
    /// A plain-words explanation.
    pub message: String,
}

/// A set of field errors: the input is refused and nothing was changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.summary())]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut invalid = Self::new();
        invalid.push(field, message);
        invalid
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when no error was pushed.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Merge another set of errors, prefixing their fields (`criteria[2].`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: Invalid) {
        for e in other.errors {
            self.push(format!("{prefix}{}", e.field), e.message);
        }
    }

    pub fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A trimmed, non-empty name of at most `max` characters.
pub fn name(field: &str, raw: &str, max: usize, invalid: &mut Invalid) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        invalid.push(field, "must not be empty");
    } else if trimmed.chars().count() > max {
        invalid.push(field, format!("must be at most {max} characters"));
    }
    trimmed.to_string()
}

/// An optional free-text field: blank becomes `None`.
pub fn optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
    invalid: &mut Invalid,
) -> Option<String> {
    let trimmed = raw.map(str::trim).filter(|s| !s.is_empty())?;
    if trimmed.chars().count() > max {
        invalid.push(field, format!("must be at most {max} characters"));
    }
    Some(trimmed.to_string())
}

/// A plausible e-mail address, lower-cased. Deliverability is not our business; typos
/// that make it obviously not an address are.
pub fn email(field: &str, raw: &str, invalid: &mut Invalid) -> String {
    let trimmed = raw.trim().to_lowercase();
    let ok = match trimmed.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !trimmed.chars().any(char::is_whitespace)
                && trimmed.len() <= 254
        }
        None => false,
    };
    if !ok {
        invalid.push(field, "must be an e-mail address such as ana@example.com");
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_names_are_refused_and_names_are_trimmed() {
        let mut invalid = Invalid::new();
        assert_eq!(name("name", "  Sales  ", 10, &mut invalid), "Sales");
        assert!(invalid.is_empty());
        name("name", "   ", 10, &mut invalid);
        name("title", "x".repeat(11).as_str(), 10, &mut invalid);
        assert_eq!(invalid.errors.len(), 2);
        assert_eq!(invalid.errors[0].field, "name");
        assert_eq!(invalid.errors[1].message, "must be at most 10 characters");
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        let mut invalid = Invalid::new();
        assert_eq!(
            email("email", " Ana@Example.COM ", &mut invalid),
            "ana@example.com"
        );
        assert!(invalid.is_empty());
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@example.",
        ] {
            let mut invalid = Invalid::new();
            email("email", bad, &mut invalid);
            assert_eq!(invalid.errors.len(), 1, "{bad} should be refused");
        }
    }

    #[test]
    fn prefixed_errors_keep_their_path() {
        let mut outer = Invalid::new();
        outer.extend_prefixed("criteria[1].", Invalid::field("label", "must not be empty"));
        assert_eq!(outer.errors[0].field, "criteria[1].label");
    }
}
