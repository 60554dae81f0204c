# The documentation site, the quickstart notebook and the distribution. Included by the Makefile.
# `make docs` runs the notebook and renders the spec first: the site shows both (mkdocs.yml).

.PHONY: notebook docs dist

notebook: $(STAMP) ## run examples/quickstart.ipynb against the sandbox into build/notebooks/ (fails on any cell error)
	$(BIN)/python scripts/run_notebook.py examples/quickstart.ipynb build/notebooks/quickstart.ipynb

docs: $(STAMP) notebook docs-spec ## the docs site, built strict into build/site/, every internal link checked
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python scripts/check_links.py build/site

dist: $(STAMP) ## build the sdist and the wheel into dist/ and check them with twine
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*
