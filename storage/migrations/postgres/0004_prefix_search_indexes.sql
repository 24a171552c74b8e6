-- Admin-page search (storage/directory.py): a prefix LIKE ('ada%') on the lower-cased columns
-- is an index seek under any collation with text_pattern_ops; a plain index serves LIKE only
-- under the C collation.
CREATE INDEX users_user_name_prefix ON users (user_name_lower text_pattern_ops);
CREATE INDEX users_display_name_prefix ON users (display_name_lower text_pattern_ops);
CREATE INDEX user_emails_value_prefix ON user_emails (value_lower text_pattern_ops);
CREATE INDEX teams_display_name_prefix ON teams (display_name_lower text_pattern_ops);
