-- displayName eq (case-insensitive, RFC 7643 §4.1.1) as an index seek, like userName.
ALTER TABLE users ADD COLUMN display_name_lower TEXT;
UPDATE users SET display_name_lower = scim_lower(display_name);
CREATE INDEX users_display_name_lower ON users (display_name_lower);
