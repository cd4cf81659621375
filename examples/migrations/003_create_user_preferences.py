from lamina import Migration


class CreateUserPreferences(Migration):
    name = "Create user preferences"
    description = "Per-user settings as key/value pairs."
    category = "schema"
    dependencies = ("001_create_users",)

    def up(self) -> None:
        self.execute_sql(
            """
            CREATE TABLE user_preferences (
                user_id INTEGER NOT NULL REFERENCES users (id),
                preference_key VARCHAR(100) NOT NULL,
                preference_value TEXT,
                updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                PRIMARY KEY (user_id, preference_key)
            );
            """
        )

    def down(self) -> None:
        self.execute_sql("DROP TABLE user_preferences")
