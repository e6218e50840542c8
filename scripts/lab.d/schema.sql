-- The demo lab's `tpe` database: the two tables the Phase 5 index migration touches
-- (shared/reference/000), with enough rows for the indexes and the backup to mean something.
-- Run as the application role, so it owns everything (pg_restore --clean needs that).
CREATE TABLE ai_concierge_sessions (
    id             serial PRIMARY KEY,
    contractor_id  integer     NOT NULL,
    session_id     text        NOT NULL UNIQUE,
    session_status text        NOT NULL DEFAULT 'active',
    session_data   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    session_type   text        NOT NULL DEFAULT 'concierge',
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz
);

CREATE TABLE contractor_event_registrations (
    id                serial PRIMARY KEY,
    contractor_id     integer     NOT NULL,
    event_id          integer     NOT NULL,
    event_status      text        NOT NULL DEFAULT 'registered',
    registration_date timestamptz NOT NULL DEFAULT now()
);

INSERT INTO ai_concierge_sessions (contractor_id, session_id, session_status, session_data, session_type, started_at, ended_at)
SELECT 1 + i % 40,
       'lab-session-' || i,
       CASE WHEN i % 4 = 0 THEN 'closed' ELSE 'active' END,
       jsonb_build_object('state', (ARRAY['greeting','discovery','matching','booking'])[1 + i % 4], 'turns', i % 12),
       CASE WHEN i % 3 = 0 THEN 'event' ELSE 'concierge' END,
       now() - (i || ' minutes')::interval,
       CASE WHEN i % 4 = 0 THEN now() - ((i - 5) || ' minutes')::interval END
FROM generate_series(1, 500) AS i;

INSERT INTO contractor_event_registrations (contractor_id, event_id, event_status, registration_date)
SELECT 1 + i % 40, 1 + i % 7, (ARRAY['registered','checked_in','attended','cancelled'])[1 + i % 4],
       now() - (i || ' hours')::interval
FROM generate_series(1, 200) AS i;
