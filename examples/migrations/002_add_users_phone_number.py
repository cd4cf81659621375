from lamina import Migration


class AddUsersPhoneNumber(Migration):
    name = "Add phone number to users"
    description = "Optional contact number, shown on the profile page."
    category = "schema"

    def up(self) -> None:
        self.execute_sql("ALTER TABLE users ADD COLUMN phone_number VARCHAR(20) DEFAULT NULL")

    def down(self) -> None:
        self.execute_sql("ALTER TABLE users DROP COLUMN phone_number")
