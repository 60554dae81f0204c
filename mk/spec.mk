# Spec tooling: Redocly lint and HTML reference, the TypeScript client, and what a spec edit means
# for users (api-smart-diff on the documents, griffe on the Python APIs; docs/api-changes.md).
# Included by the Makefile. The scripts install their own pinned npm packages (npm ci) and
# run from any directory; they need Node.js 20.19+ and npm.

.PHONY: lint-spec docs-spec sdk-ts spec-diff check-compat

lint-spec: ## lint openapi/up42-jobs.yaml with Redocly (recommended rules; fails on any error or warning)
	scripts/lint-spec.sh

docs-spec: ## render the spec into a static HTML reference, build/api.html (redocly build-docs)
	scripts/docs-spec.sh

sdk-ts: install ## generate the TypeScript client from the spec, type-check its example and run it against the sandbox
	scripts/sdk-ts.sh

spec-diff: $(STAMP) ## changes since BASE=<git ref> (default: last v* tag, else HEAD~1), classified, as changelog Markdown; fails if one breaks without a version bump
	$(BIN)/python scripts/spec_diff.py diff $(if $(BASE),--base '$(BASE)')

check-compat: $(STAMP) ## spec-diff against the last release tag; with no tag yet, check the fixture cases of tests/compat/cases.yaml
	$(BIN)/python scripts/spec_diff.py check-compat
