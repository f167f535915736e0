-- A phone was indexed twice: for equality (duplicates, erasure) and, with text_pattern_ops, for
-- its first digits (search). The second serves equality too (same `=`, byte order), so every
-- client write fed one b-tree for nothing, and the planner weighed one index more for each
-- statement on clients.
DROP INDEX clients_phone_normalised;
