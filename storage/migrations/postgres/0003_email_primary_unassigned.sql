-- An e-mail without `primary` has it unassigned, not false (RFC 7643 §2.5): `emails.primary pr`
-- and `emails.primary eq false` must not match it.
ALTER TABLE user_emails ALTER COLUMN is_primary DROP NOT NULL;
UPDATE user_emails e SET is_primary = NULL
FROM users u
WHERE u.id = e.user_id AND (u.doc #> ARRAY['emails', e.position::text, 'primary']) IS NULL;
