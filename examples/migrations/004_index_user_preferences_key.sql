-- name: Index preferences by key
-- description: "Which users chose the dark theme?" without a full scan.
-- category: index
-- depends: 003_create_user_preferences

-- migrate:up
CREATE INDEX idx_user_preferences_key ON user_preferences (preference_key, preference_value);

-- migrate:down
DROP INDEX idx_user_preferences_key;
