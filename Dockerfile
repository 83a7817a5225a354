# One image for every meetdesk service; docker-compose.yml picks the command per container:
#   python -m shared.migrate <name>
#   faststream run services.<name>.main:app --host 0.0.0.0 --port 800x --workers N
#
# Layers, slowest-changing first: the dependencies come from pyproject.toml alone, so a change of the
# code rebuilds only the last, small layers (the package sources, compiled) and reuses the rest. One
# stage: every cached layer is a parent of the image, so `docker image prune` cannot drop the
# dependency layer (an intermediate stage's image would be "dangling" under the classic builder).
# No `# syntax=` line: BuildKit would have to fetch a frontend image for it.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 meetdesk \
 && useradd --system --uid 10001 --gid meetdesk --home-dir /app --shell /usr/sbin/nologin meetdesk \
 && install -d -o meetdesk -g meetdesk /app

# runtime dependencies only (no [dev] extras), from pyproject.toml alone: cached until it changes
COPY pyproject.toml /tmp/pyproject.toml
RUN python -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

WORKDIR /app
# the project's packages (shared, services) as sources on PYTHONPATH, compiled once here; owned by
# root, so the service user cannot change its own code
COPY shared ./shared
COPY services ./services
RUN python -m compileall -q shared services

USER meetdesk

EXPOSE 8001 8002 8003 8004 8005
# compose always sets the command; this default only shows how to start one
CMD ["faststream", "run", "--help"]
