-- Money: each workflow's AI cost per month (licences and usage; NULL = not recorded), and the
-- company's settings (name, currency, loaded hourly cost per department) as one TOML text.
ALTER TABLE workflows ADD COLUMN ai_monthly_cost DOUBLE;

CREATE TABLE company_settings (
    settings_id INTEGER PRIMARY KEY CHECK (settings_id = 1),
    source_text VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  VARCHAR NOT NULL
);
