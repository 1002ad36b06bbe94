-- Foundation schema. Ids are UUIDv7 text, instants are epoch milliseconds (UTC), money is
-- integer minor units. Never edit a released migration: add a new one.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    manager_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));
CREATE INDEX teams_manager ON teams (manager_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'rep')),
    team_id       TEXT REFERENCES teams (id),
    password_hash TEXT,
    can_login     BOOLEAN NOT NULL DEFAULT TRUE,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_team ON users (team_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE pipelines (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    archived   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);
CREATE UNIQUE INDEX pipelines_active_name ON pipelines (lower(name)) WHERE archived = FALSE;

CREATE TABLE stages (
    id          TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id),
    name        TEXT NOT NULL,
    position    BIGINT NOT NULL,
    probability BIGINT NOT NULL CHECK (probability BETWEEN 0 AND 100),
    rot_days    BIGINT,
    description TEXT,
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL
);
CREATE INDEX stages_pipeline ON stages (pipeline_id, position);

CREATE TABLE stage_criteria (
    id       TEXT PRIMARY KEY,
    stage_id TEXT NOT NULL REFERENCES stages (id),
    position BIGINT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('checklist', 'field')),
    label    TEXT NOT NULL,
    field    TEXT,
    archived BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX stage_criteria_stage ON stage_criteria (stage_id, position);

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain      TEXT,
    owner_id    TEXT REFERENCES users (id),
    external_id TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL
);
CREATE INDEX organizations_name ON organizations (lower(name));

CREATE TABLE people (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    organization_id TEXT REFERENCES organizations (id),
    owner_id        TEXT REFERENCES users (id),
    external_id     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX people_email ON people (email);
CREATE INDEX people_organization ON people (organization_id);

CREATE TABLE leads (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'qualified', 'disqualified')),
    owner_id          TEXT REFERENCES users (id),
    person_id         TEXT REFERENCES people (id),
    organization_id   TEXT REFERENCES organizations (id),
    source            TEXT,
    campaign          TEXT,
    value             BIGINT,
    currency          TEXT,
    disqualify_reason TEXT,
    deal_id           TEXT,
    custom            TEXT NOT NULL DEFAULT '{}',
    external_id       TEXT,
    created_at        BIGINT NOT NULL,
    decided_at        BIGINT,
    updated_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL
);
CREATE INDEX leads_owner ON leads (owner_id);
CREATE INDEX leads_created ON leads (created_at);

CREATE TABLE deals (
    id                  TEXT PRIMARY KEY,
    title               TEXT NOT NULL,
    pipeline_id         TEXT NOT NULL REFERENCES pipelines (id),
    stage_id            TEXT NOT NULL REFERENCES stages (id),
    status              TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    value               BIGINT NOT NULL CHECK (value >= 0),
    currency            TEXT NOT NULL,
    owner_id            TEXT NOT NULL REFERENCES users (id),
    person_id           TEXT REFERENCES people (id),
    organization_id     TEXT REFERENCES organizations (id),
    expected_close_date TEXT,
    source              TEXT,
    campaign            TEXT,
    lead_id             TEXT REFERENCES leads (id),
    lost_reason         TEXT,
    custom              TEXT NOT NULL DEFAULT '{}',
    external_id         TEXT,
    created_at          BIGINT NOT NULL,
    cycle_started_at    BIGINT NOT NULL,
    stage_entered_at    BIGINT NOT NULL,
    closed_at           BIGINT,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL
);
CREATE INDEX deals_pipeline ON deals (pipeline_id, status, stage_id);
CREATE INDEX deals_owner ON deals (owner_id, status);
CREATE INDEX deals_updated ON deals (updated_at);

CREATE TABLE activities (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('call', 'meeting', 'task', 'email', 'deadline')),
    subject          TEXT NOT NULL,
    owner_id         TEXT NOT NULL REFERENCES users (id),
    deal_id          TEXT REFERENCES deals (id),
    lead_id          TEXT REFERENCES leads (id),
    person_id        TEXT REFERENCES people (id),
    organization_id  TEXT REFERENCES organizations (id),
    due_at           BIGINT,
    duration_minutes BIGINT,
    note             TEXT,
    done             BOOLEAN NOT NULL DEFAULT FALSE,
    done_at          BIGINT,
    external_id      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL
);
CREATE INDEX activities_owner_due ON activities (owner_id, done, due_at);
CREATE INDEX activities_deal ON activities (deal_id, done, due_at);
CREATE INDEX activities_lead ON activities (lead_id);

-- Checklist criteria ticked on a deal: the latest state per item; the history is in events.
CREATE TABLE deal_checks (
    deal_id      TEXT NOT NULL REFERENCES deals (id),
    criterion_id TEXT NOT NULL REFERENCES stage_criteria (id),
    checked      BOOLEAN NOT NULL,
    changed_by   TEXT,
    changed_at   BIGINT NOT NULL,
    PRIMARY KEY (deal_id, criterion_id)
);

-- The append-only history: every change, who made it, when, and what it changed.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT NOT NULL,
    actor_id  TEXT,
    code      BIGINT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX events_entity ON events (entity_id, at, seq);
CREATE INDEX events_at ON events (at);

-- Derived from the history, written in the same transaction as each event: the periods
-- during which an open deal sat unchanged in one stage with one owner and value, in the
-- pipeline's currency. valid_to is NULL for the current period.
CREATE TABLE deal_spans (
    id          INTEGER PRIMARY KEY,
    deal_id     TEXT NOT NULL,
    pipeline_id TEXT NOT NULL,
    stage_id    TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    value       BIGINT NOT NULL,
    entered     BOOLEAN NOT NULL,
    valid_from  BIGINT NOT NULL,
    valid_to    BIGINT
);
CREATE INDEX deal_spans_deal ON deal_spans (deal_id, valid_from);
CREATE INDEX deal_spans_from ON deal_spans (pipeline_id, valid_from);
CREATE INDEX deal_spans_to ON deal_spans (pipeline_id, valid_to);

-- The change in open deals per stage and owner (+1 when a span starts, -1 when it ends),
-- per bucket of 1, 16 and 256 UTC days at once. `day` is the bucket key: the day number for
-- one-day buckets, 2^40 + day/16 and 2^41 + day/256 for the coarser ones (see spans.rs). A
-- snapshot at T sums the few buckets that cover the days before T's day and adds the spans
-- that start or end on T's own day, so it never scans the whole history.
CREATE TABLE snapshot_deltas (
    pipeline_id TEXT NOT NULL,
    day         BIGINT NOT NULL,
    stage_id    TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    d_count     BIGINT NOT NULL,
    d_value     BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, stage_id, owner_id)
) WITHOUT ROWID;
