-- Presets belong to someone (issue 14): a person, a department or the whole company. A name is
-- unique within its scope, whatever its case. Presets saved before had no owner: each becomes
-- its author's personal preset, so it no longer applies to anyone else's uploads.
CREATE TABLE mapping_presets_scoped (
    name       VARCHAR NOT NULL,
    name_key   VARCHAR NOT NULL,  -- lower(name): one name per scope, whatever its case
    scope      VARCHAR NOT NULL CHECK (scope IN ('personal', 'department', 'company')),
    scope_key  VARCHAR NOT NULL,  -- the owner (personal), the department (department), '' (company)
    mapping    JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_by VARCHAR,
    updated_at TIMESTAMP,
    PRIMARY KEY (scope, scope_key, name_key)
);
INSERT INTO mapping_presets_scoped (name, name_key, scope, scope_key, mapping, created_by, created_at)
SELECT name, lower(name), 'personal', lower(created_by), mapping, created_by, created_at
FROM mapping_presets;
DROP TABLE mapping_presets;
ALTER TABLE mapping_presets_scoped RENAME TO mapping_presets;
