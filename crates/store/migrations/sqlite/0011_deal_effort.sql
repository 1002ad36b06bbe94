-- What the attention list needs per open deal without reading its whole history: how often
-- its expected close date was pushed later, and the effort logged on it (done activities and
-- their minutes). Kept by the operations that change them.
ALTER TABLE deals ADD COLUMN close_pushes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deals ADD COLUMN activities_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deals ADD COLUMN effort_minutes BIGINT NOT NULL DEFAULT 0;
-- Open (not done) activities by deal: the next step of every deal in one range scan.
CREATE INDEX activities_open ON activities (done, deal_id, due_at);
CREATE INDEX deals_closed ON deals (pipeline_id, closed_at);
