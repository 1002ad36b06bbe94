-- Imports find records they wrote before by the id the source system gave them, so that
-- running an import again updates instead of duplicating.
CREATE UNIQUE INDEX deals_external ON deals (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX leads_external ON leads (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX people_external ON people (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX organizations_external ON organizations (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX activities_external ON activities (external_id) WHERE external_id IS NOT NULL;
