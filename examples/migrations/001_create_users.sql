-- name: Create users
-- description: Accounts that sign in to the app, with the bootstrap administrator.
-- category: schema

-- migrate:up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    display_name VARCHAR(100) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The first account; its password is set through the app's reset flow.
INSERT INTO users (id, email, display_name)
VALUES (1, 'admin@example.com', 'Administrator; please rename');

-- migrate:down
DROP TABLE users;
