"""The store: the only schema, the engine, and every SQL statement of the project."""
