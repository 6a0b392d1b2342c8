-- The people search page for PostGraphile: its amber preset has equality conditions only,
-- so a prefix search is a custom query (a SETOF function), as a PostGraphile team writes one.
-- It lives in its own schema of the bench database; the application never reads it.
CREATE SCHEMA IF NOT EXISTS bench_postgraphile;

CREATE OR REPLACE FUNCTION bench_postgraphile.people_by_name_prefix(prefix text)
RETURNS SETOF public.person
LANGUAGE sql STABLE
AS $$
  SELECT * FROM public.person
  WHERE name LIKE replace(replace(replace(prefix, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;

COMMENT ON FUNCTION bench_postgraphile.people_by_name_prefix(text) IS
  E'@behavior +order\nPeople whose name starts with `prefix`.';
