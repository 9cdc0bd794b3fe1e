# The two commands of the README.
.PHONY: up test test-fast lint install messages

up:  ## install what is missing, start everything, ingest a demo recording
	scripts/install.sh
	.venv/bin/ashyq up

test:  ## install what is missing (test tools too) and run the test suite
	scripts/install.sh --test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

test-fast:  ## the fast tier: no Meilisearch, Redis, Whisper or browser (seconds)
	scripts/install.sh --fast
	.venv/bin/python -m pytest tests/unit -q -p no:schemathesis -p no:hypothesispytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# Refresh the message catalogs from the code and templates (then translate the new entries).
messages:
	.venv/bin/pybabel extract -F babel.cfg -k _ -k gettext -k N_ -k ngettext:1,2 --no-location --sort-output --omit-header -o web/translations/messages.pot .
	for lang in kk ru en; do \
	  if [ -f web/translations/$$lang/LC_MESSAGES/messages.po ]; then \
	    .venv/bin/pybabel update --no-fuzzy-matching --omit-header -i web/translations/messages.pot -d web/translations -l $$lang; \
	  else .venv/bin/pybabel init -i web/translations/messages.pot -d web/translations -l $$lang; fi; \
	done
