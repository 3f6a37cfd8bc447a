"""The database (bottom layer): engine, every table (the core store's and the runtime's), the
Alembic migrations, sessions, the 個人番号 cipher and identifiers. It imports no other layer."""
