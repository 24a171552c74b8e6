-- An e-mail without `primary` has it unassigned, not false (RFC 7643 §2.5): `emails.primary pr`
-- and `emails.primary eq false` must not match it. SQLite cannot drop NOT NULL in place, so
-- the table is rebuilt; existing rows take NULL where the stored document has no `primary`.
CREATE TABLE user_emails_0003 (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    value TEXT,
    value_lower TEXT,
    type TEXT,
    display TEXT,
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);
INSERT INTO user_emails_0003 (user_id, position, value, value_lower, type, display, is_primary)
SELECT e.user_id, e.position, e.value, e.value_lower, e.type, e.display,
       CASE WHEN json_type(u.doc, '$.emails[' || e.position || '].primary') IS NULL
            THEN NULL ELSE e.is_primary END
FROM user_emails e JOIN users u ON u.id = e.user_id;
DROP TABLE user_emails;
ALTER TABLE user_emails_0003 RENAME TO user_emails;
CREATE INDEX user_emails_value ON user_emails (value_lower);
