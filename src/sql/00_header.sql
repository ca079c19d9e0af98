-- instsim: per-instrument music similarity for PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION instsim" to load this file. \quit
