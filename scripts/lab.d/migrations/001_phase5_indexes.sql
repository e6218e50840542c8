-- Phase 5 performance indexes (shared/reference/000, tpe-backend/migrations/add-phase5-indexes.sql).
-- One change from the reference: its "recent sessions" index had the predicate
-- `WHERE started_at > NOW() - INTERVAL '24 hours'`, which PostgreSQL rejects (functions in an index
-- predicate must be IMMUTABLE), so that index covers every row here.

-- Index for session lookup by contractor
CREATE INDEX IF NOT EXISTS idx_ai_concierge_sessions_contractor_active
ON ai_concierge_sessions(contractor_id, session_status)
WHERE session_status = 'active';

-- Index for recent session queries
CREATE INDEX IF NOT EXISTS idx_ai_concierge_sessions_recent
ON ai_concierge_sessions(started_at DESC);

-- Index for event status lookups
CREATE INDEX IF NOT EXISTS idx_contractor_event_reg_status_date
ON contractor_event_registrations(contractor_id, event_status, registration_date DESC);

-- Index for state machine session data queries
CREATE INDEX IF NOT EXISTS idx_ai_concierge_sessions_session_id_data
ON ai_concierge_sessions(session_id) INCLUDE (session_data, session_type);

-- Analyze tables after index creation
ANALYZE ai_concierge_sessions;
ANALYZE contractor_event_registrations;
