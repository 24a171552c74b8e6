-- Users, teams (SCIM groups), memberships, SCIM tokens, API keys, access tokens, audit.
-- `doc` holds the canonical SCIM document (JSONB)
-- without the server-computed attributes; columns beside it are what queries index.
CREATE TABLE users (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_name TEXT NOT NULL,
    user_name_lower TEXT NOT NULL UNIQUE,
    external_id TEXT,
    display_name TEXT,
    active BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    doc JSONB NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_external_id ON users (external_id);

CREATE TABLE user_emails (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    value TEXT,
    value_lower TEXT,
    type TEXT,
    display TEXT,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_value ON user_emails (value_lower);

CREATE TABLE teams (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    display_name_lower TEXT NOT NULL UNIQUE,
    external_id TEXT,
    source TEXT NOT NULL,
    doc JSONB NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX teams_external_id ON teams (external_id);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id, team_id);

CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id),
    team_id TEXT REFERENCES teams (id),
    key_alias TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_keys_user ON api_keys (user_id);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    user_id TEXT REFERENCES users (id),
    data JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_tokens_user ON access_tokens (user_id);

CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    details JSONB NOT NULL
);
CREATE INDEX audit_events_target ON audit_events (target_id);
CREATE INDEX audit_events_action ON audit_events (action);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
