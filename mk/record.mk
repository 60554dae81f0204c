# Re-recording the replay cassettes (tests/cassettes/). Included by the Makefile.
# Against a seeded local sandbox by default; against the real API when UP42_PROJECT_ID,
# UP42_PROJECT_API_KEY and UP42_BASE_URL are set, with UP42_JOB_ID_SUCCEEDED,
# UP42_JOB_ID_FAILED, UP42_JOB_ID_RUNNING and UP42_JOB_ID_TO_CANCEL naming the jobs to record
# (scripts/record.sh explains each). RECORD_ARGS passes pytest arguments, e.g. RECORD_ARGS='-k token'.

.PHONY: record

RECORD_ARGS ?=

record: install ## re-record every cassette (sandbox, or the real API when UP42_* are set)
	scripts/record.sh $(RECORD_ARGS)
