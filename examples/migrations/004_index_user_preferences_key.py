from lamina import Migration


class IndexUserPreferencesKey(Migration):
    name = "Index preferences by key"
    description = '"Which users chose the dark theme?" without a full scan.'
    category = "index"
    dependencies = ("003_create_user_preferences",)

    def up(self) -> None:
        self.execute_sql(
            "CREATE INDEX idx_user_preferences_key ON user_preferences (preference_key)"
        )

    def down(self) -> None:
        # MySQL names the table in DROP INDEX; the other engines do not accept it.
        on_table = " ON user_preferences" if self.dialect == "mysql" else ""
        self.execute_sql(f"DROP INDEX idx_user_preferences_key{on_table}")
