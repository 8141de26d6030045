/* evlog 0.1.0 -> 0.2.0: every SQL change of 0.2.0, applied in place by ALTER EXTENSION evlog UPDATE */

\echo Use "ALTER EXTENSION evlog UPDATE TO '0.2.0'" to load this file. \quit

-- Sections below are added by the changes of 0.2.0, each under a heading
-- that names what it is for.
