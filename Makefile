# A thin front for the scripts in scripts/; `make help` lists the targets.
.PHONY: help demo demo-flask test lint docs bench soak

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

demo:  ## run the example project and a Celery worker (embedded; REDIS_URL for Redis)
	scripts/demo.sh

demo-flask:  ## run the Flask example (example_flask/) and a Celery worker, on Redis (REDIS_URL)
	scripts/demo-flask.sh

test:  ## set up everything (venv, services) and run lint and every test
	scripts/test.sh

lint:  ## ruff and mypy only
	scripts/venv.sh .venv python3 test,lint
	.venv/bin/ruff check django_jobtastic tests bench example_project example_flask
	.venv/bin/ruff format --check django_jobtastic tests bench example_project example_flask
	.venv/bin/mypy django_jobtastic

docs:  ## build the documentation site (warnings are errors)
	scripts/docs.sh

bench:  ## run every benchmark in bench/ (the scripts with a main; prints figures, asserts nothing)
	scripts/ensure-services.sh
	scripts/apt-install.sh wrk
	scripts/venv.sh .venv python3 test,lint,bench
	for script in $$(grep -l '^if __name__ == "__main__":' bench/[a-z]*.py); do .venv/bin/python $$script || exit 1; done

soak:  ## the fault suite for MINUTES (default 6) on both brokers; figures in docs/deployment.md
	scripts/soak.sh
