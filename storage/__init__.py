"""All the SQL: migrations and one repository module per aggregate, returning dataclasses."""
