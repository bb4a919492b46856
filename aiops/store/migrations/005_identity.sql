-- Workflow ids are one identity whatever their case and spacing (issue 12): the twins written before
-- that rule are merged (or the migration refused) by ``aiops.store.twins``, which runs first in this
-- migration's transaction; this index then makes the rule structural. DuckDB 1.5.5 supports unique
-- expression indexes (PostgreSQL too). Note for later migrations: with the index in place DuckDB
-- still allows ADD COLUMN on workflows, but refuses ALTER COLUMN (SET NOT NULL, TYPE ...): drop
-- the index first and create it again after.
-- Departments have no table of their own, so no index can hold them to one spelling: the write
-- path (``inventory._as_stored``) stores a department as first written.
CREATE UNIQUE INDEX workflows_id_identity ON workflows ((lower(trim(workflow_id))));
