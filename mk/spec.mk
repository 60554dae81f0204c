# Spec tooling beyond Python: Redocly lint and HTML reference, the TypeScript client.
# Included by the Makefile. The scripts install their own pinned npm packages (npm ci) and
# run from any directory; they need Node.js 20.19+ and npm.

.PHONY: lint-spec docs-spec sdk-ts

lint-spec: ## lint openapi/up42-jobs.yaml with Redocly (recommended rules; fails on any error or warning)
	scripts/lint-spec.sh

docs-spec: ## render the spec into a static HTML reference, build/api.html (redocly build-docs)
	scripts/docs-spec.sh

sdk-ts: install ## generate the TypeScript client from the spec, type-check its example and run it against the sandbox
	scripts/sdk-ts.sh
