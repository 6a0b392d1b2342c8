"""compiled queries: the SQL functions the query compiler's statements call

Masks equal to `permissions.masking` (a test compares them on random inputs, Chinese names
and every whitespace Python strips included), the text forms of global ids, datetimes and
cursors exactly as the resolvers print them, and an aggregate concatenating the row ids a
statement returns for the audit log.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: What Python's `str.strip()` removes (every character whose `isspace()` is true).
PYTHON_WHITESPACE = (
    0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)  # fmt: skip
_SPACES = " || ".join(f"chr({c})" for c in PYTHON_WHITESPACE)

FUNCTIONS = f"""
CREATE FUNCTION gql_strip(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(value, {_SPACES});

CREATE FUNCTION gql_mask_name(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN length(gql_strip(value)) <= 1 THEN '*'
        WHEN length(gql_strip(value)) = 2 THEN left(gql_strip(value), 1) || '*'
        ELSE left(gql_strip(value), 1) || repeat('*', length(gql_strip(value)) - 2)
             || right(gql_strip(value), 1)
    END;

CREATE FUNCTION gql_mask_phone(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN length(gql_strip(value)) < 8 THEN repeat('*', length(gql_strip(value)))
        ELSE left(gql_strip(value), 3) || repeat('*', length(gql_strip(value)) - 7)
             || right(gql_strip(value), 4)
    END;

CREATE FUNCTION gql_mask_id_card(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN length(gql_strip(value)) < 2 THEN repeat('*', length(gql_strip(value)))
        ELSE left(gql_strip(value), 1) || repeat('*', length(gql_strip(value)) - 2)
             || right(gql_strip(value), 1)
    END;

CREATE FUNCTION gql_mask_room(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN length(gql_strip(value)) <= 1 THEN '*'
        ELSE left(gql_strip(value), 1) || repeat('*', length(gql_strip(value)) - 1)
    END;

-- datetime.isoformat() of the UTC value: microseconds only when there are any
CREATE FUNCTION gql_datetime(value timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN mod(extract(microseconds FROM value), 1000000) <> 0
                THEN to_char(value AT TIME ZONE 'UTC', '.US') ELSE '' END
        || '+00:00';

-- base64.urlsafe_b64encode(text) (padding kept: global ids)
CREATE FUNCTION gql_base64url(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate(replace(encode(convert_to(value, 'UTF8'), 'base64'), chr(10), ''),
                     '+/', '-_');

-- schema.relay.to_global_id
CREATE FUNCTION gql_global_id(type_name text, ident bigint) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN gql_base64url(type_name || ':' || ident::text);

-- resolvers.pagination.encode_cursor, from its JSON text
CREATE FUNCTION gql_cursor(payload text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN rtrim(gql_base64url(payload), '=');

-- the row ids (encoded with their audit slot) a statement read in full, concatenated
CREATE AGGREGATE gql_ids(bigint[]) (SFUNC = array_cat, STYPE = bigint[], INITCOND = '{{}}');
"""

DROP = """
DROP AGGREGATE gql_ids(bigint[]);
DROP FUNCTION gql_cursor(text);
DROP FUNCTION gql_global_id(text, bigint);
DROP FUNCTION gql_base64url(text);
DROP FUNCTION gql_datetime(timestamptz);
DROP FUNCTION gql_mask_room(text);
DROP FUNCTION gql_mask_id_card(text);
DROP FUNCTION gql_mask_phone(text);
DROP FUNCTION gql_mask_name(text);
DROP FUNCTION gql_strip(text);
"""


def upgrade() -> None:
    # as the driver gets it: `text()` would take the `:MI` of a format for a parameter
    op.get_bind().exec_driver_sql(FUNCTIONS)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(DROP)
