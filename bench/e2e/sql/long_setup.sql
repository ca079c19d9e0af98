-- The long file for the memory test, stored like any audio: out of line,
-- uncompressed.  psql -v data=DIR.
\set ON_ERROR_STOP on
CREATE TABLE long_audio (id int PRIMARY KEY, audio bytea NOT NULL);
ALTER TABLE long_audio ALTER COLUMN audio SET STORAGE EXTERNAL;
INSERT INTO long_audio VALUES (1, pg_read_binary_file(:'data' || '/long8h.flac'));
