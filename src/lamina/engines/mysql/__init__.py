"""MySQL and MariaDB through PyMySQL: backend, catalog reader, mysqldump backup, the URL's
options and the statements that commit implicitly."""
