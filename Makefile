# The two commands of the README.
.PHONY: up test lint install

up:  ## install what is missing, start everything, ingest a demo recording
	scripts/install.sh
	.venv/bin/ashyq up

test:  ## install what is missing (test tools too) and run the test suite
	scripts/install.sh --test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
