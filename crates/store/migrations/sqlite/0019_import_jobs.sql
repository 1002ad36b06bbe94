-- Imports started through the API or the import page, once finished: what each did (its
-- report, or why it failed), kept so that it outlives the server process that ran it. The
-- job as the API shows it is `view`, JSON.
CREATE TABLE import_jobs (
    id          TEXT PRIMARY KEY,
    started_by  TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    view        TEXT NOT NULL
);
CREATE INDEX import_jobs_recent ON import_jobs (created_at);
CREATE INDEX import_jobs_user ON import_jobs (started_by, created_at);
