from lamina import Migration


class PopulateDefaultPreferences(Migration):
    name = "Populate default preferences"
    description = "Give every existing user the default theme and notification settings."
    category = "data"
    dependencies = ("003_create_user_preferences",)

    def up(self) -> None:
        # One script, two statements: lamina splits it and runs both in one transaction.
        self.execute_sql(
            """
            INSERT INTO user_preferences (user_id, preference_key, preference_value)
            SELECT id, 'theme', 'light' FROM users;

            INSERT INTO user_preferences (user_id, preference_key, preference_value)
            SELECT id, 'notifications', 'true' FROM users;
            """
        )

    def down(self) -> None:
        self.execute_sql(
            "DELETE FROM user_preferences WHERE preference_key IN ('theme', 'notifications')"
        )
