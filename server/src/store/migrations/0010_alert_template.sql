-- The alert's text is a template an admin can edit (audited); it may hold only {contact}.
-- At approval the rendered text is fixed on the case, so every resident of a case gets the
-- same words even if the template changes while it is being sent.
CREATE TABLE alert_template (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    template      TEXT NOT NULL,
    contact       TEXT NOT NULL,
    updated_by    INTEGER NOT NULL REFERENCES staff (staff_id),
    updated_at_ms INTEGER NOT NULL
) STRICT;
ALTER TABLE cases ADD COLUMN alert_text TEXT;
