-- A nullable column with a constant default: no table rewrite, and the lock
-- is given up quickly instead of queueing writes behind it.
SET lock_timeout = '5s';
SET statement_timeout = '5min';
ALTER TABLE projects ADD COLUMN status text DEFAULT 'draft';
