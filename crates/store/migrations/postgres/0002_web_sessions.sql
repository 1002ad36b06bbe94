-- Web sessions: the cookie holds a random secret; only its hash is stored. Each session
-- carries its own CSRF token for forms and scripted requests.
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
