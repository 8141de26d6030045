-- Workload 1c: the same event with a jsonpath contract on its type
SELECT evlog_define_event_type('bench.checked', 1, '$.amount >= 0 && $.note.type() == "string"');
